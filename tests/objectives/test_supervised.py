"""Supervised multi-task pretraining: missing labels ignored, clear errors."""
import math

import pytest
import torch
from torch_geometric.data import Batch, Data

from graphpfm.nn.encoders.base import Encoder
from graphpfm.objectives import build_objective


class Fixed(Encoder):
    input_kind = 'float'

    def __init__(self) -> None:
        super().__init__()
        self.out_channels = 2

    def forward(self, x, edge_index, *, edge_attr=None, batch=None):
        return x


def _batch(y):
    xs = [[[1.0, 0.0], [3.0, 2.0]], [[-1.0, 1.0]]]  # mean pools: (2, 1) and (-1, 1)
    return Batch.from_data_list([Data(x=torch.tensor(x), edge_index=torch.zeros(2, 0).long(),
                                      y=torch.tensor([row])) for x, row in zip(xs, y)])


def test_nan_labels_are_ignored():
    obj = build_objective('supervised', Fixed(), num_tasks=2)
    with torch.no_grad():
        obj.head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, -1.0]]))
        obj.head.bias.zero_()
    nan = float('nan')
    out = obj(_batch([[1.0, nan], [0.0, 1.0]]))
    # logits: graph 0 -> (2, -1), graph 1 -> (-1, -1); observed: (0,0)=1, (1,0)=0, (1,1)=1
    sp = lambda z: math.log1p(math.exp(z))  # noqa: E731  softplus: BCE(z, 0)
    want = (sp(-2.0) + sp(-1.0) + sp(1.0)) / 3
    assert abs(out.loss.item() - want) < 1e-6
    assert abs(out.logs['acc'] - 2 / 3) < 1e-6 and abs(out.logs['observed'] - 0.75) < 1e-6
    out.loss.backward()
    assert torch.isfinite(obj.head.weight.grad).all()


def test_errors():
    obj = build_objective('supervised', Fixed(), num_tasks=2)
    b = _batch([[1.0, 0.0], [0.0, 1.0]])
    del b.y
    with pytest.raises(ValueError, match="no 'y'"):
        obj(b)
    with pytest.raises(ValueError, match='num_tasks=3'):
        build_objective('supervised', Fixed(), num_tasks=3)(_batch([[1.0, 0.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match='num_tasks'):
        build_objective('supervised', Fixed(), num_tasks=0)
    with pytest.raises(ValueError, match='mean, sum, max'):
        build_objective('supervised', Fixed(), num_tasks=1, pool='avg')
    assert obj.config() == {'name': 'supervised', 'kwargs': {'num_tasks': 2, 'pool': 'mean'}}
