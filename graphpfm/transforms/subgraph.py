"""Connected subgraph sampling (GraphCL) on a whole batch by batched frontier expansion."""
from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.data import Data

from .batch_ops import (
    GraphLayout,
    check_rate,
    graph_layout,
    num_removed,
    sample_count_per_graph,
    select_nodes,
)
from .context import sample_centers


def grow_connected(edge_index: Tensor, layout: GraphLayout, seeds: Tensor, target: Tensor,
                   generator: torch.Generator | None = None) -> Tensor:
    r"""Grow a connected node set of ``target[g]`` nodes around ``seeds[g]`` in every graph
    ``g`` at once, frontier by frontier.

    Each round adds the unselected neighbours (edges taken in both directions) of the
    selected set; in a graph whose frontier is larger than the nodes it still needs, that
    many frontier nodes are chosen uniformly at random and the graph is done. The result is
    a breadth-first ball around the seed with a randomly thinned outer shell, hence
    connected. A graph whose seed's connected component has fewer than ``target[g]`` nodes
    ends with the whole component. The only loop is over rounds (at most the largest
    eccentricity of a seed).

    Args:
        edge_index (Tensor): edges of the batch ``[2, E]``.
        layout (GraphLayout): the batch's layout.
        seeds (Tensor): LongTensor ``[G]``, a node of every graph (``-1`` for an empty graph).
        target (Tensor): LongTensor ``[G]``, the wanted size of every graph's set.
        generator (torch.Generator, optional): source of randomness. (default: :obj:`None`)

    Returns:
        BoolTensor ``[N]``: the selected nodes.
    """
    batch_vec = layout.batch
    num_nodes, num_graphs = layout.num_nodes, layout.num_graphs
    src, dst = edge_index
    selected = torch.zeros(num_nodes, dtype=torch.bool, device=batch_vec.device)
    seeds = seeds[seeds >= 0]
    selected[seeds] = True
    count = torch.bincount(batch_vec[seeds], minlength=num_graphs)
    while True:
        need = (target - count).clamp(min=0)
        reached = torch.zeros_like(selected)
        reached[dst[selected[src]]] = True
        reached[src[selected[dst]]] = True
        frontier = (reached & ~selected).nonzero().view(-1)
        group = batch_vec[frontier]
        if not bool((need[group] > 0).any()):
            return selected
        pick = frontier[sample_count_per_graph(group, need, generator)]
        selected[pick] = True
        count = count + torch.bincount(batch_vec[pick], minlength=num_graphs)


class Subgraph:
    r"""Subgraph sampling of `"Graph Contrastive Learning with Augmentations"
    <https://arxiv.org/abs/2010.13902>`_ (GraphCL) on every graph of a batch at once: every
    graph is replaced by a connected subgraph around a random node.

    ``rate`` is the fraction of nodes *removed*, as :class:`DropNodes`'s and as the
    ``aug_ratio`` of the GraphCL transfer-learning code (which keeps
    ``int(n * (1 - aug_ratio))`` atoms of a molecule): a graph of ``n`` nodes keeps
    ``n - min(round(rate * n), n - 1)`` nodes, at least one. (The unsupervised TU code of
    GraphCL keeps ``int(n * aug_ratio)`` instead.) The kept set is grown from one seed node
    chosen uniformly in every graph by batched frontier expansion (:func:`grow_connected`):
    whole neighbour shells are added while they fit, and the last shell is subsampled
    uniformly to hit the target exactly. It reaches as many hops as the target needs (the
    reference code, discarding the result of a set union, only ever sampled the seed's
    direct neighbours). A graph whose seed lies in a connected component smaller than the
    target (a salt's counter-ion, say) keeps that whole component, so fewer nodes. The view
    is the subgraph induced by the kept nodes, as in :class:`DropNodes`.

    Returns a new batch; the input batch and the tensors it shares with a dataset are never
    written. Changed attributes: node-level attributes ``[N', *]``, ``edge_index``
    ``[2, E']``, edge-level attributes ``[E', *]``, ``batch`` ``[N']`` and ``ptr``
    ``[G + 1]``. Other index attributes (names containing ``index``) are not remapped.

    Args:
        rate (float): fraction of every graph's nodes to remove, in ``[0, 1)``.
            (default: :obj:`0.2`)
    """

    def __init__(self, rate: float = 0.2) -> None:
        self.rate = check_rate(rate)

    def __call__(self, batch: Data, generator: torch.Generator | None = None) -> Data:
        layout = graph_layout(batch)
        counts = layout.counts
        target = counts - num_removed(counts, self.rate)
        seeds = sample_centers(layout.batch, layout.num_graphs, generator)
        edge_index = batch.edge_index if 'edge_index' in batch else \
            layout.batch.new_empty(2, 0)
        keep = grow_connected(edge_index, layout, seeds, target, generator)
        return select_nodes(batch, keep, layout)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(rate={self.rate})'
