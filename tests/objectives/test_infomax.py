"""Graph-level Deep Graph Infomax: the loss by hand on a tiny example, and a sign test."""
import math

import torch
from torch_geometric.data import Batch, Data

from graphpfm.nn.encoders.base import Encoder
from graphpfm.objectives import build_objective


class Identity(Encoder):
    """Node features are the embeddings (a hand-set encoder for exact checks)."""

    input_kind = 'float'

    def __init__(self, channels: int) -> None:
        super().__init__(channels=channels)
        self.out_channels = channels
        self.scale = torch.nn.Parameter(torch.ones(()))

    def forward(self, x, edge_index, *, edge_attr=None, batch=None):
        return x * self.scale


def _batch(xs):
    return Batch.from_data_list([Data(x=torch.tensor(x, dtype=torch.float),
                                      edge_index=torch.zeros(2, 0, dtype=torch.long))
                                 for x in xs])


def _bce(logit, target):
    p = 1 / (1 + math.exp(-logit))
    return -math.log(p) if target else -math.log(1 - p)


def test_loss_equals_direct_computation():
    xs = [[[1.0, 0.0], [0.5, -1.0]], [[-1.0, 2.0]], [[0.0, 1.0], [2.0, 1.0], [1.0, 1.0]]]
    obj = build_objective('infomax', Identity(2))
    w = torch.tensor([[0.5, -1.0], [2.0, 0.25]])
    with torch.no_grad():
        obj.weight.copy_(w)
    summaries = [[1 / (1 + math.exp(-sum(v[c] for v in g) / len(g))) for c in range(2)]
                 for g in xs]
    pos, neg = [], []
    for gi, g in enumerate(xs):
        for h in g:
            for s, out in ((summaries[gi], pos), (summaries[(gi + 1) % len(xs)], neg)):
                out.append(sum(h[a] * w[a, c].item() * s[c] for a in range(2) for c in range(2)))
    want = (sum(_bce(v, 1) for v in pos) / len(pos) + sum(_bce(v, 0) for v in neg) / len(neg))
    out = obj(_batch(xs), torch.Generator().manual_seed(0))
    assert abs(float(out.loss.detach()) - want) < 1e-5
    acc = (sum(v > 0 for v in pos) + sum(v < 0 for v in neg)) / (len(pos) + len(neg))
    assert abs(out.logs['acc'] - acc) < 1e-6


def test_loss_falls_as_nodes_align_with_their_own_summary():
    """Graph 0's atoms point along (1, -1), graph 1's along (-1, 1): with W = I, a larger scale
    makes own-summary scores more positive and other-summary scores more negative."""
    obj = build_objective('infomax', Identity(2))
    with torch.no_grad():
        obj.weight.copy_(torch.eye(2))
    b = _batch([[[1.0, -1.0], [1.0, -1.0]], [[-1.0, 1.0]]])
    losses = []
    for scale in (0.0, 0.5, 1.0, 2.0, 4.0):
        with torch.no_grad():
            obj.encoder.scale.fill_(scale)
        losses.append(float(obj(b).loss.detach()))
    assert abs(losses[0] - 2 * math.log(2)) < 1e-6
    assert all(a > b for a, b in zip(losses, losses[1:]))
    # with the discriminator reversed (W = -I) the same alignment is penalised
    with torch.no_grad():
        obj.weight.copy_(-torch.eye(2))
    assert float(obj(b).loss.detach()) > losses[0]
