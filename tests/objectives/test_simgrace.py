"""SimGRACE: weight-perturbed second view, fixed target, NT-Xent."""
import pytest
import torch
from torch_geometric.nn import global_mean_pool

from graphpfm.nn import build_encoder
from graphpfm.nn.losses import nt_xent
from graphpfm.objectives import build_objective


def _make(**kw):
    torch.manual_seed(0)
    return build_objective('simgrace', build_encoder('gin', num_layers=2, hidden_channels=32),
                           **kw)


def test_perturbation_is_eta_times_std_times_noise(mol_store):
    obj = _make(eta=0.5)
    prepared = obj.prepare(mol_store.collate(range(4)), torch.Generator().manual_seed(1))
    perturbed = obj.perturbed_parameters(prepared['noise'])
    for name, p in obj.encoder.named_parameters():
        expected = p.detach() + 0.5 * p.detach().std() * prepared['noise'][name]
        assert torch.allclose(perturbed[name], expected)
        assert not perturbed[name].requires_grad
    # the noise is standard normal and fixed by the generator
    again = obj.prepare(mol_store.collate(range(4)), torch.Generator().manual_seed(1))
    assert all(torch.equal(prepared['noise'][k], again['noise'][k]) for k in prepared['noise'])
    flat = torch.cat([n.flatten() for n in prepared['noise'].values()])
    assert abs(float(flat.mean())) < 0.05 and abs(float(flat.std()) - 1) < 0.05


def test_loss_is_nt_xent_against_a_fixed_perturbed_target(mol_store):
    obj = _make().train()
    b = mol_store.collate(range(len(mol_store)))
    prepared = obj.prepare(b, torch.Generator().manual_seed(2))
    out = obj.compute(prepared)
    out.loss.backward()
    got = {n: p.grad.clone() for n, p in obj.named_parameters() if p.grad is not None}
    obj.zero_grad()

    # direct computation: the perturbed view from an independent deep copy of the encoder
    copy = build_encoder('gin', num_layers=2, hidden_channels=32)
    copy.load_state_dict(obj.encoder.state_dict())
    with torch.no_grad():
        for name, p in copy.named_parameters():
            p.add_(p.std() * prepared['noise'][name])
    copy.train()
    kw = dict(edge_attr=b.edge_attr, batch=b.batch)
    z1 = obj.proj(global_mean_pool(obj.encoder(b.x, b.edge_index, **kw), b.batch))
    with torch.no_grad():
        z2 = obj.proj(global_mean_pool(copy(b.x, b.edge_index, **kw), b.batch))
    loss = nt_xent(z1, z2, 0.2, intra_view_negatives=False, symmetric=False)
    assert float(loss.detach()) == pytest.approx(float(out.loss.detach()), rel=1e-5)
    loss.backward()
    for n, p in obj.named_parameters():
        if n in got:
            assert torch.allclose(got[n], p.grad, atol=1e-6), n


def test_perturbed_pass_leaves_running_statistics_alone(mol_store):
    obj = _make().train()
    b = mol_store.collate(range(len(mol_store)))
    prepared = obj.prepare(b, torch.Generator().manual_seed(0))
    before = {n: t.clone() for n, t in obj.encoder.named_buffers()}
    with torch.no_grad():
        obj.graph_embedding(b, obj.perturbed_parameters(prepared['noise']))
    assert all(torch.equal(before[n], t) for n, t in obj.encoder.named_buffers())
    assert any('running_mean' in n for n in before)


def test_larger_perturbation_moves_the_view_further(mol_store):
    b = mol_store.collate(range(len(mol_store)))
    cos = {}
    for eta in (0.01, 0.3, 3.0):
        obj = _make(eta=eta).eval()
        cos[eta] = obj.compute(obj.prepare(b, torch.Generator().manual_seed(0))).logs['pos_cos']
    assert cos[0.01] > cos[0.3] > cos[3.0]
    assert cos[0.01] > 0.99


def test_bad_options_and_single_graph_batch(mol_store):
    with pytest.raises(ValueError, match='eta'):
        _make(eta=0.0)
    with pytest.raises(ValueError, match='temperature'):
        _make(temperature=-1.0)
    with pytest.raises(ValueError, match="pool 'avg' invalid; valid options: mean, sum, max"):
        _make(pool='avg')
    obj = _make()
    with pytest.raises(ValueError, match='at least 2 graphs'):
        obj(mol_store.collate([0]), torch.Generator().manual_seed(0))
