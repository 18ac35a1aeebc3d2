r"""Neighbour sampling in pure, vectorised torch (no ``pyg-lib`` or ``torch-sparse`` needed)."""
from __future__ import annotations

import math
from typing import Iterator, Sequence

import torch
from torch import Tensor
from torch_geometric.data import Data

#: without replacement, nodes whose degree is at most this many times ``k`` draw ``k`` of their
#: edges by sorting random keys (cost: their degree); busier nodes draw with replacement and
#: reject repeats (cost: about ``k``), so hubs stay cheap.
DENSE_FACTOR = 4


def _ranges(starts: Tensor, counts: Tensor) -> tuple[Tensor, Tensor]:
    """Concatenate ``arange(s, s + c)`` for every pair; returns positions and segment ids."""
    device = starts.device
    total = int(counts.sum()) if counts.numel() else 0
    seg = torch.repeat_interleave(torch.arange(counts.numel(), device=device), counts,
                                  output_size=total)
    offset = torch.cumsum(counts, 0) - counts
    pos = starts[seg] + (torch.arange(total, device=device) - offset[seg])
    return pos, seg


def _rand(n: int, generator: torch.Generator | None, device: torch.device) -> Tensor:
    """``n`` uniform float64 values in ``[0, 1)`` from ``generator`` (on its own device)."""
    gen_device = generator.device if generator is not None else device
    return torch.rand(n, generator=generator, device=gen_device, dtype=torch.float64).to(device)


def _lexsort(major: Tensor, minor: Tensor) -> Tensor:
    """Permutation sorting by ``major``, then ``minor`` (two stable sorts, no key overflow)."""
    order = torch.argsort(minor, stable=True)
    return order[torch.argsort(major[order], stable=True)]


def _rank_in_segment(seg: Tensor, key: Tensor) -> tuple[Tensor, Tensor]:
    """Order elements by (segment, key); returns that order and each element's rank inside its
    segment (in that order)."""
    order = _lexsort(seg, key)
    seg_sorted = seg[order]
    counts = torch.bincount(seg_sorted, minlength=int(seg.max()) + 1 if seg.numel() else 0)
    start = torch.cumsum(counts, 0) - counts
    rank = torch.arange(seg.numel(), device=seg.device) - start[seg_sorted]
    return order, rank


def sample_positions(start: Tensor, deg: Tensor, k: int, replace: bool = False,
                     generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    r"""Sample up to ``k`` positions in each segment ``[start[i], start[i] + deg[i])``, with no
    Python loop over segments.

    * ``k < 0``, or ``deg[i] <= k`` without replacement: the whole segment.
    * without replacement, ``k < deg[i] <= DENSE_FACTOR * k``: the ``k`` positions with the
      smallest random keys (uniform ``k``-subset; cost ``deg[i]``).
    * without replacement, ``deg[i] > DENSE_FACTOR * k``: draws with replacement, keeping the
      first ``k`` distinct ones in draw order (sequential rejection sampling, also a uniform
      ``k``-subset; cost about ``k``), redrawing for the few segments still short.
    * with replacement: ``k`` uniform draws ``start + floor(u * deg)``; repeats are merged, so
      a segment may get fewer than ``k`` distinct positions.

    Args:
        start (Tensor): first position of every segment ``[S]``.
        deg (Tensor): length of every segment ``[S]``.
        k (int): positions per segment; ``-1`` for all.
        replace (bool): sample with replacement. (default: :obj:`False`)
        generator (torch.Generator, optional): source of randomness.

    Returns:
        ``(pos, seg)``: the sampled positions and the segment of each (LongTensors).
    """
    device = start.device
    if k < 0:
        return _ranges(start, deg)
    if k == 0 or start.numel() == 0:
        empty = torch.empty(0, dtype=torch.long, device=device)
        return empty, empty
    segs = torch.arange(start.numel(), device=device)
    if replace:
        has = segs[deg > 0].repeat_interleave(k)
        pos = start[has] + (_rand(has.numel(), generator, device) * deg[has]).long()
        pos = torch.minimum(pos, start[has] + deg[has] - 1)  # guard float rounding
        pos, inverse = torch.unique(pos, return_inverse=True)
        seg = torch.empty_like(pos)
        seg[inverse] = has
        return pos, seg

    out_pos, out_seg = [], []
    full = deg <= k
    p, s = _ranges(start[full], deg[full])
    out_pos.append(p)
    out_seg.append(segs[full][s])

    dense = ~full & (deg <= DENSE_FACTOR * k)
    if bool(dense.any()):
        dd = deg[dense]
        p, s = _ranges(start[dense], dd)
        # sort each segment by random keys: segments stay in place, so ranks come from offsets
        order = torch.argsort(s.double() + _rand(p.numel(), generator, device))
        rank = torch.arange(p.numel(), device=device) - (torch.cumsum(dd, 0) - dd)[s]
        keep = order[rank < k]
        out_pos.append(p[keep])
        out_seg.append(segs[dense][s[keep]])

    sparse = deg > DENSE_FACTOR * k
    if bool(sparse.any()):
        ids = segs[sparse]
        st, dg = start[sparse], deg[sparse]
        have_pos = torch.empty(0, dtype=torch.long, device=device)
        have_seg = torch.empty(0, dtype=torch.long, device=device)
        have_seq = torch.empty(0, dtype=torch.long, device=device)
        need = torch.full((ids.numel(),), k, dtype=torch.long, device=device)
        next_seq = 0
        while bool((need > 0).any()):
            draw_seg = torch.arange(ids.numel(), device=device).repeat_interleave(2 * need)
            draw_pos = st[draw_seg] + (_rand(draw_seg.numel(), generator, device)
                                       * dg[draw_seg]).long()
            draw_pos = torch.minimum(draw_pos, st[draw_seg] + dg[draw_seg] - 1)
            draw_seq = torch.arange(next_seq, next_seq + draw_seg.numel(), device=device)
            next_seq += draw_seg.numel()
            pos = torch.cat([have_pos, draw_pos])
            seg = torch.cat([have_seg, draw_seg])
            seq = torch.cat([have_seq, draw_seq])
            # the first draw of every distinct position (positions never repeat across segments)
            order = _lexsort(pos, seq)
            pos, seg, seq = pos[order], seg[order], seq[order]
            first = torch.ones_like(pos, dtype=torch.bool)
            first[1:] = pos[1:] != pos[:-1]
            pos, seg, seq = pos[first], seg[first], seq[first]
            # the first k of every segment in draw order
            order, rank = _rank_in_segment(seg, seq)
            keep = order[rank < k]
            have_pos, have_seg, have_seq = pos[keep], seg[keep], seq[keep]
            need = k - torch.bincount(have_seg, minlength=ids.numel())
        out_pos.append(have_pos)
        out_seg.append(ids[have_seg])
    return torch.cat(out_pos), torch.cat(out_seg)


class NeighborLoader:
    r"""Mini-batches of sampled neighbourhoods for training a GNN on one large graph, as in
    GraphSAGE (`Hamilton et al., 2017 <https://arxiv.org/abs/1706.02216>`_), in the output
    format of :class:`torch_geometric.loader.NeighborLoader` but in pure, vectorised torch:
    PyG's sampler needs ``pyg-lib`` or ``torch-sparse``, which this one does not.

    The graph is stored once as a CSR sorted by target node. For every batch of seed nodes,
    hop ``h`` samples up to ``num_neighbors[h]`` in-neighbours (sources of edges into the node)
    of every node first reached at hop ``h - 1`` (the seeds for ``h = 0``); see
    :func:`sample_positions` for the sampling schemes. Every seed is used exactly once per
    epoch, in an order shuffled by :obj:`generator`.

    Each batch is a :class:`~torch_geometric.data.Data` holding:

    * every node attribute of :obj:`data` (``x``, ``y``, masks, ...) for the sampled nodes,
      and every edge attribute for the sampled edges;
    * :obj:`edge_index` (LongTensor ``[2, E]``): the sampled edges in local ids, messages
      flowing from the sampled neighbour (row 0) to the node it was sampled for (row 1);
    * :obj:`n_id` (LongTensor ``[n]``): global id of every local node; the :obj:`batch_size`
      seeds come first, in batch order; the nodes reached at each hop follow, hop by hop,
      in order of discovery (as PyG);
    * :obj:`e_id` (LongTensor ``[E]``): global id of every sampled edge;
    * :obj:`input_id` (LongTensor ``[batch_size]``): position of each seed in
      :obj:`input_nodes`;
    * :obj:`batch_size` (int), :obj:`num_sampled_nodes` (list: seeds, then new nodes per hop)
      and :obj:`num_sampled_edges` (list: edges per hop).

    Sampling runs in the calling process on the device of ``data.edge_index``; the batches are
    moved to the training device by the caller.

    Args:
        data (Data): the graph; ``num_nodes`` must be known (never inferred from edges).
        num_neighbors (list of int): neighbours sampled per node at each hop; ``-1`` takes all
            of them (as in PyG); the list length is the number of hops.
        batch_size (int): seed nodes per batch. (default: :obj:`1024`)
        input_nodes (Tensor, optional): the seeds: a LongTensor of distinct node ids or a
            BoolTensor mask ``[num_nodes]``; :obj:`None` for all nodes. (default: :obj:`None`)
        shuffle (bool): shuffle the seeds every epoch. (default: :obj:`True`)
        generator (torch.Generator, optional): source of all randomness (seed order and
            sampling); consumed over epochs, so one seed reproduces the whole sequence of
            batches. :obj:`None` seeds a fresh generator from torch's global RNG at every
            epoch. (default: :obj:`None`)
        replace (bool): sample with replacement (repeats are merged, so at most ``k`` distinct
            neighbours). (default: :obj:`False`)
        drop_last (bool): drop the last, smaller batch. (default: :obj:`False`)
    """

    def __init__(self, data: Data, num_neighbors: Sequence[int], batch_size: int = 1024,
                 input_nodes: Tensor | None = None, shuffle: bool = True,
                 generator: torch.Generator | None = None, replace: bool = False,
                 drop_last: bool = False) -> None:
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        num_neighbors = [int(k) for k in num_neighbors]
        if any(k < -1 for k in num_neighbors):
            raise ValueError(f'num_neighbors entries must be >= -1 (-1: all), got '
                             f'{num_neighbors}')
        if data.num_nodes is None:
            raise ValueError('data.num_nodes is unknown; set it explicitly')
        self.data = data
        self.num_neighbors = num_neighbors
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.generator = generator
        self.replace = replace
        self.drop_last = drop_last
        num_nodes = int(data.num_nodes)
        edge_index = data.edge_index
        device = edge_index.device
        self.input_nodes = self._resolve_input(input_nodes, num_nodes, device)
        dst = edge_index[1]
        self.perm = torch.argsort(dst, stable=True)  # CSR by target: global edge ids
        self.src = edge_index[0][self.perm]
        deg = torch.bincount(dst, minlength=num_nodes)
        self.rowptr = torch.cat([torch.zeros(1, dtype=torch.long, device=device),
                                 torch.cumsum(deg, 0)])
        self.num_nodes = num_nodes
        self._node_keys = [k for k in data.keys() if k != 'edge_index' and data.is_node_attr(k)]
        self._edge_keys = [k for k in data.keys() if k != 'edge_index' and data.is_edge_attr(k)
                           and k not in self._node_keys]
        self._other_keys = [k for k in data.keys() if k != 'edge_index'
                            and k not in self._node_keys and k not in self._edge_keys
                            and k != 'num_nodes']

    @staticmethod
    def _resolve_input(input_nodes: Tensor | None, num_nodes: int,
                       device: torch.device) -> Tensor:
        if input_nodes is None:
            return torch.arange(num_nodes, device=device)
        idx = torch.as_tensor(input_nodes, device=device)
        if idx.dtype == torch.bool:
            if idx.numel() != num_nodes:
                raise ValueError(f'input_nodes mask has {idx.numel()} entries for {num_nodes} '
                                 'nodes')
            idx = idx.nonzero().view(-1)
        else:
            idx = idx.long().view(-1)
            if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= num_nodes):
                raise ValueError(f'input_nodes must lie in [0, {num_nodes}), got '
                                 f'[{int(idx.min())}, {int(idx.max())}]')
            if torch.unique(idx).numel() != idx.numel():
                raise ValueError('input_nodes repeats some nodes; every seed is used once per '
                                 'epoch, so pass distinct ids')
        if idx.numel() == 0:
            raise ValueError('input_nodes selects no node')
        return idx

    def __len__(self) -> int:
        n = self.input_nodes.numel()
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[Data]:
        device = self.input_nodes.device
        generator = self.generator
        if generator is None:
            generator = torch.Generator().manual_seed(int(torch.randint(0, 2**62, ()).item()))
        n = self.input_nodes.numel()
        if self.shuffle:
            gen_device = generator.device
            order = torch.randperm(n, generator=generator, device=gen_device).to(device)
        else:
            order = torch.arange(n, device=device)
        assoc = torch.full((self.num_nodes,), -1, dtype=torch.long, device=device)
        stop = (n // self.batch_size) * self.batch_size if self.drop_last else n
        for begin in range(0, stop, self.batch_size):
            input_id = order[begin:begin + self.batch_size]
            yield self._sample(self.input_nodes[input_id], input_id, assoc, generator)

    def sample(self, seeds: Tensor, generator: torch.Generator | None = None) -> Data:
        """The sampled subgraph around ``seeds`` (distinct global node ids), as one batch."""
        seeds = torch.as_tensor(seeds, dtype=torch.long, device=self.rowptr.device).view(-1)
        if torch.unique(seeds).numel() != seeds.numel():
            raise ValueError('seeds must be distinct')
        assoc = torch.full((self.num_nodes,), -1, dtype=torch.long, device=seeds.device)
        return self._sample(seeds, torch.arange(seeds.numel(), device=seeds.device), assoc,
                            generator)

    def _sample(self, seeds: Tensor, input_id: Tensor, assoc: Tensor,
                generator: torch.Generator | None) -> Data:
        device = seeds.device
        num = seeds.numel()
        assoc[seeds] = torch.arange(num, device=device)
        n_ids, rows, cols, e_ids = [seeds], [], [], []
        num_sampled_nodes, num_sampled_edges = [num], []
        frontier = seeds
        for k in self.num_neighbors:
            if frontier.numel() == 0:
                num_sampled_nodes.append(0)
                num_sampled_edges.append(0)
                continue
            start = self.rowptr[frontier]
            deg = self.rowptr[frontier + 1] - start
            pos, seg = sample_positions(start, deg, k, self.replace, generator)
            src = self.src[pos]
            # new nodes in order of first appearance, deduplicated by a scatter (no sort):
            # every unseen node's map entry briefly holds its first position in ``cand``
            cand = src[assoc[src] < 0]
            where = torch.arange(cand.numel(), device=device)
            assoc.scatter_reduce_(0, cand, where, 'amin', include_self=False)
            new = cand[assoc[cand] == where]
            assoc[new] = torch.arange(num, num + new.numel(), device=device)
            num += new.numel()
            rows.append(assoc[src])
            cols.append(assoc[frontier[seg]])
            e_ids.append(self.perm[pos])
            n_ids.append(new)
            num_sampled_nodes.append(new.numel())
            num_sampled_edges.append(pos.numel())
            frontier = new
        n_id = torch.cat(n_ids)
        assoc[n_id] = -1  # leave the map clean for the next batch
        empty = torch.empty(0, dtype=torch.long, device=device)
        row = torch.cat(rows) if rows else empty
        col = torch.cat(cols) if cols else empty
        e_id = torch.cat(e_ids) if e_ids else empty
        out = Data(edge_index=torch.stack([row, col]), num_nodes=n_id.numel())
        for key in self._node_keys:
            out[key] = self.data[key][n_id]
        for key in self._edge_keys:
            out[key] = self.data[key][e_id]
        for key in self._other_keys:
            out[key] = self.data[key]
        out.n_id = n_id
        out.e_id = e_id
        out.input_id = input_id
        out.batch_size = int(seeds.numel())
        out.num_sampled_nodes = num_sampled_nodes
        out.num_sampled_edges = num_sampled_edges
        return out

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_nodes={self.num_nodes}, '
                f'num_neighbors={self.num_neighbors}, batch_size={self.batch_size}, '
                f'seeds={self.input_nodes.numel()}, replace={self.replace})')

