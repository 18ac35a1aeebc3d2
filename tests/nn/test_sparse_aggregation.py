"""MolGINConv's sparse neighbourhood sum (EdgeIndex @ h + bond token counts @ table) against
PyG's message passing (gather, add the bond embedding, scatter), which it replaces, in float64
and in bfloat16 (CSRSum, autocast)."""
import pytest
import torch
from torch_geometric.data import Batch, Data

from graphpfm.nn import build_encoder
from graphpfm.nn.encoders.mol_gin import MolGINConv, _sparse_sum, neighbour_structure
from graphpfm.nn.encoders.ogb_features import BondEncoder


def test_token_counts_times_table_is_the_scatter_sum_of_embeddings():
    torch.manual_seed(0)
    enc = BondEncoder(5)
    attr = torch.stack([torch.randint(0, d + 2, (40,)) for d in enc.feature_dims], 1)
    index = torch.randint(0, 7, (40,))
    counts = enc.token_counts(attr.to(torch.int8), index.to(torch.int32), 9)  # compact dtypes
    want = torch.zeros(9, 5).index_add_(0, index, enc(attr))
    assert counts.shape == (9, enc.weight.size(0)) and counts.sum() == 40 * 3
    assert torch.allclose(counts @ enc.weight, want, atol=1e-6)
    assert counts[7:].sum() == 0  # rows no edge points to


def _batch(mol_store):
    """The fixture's molecules, plus a lone atom (no edges) and a duplicated bond."""
    graphs = [mol_store[i] for i in range(len(mol_store))]
    graphs.append(Data(x=torch.tensor([[5, 0, 4, 5, 3, 0, 2, 0, 0]]),
                       edge_index=torch.empty(2, 0, dtype=torch.long),
                       edge_attr=torch.empty(0, 3, dtype=torch.long), num_nodes=1))
    g = graphs[0]
    graphs[0] = Data(x=g.x, edge_index=torch.cat([g.edge_index, g.edge_index[:, :1]], 1),
                     edge_attr=torch.cat([g.edge_attr, g.edge_attr[:1]]), num_nodes=g.num_nodes)
    return Batch.from_data_list(graphs)


def _run(encoder, batch, sparse, x):
    for conv in encoder.convs:
        conv.sparse_aggregation = sparse
    encoder.zero_grad()
    out = encoder(x, batch.edge_index, edge_attr=batch.edge_attr, batch=batch.batch)
    (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
    return out.detach(), {k: p.grad.clone() for k, p in encoder.named_parameters()}


def test_sparse_sum_equals_message_passing(mol_store):
    """Same outputs and gradients of the whole encoder (float64, so that rounding cannot hide
    a difference)."""
    batch = _batch(mol_store)
    torch.manual_seed(0)
    encoder = build_encoder('gin', num_layers=3, hidden_channels=16).double()
    out_s, grads_s = _run(encoder, batch, True, batch.x)
    out_m, grads_m = _run(encoder, batch, False, batch.x)
    assert torch.allclose(out_s, out_m, rtol=1e-10, atol=1e-10)
    # biases in front of batch norm have a true gradient of zero (rounding noise only): the
    # absolute tolerance is relative to the largest gradient of the network
    scale = max(g.abs().max().item() for g in grads_m.values())
    for k, g in grads_m.items():
        assert torch.allclose(grads_s[k], g, rtol=1e-8, atol=1e-11 * scale), k
    assert grads_m['convs.0.bond_encoder.weight'].abs().sum() > 0  # the table is trained


@pytest.mark.parametrize('bond_embeddings', [True, False])
def test_conv_sparse_sum_equals_message_passing(mol_store, bond_embeddings):
    """One layer, with bond embeddings and without (the float-feature GIN layer): outputs and
    the gradients of the input and of every parameter, float64."""
    batch = _batch(mol_store)
    torch.manual_seed(0)
    conv = MolGINConv(6, bond_embeddings=bond_embeddings).double()
    h = torch.randn(batch.num_nodes, 6, dtype=torch.float64)
    results = []
    for sparse in (True, False):
        conv.sparse_aggregation = sparse
        conv.zero_grad()
        x = h.clone().requires_grad_()
        out = conv(x, batch.edge_index, batch.edge_attr)
        (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
        results.append([out.detach(), x.grad] + [p.grad for p in conv.parameters()])
    for a, b in zip(*results):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-12)


def test_compact_index_dtypes_and_edgeless_batches(mol_store):
    """int32 edge index and int8 bond features (as the store may hold them) give the int64
    result; a batch without a single edge works."""
    batch = _batch(mol_store)
    torch.manual_seed(0)
    encoder = build_encoder('gin', num_layers=2, hidden_channels=8).eval()
    want = encoder(batch.x, batch.edge_index, edge_attr=batch.edge_attr)
    got = encoder(batch.x.to(torch.int8), batch.edge_index.int(),
                  edge_attr=batch.edge_attr.to(torch.int8))
    assert torch.allclose(got, want, atol=1e-5)
    lone = Batch.from_data_list([batch[len(mol_store)]] * 3)
    assert lone.edge_index.numel() == 0
    for sparse in (True, False):
        for conv in encoder.convs:
            conv.sparse_aggregation = sparse
        out = encoder(lone.x, lone.edge_index, edge_attr=lone.edge_attr)
        assert out.shape == (3, 8) and torch.isfinite(out).all()


def test_structure_is_the_adjacency_and_the_bond_counts():
    edge_index = torch.tensor([[0, 1, 1, 2, 2], [1, 0, 2, 1, 1]])  # 2 -> 1 twice
    attr = torch.tensor([[0, 0, 0], [0, 0, 0], [1, 0, 0], [1, 0, 0], [1, 2, 1]])
    enc = BondEncoder(4)
    adj, counts = neighbour_structure(edge_index, 4, attr, enc)
    dense = torch.zeros(4, 4)
    dense[1, 0], dense[0, 1], dense[2, 1], dense[1, 2] = 1, 1, 1, 2
    assert torch.equal(adj.matmul(torch.eye(4)), dense)  # a duplicate edge counts twice
    assert counts.sum(1).tolist() == [3, 9, 3, 0]  # three columns per incoming edge
    assert neighbour_structure(edge_index, 4)[1] is None


def test_csr_sum_in_bfloat16_adds_in_float32_and_rounds_once(mol_store):
    """The bfloat16 sum (a duplicate edge, a lone atom) and its backward ``A.T @ grad``
    against float64 on the same bfloat16 inputs: off by one rounding to bfloat16 at most."""
    batch = _batch(mol_store)
    n = batch.num_nodes
    adj, _ = neighbour_structure(batch.edge_index, n)
    dense = torch.zeros(n, n, dtype=torch.float64)
    dense.index_put_((batch.edge_index[1], batch.edge_index[0]),
                     torch.ones(batch.num_edges, dtype=torch.float64), accumulate=True)
    torch.manual_seed(0)
    x = (10 * torch.randn(n, 7)).bfloat16().requires_grad_()
    grad = torch.randn(n, 7).bfloat16()
    out = _sparse_sum(adj, x)
    out.backward(grad)
    assert out.dtype == x.grad.dtype == torch.bfloat16
    for got, want in ((out, dense @ x.detach().double()), (x.grad, dense.T @ grad.double())):
        assert (got.double() - want).abs().le(2 ** -8 * want.abs() + 1e-6).all()


def test_bfloat16_conv_takes_the_sparse_sum(mol_store, monkeypatch):
    """A bfloat16 layer on the CPU never calls message passing, and agrees with it (and with
    float32) up to bfloat16 rounding."""
    batch = _batch(mol_store)
    torch.manual_seed(0)
    conv = MolGINConv(8)
    h = torch.randn(batch.num_nodes, 8)
    want = conv(h, batch.edge_index, batch.edge_attr).detach()
    conv = conv.to(torch.bfloat16)
    conv.sparse_aggregation = False
    passed = conv(h.bfloat16(), batch.edge_index, batch.edge_attr).float()
    conv.sparse_aggregation = True

    def refuse(*args, **kwargs):
        raise AssertionError('message passing called')
    monkeypatch.setattr(conv, 'propagate', refuse)
    got = conv(h.bfloat16(), batch.edge_index, batch.edge_attr)
    assert got.dtype == torch.bfloat16
    scale = want.abs().max()
    assert (got.float() - want).abs().max() < 0.02 * scale
    assert (got.float() - passed).abs().max() < 0.02 * scale


def _relative_error(got: dict, want: dict) -> float:
    """``||got - want|| / ||want||`` over all gradients together."""
    diff = torch.cat([(got[k] - want[k]).flatten() for k in want])
    return (diff.norm() / torch.cat([g.flatten() for g in want.values()]).norm()).item()


def test_autocast_encoder_runs_its_layers_in_bfloat16(mol_store):
    """Under bfloat16 autocast every layer's MLP gets bfloat16 rows (padded to an even count
    here, see ``row_padding``); outputs and parameter gradients are those of float32 up to
    bfloat16 rounding, closer than message passing in bfloat16 gets (which adds its messages
    in bfloat16); parameters and their gradients stay float32."""
    batch = _batch(mol_store)
    torch.manual_seed(0)
    encoder = build_encoder('gin', num_layers=3, hidden_channels=16)
    out32, grads32 = _run(encoder, batch, True, batch.x)
    seen = []
    for conv in encoder.convs:
        conv.mlp.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    results = {}
    for sparse in (True, False):
        seen.clear()
        with torch.autocast('cpu', dtype=torch.bfloat16):
            results[sparse] = _run(encoder, batch, sparse, batch.x)
        if sparse:
            assert [h.dtype for h in seen] == [torch.bfloat16] * 3
            assert all(h.size(0) == batch.num_nodes + batch.num_nodes % 2 for h in seen)
    (out_s, grads_s), (_, grads_m) = results[True], results[False]
    assert out_s.dtype == torch.bfloat16 and out_s.shape == out32.shape
    assert (out_s.float() - out32).abs().max() < 0.05 * out32.abs().max()
    assert all(g.dtype == torch.float32 and torch.isfinite(g).all() for g in grads_s.values())
    error = _relative_error(grads_s, grads32)
    assert error < 0.1 and error < _relative_error(grads_m, grads32)
    assert all(p.dtype == torch.float32 for p in encoder.parameters())
