"""Batch-level substructure / context extraction for context prediction."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data
from torch_geometric.utils import subgraph


def _num_graphs(batch: Data, batch_vec: Tensor) -> int:
    if isinstance(batch, Batch):
        return batch.num_graphs
    return int(batch_vec.max()) + 1 if batch_vec.numel() > 0 else 1


def sample_centers(batch_vec: Tensor, num_graphs: int,
                   generator: torch.Generator | None = None) -> Tensor:
    r"""Sample one node uniformly inside every graph of a batch, with no loop over graphs.

    Args:
        batch_vec (Tensor): graph id of every node ``[N]`` (sorted, as PyG batches are).
        num_graphs (int): number of graphs.
        generator (torch.Generator, optional): source of randomness (on the batch's device).

    Returns:
        LongTensor ``[num_graphs]``: the global index of each graph's center, ``-1`` for a
        graph without nodes.
    """
    counts = torch.bincount(batch_vec, minlength=num_graphs)
    start = torch.cumsum(counts, 0) - counts
    u = torch.rand(num_graphs, generator=generator, device=batch_vec.device,
                   dtype=torch.float64)
    offset = torch.minimum((u * counts).long(), (counts - 1).clamp(min=0))
    return torch.where(counts > 0, start + offset, torch.full_like(start, -1))


def hop_distance(edge_index: Tensor, sources: Tensor, num_nodes: int, max_hops: int) -> Tensor:
    r"""Hop distance of every node from the nearest of ``sources``, by ``max_hops`` rounds of
    frontier expansion over the whole (batched) graph at once.

    In a batch of disjoint graphs with one source per graph this is every node's distance
    from its own graph's source.

    Args:
        edge_index (LongTensor): edges ``[2, E]`` (both directions for undirected graphs).
        sources (LongTensor): source node indices (entries ``< 0`` are ignored).
        num_nodes (int): number of nodes ``N``.
        max_hops (int): expand this many hops.

    Returns:
        LongTensor ``[N]``: the distance, or ``max_hops + 1`` for nodes farther than
        ``max_hops`` (or unreachable).
    """
    device = edge_index.device
    far = max_hops + 1
    dist = torch.full((num_nodes,), far, dtype=torch.long, device=device)
    sources = sources[sources >= 0]
    dist[sources] = 0
    src, dst = edge_index
    frontier = torch.zeros(num_nodes, dtype=torch.bool, device=device)
    frontier[sources] = True
    for hop in range(1, max_hops + 1):
        reached = torch.zeros(num_nodes, dtype=torch.bool, device=device)
        reached[dst[frontier[src]]] = True
        frontier = reached & (dist == far)
        dist = torch.where(frontier, hop, dist)
    return dist


@dataclass
class SubstructContext:
    r"""What :class:`ExtractSubstructContext` returns: two batches of subgraphs, one pair per
    kept graph (graphs without an anchor node are dropped from both).

    Attributes:
        substruct (Data): the ``k``-hop neighbourhoods: ``x``, ``edge_index``, ``edge_attr``,
            ``batch`` (LongTensor ``[N_s]``, kept-graph id) and ``center_index``
            (LongTensor ``[G']``, each kept graph's center, indexing ``substruct`` nodes).
        context (Data): the rings: ``x``, ``edge_index``, ``edge_attr``, ``batch``
            (LongTensor ``[N_c]``), ``anchor_index`` (LongTensor ``[A]``, anchor nodes indexing
            ``context`` nodes) and ``anchor_batch`` (LongTensor ``[A]``, their kept-graph id).
        graph_index (Tensor): LongTensor ``[G']``, the input graph id of every kept graph.
        center (Tensor): LongTensor ``[G]``, every input graph's center (input node index,
            ``-1`` for an empty graph).
        num_graphs (int): number of input graphs ``G``.
    """

    substruct: Data
    context: Data
    graph_index: Tensor
    center: Tensor
    num_graphs: int

    @property
    def num_kept(self) -> int:
        """Number of graphs with a substructure/context pair."""
        return self.graph_index.numel()

    @property
    def num_skipped(self) -> int:
        """Number of input graphs without an anchor node (no pair)."""
        return self.num_graphs - self.num_kept


class ExtractSubstructContext:
    r"""Substructure and context graphs of `"Strategies for Pre-training Graph Neural
    Networks" <https://arxiv.org/abs/1905.12265>`_ (context prediction), for every graph of a
    batch at once.

    With ``d(v)`` the hop distance of node ``v`` from its graph's center:

    * the **substructure** is the subgraph induced by ``d(v) <= k``;
    * the **context** is the subgraph induced by ``r1 < d(v) <= r2`` (a ring of width
      ``r2 - r1``; nodes at distance exactly ``r1`` are *not* in it, as in the reference
      code's symmetric difference of the ``r1``- and ``r2``-balls);
    * the **anchors** are the nodes in both: ``r1 < d(v) <= k``.

    Graphs without an anchor (too small for a context) are dropped from both outputs; their
    number is :attr:`SubstructContext.num_skipped`. Distances come from ``r2`` rounds of
    frontier expansion over the batch's ``edge_index`` and the subgraphs from
    :func:`torch_geometric.utils.subgraph`: tensor ops on the batch's device, no loop over
    graphs or nodes. The input batch is never written.

    Args:
        k (int): substructure radius (the encoder's number of layers).
        r1 (int): inner radius of the context ring (exclusive), ``0 <= r1 < k``.
        r2 (int): outer radius of the context ring (inclusive), ``r2 > r1``.
    """

    def __init__(self, k: int, r1: int, r2: int) -> None:
        if k < 1:
            raise ValueError(f'k must be >= 1, got {k}')
        if not 0 <= r1 < k:
            raise ValueError(f'r1 must satisfy 0 <= r1 < k={k} (else no anchor nodes), got {r1}')
        if r2 <= r1:
            raise ValueError(f'r2 must be > r1={r1}, got {r2}')
        self.k, self.r1, self.r2 = k, r1, r2

    def __call__(self, batch: Data, generator: torch.Generator | None = None,
                 center: Tensor | None = None) -> SubstructContext:
        """Extract the pairs; ``center`` (global node index per graph) overrides sampling."""
        x, edge_index = batch.x, batch.edge_index
        edge_attr = getattr(batch, 'edge_attr', None)
        n = x.size(0)
        device = x.device
        batch_vec = getattr(batch, 'batch', None)
        if batch_vec is None:
            batch_vec = torch.zeros(n, dtype=torch.long, device=device)
        num_graphs = _num_graphs(batch, batch_vec)
        if center is None:
            center = sample_centers(batch_vec, num_graphs, generator)
        dist = hop_distance(edge_index, center, n, max(self.k, self.r2))

        in_ring = (dist > self.r1) & (dist <= self.r2)
        anchor = in_ring & (dist <= self.k)
        kept = torch.zeros(num_graphs, dtype=torch.bool, device=device)
        kept[batch_vec[anchor]] = True
        node_kept = kept[batch_vec]
        in_sub = (dist <= self.k) & node_kept
        in_ctx = in_ring  # a node in the ring implies an anchor in its graph (distances are
        # contiguous along shortest paths), so every ring node's graph is kept
        graph_index = kept.nonzero().view(-1)
        new_graph = torch.cumsum(kept, 0) - 1

        sub_ei, sub_ea = subgraph(in_sub, edge_index, edge_attr, relabel_nodes=True,
                                  num_nodes=n)
        ctx_ei, ctx_ea = subgraph(in_ctx, edge_index, edge_attr, relabel_nodes=True,
                                  num_nodes=n)
        sub_pos = torch.cumsum(in_sub, 0) - 1
        ctx_pos = torch.cumsum(in_ctx, 0) - 1
        substruct = Data(x=x[in_sub], edge_index=sub_ei, edge_attr=sub_ea,
                         batch=new_graph[batch_vec[in_sub]],
                         center_index=sub_pos[center[graph_index]])
        context = Data(x=x[in_ctx], edge_index=ctx_ei, edge_attr=ctx_ea,
                       batch=new_graph[batch_vec[in_ctx]],
                       anchor_index=ctx_pos[anchor], anchor_batch=new_graph[batch_vec[anchor]])
        return SubstructContext(substruct, context, graph_index, center, num_graphs)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(k={self.k}, r1={self.r1}, r2={self.r2})'
