"""GraphPredictor (graphpfm/nn/heads.py), tested here with the fine-tuning code that uses it."""
import pytest
import torch

from graphpfm.nn.encoders.base import Encoder
from graphpfm.nn.heads import POOLS, GraphPredictor


class RecordingEncoder(Encoder):
    """Returns float node features unchanged (times a weight) and records how it was called."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(1))
        self.out_channels = 9
        self.calls = []

    def forward(self, x, edge_index, *, edge_attr=None, batch=None):
        self.calls.append({'edge_attr': edge_attr, 'batch': batch})
        return x.float() * self.scale


def _batch(kit, n=4):
    store = kit.make_bundle(kit.binary_labels(n + 14)).dataset
    return store.collate(list(range(n)))


def test_pools_match_manual_readout(kit):
    batch = _batch(kit)
    for pool in POOLS:
        model = GraphPredictor(RecordingEncoder(), num_tasks=3, pool=pool).eval()
        emb = model.embed(batch)
        x = batch.x.float()
        manual = torch.stack([
            getattr(x[batch.batch == g], {'mean': 'mean', 'sum': 'sum', 'max': 'amax'}[pool])(0)
            for g in range(batch.num_graphs)])
        assert torch.allclose(emb, manual)
        out = model(batch)
        assert out.shape == (batch.num_graphs, 3)
        assert torch.allclose(out, model.head(manual), atol=1e-6)


def test_encoder_called_with_keywords(kit):
    batch = _batch(kit)
    enc = RecordingEncoder()
    GraphPredictor(enc, num_tasks=1)(batch)
    assert enc.calls[0]['edge_attr'] is batch.edge_attr
    assert enc.calls[0]['batch'] is batch.batch
    # a keyword-only encoder (TinyEncoder) works too
    out = GraphPredictor(kit.TinyEncoder(8), num_tasks=2)(batch)
    assert out.shape == (4, 2)


def test_dropout_only_in_training(kit):
    batch = _batch(kit)
    model = GraphPredictor(RecordingEncoder(), num_tasks=2, dropout=0.5)
    model.eval()
    assert torch.equal(model(batch), model(batch))
    model.train()
    torch.manual_seed(0)
    a = model(batch)
    assert not torch.equal(a, model(batch))


def test_invalid_arguments_and_repr():
    with pytest.raises(ValueError, match='mean, sum, max'):
        GraphPredictor(RecordingEncoder(), num_tasks=1, pool='attention')
    with pytest.raises(ValueError, match='num_tasks'):
        GraphPredictor(RecordingEncoder(), num_tasks=0)
    model = GraphPredictor(RecordingEncoder(), num_tasks=2, pool='sum')
    assert "pool='sum'" in repr(model) and 'num_tasks=2' in repr(model)
    w = model.head.weight.detach().clone()
    scale = model.encoder.scale.detach().clone()
    model.reset_parameters()
    assert not torch.equal(w, model.head.weight) and torch.equal(scale, model.encoder.scale)
