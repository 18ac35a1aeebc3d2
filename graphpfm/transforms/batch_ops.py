"""Batch surgery shared by the augmentations: per-graph sampling, node and edge selection.

Every function works on a whole collated :class:`~torch_geometric.data.Batch` (or a single
:class:`~torch_geometric.data.Data`) with tensor ops, and returns new objects: the input batch,
and the dataset tensors it may share storage with, are never written.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data
from torch_geometric.utils import subgraph

#: keys handled explicitly, never classified as node- or edge-level attributes
_RESERVED = ('edge_index', 'batch', 'ptr', 'num_nodes')
_NODE_KEYS = ('x', 'pos')
_EDGE_KEYS = ('edge_attr', 'edge_weight')


def check_rate(rate: float, name: str = 'rate') -> float:
    """Return ``float(rate)`` if it lies in ``[0, 1)``, else raise a :class:`ValueError`."""
    if not 0.0 <= float(rate) < 1.0:
        raise ValueError(f'{name} must be in [0, 1), got {rate}')
    return float(rate)


@dataclass
class GraphLayout:
    r"""Where the graphs of a batch live.

    Attributes:
        batch (Tensor): graph id of every node, ``[N]`` (sorted, as in PyG batches).
        counts (Tensor): number of nodes of every graph, ``[G]``.
        num_graphs (int): ``G``.
    """

    batch: Tensor
    counts: Tensor
    num_graphs: int

    @property
    def num_nodes(self) -> int:
        return self.batch.numel()

    @property
    def ptr(self) -> Tensor:
        """Node offsets ``[G + 1]``."""
        return torch.cat([self.counts.new_zeros(1), torch.cumsum(self.counts, 0)])


def num_removed(counts: Tensor, rate: float) -> Tensor:
    """Nodes to remove per graph: ``min(round(rate * n), n - 1)``, so each keeps at least
    one (an empty graph removes none)."""
    return torch.minimum(torch.round(counts.double() * rate).long(), (counts - 1).clamp(min=0))


def graph_layout(data: Data) -> GraphLayout:
    r"""The :class:`GraphLayout` of a batch: node counts come from ``data.num_nodes`` and
    ``data.batch`` (a :class:`Data` without ``batch`` is one graph), never from
    ``edge_index``."""
    num_nodes = data.num_nodes
    if num_nodes is None:
        raise ValueError('cannot tell the number of nodes: the batch has neither x nor batch')
    device = data.edge_index.device if 'edge_index' in data else None
    batch_vec = data.batch if 'batch' in data else None
    if batch_vec is None:
        x = data.x if 'x' in data else None
        device = x.device if x is not None else device
        batch_vec = torch.zeros(num_nodes, dtype=torch.long, device=device)
    if batch_vec.numel() != num_nodes:
        raise ValueError(f'batch has {batch_vec.numel()} entries for {num_nodes} nodes')
    if isinstance(data, Batch):
        num_graphs = data.num_graphs
    elif 'ptr' in data:
        num_graphs = data.ptr.numel() - 1
    else:
        num_graphs = int(batch_vec.max()) + 1 if batch_vec.numel() > 0 else 1
    counts = torch.bincount(batch_vec, minlength=num_graphs)
    return GraphLayout(batch_vec, counts, num_graphs)


def sample_count_per_graph(group: Tensor, k: Tensor,
                           generator: torch.Generator | None = None) -> Tensor:
    r"""Choose ``min(k[g], m_g)`` items uniformly without replacement among the ``m_g`` items
    of every group ``g``, with no Python loop over groups.

    The count-based sibling of :func:`~graphpfm.transforms.sample_per_graph`: items are
    ordered by a random key, stably sorted by group, and the first ``k[g]`` of every group's
    run are taken.

    Args:
        group (Tensor): group id of every item, ``[M]`` (any order).
        k (Tensor): wanted count of every group, ``[G]``.
        generator (torch.Generator, optional): source of randomness. (default: :obj:`None`)

    Returns:
        BoolTensor ``[M]``: the chosen items.
    """
    m = group.numel()
    device = group.device
    counts = torch.bincount(group, minlength=k.numel())
    perm = torch.argsort(torch.rand(m, generator=generator, device=device))
    order = perm[torch.argsort(group[perm], stable=True)]
    start = torch.cumsum(counts, 0) - counts
    g_sorted = group[order]
    rank = torch.arange(m, device=device) - start[g_sorted]
    chosen = torch.zeros(m, dtype=torch.bool, device=device)
    chosen[order[rank < k[g_sorted]]] = True
    return chosen


def split_keys(data: Data, num_nodes: int, num_edges: int,
               num_graphs: int) -> tuple[list[str], list[str]]:
    r"""Names of the node-level and edge-level tensor attributes of a batch.

    ``x``, ``pos`` are node-level and ``edge_attr``, ``edge_weight`` edge-level by name. Any
    other tensor concatenated along dimension 0 is node-level if its first dimension is
    ``num_nodes``, edge-level if it is ``num_edges``, except that a first dimension of
    ``num_graphs`` always means graph-level (so ``y`` stays untouched even when a batch
    happens to hold as many graphs as nodes). Index attributes (names containing ``index``,
    concatenated along the last dimension) other than ``edge_index`` are not touched.
    """
    node_keys: list[str] = []
    edge_keys: list[str] = []
    for key in data.keys():
        value = data[key]
        if key in _RESERVED or not isinstance(value, Tensor) or value.dim() == 0:
            continue
        if key in _NODE_KEYS:
            node_keys.append(key)
        elif key in _EDGE_KEYS:
            edge_keys.append(key)
        elif data.__cat_dim__(key, value) != 0 or value.size(0) == num_graphs:
            continue
        elif value.size(0) == num_nodes:
            node_keys.append(key)
        elif value.size(0) == num_edges:
            edge_keys.append(key)
    return node_keys, edge_keys


def _edge_ptr(edge_index: Tensor, batch_vec: Tensor, num_graphs: int) -> Tensor:
    counts = torch.bincount(batch_vec[edge_index[0]], minlength=num_graphs)
    return torch.cat([counts.new_zeros(1), torch.cumsum(counts, 0)])


def _update_slices(out: Data, data: Data, node_keys: list[str], edge_keys: list[str],
                   ptr: Tensor | None, edge_ptr: Tensor) -> None:
    """Keep ``Batch.to_data_list()`` working: refresh the slice and increment bookkeeping of a
    batch built by :meth:`Batch.from_data_list` (batches built by tensor gathers have none)."""
    slices = getattr(data, '_slice_dict', None)
    if not slices:
        return
    slices = dict(slices)
    incs = dict(getattr(data, '_inc_dict', None) or {})
    for key in node_keys:
        if key in slices and ptr is not None:
            slices[key] = ptr
    for key in [*edge_keys, 'edge_index']:
        if key in slices:
            slices[key] = edge_ptr
    if 'edge_index' in incs and ptr is not None:
        incs['edge_index'] = ptr[:-1]
    out._slice_dict = slices
    out._inc_dict = incs


def select_nodes(data: Data, keep: Tensor, layout: GraphLayout) -> Data:
    r"""The subgraph of every graph induced by the nodes ``keep``, as a new batch.

    Node-level attributes (see :func:`split_keys`) keep the rows of kept nodes, ``edge_index``
    keeps the edges whose endpoints are both kept, relabelled compactly and in their original
    order, edge-level attributes keep the matching rows; ``batch`` and ``ptr`` are
    recomputed; graph-level attributes (``y``) and the number of graphs are unchanged.

    Args:
        data (Data): the batch (never written).
        keep (Tensor): BoolTensor ``[N]``, the kept nodes.
        layout (GraphLayout): the batch's layout, from :func:`graph_layout`.
    """
    num_nodes = layout.num_nodes
    edge_index = data.edge_index if 'edge_index' in data else None
    num_edges = 0 if edge_index is None else edge_index.size(1)
    node_keys, edge_keys = split_keys(data, num_nodes, num_edges, layout.num_graphs)
    out = copy.copy(data)
    new_batch = layout.batch[keep]
    counts = torch.bincount(new_batch, minlength=layout.num_graphs)
    ptr = torch.cat([counts.new_zeros(1), torch.cumsum(counts, 0)])
    for key in node_keys:
        out[key] = data[key][keep]
    if edge_index is not None:
        new_ei, _, edge_mask = subgraph(keep, edge_index, relabel_nodes=True,
                                        num_nodes=num_nodes, return_edge_mask=True)
        out.edge_index = new_ei
        for key in edge_keys:
            out[key] = data[key][edge_mask]
    else:
        new_ei = torch.empty(2, 0, dtype=torch.long, device=keep.device)
    if 'batch' in data:
        out.batch = new_batch
    if 'ptr' in data:
        out.ptr = ptr
    if 'num_nodes' in data._store:
        out.num_nodes = int(new_batch.numel())
    _update_slices(out, data, node_keys, edge_keys, ptr,
                   _edge_ptr(new_ei, new_batch, layout.num_graphs))
    return out


def replace_edges(data: Data, keep: Tensor, new_edge_index: Tensor,
                  new_edge_fill: dict[str, Tensor], layout: GraphLayout) -> Data:
    r"""A new batch whose edges are the kept edges of ``data`` plus ``new_edge_index``,
    regrouped by graph (stable: kept edges keep their order, new edges follow them in each
    graph).

    Args:
        data (Data): the batch (never written).
        keep (Tensor): BoolTensor ``[E]``, the kept edges.
        new_edge_index (Tensor): LongTensor ``[2, E_new]``, the added edges.
        new_edge_fill (dict[str, Tensor]): for some edge-level attributes, the row given to
            every added edge; the others get zeros.
        layout (GraphLayout): the batch's layout, from :func:`graph_layout`.
    """
    edge_index = data.edge_index
    _, edge_keys = split_keys(data, layout.num_nodes, edge_index.size(1), layout.num_graphs)
    out = copy.copy(data)
    merged = torch.cat([edge_index[:, keep], new_edge_index], 1)
    order = torch.argsort(layout.batch[merged[0]], stable=True)
    out.edge_index = merged[:, order]
    num_new = new_edge_index.size(1)
    for key in edge_keys:
        value = data[key]
        fill = new_edge_fill.get(key)
        if fill is None:
            fill = value.new_zeros(value.shape[1:])
        fill = fill.to(value.device, value.dtype).expand(num_new, *value.shape[1:])
        out[key] = torch.cat([value[keep], fill], 0)[order]
    _update_slices(out, data, [], edge_keys, None,
                   _edge_ptr(out.edge_index, layout.batch, layout.num_graphs))
    return out
