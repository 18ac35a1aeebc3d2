"""Batch-level atom (and bond) masking."""
from __future__ import annotations

import copy

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data

from ..data.ogb_features import atom_mask_token, bond_mask_token


def sample_per_graph(batch_vec: Tensor, num_graphs: int, rate: float, min_count: int = 1,
                     generator: torch.Generator | None = None) -> Tensor:
    r"""Choose ``k_g = clamp(round(rate * n_g), min_count, n_g)`` nodes uniformly without
    replacement inside every graph ``g`` of a batch, with no Python loop over graphs.

    Args:
        batch_vec (Tensor): graph id of every node ``[N]`` (sorted, as PyG batches are).
        num_graphs (int): number of graphs.
        rate (float): fraction of each graph's nodes to select.
        min_count (int): at least this many per non-empty graph. (default: :obj:`1`)
        generator (torch.Generator, optional): source of randomness.

    Returns:
        BoolTensor ``[N]``: the selected nodes.
    """
    n = batch_vec.numel()
    device = batch_vec.device
    counts = torch.bincount(batch_vec, minlength=num_graphs)
    k = torch.clamp(torch.round(counts.double() * rate).long(), min=min_count)
    k = torch.minimum(k, counts)
    # sort nodes by (graph, random key); the first k_g of each graph's run are selected
    key = batch_vec.double() + torch.rand(n, generator=generator, device=device,
                                          dtype=torch.float64)
    order = torch.argsort(key)
    start = torch.cumsum(counts, 0) - counts
    rank = torch.arange(n, device=device) - start[batch_vec[order]]
    selected = torch.zeros(n, dtype=torch.bool, device=device)
    selected[order[rank < k[batch_vec[order]]]] = True
    return selected


class MaskAtoms:
    r"""Attribute masking of `Hu et al. (2020) <https://arxiv.org/abs/1905.12265>`_ on a whole
    batch: in every graph ``max(1, round(rate * n))`` atoms get the ``[MASK]`` token in every
    OGB atom column; optionally the bonds touching a masked atom get the bond ``[MASK]`` token.

    Returns a shallow copy of the batch with fresh ``x`` (and ``edge_attr``) tensors: the input
    batch and the dataset tensors it may share storage with are never written. Added
    attributes:

    * ``masked_atom_mask`` (BoolTensor ``[N]``): which atoms were masked.
    * ``masked_atom_label`` (LongTensor ``[num_masked]``): their original atom type (column 0).
    * with ``mask_edges=True``: ``masked_bond_mask`` (BoolTensor ``[E]``): edges touching a
      masked atom, and ``masked_bond_label`` (LongTensor): bond type (column 0) of the masked
      edges with ``src < dst`` (one direction per bond), ``masked_bond_index``
      (LongTensor ``[2, num_masked_bonds]``) their endpoints.

    The reference code masks ``int(rate * n + 1)`` atoms, which over-masks small molecules
    (2 of 10 atoms at rate 0.15); rounding keeps the rate honest while keeping at least one.

    Args:
        rate (float): fraction of atoms masked per graph. (default: :obj:`0.15`)
        mask_edges (bool): also mask bonds touching masked atoms. (default: :obj:`False`)
    """

    def __init__(self, rate: float = 0.15, mask_edges: bool = False) -> None:
        if not 0.0 < rate <= 1.0:
            raise ValueError(f'rate must be in (0, 1], got {rate}')
        self.rate = rate
        self.mask_edges = mask_edges

    def __call__(self, batch: Data, generator: torch.Generator | None = None) -> Data:
        x = batch.x
        if x.dim() != 2 or x.is_floating_point():
            raise ValueError('MaskAtoms expects categorical OGB atom features [N, 9] (long)')
        batch_vec = getattr(batch, 'batch', None)
        if batch_vec is None:
            batch_vec = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
        num_graphs = batch.num_graphs if isinstance(batch, Batch) else 1
        mask = sample_per_graph(batch_vec, num_graphs, self.rate, 1, generator)

        out = copy.copy(batch)
        out.masked_atom_label = x[mask, 0].clone()
        out.x = torch.where(mask.unsqueeze(1), atom_mask_token().to(x.device), x)
        out.masked_atom_mask = mask
        if self.mask_edges:
            src, dst = batch.edge_index
            emask = mask[src] | mask[dst]
            one_dir = emask & (src < dst)
            out.masked_bond_mask = emask
            out.masked_bond_label = batch.edge_attr[one_dir, 0].clone()
            out.masked_bond_index = batch.edge_index[:, one_dir]
            out.edge_attr = torch.where(emask.unsqueeze(1),
                                        bond_mask_token().to(x.device), batch.edge_attr)
        return out

    def __repr__(self) -> str:
        return f'{type(self).__name__}(rate={self.rate}, mask_edges={self.mask_edges})'
