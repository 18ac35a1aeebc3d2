"""Node feature masking (GraphCL) on a whole batch, for categorical or float features."""
from __future__ import annotations

import copy

import torch
from torch_geometric.data import Data

from ..data.ogb_features import atom_feature_dims, atom_mask_token
from .batch_ops import check_rate, graph_layout, sample_count_per_graph

MODES = ('token', 'zeros', 'noise')


class MaskFeatures:
    r"""Attribute masking of `"Graph Contrastive Learning with Augmentations"
    <https://arxiv.org/abs/2010.13902>`_ (GraphCL) on every graph of a batch at once.

    In every graph of ``n`` nodes, ``max(1, round(rate * n))`` nodes (none if ``rate == 0``)
    chosen uniformly at random get their features ``x`` replaced:

    * ``'token'``: categorical OGB atom features (long ``[N, 9]``) become the atom
      ``[MASK]`` token of every column
      (:func:`~graphpfm.data.ogb_features.atom_mask_token`);
    * ``'zeros'``: float features become zeros;
    * ``'noise'``: float features become standard Gaussian noise (the semi-supervised
      GraphCL code draws :math:`\mathcal{N}(0.5, 0.5^2)`; standardised features suit
      :math:`\mathcal{N}(0, 1)`).

    Returns a new batch whose only new tensor is ``x`` (same shape and dtype); the input batch
    and the tensors it shares with a dataset are never written.

    Args:
        rate (float): fraction of every graph's nodes to mask, in ``[0, 1)``.
            (default: :obj:`0.2`)
        mode (str, optional): ``'token'``, ``'zeros'`` or ``'noise'``; :obj:`None` picks
            ``'token'`` for categorical (integer) features and ``'zeros'`` for float ones.
            (default: :obj:`None`)
    """

    def __init__(self, rate: float = 0.2, mode: str | None = None) -> None:
        self.rate = check_rate(rate)
        if mode is not None and mode not in MODES:
            raise ValueError(f"Unknown mask mode '{mode}'. Valid options: {', '.join(MODES)} "
                             '(or None for automatic)')
        self.mode = mode

    def _mode(self, x: torch.Tensor) -> str:
        mode = self.mode or ('zeros' if x.is_floating_point() else 'token')
        if mode == 'token':
            width = len(atom_feature_dims())
            if x.is_floating_point() or x.dim() != 2 or x.size(1) != width:
                raise ValueError(f"mode='token' needs categorical OGB atom features (integer "
                                 f"[N, {width}]), got {x.dtype} {tuple(x.shape)}; use mode="
                                 "'zeros' or 'noise' for float features")
        elif not x.is_floating_point():
            raise ValueError(f"mode='{mode}' needs float features, got {x.dtype}; use "
                             "mode='token' for categorical OGB atom features")
        return mode

    def __call__(self, batch: Data, generator: torch.Generator | None = None) -> Data:
        x = batch.x
        mode = self._mode(x)
        layout = graph_layout(batch)
        counts = layout.counts
        k = torch.round(counts.double() * self.rate).long()
        if self.rate > 0:
            k = k.clamp(min=1)
        mask = sample_count_per_graph(layout.batch, k, generator)
        rows = mask.view(-1, *([1] * (x.dim() - 1)))
        out = copy.copy(batch)
        if mode == 'token':
            out.x = torch.where(rows, atom_mask_token().to(x.device, x.dtype), x)
        elif mode == 'zeros':
            out.x = torch.where(rows, torch.zeros((), dtype=x.dtype, device=x.device), x)
        else:
            new_x = x.clone()
            new_x[mask] = torch.randn((int(mask.sum()), *x.shape[1:]), generator=generator,
                                      dtype=x.dtype, device=x.device)
            out.x = new_x
        return out

    def __repr__(self) -> str:
        return f'{type(self).__name__}(rate={self.rate}, mode={self.mode!r})'
