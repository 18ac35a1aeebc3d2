"""Morgan fingerprint (ECFP4) bit prediction."""
from __future__ import annotations

from torch import Tensor

from ..nn.losses import row_masked_bce_with_logits
from .base import OBJECTIVES, ObjectiveOutput
from .graph_targets import GraphTargetPrediction


@OBJECTIVES.register('fingerprint_pred')
class FingerprintPred(GraphTargetPrediction):
    r"""Fingerprint prediction as in `"KPGT: Knowledge-Guided Pre-training of Graph Transformer
    for Molecular Property Prediction" <https://arxiv.org/abs/2206.03364>`_: a multi-label
    binary classification of the 1,024 Morgan fingerprint bits of radius 2 (ECFP4) of each
    molecule from its pooled embedding (binary cross-entropy averaged over the bits of the
    molecules RDKit could read). Needs ``batch.ecfp4``
    (``load_dataset(..., targets=['ecfp4'])``).

    Args:
        encoder (Encoder): any encoder.
        num_targets (int, optional): fingerprint bits. (default: :obj:`1024`)
        pool (str): graph readout, ``'mean'``, ``'sum'`` or ``'max'``. (default: ``'mean'``)
        head_layers (int): 1 (linear) or 2 (``Linear -> ReLU -> Linear``). (default: :obj:`2`)
    """

    target = 'ecfp4'

    def loss(self, pred: Tensor, target: Tensor, ok: Tensor | None) -> ObjectiveOutput:
        loss = row_masked_bce_with_logits(pred, target, ok)
        hit = (pred.detach() > 0).float()
        tp = (hit * target).sum()
        f1 = 2 * tp / (hit.sum() + target.sum()).clamp(min=1)
        return ObjectiveOutput(loss, {'f1': f1, 'positive': target.mean()})
