r"""Losses of self-supervised graph learning, as pure functions of embeddings or scores.

* :func:`nt_xent`: the normalised temperature-scaled cross-entropy (InfoNCE) of SimCLR, used by
  GraphCL, SimGRACE and GRACE.
* :func:`sce_loss`: GraphMAE's scaled cosine error.
* :func:`finite_mse`, :func:`row_masked_bce_with_logits`: the losses of graph property
  prediction on RDKit targets.
* :func:`masked_bce_with_logits`, :func:`masked_mse`, :func:`masked_cross_entropy`: supervised
  losses over labels with missing values (NaN), per task type (:func:`loss_for_task`).
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor


def nt_xent(z1: Tensor, z2: Tensor, temperature: float = 0.5, *,
            intra_view_negatives: bool = True, symmetric: bool = True) -> Tensor:
    r"""NT-Xent / InfoNCE from `"A Simple Framework for Contrastive Learning of Visual
    Representations" <https://arxiv.org/abs/2002.05709>`_, as used by GraphCL
    (`You et al. 2020 <https://arxiv.org/abs/2010.13902>`_) and SimGRACE.

    Rows ``z1[i]`` and ``z2[i]`` are a positive pair; every other row of the batch is a
    negative. With cosine similarity :math:`s(u, v) = u^\top v / (\|u\| \|v\|)` and
    temperature :math:`\tau`, the loss of anchor :math:`i` in view 1 is

    .. math::
        \ell_i = -\log \frac{e^{s(z^1_i, z^2_i)/\tau}}
        {\sum_{j} e^{s(z^1_i, z^2_j)/\tau} + \sum_{j \neq i} e^{s(z^1_i, z^1_j)/\tau}},

    the second sum (negatives from the anchor's own view) only with ``intra_view_negatives``.
    With ``symmetric`` the loss averages the anchors of both views (SimCLR's :math:`2N`
    anchors); otherwise only view 1 anchors count (GraphCL's reference code, which also drops
    the positive from the denominator; we keep it, as SimCLR and PyGCL do).

    Args:
        z1 (Tensor): embeddings of view 1, ``[N, D]``.
        z2 (Tensor): embeddings of view 2, ``[N, D]``, row-aligned with ``z1``.
        temperature (float): :math:`\tau > 0`. (default: :obj:`0.5`)
        intra_view_negatives (bool): also contrast with the other rows of the anchor's own view.
            (default: :obj:`True`)
        symmetric (bool): average over anchors of both views. (default: :obj:`True`)

    Returns:
        Scalar tensor: the mean of :math:`\ell_i` over anchors.
    """
    if z1.shape != z2.shape or z1.dim() != 2:
        raise ValueError(f'z1 and z2 must be [N, D] of the same shape, got {tuple(z1.shape)} '
                         f'and {tuple(z2.shape)}')
    if temperature <= 0:
        raise ValueError(f'temperature must be > 0, got {temperature}')
    z1 = F.normalize(z1, dim=-1)
    z2 = F.normalize(z2, dim=-1)
    target = torch.arange(z1.size(0), device=z1.device)

    def anchored(a: Tensor, b: Tensor) -> Tensor:
        logits = a @ b.t() / temperature
        if intra_view_negatives:
            intra = (a @ a.t() / temperature).masked_fill(
                torch.eye(a.size(0), dtype=torch.bool, device=a.device), float('-inf'))
            logits = torch.cat([logits, intra], dim=1)
        return F.cross_entropy(logits, target)

    loss = anchored(z1, z2)
    if symmetric:
        loss = 0.5 * (loss + anchored(z2, z1))
    return loss


def sce_loss(pred: Tensor, target: Tensor, gamma: float = 1.0) -> Tensor:
    r"""Scaled cosine error of `"GraphMAE: Self-Supervised Masked Graph Autoencoders"
    <https://arxiv.org/abs/2205.10803>`_:

    .. math::
        \mathcal{L} = \frac{1}{N} \sum_i \left(1 - \frac{p_i^\top t_i}
        {\|p_i\| \|t_i\|}\right)^\gamma.

    Zero for a perfect reconstruction (up to scale); :math:`\gamma \geq 1` down-weights the
    rows that are already well reconstructed.

    Args:
        pred (Tensor): reconstructions ``[N, D]``.
        target (Tensor): originals ``[N, D]``.
        gamma (float): the exponent :math:`\gamma \geq 1`. (default: :obj:`1.0`)
    """
    if pred.shape != target.shape:
        raise ValueError(f'pred {tuple(pred.shape)} and target {tuple(target.shape)} differ')
    if gamma < 1:
        raise ValueError(f'gamma must be >= 1, got {gamma}')
    if pred.size(0) == 0:
        raise ValueError('sce_loss needs at least one row')
    cos = F.cosine_similarity(pred, target, dim=-1)
    return (1.0 - cos).clamp(min=0.0).pow(gamma).mean()


def finite_mse(pred: Tensor, target: Tensor) -> Tensor:
    r"""Mean squared error over the finite entries of ``target`` only,

    .. math::
        \mathcal{L} = \frac{1}{|\Omega|} \sum_{(i, j) \in \Omega} (\hat{y}_{ij} - y_{ij})^2,
        \qquad \Omega = \{(i, j) : y_{ij} \text{ finite}\},

    and :obj:`0` (with a gradient) when no entry is finite. Computed without reading any value
    back to the host.

    Args:
        pred (Tensor): predictions ``[N, D]``.
        target (Tensor): targets ``[N, D]``; NaN or infinite entries are left out.
    """
    observed = torch.isfinite(target)
    diff = torch.where(observed, pred - torch.nan_to_num(target, 0.0, 0.0, 0.0),
                       torch.zeros_like(pred))
    return diff.pow(2).sum() / observed.sum().clamp(min=1)


def row_masked_bce_with_logits(logits: Tensor, target: Tensor, rows: Tensor | None = None
                               ) -> Tensor:
    r"""Binary cross-entropy with logits, averaged over the entries of the rows marked in
    ``rows`` (all rows when :obj:`None`), :obj:`0` (with a gradient) when none is; no value is
    read back to the host.

    Args:
        logits (Tensor): ``[N, D]``.
        target (Tensor): ``[N, D]`` in :math:`\{0, 1\}`.
        rows (Tensor, optional): bool ``[N]``, the rows that count. (default: :obj:`None`)
    """
    loss = F.binary_cross_entropy_with_logits(logits, target, reduction='none')
    if rows is None:
        return loss.mean()
    keep = rows.to(loss.dtype).unsqueeze(-1)
    return (loss * keep).sum() / (keep.sum() * loss.size(-1)).clamp(min=1)


# ---------------------------------------------------------------------------- labels with gaps
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
