"""Supervised losses for graph property prediction with missing labels (NaN in ``y``)."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor


def _observed(y: Tensor) -> Tensor:
    return ~torch.isnan(y)


def _check_shapes(pred: Tensor, y: Tensor) -> None:
    if pred.shape != y.shape:
        raise ValueError(f'predictions {tuple(pred.shape)} and labels {tuple(y.shape)} '
                         'must have the same shape')


def _empty(pred: Tensor) -> Tensor:
    # zero loss that is still part of the graph (zero gradient everywhere)
    return pred.sum() * 0.0


def masked_bce_with_logits(logits: Tensor, y: Tensor) -> Tensor:
    r"""Binary cross-entropy with logits over the observed entries of a multi-task label matrix,
    as in `Hu et al. (2020) <https://arxiv.org/abs/1905.12265>`_.

    .. math::
        \mathcal{L} = \frac{1}{|\Omega|} \sum_{(g, t) \in \Omega}
        \mathrm{BCE}(\sigma(z_{gt}), y_{gt}), \qquad
        \Omega = \{(g, t) : y_{gt} \neq \mathrm{NaN}\}

    Missing entries contribute neither to the sum nor to the count, and their logits get zero
    gradient. With no observed entry the loss is ``0`` (still differentiable).

    Args:
        logits (Tensor): ``[num_graphs, num_tasks]``.
        y (Tensor): labels in ``{0, 1}`` or NaN, same shape.
    """
    _check_shapes(logits, y)
    mask = _observed(y)
    if not bool(mask.any()):
        return _empty(logits)
    return F.binary_cross_entropy_with_logits(logits[mask], y[mask].to(logits.dtype),
                                              reduction='mean')


def masked_mse(pred: Tensor, y: Tensor) -> Tensor:
    r"""Mean squared error over the observed (non-NaN) entries of ``y``.

    .. math::
        \mathcal{L} = \frac{1}{|\Omega|} \sum_{(g, t) \in \Omega} (\hat{y}_{gt} - y_{gt})^2

    Args:
        pred (Tensor): ``[num_graphs, num_tasks]``.
        y (Tensor): targets or NaN, same shape.
    """
    _check_shapes(pred, y)
    mask = _observed(y)
    if not bool(mask.any()):
        return _empty(pred)
    return F.mse_loss(pred[mask], y[mask].to(pred.dtype), reduction='mean')


def masked_cross_entropy(logits: Tensor, y: Tensor) -> Tensor:
    r"""Cross-entropy for single-task multiclass labels; graphs whose label is NaN are ignored.

    Args:
        logits (Tensor): ``[num_graphs, num_classes]``.
        y (Tensor): class indices ``[num_graphs]`` or ``[num_graphs, 1]`` (float with NaN for
            missing, or integer).
    """
    y = y.reshape(-1)
    if y.numel() != logits.size(0):
        raise ValueError(f'{logits.size(0)} rows of logits but {y.numel()} labels')
    mask = _observed(y) if y.is_floating_point() else torch.ones_like(y, dtype=torch.bool)
    if not bool(mask.any()):
        return _empty(logits)
    return F.cross_entropy(logits[mask], y[mask].long(), reduction='mean')


#: loss function per :attr:`DatasetBundle.task_type`
TASK_LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    'binary classification': masked_bce_with_logits,
    'regression': masked_mse,
    'multiclass classification': masked_cross_entropy,
}


def loss_for_task(task_type: str) -> Callable[[Tensor, Tensor], Tensor]:
    """The masked loss for ``task_type`` (errors list the valid task types)."""
    try:
        return TASK_LOSSES[task_type]
    except (KeyError, TypeError):
        raise ValueError(f"task_type '{task_type}' has no loss; valid options: "
                         f"{', '.join(TASK_LOSSES)}") from None
