"""Many small graphs held as contiguous tensors plus offsets, collated by tensor gathers."""
from __future__ import annotations

import os
from typing import Any, Iterable, Sequence

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Batch, Data

STORE_FORMAT_VERSION = 1
_INT_DTYPES = (torch.uint8, torch.int16, torch.int32, torch.int64)


def smallest_int_dtype(t: Tensor) -> torch.dtype:
    """The smallest integer dtype that holds every value of ``t`` (uint8, int16, int32 or int64)."""
    if t.numel() == 0:
        return torch.uint8
    lo, hi = int(t.min()), int(t.max())
    if lo >= 0 and hi <= 255:
        return torch.uint8
    for dtype in _INT_DTYPES[1:]:
        info = torch.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            return dtype
    raise ValueError(f'values [{lo}, {hi}] do not fit in int64')


def compact(t: Tensor | None) -> Tensor | None:
    """Cast an integer tensor to its smallest sufficient dtype (float tensors are kept)."""
    if t is None or t.is_floating_point():
        return t
    return t.to(smallest_int_dtype(t))


def _ranges(starts: Tensor, counts: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Concatenate ``arange(s, s + c)`` for every (s, c) pair without a Python loop.

    Returns the gathered positions, the segment id of each position and each segment's offset
    inside the output.
    """
    total = int(counts.sum())
    seg = torch.repeat_interleave(torch.arange(counts.numel()), counts, output_size=total)
    out_off = torch.cumsum(counts, 0) - counts
    pos = starts[seg] + (torch.arange(total) - out_off[seg])
    return pos, seg, out_off


class GraphStore(torch.utils.data.Dataset):
    r"""A dataset of many small graphs stored as a few contiguous tensors.

    Graph ``i`` owns node rows ``node_ptr[i]:node_ptr[i+1]`` of :obj:`x` and edge columns
    ``edge_ptr[i]:edge_ptr[i+1]`` of :obj:`edge_index` (whose entries are indices *local* to
    the graph, so they fit small integer dtypes) and rows of :obj:`edge_attr`.
    Integer tensors are kept in their smallest sufficient dtype and widened to ``int64`` on
    collation.

    Indexing one graph returns a :class:`torch_geometric.data.Data`. Fetching a list of indices
    (``__getitems__``, which :class:`torch.utils.data.DataLoader` and
    :class:`torch.utils.data.Subset` use) returns a ready :class:`~torch_geometric.data.Batch`
    built by tensor gathers, much cheaper than collating a list of :class:`Data` objects.

    Args:
        x (Tensor): node features ``[num_nodes_total, F]``.
        edge_index (Tensor): local edge indices ``[2, num_edges_total]``.
        node_ptr (Tensor): node offsets ``[num_graphs + 1]``.
        edge_ptr (Tensor): edge offsets ``[num_graphs + 1]``.
        edge_attr (Tensor, optional): edge features ``[num_edges_total, Fe]``.
        y (Tensor, optional): graph labels ``[num_graphs, num_tasks]`` (NaN = missing).
        meta (dict, optional): plain-value metadata kept with the store (provenance).
        graph_attrs (dict, optional): further per-graph tensors ``[num_graphs, ...]``, gathered
            into every batch under their names (e.g. the self-supervised targets of
            :mod:`graphpfm.datasets.targets`): half-precision ones are widened to
            ``float32``, and those named in :obj:`bit_widths` are unpacked bits
            (:func:`numpy.packbits` order) returned as ``float32`` ``[batch_size, width]``.
        bit_widths (dict, optional): ``{name: number of bits}`` of the bit-packed
            :obj:`graph_attrs`. (default: :obj:`None`)
    """

    def __init__(self, x: Tensor, edge_index: Tensor, node_ptr: Tensor, edge_ptr: Tensor,
                 edge_attr: Tensor | None = None, y: Tensor | None = None,
                 meta: dict[str, Any] | None = None,
                 graph_attrs: dict[str, Tensor] | None = None,
                 bit_widths: dict[str, int] | None = None) -> None:
        if node_ptr.numel() != edge_ptr.numel():
            raise ValueError('node_ptr and edge_ptr must both have num_graphs + 1 entries')
        if int(node_ptr[-1]) != x.size(0):
            raise ValueError(f'node_ptr[-1]={int(node_ptr[-1])} but x has {x.size(0)} rows')
        if int(edge_ptr[-1]) != edge_index.size(1):
            raise ValueError(f'edge_ptr[-1]={int(edge_ptr[-1])} but edge_index has '
                             f'{edge_index.size(1)} columns')
        if edge_attr is not None and edge_attr.size(0) != edge_index.size(1):
            raise ValueError('edge_attr must have one row per edge')
        if y is not None and y.size(0) != node_ptr.numel() - 1:
            raise ValueError('y must have one row per graph')
        self.graph_attrs: dict[str, Tensor] = {}
        self.bit_widths: dict[str, int] = {}
        self.x = x
        self.edge_index = edge_index
        self.edge_attr = edge_attr
        self.node_ptr = node_ptr.long()
        self.edge_ptr = edge_ptr.long()
        self.y = y
        self.meta = dict(meta or {})
        self.set_graph_attrs(graph_attrs or {}, bit_widths)

    def set_graph_attrs(self, attrs: dict[str, Tensor],
                        bit_widths: dict[str, int] | None = None) -> None:
        """Add (or replace) per-graph tensors gathered into every batch (see the class
        documentation); ``bit_widths`` names the bit-packed ones and their widths."""
        bit_widths = dict(bit_widths or {})
        reserved = {'x', 'edge_index', 'edge_attr', 'y', 'batch', 'ptr'}
        for name, t in attrs.items():
            if name in reserved:
                raise ValueError(f"graph attribute '{name}' would hide a batch key; reserved: "
                                 f"{', '.join(sorted(reserved))}")
            if t.size(0) != len(self):
                raise ValueError(f"graph attribute '{name}' has {t.size(0)} rows for "
                                 f'{len(self)} graphs')
            if name in bit_widths:
                width = bit_widths[name]
                if t.dtype != torch.uint8 or t.dim() != 2 or t.size(1) != (width + 7) // 8:
                    raise ValueError(f"bit-packed attribute '{name}' of {width} bits must be "
                                     f'uint8 [num_graphs, {(width + 7) // 8}], got '
                                     f'{t.dtype} {tuple(t.shape)}')
        unknown = sorted(set(bit_widths) - set(attrs))
        if unknown:
            raise ValueError(f"bit widths given for {', '.join(unknown)}, which are not among "
                             f"the attributes {', '.join(attrs) or '(none)'}")
        self.graph_attrs.update(attrs)
        for name in attrs:
            self.bit_widths.pop(name, None)
        self.bit_widths.update(bit_widths)

    def _graph_attr_rows(self, name: str, idx: Tensor | slice) -> Tensor:
        """Rows ``idx`` of a graph attribute, decoded (bits unpacked, half widened)."""
        rows = self.graph_attrs[name][idx]
        if name in self.bit_widths:
            shifts = torch.arange(7, -1, -1, dtype=torch.uint8)
            bits = (rows.unsqueeze(-1) >> shifts) & 1
            return bits.flatten(1)[:, :self.bit_widths[name]].float()
        if rows.is_floating_point():
            return rows.float() if rows.dtype != torch.float32 else rows.clone()
        return rows.clone()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_graphs(cls, graphs: Iterable[dict[str, Any]], y: Tensor | None = None,
                    meta: dict[str, Any] | None = None) -> 'GraphStore':
        """Build a store from OGB-style graph dicts (``node_feat``, ``edge_index``,
        ``edge_feat``, ``num_nodes``), e.g. the output of :func:`ogb.utils.smiles2graph`."""
        graphs = list(graphs)
        if not graphs:
            raise ValueError('cannot build a GraphStore from zero graphs')
        xs = [np.asarray(g['node_feat']) for g in graphs]
        eis = [np.asarray(g['edge_index']).reshape(2, -1) for g in graphs]
        has_ea = graphs[0].get('edge_feat') is not None
        n = torch.tensor([int(g['num_nodes']) for g in graphs])
        e = torch.tensor([ei.shape[1] for ei in eis])
        x = torch.from_numpy(np.concatenate(xs, 0))
        ei = torch.from_numpy(np.concatenate(eis, 1))
        ea = torch.from_numpy(np.concatenate([np.asarray(g['edge_feat']) for g in graphs], 0)
                              ) if has_ea else None
        zero = torch.zeros(1, dtype=torch.long)
        return cls(compact(x), compact(ei), torch.cat([zero, n.cumsum(0)]),
                   torch.cat([zero, e.cumsum(0)]), compact(ea), y, meta)

    # ------------------------------------------------------------------ sizes
    def __len__(self) -> int:
        return self.node_ptr.numel() - 1

    @property
    def num_graphs(self) -> int:
        return len(self)

    @property
    def num_nodes(self) -> Tensor:
        """Number of nodes of every graph, ``[num_graphs]``."""
        return self.node_ptr[1:] - self.node_ptr[:-1]

    @property
    def num_edges(self) -> Tensor:
        """Number of (directed) edges of every graph, ``[num_graphs]``."""
        return self.edge_ptr[1:] - self.edge_ptr[:-1]

    @property
    def num_tasks(self) -> int:
        return 0 if self.y is None else self.y.size(1)

    # ------------------------------------------------------------------ access
    def __getitem__(self, idx: int) -> Data:
        if isinstance(idx, Tensor):
            idx = int(idx)
        if idx < 0:
            idx += len(self)
        if not 0 <= idx < len(self):
            raise IndexError(f'graph index {idx} out of range for {len(self)} graphs')
        n0, n1 = int(self.node_ptr[idx]), int(self.node_ptr[idx + 1])
        e0, e1 = int(self.edge_ptr[idx]), int(self.edge_ptr[idx + 1])
        data = Data(x=self._widen(self.x[n0:n1]),
                    edge_index=self.edge_index[:, e0:e1].long().contiguous(), num_nodes=n1 - n0)
        if self.edge_attr is not None:
            data.edge_attr = self._widen(self.edge_attr[e0:e1])
        if self.y is not None:
            data.y = self.y[idx:idx + 1].clone()
        for name in self.graph_attrs:
            data[name] = self._graph_attr_rows(name, slice(idx, idx + 1))
        return data

    def __getitems__(self, indices: Sequence[int]) -> Batch:
        return self.collate(indices)

    @staticmethod
    def _widen(t: Tensor) -> Tensor:
        return t.clone() if t.is_floating_point() else t.long()

    def collate(self, indices: Sequence[int] | Tensor) -> Batch:
        """Gather the graphs ``indices`` into one :class:`~torch_geometric.data.Batch`.

        The result equals ``Batch.from_data_list([self[i] for i in indices])`` on the keys
        ``x``, ``edge_index``, ``edge_attr``, ``y``, ``batch``, ``ptr`` and the graph
        attributes; it owns fresh tensors
        (writing into it never changes the store).
        """
        idx = torch.as_tensor(indices, dtype=torch.long).view(-1)
        if idx.numel() == 0:
            raise ValueError('cannot collate an empty list of graphs')
        n = self.node_ptr[idx + 1] - self.node_ptr[idx]
        e = self.edge_ptr[idx + 1] - self.edge_ptr[idx]
        node_pos, batch, node_off = _ranges(self.node_ptr[idx], n)
        edge_pos, edge_seg, _ = _ranges(self.edge_ptr[idx], e)
        edge_index = self.edge_index[:, edge_pos].long() + node_off[edge_seg]
        out = Batch(x=self._widen(self.x[node_pos]), edge_index=edge_index, batch=batch,
                    ptr=torch.cat([node_off, node_off[-1:] + n[-1:]]))
        if self.edge_attr is not None:
            out.edge_attr = self._widen(self.edge_attr[edge_pos])
        if self.y is not None:
            out.y = self.y[idx].clone()
        for name in self.graph_attrs:
            out[name] = self._graph_attr_rows(name, idx)
        out._num_graphs = idx.numel()
        return out

    def index_select(self, indices: Sequence[int] | Tensor) -> 'GraphStore':
        """A new store holding only the graphs ``indices`` (in that order)."""
        idx = torch.as_tensor(indices, dtype=torch.long).view(-1)
        n = self.num_nodes[idx]
        e = self.num_edges[idx]
        node_pos, _, _ = _ranges(self.node_ptr[idx], n)
        edge_pos, _, _ = _ranges(self.edge_ptr[idx], e)
        zero = torch.zeros(1, dtype=torch.long)
        return GraphStore(self.x[node_pos], self.edge_index[:, edge_pos],
                          torch.cat([zero, n.cumsum(0)]), torch.cat([zero, e.cumsum(0)]),
                          None if self.edge_attr is None else self.edge_attr[edge_pos],
                          None if self.y is None else self.y[idx], self.meta,
                          {k: v[idx] for k, v in self.graph_attrs.items()}, self.bit_widths)

    # ------------------------------------------------------------------ (de)serialisation
    def state_dict(self) -> dict[str, Any]:
        """Plain tensors and values only: loadable with ``torch.load(weights_only=True)``."""
        return {'format_version': STORE_FORMAT_VERSION, 'x': self.x,
                'edge_index': self.edge_index, 'edge_attr': self.edge_attr,
                'node_ptr': self.node_ptr, 'edge_ptr': self.edge_ptr, 'y': self.y,
                'meta': self.meta, 'graph_attrs': dict(self.graph_attrs),
                'bit_widths': dict(self.bit_widths)}

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> 'GraphStore':
        version = state.get('format_version')
        if version != STORE_FORMAT_VERSION:
            raise ValueError(f'GraphStore format {version} is not the supported version '
                             f'{STORE_FORMAT_VERSION}; delete the cache to rebuild it')
        return cls(state['x'], state['edge_index'], state['node_ptr'], state['edge_ptr'],
                   state['edge_attr'], state['y'], state['meta'], state.get('graph_attrs'),
                   state.get('bit_widths'))

    def save(self, path: str | os.PathLike) -> None:
        """Save atomically (temp file, then rename)."""
        from ..paths import atomic_write_bytes
        atomic_write_bytes(path, lambda tmp: torch.save(self.state_dict(), tmp))

    @classmethod
    def load(cls, path: str | os.PathLike, mmap: bool = True) -> 'GraphStore':
        """Load a store written by :meth:`save` (``weights_only=True``). With ``mmap`` (the
        default) the tensors are memory-mapped from the file (``torch.load(mmap=True)``):
        pages are read when a batch touches them and shared between processes (loader
        workers, ranks), so a large corpus does not need its size in private memory. The
        mapping is private: writes (there should be none) never reach the file."""
        return cls.from_state_dict(torch.load(path, weights_only=True, map_location='cpu',
                                              mmap=mmap))

    def nbytes(self) -> int:
        """Bytes held by the store's tensors."""
        return sum(t.numel() * t.element_size() for t in
                   (self.x, self.edge_index, self.edge_attr, self.node_ptr, self.edge_ptr, self.y,
                    *self.graph_attrs.values())
                   if t is not None)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(graphs={len(self)}, nodes={self.x.size(0)}, '
                f'edges={self.edge_index.size(1)}, tasks={self.num_tasks})')
