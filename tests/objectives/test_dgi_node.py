import pytest
import torch

from graphpfm.nn import build_encoder
from graphpfm.objectives import DGI, build_objective
from graphpfm.objectives.dgi import sigmoid_mean_summary


def _dgi(hidden=16):
    torch.manual_seed(0)
    enc = build_encoder('gcn', num_layers=2, hidden_channels=hidden, in_channels=16)
    return build_objective('dgi', enc)


def test_corruption_is_a_permutation_of_rows(float_graph):
    obj = _dgi()
    x_before = float_graph.x.clone()
    clean, corrupted = obj.prepare(float_graph, torch.Generator().manual_seed(0))
    perm = corrupted.shuffle_index
    assert torch.equal(perm.sort().values, torch.arange(float_graph.num_nodes))
    assert not torch.equal(perm, torch.arange(float_graph.num_nodes))
    assert torch.equal(corrupted.x, float_graph.x[perm])
    assert torch.equal(corrupted.edge_index, float_graph.edge_index)
    assert clean is float_graph and torch.equal(float_graph.x, x_before)
    again = obj.prepare(float_graph, torch.Generator().manual_seed(0))[1].shuffle_index
    assert torch.equal(again, perm)


def test_summary_discriminator_and_loss_are_pygs(float_graph):
    obj = _dgi().eval()
    clean, corrupted = obj.prepare(float_graph, torch.Generator().manual_seed(0))
    out = obj.compute((clean, corrupted))
    pos_z, neg_z = obj.encode(clean), obj.encode(corrupted)
    summary = obj.dgi.summary(pos_z)
    assert torch.allclose(summary, torch.sigmoid(pos_z.mean(0)))
    assert torch.allclose(obj.dgi.discriminate(pos_z, summary, sigmoid=False),
                          pos_z @ (obj.dgi.weight @ summary))
    assert torch.allclose(out.loss, obj.dgi.loss(pos_z, neg_z, summary), atol=1e-5)
    assert set(out.logs) == {'acc', 'auc'}


def test_loss_finite_and_falls(float_graph):
    obj = _dgi().train()
    opt = torch.optim.Adam(obj.parameters(), lr=1e-2)
    losses = []
    for step in range(40):
        out = obj(float_graph, torch.Generator().manual_seed(step))  # fresh corruption
        assert torch.isfinite(out.loss)
        losses.append(float(out.loss.detach()))
        opt.zero_grad()
        out.loss.backward()
        opt.step()
    assert sum(losses[-5:]) / 5 < 0.85 * sum(losses[:5]) / 5


def test_minibatch_summary_and_scores_use_the_seed_nodes_only(float_graph):
    obj = _dgi().eval()
    k = 10
    mb = float_graph.clone()
    mb.batch_size = k
    clean, corrupted = obj.prepare(mb, torch.Generator().manual_seed(1))
    assert corrupted.x.size(0) == mb.num_nodes  # all rows shuffled
    loss = obj.compute((clean, corrupted)).loss
    pos_z, neg_z = obj.encode(clean), obj.encode(corrupted)  # whole graphs encoded
    expected = obj.dgi.loss(pos_z[:k], neg_z[:k], sigmoid_mean_summary(pos_z[:k]))
    assert torch.allclose(loss, expected, atol=1e-5)
    full = obj.dgi.loss(pos_z, neg_z, sigmoid_mean_summary(pos_z))
    assert not torch.allclose(loss, full, atol=1e-5)


def test_encoder_held_once_and_options():
    obj = _dgi(hidden=8)
    keys = set(obj.state_dict())
    assert 'dgi.weight' in keys
    assert all(k.startswith('encoder.') or k == 'dgi.weight' for k in keys)
    assert obj.dgi.weight.shape == (8, 8)
    assert obj.level == 'node' and obj.config() == {'name': 'dgi', 'kwargs': {}}
    with pytest.raises(NotImplementedError, match='prepare'):
        obj.dgi(torch.zeros(3, 8))
    with pytest.raises(ValueError, match='float'):
        DGI(build_encoder('gin', num_layers=1, hidden_channels=8))
