"""Node dropping (GraphCL) on a whole batch: dropped nodes really leave the graph."""
from __future__ import annotations

import torch
from torch_geometric.data import Data

from .batch_ops import check_rate, graph_layout, num_removed, sample_count_per_graph, select_nodes


class DropNodes:
    r"""Node dropping of `"Graph Contrastive Learning with Augmentations"
    <https://arxiv.org/abs/2010.13902>`_ (GraphCL) on every graph of a batch at once.

    In every graph of ``n`` nodes, ``min(round(rate * n), n - 1)`` nodes chosen uniformly at
    random are removed, so every graph keeps at least one node and the number of graphs is
    unchanged. Removed nodes really leave: their rows of every node-level attribute (``x``,
    ...), every edge touching them (with its ``edge_attr`` row) and their entries of ``batch``
    are gone, so they contribute nothing to pooling. (The reference GraphCL code only removed
    their edges and left them, isolated, in the readout.) Kept nodes are relabelled compactly
    in their original order; ``ptr`` is recomputed; graph-level attributes such as ``y`` are
    kept as they are.

    Returns a new batch; the input batch and the tensors it shares with a dataset are never
    written. Changed attributes: node-level attributes ``[N', *]``, ``edge_index``
    ``[2, E']``, edge-level attributes ``[E', *]``, ``batch`` ``[N']`` and ``ptr``
    ``[G + 1]``. Other index attributes (names containing ``index``) are not remapped.

    Args:
        rate (float): fraction of every graph's nodes to drop, in ``[0, 1)``.
            (default: :obj:`0.2`)
    """

    def __init__(self, rate: float = 0.2) -> None:
        self.rate = check_rate(rate)

    def __call__(self, batch: Data, generator: torch.Generator | None = None) -> Data:
        layout = graph_layout(batch)
        drop = sample_count_per_graph(layout.batch, num_removed(layout.counts, self.rate),
                                      generator)
        return select_nodes(batch, ~drop, layout)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(rate={self.rate})'
