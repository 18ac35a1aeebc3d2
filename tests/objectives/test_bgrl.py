import math

import pytest
import torch

from graphpfm.nn import build_encoder
from graphpfm.objectives import BGRL, build_objective
from graphpfm.objectives.bgrl import bootstrap_loss


def _bgrl(**kw):
    torch.manual_seed(0)
    enc = build_encoder('gcn', num_layers=2, hidden_channels=16, in_channels=16)
    return build_objective('bgrl', enc, predictor_channels=16, **kw)


def _run(enc, view):
    return enc(view.x, view.edge_index, edge_attr=None, batch=None)


def test_bootstrap_loss_hand_value():
    q = torch.tensor([[1.0, 0.0], [0.0, 3.0]])
    y = torch.tensor([[2.0, 0.0], [1.0, 1.0]])
    # cosines 1 and 1/sqrt(2): 2 - 2 * mean
    expected = 2.0 - 2.0 * (1.0 + 1.0 / math.sqrt(2.0)) / 2.0
    assert float(bootstrap_loss(q, y)) == pytest.approx(expected, rel=1e-6)
    # the squared distance of the normalised vectors
    qn, yn = torch.nn.functional.normalize(q), torch.nn.functional.normalize(y)
    assert float(bootstrap_loss(q, y)) == pytest.approx(float(((qn - yn) ** 2).sum(1).mean()),
                                                        rel=1e-6)
    assert float(bootstrap_loss(-q, y)) == pytest.approx(4.0 - expected, rel=1e-6)


def test_bootstrap_loss_falls_as_predictions_close_in_and_stops_target_gradient():
    torch.manual_seed(0)
    y = torch.randn(5, 4, requires_grad=True)
    noise = torch.randn(5, 4)
    losses = [float(bootstrap_loss(y.detach() + s * noise, y)) for s in (3.0, 1.0, 0.2, 0.0)]
    assert losses == sorted(losses, reverse=True) and losses[-1] == pytest.approx(0, abs=1e-6)
    q = torch.randn(5, 4, requires_grad=True)
    bootstrap_loss(q, y).backward()
    assert y.grad is None and q.grad is not None


def test_objective_loss_is_symmetrised_bootstrap(float_graph):
    obj = _bgrl().eval()
    v1, v2 = obj.prepare(float_graph, torch.Generator().manual_seed(0))
    out = obj.compute((v1, v2))
    q1, q2 = obj.predictor(_run(obj.encoder, v1)), obj.predictor(_run(obj.encoder, v2))
    y1, y2 = _run(obj.target_encoder, v1), _run(obj.target_encoder, v2)
    cos = torch.nn.functional.cosine_similarity
    expected = 2 - cos(q1, y2, dim=-1).mean() - cos(q2, y1, dim=-1).mean()
    assert torch.allclose(out.loss, expected)
    assert out.logs['momentum'] == 0.99


def test_target_starts_as_a_copy_and_gets_no_gradient(float_graph):
    obj = _bgrl().train()
    for (n, t), o in zip(obj.target_encoder.named_parameters(), obj.encoder.parameters()):
        assert torch.equal(t, o) and t is not o, n
        assert not t.requires_grad
    obj(float_graph, torch.Generator().manual_seed(0)).loss.backward()
    assert all(p.grad is None for p in obj.target_encoder.parameters())
    assert any(p.grad is not None for p in obj.encoder.parameters())
    assert torch.equal(obj.embed(float_graph), _run(obj.encoder, float_graph))


@pytest.mark.parametrize('make_opt', [
    lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=1e-2),
    lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=1e-2),
    lambda p: torch.optim.SGD(p, lr=1e-2, momentum=0.9, weight_decay=1e-2)])
def test_optimizer_step_leaves_target_alone_then_ema_moves_it(make_opt, float_graph):
    obj = _bgrl(momentum=0.9).train()
    opt = make_opt(obj.parameters())
    before = {n: p.detach().clone() for n, p in obj.target_encoder.named_parameters()}
    online_before = {n: p.detach().clone() for n, p in obj.encoder.named_parameters()}
    opt.zero_grad()
    obj(float_graph, torch.Generator().manual_seed(0)).loss.backward()
    opt.step()
    for n, p in obj.target_encoder.named_parameters():
        assert torch.equal(p, before[n]), n
    assert any(not torch.equal(p, online_before[n]) for n, p in obj.encoder.named_parameters())
    online = {n: p.detach().clone() for n, p in obj.encoder.named_parameters()}
    obj.on_step_end()
    m = 0.9
    for n, p in obj.target_encoder.named_parameters():
        exact = before[n].clone().mul_(m).add_(online[n], alpha=1 - m)
        assert torch.equal(p, exact), n
        assert torch.allclose(p, m * before[n] + (1 - m) * online[n], atol=1e-6, rtol=0)
    assert int(obj.num_steps) == 1


def test_momentum_schedule():
    obj = _bgrl(momentum=0.9, total_steps=10)
    assert obj.momentum_at(0) == pytest.approx(0.9)
    assert obj.momentum_at(5) == pytest.approx(0.95)  # halfway: cos = 0
    assert obj.momentum_at(10) == pytest.approx(1.0)
    assert obj.momentum_at(25) == pytest.approx(1.0)
    assert obj.momentum_at(2) == pytest.approx(1 - 0.1 * (1 + math.cos(math.pi * 0.2)) / 2)
    values = [obj.momentum_at(t) for t in range(11)]
    assert values == sorted(values)
    constant = _bgrl(momentum=0.97)
    assert {constant.momentum_at(t) for t in (0, 5, 10_000)} == {0.97}


def test_on_step_end_uses_the_momentum_of_the_current_step():
    obj = _bgrl(momentum=0.5, total_steps=2)
    with torch.no_grad():
        for p in obj.encoder.parameters():
            p.fill_(1.0)
        for p in obj.target_encoder.parameters():
            p.fill_(0.0)
    obj.on_step_end()  # m = 0.5: 0 -> 0.5
    obj.on_step_end()  # m = 0.75: 0.5 -> 0.625
    obj.on_step_end()  # m = 1.0: unchanged
    for p in obj.target_encoder.parameters():
        assert torch.allclose(p, torch.full_like(p, 0.625))
    assert int(obj.num_steps) == 3
    assert 'num_steps' in obj.state_dict()
    obj.reset_target()
    assert int(obj.num_steps) == 0
    assert all(torch.equal(t, o) for t, o in zip(obj.target_encoder.parameters(),
                                                 obj.encoder.parameters()))


def test_minibatch_loss_uses_the_seed_nodes_only(float_graph):
    obj = _bgrl().eval()
    k = 9
    mb = float_graph.clone()
    mb.batch_size = k
    v1, v2 = obj.prepare(mb, torch.Generator().manual_seed(2))
    loss = obj.compute((v1, v2)).loss
    h1, h2 = _run(obj.encoder, v1), _run(obj.encoder, v2)
    t1, t2 = _run(obj.target_encoder, v1), _run(obj.target_encoder, v2)
    expected = 0.5 * (bootstrap_loss(obj.predictor(h1[:k]), t2[:k])
                      + bootstrap_loss(obj.predictor(h2[:k]), t1[:k]))
    assert torch.allclose(loss, expected)
    full = 0.5 * (bootstrap_loss(obj.predictor(h1), t2) + bootstrap_loss(obj.predictor(h2), t1))
    assert not torch.allclose(loss, full)


def test_combined_forwards_on_step_end(float_graph):
    torch.manual_seed(0)
    enc = build_encoder('gcn', num_layers=2, hidden_channels=16, in_channels=16)
    obj = build_objective('bgrl+dgi', enc, options={'bgrl': {'predictor_channels': 8,
                                                             'momentum': 0.5}})
    opt = torch.optim.Adam(obj.parameters(), lr=1e-2)
    obj(float_graph, torch.Generator().manual_seed(0)).loss.backward()
    opt.step()
    assert obj.level == 'node'
    target = obj.parts['bgrl'].target_encoder
    before = [p.detach().clone() for p in target.parameters()]
    obj.on_step_end()
    assert int(obj.parts['bgrl'].num_steps) == 1
    assert any(not torch.equal(p, b) for p, b in zip(target.parameters(), before))
    keys = obj.state_dict().keys()
    assert any(k.startswith('parts.bgrl.target_encoder.') for k in keys)
    assert not any(k.startswith('parts.bgrl.encoder.') for k in keys)


def test_base_objective_on_step_end_is_a_noop(float_graph):
    torch.manual_seed(0)
    obj = build_objective('dgi', build_encoder('gcn', num_layers=1, hidden_channels=8,
                                               in_channels=16))
    state = {k: v.clone() for k, v in obj.state_dict().items()}
    assert obj.on_step_end() is None
    assert all(torch.equal(v, state[k]) for k, v in obj.state_dict().items())


def test_residual_encoder_copy_keeps_its_residual(float_graph):
    torch.manual_seed(0)
    enc = build_encoder('gcn', num_layers=2, hidden_channels=16, in_channels=16, residual=True)
    obj = BGRL(enc, predictor_channels=8).eval()
    assert torch.equal(_run(obj.target_encoder, float_graph), _run(obj.encoder, float_graph))


def test_defaults_and_bad_options():
    enc = build_encoder('gcn', num_layers=1, hidden_channels=8, in_channels=4)
    obj = BGRL(enc)
    assert obj.kwargs == {'pe1': 0.2, 'pe2': 0.3, 'pf1': 0.2, 'pf2': 0.1, 'momentum': 0.99,
                          'total_steps': None, 'predictor_channels': 512}
    assert obj.level == 'node'
    with pytest.raises(ValueError, match='momentum'):
        BGRL(enc, momentum=1.5)
    with pytest.raises(ValueError, match='total_steps'):
        BGRL(enc, total_steps=0)
    with pytest.raises(ValueError, match='float'):
        BGRL(build_encoder('gin', num_layers=1, hidden_channels=8))


def test_predictor_norm_option(float_graph):
    """predictor_norm adds BGRL's batch norm (momentum 0.01) after the predictor's first layer;
    it is recorded only when set, and the objective still trains."""
    from graphpfm.nn import build_encoder
    from graphpfm.objectives import build_objective
    enc = build_encoder('gcn', num_layers=2, hidden_channels=8,
                        in_channels=float_graph.num_features, norm=None)
    obj = build_objective('bgrl', enc, predictor_channels=6, predictor_norm=True)
    kinds = [type(m).__name__ for m in obj.predictor]
    assert kinds == ['Linear', 'BatchNorm1d', 'PReLU', 'Linear']
    assert obj.predictor[1].momentum == 0.01 and obj.predictor[1].num_features == 6
    assert obj.config()['kwargs']['predictor_norm'] is True
    plain = build_objective('bgrl', build_encoder('gcn', num_layers=2, hidden_channels=8,
                                                  in_channels=float_graph.num_features,
                                                  norm=None))
    assert 'predictor_norm' not in plain.config()['kwargs']
    assert [type(m).__name__ for m in plain.predictor] == ['Linear', 'PReLU', 'Linear']
    out = obj(float_graph, torch.Generator().manual_seed(0))
    out.loss.backward()
    assert obj.predictor[1].weight.grad is not None
