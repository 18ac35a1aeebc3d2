"""Trainer on one graph: node-level pretraining, full-batch or with sampled mini-batches."""
import json

import pytest
import torch
from torch_geometric.data import Data

from graphpfm.nn import build_encoder
from graphpfm.objectives import build_objective
from graphpfm.tasks import node as node_module
from graphpfm.tasks.node import graph_size, resolve_node_batching
from graphpfm.train import TrainConfig, Trainer, load_encoder


def _graph(n=50, f=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, 4 * n), generator=g)
    ei = torch.cat([ei, ei.flip(0)], 1)
    return Data(x=torch.randn(n, f, generator=g), edge_index=ei, y=torch.arange(n) % 3,
                num_nodes=n)


def _objective(f=6, layers=2):
    torch.manual_seed(0)
    enc = build_encoder('gcn', num_layers=layers, hidden_channels=16, in_channels=f)
    return build_objective('graphmae', enc)


class _StepCounter:
    """An ``on_step_end`` hook that counts calls and checks the step already happened."""

    def __init__(self, objective):
        self.objective = objective
        self.calls = 0
        self.last = None

    def __call__(self):
        now = [p.detach().clone() for p in self.objective.parameters()]
        if self.last is not None:  # parameters moved since the previous call
            assert any(not torch.equal(a, b) for a, b in zip(now, self.last, strict=True))
        self.last = now
        self.calls += 1


def _fit(data, tmp_path, **cfg):
    obj = _objective(data.x.size(1))
    counter = _StepCounter(obj)
    obj.on_step_end = counter
    config = TrainConfig(**{'epochs': 2, 'lr': 1e-2, 'device': 'cpu', 'progress': False, **cfg})
    trainer = Trainer(obj, config, log_path=tmp_path / 'log.jsonl',
                      checkpoint_path=tmp_path / 'ckpt.pt')
    return trainer, trainer.fit(data), counter


def test_full_batch_one_step_per_epoch(tmp_path):
    data = _graph()
    x_before = data.x.clone()
    trainer, hist, counter = _fit(data, tmp_path, node_batch_size=0, epochs=3)
    assert trainer.node_batch_size == 0
    assert counter.calls == 3
    assert [r['nodes'] for r in hist] == [50, 50, 50]
    assert all('nodes_per_s' in r and 'graphs' not in r for r in hist)
    assert all(torch.isfinite(torch.tensor(r['loss'])) for r in hist)
    assert torch.equal(data.x, x_before)  # the caller's graph is untouched
    lines = [json.loads(x) for x in (tmp_path / 'log.jsonl').read_text().splitlines()]
    assert lines == json.loads(json.dumps(hist))
    enc = load_encoder(tmp_path / 'ckpt.pt').eval()
    trainer.objective.eval()
    assert torch.equal(enc(data.x, data.edge_index), trainer.objective.embed(data))


def test_mini_batch_every_node_a_seed_once_per_epoch(tmp_path, monkeypatch):
    data = _graph()
    seen = []
    original = node_module.NeighborLoader.__iter__

    def spy(self):
        for batch in original(self):
            seen.append(batch.n_id[:batch.batch_size].clone())
            yield batch

    monkeypatch.setattr(node_module.NeighborLoader, '__iter__', spy)
    trainer, hist, counter = _fit(data, tmp_path, node_batch_size=16, num_neighbors=[3, 2])
    assert trainer.node_batch_size == 16
    assert counter.calls == 2 * 4  # ceil(50 / 16) steps per epoch
    assert [r['nodes'] for r in hist] == [50, 50]
    for epoch in range(2):
        seeds = torch.cat(seen[4 * epoch:4 * (epoch + 1)])
        assert sorted(seeds.tolist()) == list(range(50))


def test_mini_batch_default_neighbours_follow_encoder_depth(tmp_path):
    data = _graph()
    obj = _objective(layers=3)
    trainer = Trainer(obj, TrainConfig(epochs=1, node_batch_size=8, device='cpu',
                                       progress=False))
    assert trainer.make_loader(data).num_neighbors == [10, 10, 10]


def test_same_seed_same_losses_mini_batch(tmp_path):
    data = _graph()
    _, a, _ = _fit(data, tmp_path / 'a', node_batch_size=16, seed=3)
    _, b, _ = _fit(data, tmp_path / 'b', node_batch_size=16, seed=3)
    assert [r['loss'] for r in a] == [r['loss'] for r in b]


def test_automatic_choice_full_batch_when_small(monkeypatch):
    data = _graph()
    assert graph_size(data) == 50 * 6 + data.num_edges
    assert resolve_node_batching(data, None) == 0
    assert resolve_node_batching(data, 0) == 0 and resolve_node_batching(data, 7) == 7
    monkeypatch.setattr(node_module, 'FULL_BATCH_MAX_SIZE', graph_size(data) - 1)
    assert resolve_node_batching(data, None) == node_module.DEFAULT_NODE_BATCH_SIZE


def test_automatic_choice_used_by_fit(tmp_path, monkeypatch):
    data = _graph()
    monkeypatch.setattr(node_module, 'FULL_BATCH_MAX_SIZE', 10)
    monkeypatch.setattr(node_module, 'DEFAULT_NODE_BATCH_SIZE', 20)
    trainer, _, counter = _fit(data, tmp_path, epochs=1)
    assert trainer.node_batch_size == 20 and counter.calls == 3


def test_graph_level_path_calls_on_step_end(mol_store, tmp_path):
    obj = build_objective('attr_masking', build_encoder('gin', num_layers=2, hidden_channels=16))
    counter = _StepCounter(obj)
    obj.on_step_end = counter
    hist = Trainer(obj, TrainConfig(epochs=2, batch_size=5, device='cpu', progress=False)
                   ).fit(mol_store)
    assert counter.calls == 2 * 4  # ceil(16 / 5) steps per epoch
    assert all(r['graphs'] == 16 and 'graphs_per_s' in r for r in hist)


def test_config_validation():
    with pytest.raises(ValueError, match='node_batch_size'):
        TrainConfig(node_batch_size=-1)
    with pytest.raises(ValueError, match='num_neighbors'):
        TrainConfig(num_neighbors=[5, -3])
    assert TrainConfig(num_neighbors=(5, 4)).num_neighbors == [5, 4]


@pytest.mark.parametrize('name', ['grace', 'bgrl', 'dgi'])
@pytest.mark.parametrize('node_batch_size', [0, 16])
def test_node_objectives_train_in_both_modes(name, node_batch_size, tmp_path):
    data = _graph()
    torch.manual_seed(0)
    enc = build_encoder('gcn', num_layers=2, hidden_channels=16, in_channels=6)
    obj = build_objective(name, enc)
    trainer = Trainer(obj, TrainConfig(epochs=2, lr=1e-2, device='cpu', progress=False,
                                       node_batch_size=node_batch_size, num_neighbors=[4, 4]),
                      checkpoint_path=tmp_path / 'ckpt.pt')
    hist = trainer.fit(data)
    assert all(r['nodes'] == 50 and torch.isfinite(torch.tensor(r['loss'])) for r in hist)
    if name == 'bgrl':  # the trainer drove the moving-average hook once per step
        assert int(obj.num_steps) == 2 * (1 if node_batch_size == 0 else 4)
    assert load_encoder(tmp_path / 'ckpt.pt').kwargs['in_channels'] == 6
