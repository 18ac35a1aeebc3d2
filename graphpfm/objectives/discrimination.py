"""Positive-versus-negative score discrimination: the loss and the logs shared by objectives
that score true pairs against sampled ones (edge prediction, graph infomax)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def pos_neg_bce_with_logits(pos: Tensor, neg: Tensor) -> Tensor:
    r"""Binary cross-entropy with logits, positives labelled 1 and negatives 0, each side
    averaged on its own and the two means added, as in the reference code of `"Strategies for
    Pre-training Graph Neural Networks" <https://arxiv.org/abs/1905.12265>`_:

    .. math::
        \mathcal{L} = -\frac{1}{|P|} \sum_{s \in P} \log \sigma(s)
                      -\frac{1}{|N|} \sum_{s \in N} \log \big(1 - \sigma(s)\big)

    An empty side contributes ``0`` (still differentiable).

    Args:
        pos (Tensor): scores (logits) of the positive pairs, ``[P]``.
        neg (Tensor): scores of the negative pairs, ``[N]``.
    """
    loss = pos.sum() * 0.0 + neg.sum() * 0.0
    if pos.numel():
        loss = loss + F.binary_cross_entropy_with_logits(pos, torch.ones_like(pos))
    if neg.numel():
        loss = loss + F.binary_cross_entropy_with_logits(neg, torch.zeros_like(neg))
    return loss


def binary_auc(pos: Tensor, neg: Tensor) -> Tensor:
    r"""ROC-AUC of scores ``pos`` (label 1) against ``neg`` (label 0): the probability that a
    random positive outscores a random negative, ties counting one half (Mann-Whitney);
    NaN when a side is empty. Sort-based, :math:`O((P + N) \log N)`.

    Returns a detached 0-dim float tensor on the scores' device (a per-step log value: no
    read-back to the host)."""
    if pos.numel() == 0 or neg.numel() == 0:
        return pos.new_full((), float('nan'), dtype=torch.float32)
    neg_sorted = torch.sort(neg.detach().flatten()).values
    p = pos.detach().flatten()
    below = torch.searchsorted(neg_sorted, p, side='left')
    upto = torch.searchsorted(neg_sorted, p, side='right')
    wins = below.sum() + 0.5 * (upto - below).sum()
    return wins / (p.numel() * neg_sorted.numel())


def pos_neg_logs(pos: Tensor, neg: Tensor) -> dict[str, Tensor]:
    """``{'acc', 'auc'}`` of positive and negative scores (logits; threshold 0), as detached
    0-dim tensors (the objectives' per-step logs; see
    :class:`~graphpfm.objectives.ObjectiveOutput`)."""
    total = pos.numel() + neg.numel()
    correct = (pos.detach() > 0).sum() + (neg.detach() < 0).sum()
    return {'acc': correct / max(total, 1), 'auc': binary_auc(pos, neg)}
