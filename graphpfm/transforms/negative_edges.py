"""Per-graph uniform negative edge sampling on a collated batch, vectorised and seeded."""
from __future__ import annotations

import torch
from torch import Tensor


def undirected_pairs(edge_index: Tensor, num_nodes: int) -> Tensor:
    r"""The distinct unordered node pairs joined by an edge, as ``[2, P]`` with ``row < col``,
    sorted by ``row * num_nodes + col``; self-loops are left out.

    For a molecule batch (every bond stored in both directions) this is one column per bond.
    """
    src, dst = edge_index
    keep = src != dst
    lo, hi = torch.minimum(src[keep], dst[keep]), torch.maximum(src[keep], dst[keep])
    key = torch.unique(lo * num_nodes + hi)
    return torch.stack([key // num_nodes, key % num_nodes])


def sample_negative_edges(pairs: Tensor, ptr: Tensor, graph: Tensor,
                          generator: torch.Generator | None = None,
                          max_tries: int = 20) -> Tensor:
    r"""Draw one non-edge of graph ``graph[k]`` for every ``k``: an unordered pair of distinct
    nodes of that graph, uniform over all its pairs, rejected (and redrawn) while it is an edge.

    Every graph of the batch is sampled at once with tensor ops; the only loop is over at most
    :obj:`max_tries` rejection rounds, each redrawing the still-rejected samples. A sample
    still hitting an edge after the last round is dropped (which can only happen, rarely, in
    a graph with very few non-edges), so the result may have fewer than ``graph.numel()``
    columns. Callers should not ask for negatives of graphs without any non-edge (see
    :func:`num_non_edges`). Samples are drawn with replacement.

    Args:
        pairs (Tensor): the graph's edges as sorted unordered pairs, from
            :func:`undirected_pairs`.
        ptr (Tensor): node offsets of the graphs, ``[num_graphs + 1]`` (``batch.ptr``).
        graph (Tensor): the graph of every wanted negative, ``[M]``.
        generator (torch.Generator, optional): the only source of randomness; on the device
            of ``ptr``. (default: :obj:`None`)
        max_tries (int): rejection rounds. (default: :obj:`20`)

    Returns:
        ``LongTensor [2, M']`` with ``row < col``, both nodes of the same graph.
    """
    device = ptr.device
    num_nodes = int(ptr[-1])
    edge_key = pairs[0] * num_nodes + pairs[1]  # sorted, as undirected_pairs returns them
    start = ptr[graph]
    size = ptr[graph + 1] - start
    u = torch.empty_like(graph)
    v = torch.empty_like(graph)
    todo = torch.arange(graph.numel(), device=device)
    for _ in range(max_tries):
        if todo.numel() == 0:
            break
        n = size[todo]
        r = torch.rand(2, todo.numel(), generator=generator, device=device)
        a = torch.minimum((r[0] * n).long(), n - 1)
        # an offset in 1..n-1 makes b != a; (a, b) is uniform over ordered distinct pairs
        b = (a + 1 + torch.minimum((r[1] * (n - 1)).long(), n - 2)) % n
        lo = start[todo] + torch.minimum(a, b)
        hi = start[todo] + torch.maximum(a, b)
        u[todo], v[todo] = lo, hi
        key = lo * num_nodes + hi
        if edge_key.numel() == 0:  # nothing to reject
            todo = todo[:0]
            break
        pos = torch.searchsorted(edge_key, key).clamp(max=edge_key.numel() - 1)
        hit = edge_key[pos] == key
        todo = todo[hit]
    keep = torch.ones(graph.numel(), dtype=torch.bool, device=device)
    keep[todo] = False
    return torch.stack([u[keep], v[keep]])


def num_non_edges(pairs: Tensor, ptr: Tensor) -> Tensor:
    r"""Number of unordered pairs of distinct nodes that are not edges, per graph
    (``[num_graphs]``), given :func:`undirected_pairs` of the batch and its ``ptr``."""
    n = ptr[1:] - ptr[:-1]
    graph_of_node = torch.repeat_interleave(torch.arange(n.numel(), device=ptr.device), n,
                                            output_size=int(ptr[-1]))
    edges = torch.bincount(graph_of_node[pairs[0]], minlength=n.numel())
    return n * (n - 1) // 2 - edges
