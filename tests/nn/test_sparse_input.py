"""Sparse input features in the first layer: equal to the dense path up to float rounding."""
import pytest
import torch
from torch_geometric.utils import to_undirected

from graphpfm.nn import build_encoder
from graphpfm.nn.sparse_input import DEFAULT_MAX_DENSITY, SparseInputLinear, sparse_linear
from graphpfm.objectives import build_objective

ATOL = 1e-5

ENCODERS = {
    'gcn': dict(num_layers=2, hidden_channels=16, norm=None, act_last=True),
    'gcn-bn': dict(num_layers=2, hidden_channels=16, norm='batch_norm', act='prelu'),
    'gat': dict(num_layers=2, hidden_channels=16, heads=4, norm=None, act='prelu',
                act_last=True, weight_init='dgl', input_dropout=0.2, attn_dropout=0.1),
}


def _graph(n: int = 60, f: int = 100, density: float = 0.01, seed: int = 0):
    """Bag-of-words-like features: ``density`` of the entries non-zero, rows normalised."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, f, generator=g) < density).float() * torch.rand(n, f, generator=g)
    x[torch.arange(n), torch.randint(0, f, (n,), generator=g)] = 1.0  # no empty row
    x = x / x.sum(1, keepdim=True)
    upper = torch.triu(torch.rand(n, n, generator=g) < 0.08, diagonal=1)
    return x, to_undirected(upper.nonzero().t(), num_nodes=n)


def _pair(name: str, f: int):
    kwargs = dict(ENCODERS[name])
    base = kwargs.pop('name', name.split('-')[0])
    torch.manual_seed(3)
    dense = build_encoder(base, in_channels=f, **kwargs)
    torch.manual_seed(3)
    sparse = build_encoder(base, in_channels=f, sparse_input=True, **kwargs)
    return dense, sparse


def test_sparse_linear_matches_dense_product_and_gradients():
    x, _ = _graph()
    w = torch.randn(7, x.size(1), requires_grad=True)
    b = torch.randn(7, requires_grad=True)
    xd, xs = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_d = torch.nn.functional.linear(xd, w, b)
    out_s = sparse_linear(xs, w, b)
    assert torch.allclose(out_d, out_s, atol=ATOL)
    g = torch.randn_like(out_d)
    gw_d, gb_d, gx_d = torch.autograd.grad(out_d, (w, b, xd), g)
    gw_s, gb_s, gx_s = torch.autograd.grad(out_s, (w, b, xs), g)
    assert torch.allclose(gw_d, gw_s, atol=ATOL) and torch.allclose(gb_d, gb_s, atol=ATOL)
    assert torch.allclose(gx_d, gx_s, atol=ATOL)  # a dense input gets its dense gradient
    for layout in (x.to_sparse(), x.to_sparse_csr()):  # torch.sparse inputs
        assert torch.allclose(sparse_linear(layout, w, b), out_d, atol=ATOL)


@pytest.mark.parametrize('name', list(ENCODERS))
def test_encoder_outputs_and_gradients_equal_the_dense_path(name):
    x, edge_index = _graph()
    dense, sparse = _pair(name, x.size(1))
    # same parameters, state dict and initialisation: the switch draws nothing
    assert list(dense.state_dict()) == list(sparse.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(dense.state_dict().values(),
                                                 sparse.state_dict().values()))
    assert sparse.sparse_input == DEFAULT_MAX_DENSITY and dense.sparse_input == 0.0
    assert 'sparse_input' not in sparse.config()['kwargs']  # an execution choice only
    assert isinstance(sparse.gnn.convs[0].lin, SparseInputLinear)
    assert sparse.gnn.convs[0].lin.sparse_path(x) and not dense.gnn.convs[0].lin.sparse_path(x)
    for mode in ('eval', 'train'):
        getattr(dense, mode)()
        getattr(sparse, mode)()
        torch.manual_seed(5)  # the same dropout draws: dropout acts on the dense input
        out_d = dense(x, edge_index)
        torch.manual_seed(5)
        out_s = sparse(x, edge_index)
        assert torch.allclose(out_d, out_s, atol=ATOL), mode
        g = torch.randn_like(out_d)
        grads_d = torch.autograd.grad(out_d, list(dense.parameters()), g)
        grads_s = torch.autograd.grad(out_s, list(sparse.parameters()), g)
        for a, b in zip(grads_d, grads_s):
            assert torch.allclose(a, b, atol=ATOL), mode
    sparse.eval()
    dense.eval()
    assert torch.allclose(sparse(x.to_sparse(), edge_index), dense(x, edge_index), atol=ATOL)


def test_dense_rows_and_autocast_take_the_dense_path():
    x, edge_index = _graph()
    lin = build_encoder('gcn', num_layers=1, hidden_channels=8, in_channels=x.size(1),
                        sparse_input=0.05).gnn.convs[0].lin
    assert lin.sparse_path(x)
    crowded = x.clone()
    crowded[:10] = 1.0  # 10 of 60 rows full: a sixth of the entries non-zero
    assert not lin.sparse_path(crowded)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert not lin.sparse_path(x)
    assert lin.sparse_path(x.to_sparse())  # a torch.sparse input always is


def test_sparse_input_needs_a_linear_first_layer():
    with pytest.raises(ValueError, match='needs float inputs'):
        build_encoder('gcn', num_layers=2, hidden_channels=8, sparse_input=True)  # OGB atoms
    with pytest.raises(ValueError, match='needs float inputs'):
        build_encoder('sage', num_layers=2, hidden_channels=8, in_channels=5, sparse_input=True)
    with pytest.raises(ValueError, match=r'share of non-zeros in \[0, 1\]'):
        build_encoder('gcn', num_layers=2, hidden_channels=8, in_channels=5, sparse_input=2.0)


@pytest.mark.parametrize('objective,options', [('dgi', {}), ('grace', {'proj_channels': 8}),
                                               ('bgrl', {'predictor_channels': 8})])
def test_training_steps_match_the_dense_path(objective, options):
    """Three optimizer steps of an objective whose inputs stay sparse: the losses and weights
    agree with the dense path to float tolerance."""
    from torch_geometric.data import Data
    x, edge_index = _graph()
    data = Data(x=x, edge_index=edge_index, num_nodes=x.size(0))
    runs = []
    for flag in (False, True):
        torch.manual_seed(0)
        enc = build_encoder('gcn', num_layers=2, hidden_channels=16, in_channels=x.size(1),
                            norm=None, act_last=True, sparse_input=flag)
        obj = build_objective(objective, enc, **options)
        opt = torch.optim.Adam(obj.parameters(), lr=1e-2)
        gen = torch.Generator().manual_seed(1)
        losses = []
        for _ in range(3):
            out = obj(data, gen)
            opt.zero_grad()
            out.loss.backward()
            opt.step()
            obj.on_step_end()
            losses.append(float(out.loss.detach()))
        runs.append((losses, [p.detach().clone() for p in enc.parameters()]))
    (loss_d, w_d), (loss_s, w_s) = runs
    assert loss_d == pytest.approx(loss_s, abs=1e-5)
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(w_d, w_s))
