"""Prediction heads on top of an :class:`~graphpfm.nn.encoders.Encoder`: graph-level readout
and head, node-level head."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Batch, Data
from torch_geometric.nn import global_add_pool, global_max_pool, global_mean_pool

#: global pooling functions by name
POOLS: dict[str, Callable[..., Tensor]] = {
    'mean': global_mean_pool,
    'sum': global_add_pool,
    'max': global_max_pool,
}


def resolve_pool(pool: str) -> Callable[..., Tensor]:
    """The global pooling function called ``pool`` (errors list the valid names)."""
    try:
        return POOLS[pool]
    except (KeyError, TypeError):
        raise ValueError(f"pool '{pool}' invalid; valid options: {', '.join(POOLS)}") from None


def projection_head(channels: int, hidden_channels: int | None = None,
                    out_channels: int | None = None) -> torch.nn.Sequential:
    r"""The two-layer projection head of SimCLR-style contrastive objectives (GraphCL,
    SimGRACE): ``Linear -> ReLU -> Linear``, widths default to ``channels``.

    Args:
        channels (int): input width (the encoder's ``out_channels``).
        hidden_channels (int, optional): hidden width. (default: :obj:`channels`)
        out_channels (int, optional): output width. (default: :obj:`channels`)
    """
    hidden = hidden_channels or channels
    return torch.nn.Sequential(torch.nn.Linear(channels, hidden), torch.nn.ReLU(inplace=True),
                               torch.nn.Linear(hidden, out_channels or channels))


class GraphPredictor(torch.nn.Module):
    r"""Encoder, global pooling and a linear head: the fine-tuning model of `"Strategies for
    Pre-training Graph Neural Networks" <https://arxiv.org/abs/1905.12265>`_.

    .. math::
        \hat{\mathbf{y}}_g = \mathbf{W} \, \mathrm{dropout}\big(\mathrm{pool}
        (\{\mathbf{h}_i : i \in g\})\big) + \mathbf{b}

    Args:
        encoder (Encoder): node encoder, called as
            ``encoder(x, edge_index, edge_attr=..., batch=...)``; must have ``out_channels``.
        num_tasks (int): width of the output (tasks, or classes for multiclass problems).
        pool (str): ``'mean'``, ``'sum'`` or ``'max'``. (default: :obj:`'mean'`)
        dropout (float): dropout on the pooled graph embedding. (default: :obj:`0.0`)
    """

    def __init__(self, encoder: torch.nn.Module, num_tasks: int, pool: str = 'mean',
                 dropout: float = 0.0) -> None:
        super().__init__()
        if num_tasks < 1:
            raise ValueError(f'num_tasks must be >= 1, got {num_tasks}')
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f'dropout must be in [0, 1), got {dropout}')
        self._pool = resolve_pool(pool)
        self.encoder = encoder
        self.num_tasks = num_tasks
        self.pool = pool
        self.dropout = dropout
        self.head = torch.nn.Linear(encoder.out_channels, num_tasks)

    def reset_parameters(self) -> None:
        """Re-initialise the head only; the (possibly pretrained) encoder is left alone."""
        self.head.reset_parameters()

    def embed(self, batch: Batch) -> Tensor:
        """Pooled graph embeddings ``[num_graphs, encoder.out_channels]``."""
        h = self.encoder(batch.x, batch.edge_index, edge_attr=getattr(batch, 'edge_attr', None),
                         batch=batch.batch)
        return self._pool(h, batch.batch, size=batch.num_graphs)

    def forward(self, batch: Batch) -> Tensor:
        """Predictions (logits for classification) ``[num_graphs, num_tasks]``."""
        g = F.dropout(self.embed(batch), p=self.dropout, training=self.training)
        return self.head(g)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}({self.encoder!r}, num_tasks={self.num_tasks}, '
                f"pool='{self.pool}', dropout={self.dropout})")


class NodePredictor(torch.nn.Module):
    r"""Encoder and a linear head on every node embedding, the usual node-classification
    model for transferring a pretrained encoder (e.g. `Hu et al. (2020)
    <https://arxiv.org/abs/1905.12265>`_, `GraphMAE <https://arxiv.org/abs/2205.10803>`_).

    .. math::
        \hat{\mathbf{y}}_i = \mathbf{W} \, \mathrm{dropout}(\mathbf{h}_i) + \mathbf{b}

    Args:
        encoder (Encoder): node encoder with ``out_channels``.
        num_outputs (int): classes (multiclass) or tasks.
        dropout (float): dropout on the node embedding. (default: :obj:`0.0`)
    """

    def __init__(self, encoder: torch.nn.Module, num_outputs: int, dropout: float = 0.0) -> None:
        super().__init__()
        if num_outputs < 1:
            raise ValueError(f'num_outputs must be >= 1, got {num_outputs}')
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f'dropout must be in [0, 1), got {dropout}')
        self.encoder = encoder
        self.num_outputs = num_outputs
        self.dropout = dropout
        self.head = torch.nn.Linear(encoder.out_channels, num_outputs)

    def reset_parameters(self) -> None:
        """Re-initialise the head only; the (possibly pretrained) encoder is left alone."""
        self.head.reset_parameters()

    def embed(self, data: Data) -> Tensor:
        """Node embeddings ``[num_nodes, encoder.out_channels]``."""
        return self.encoder(data.x, data.edge_index, edge_attr=getattr(data, 'edge_attr', None),
                            batch=None)

    def predict(self, h: Tensor) -> Tensor:
        """The head on node embeddings ``h``."""
        return self.head(torch.nn.functional.dropout(h, self.dropout, self.training))

    def forward(self, data: Data) -> Tensor:
        return self.predict(self.embed(data))

    def __repr__(self) -> str:
        return (f'{type(self).__name__}({self.encoder}, num_outputs={self.num_outputs}, '
                f'dropout={self.dropout})')
