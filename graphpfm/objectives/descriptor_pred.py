"""Molecular descriptor regression."""
from __future__ import annotations

import torch
from torch import Tensor

from ..nn.losses import finite_mse
from .base import OBJECTIVES, ObjectiveOutput
from .graph_targets import GraphTargetPrediction


@OBJECTIVES.register('descriptor_pred')
class DescriptorPred(GraphTargetPrediction):
    r"""Descriptor prediction as in `"KPGT: Knowledge-Guided Pre-training of Graph Transformer
    for Molecular Property Prediction" <https://arxiv.org/abs/2206.03364>`_: regression of
    RDKit's 2D descriptors of each molecule (standardised with clipped corpus statistics, see
    :mod:`graphpfm.datasets.targets`) from its pooled embedding, with the mean squared error
    over the finite entries (NaN marks a descriptor RDKit failed on, or one that is constant
    on the corpus). Needs ``batch.descriptors``
    (``load_dataset(..., targets=['descriptors'])``). Combine it with masking as KPGT does:
    ``attr_masking+descriptor_pred``.

    Args:
        encoder (Encoder): any encoder.
        num_targets (int, optional): descriptors. (default: this RDKit's count)
        pool (str): graph readout, ``'mean'``, ``'sum'`` or ``'max'``. (default: ``'mean'``)
        head_layers (int): 1 (linear) or 2 (``Linear -> ReLU -> Linear``). (default: :obj:`2`)
    """

    target = 'descriptors'

    def loss(self, pred: Tensor, target: Tensor, ok: Tensor | None) -> ObjectiveOutput:
        loss = finite_mse(pred, target)
        observed = torch.isfinite(target)
        return ObjectiveOutput(loss, {'observed': observed.float().mean()})
