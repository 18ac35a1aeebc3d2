"""Functional-group (semantic motif) prediction."""
from __future__ import annotations

from torch import Tensor

from ..nn.losses import row_masked_bce_with_logits
from .base import OBJECTIVES, ObjectiveOutput
from .graph_targets import GraphTargetPrediction


@OBJECTIVES.register('motif_pred')
class MotifPred(GraphTargetPrediction):
    r"""Semantic motif prediction from `"Self-Supervised Graph Transformer on Large-Scale
    Molecular Data" <https://arxiv.org/abs/2007.02835>`_ (GROVER): a multi-label binary
    classification of which of RDKit's functional groups (the 85 ``fr_*`` counters) occur in
    the molecule, from its pooled embedding,

    .. math::
        \mathcal{L} = \frac{1}{|G| K} \sum_{g, k} \mathrm{BCE}(f(\mathbf{z}_g)_k, m_{gk}),

    over the molecules RDKit could read (``batch.targets_ok``). Needs ``batch.motif``
    (``load_dataset(..., targets=['motif'])``).

    Args:
        encoder (Encoder): any encoder.
        num_targets (int, optional): functional groups. (default: this RDKit's count)
        pool (str): graph readout, ``'mean'``, ``'sum'`` or ``'max'``. (default: ``'mean'``)
        head_layers (int): 1 (linear) or 2 (``Linear -> ReLU -> Linear``). (default: :obj:`2`)
    """

    target = 'motif'

    def loss(self, pred: Tensor, target: Tensor, ok: Tensor | None) -> ObjectiveOutput:
        loss = row_masked_bce_with_logits(pred, target, ok)
        correct = ((pred.detach() > 0) == (target > 0.5)).float()
        return ObjectiveOutput(loss, {'acc': correct.mean(), 'positive': target.mean()})
