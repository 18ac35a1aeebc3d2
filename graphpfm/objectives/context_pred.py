"""Context prediction (Hu et al., 2020)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from ..nn.encoders.base import Encoder
from ..nn.encoders.mol_gin import MolGIN
from ..transforms.context import ExtractSubstructContext, SubstructContext
from .base import OBJECTIVES, Objective, ObjectiveOutput

MODES = ('cbow', 'skipgram')


def pair_bce_loss(pos_logits: Tensor, neg_logits: Tensor, neg_weight: float = 1.0) -> Tensor:
    r"""Binary cross-entropy on pair scores as in context prediction's reference code:
    ``mean_BCE(pos, 1) + neg_weight * mean_BCE(neg, 0)``.

    With ``neg_weight`` the number of negatives per positive, the negatives weigh as much as
    one mean per shifted copy, i.e. every pair (positive or negative) counts the same.

    Args:
        pos_logits (Tensor): scores of positive pairs ``[P]``.
        neg_logits (Tensor): scores of negative pairs ``[Q]`` (may be empty).
        neg_weight (float): weight of the negative mean. (default: :obj:`1.0`)
    """
    loss = F.binary_cross_entropy_with_logits(pos_logits, torch.ones_like(pos_logits))
    if neg_logits.numel() > 0:
        loss = loss + neg_weight * F.binary_cross_entropy_with_logits(
            neg_logits, torch.zeros_like(neg_logits))
    return loss


@OBJECTIVES.register('context_pred')
class ContextPred(Objective):
    r"""Context prediction from `"Strategies for Pre-training Graph Neural Networks"
    <https://arxiv.org/abs/1905.12265>`_: in every molecule pick a center atom uniformly; its
    ``k``-hop neighbourhood (the substructure) is embedded by the main encoder and represented
    by the center's embedding; the ring of atoms at distance ``r1 < d <= r2`` (the context)
    is embedded by a separate ``context_layers``-layer :class:`MolGIN` owned by the objective,
    and represented by the mean of its anchor atoms' embeddings (anchors: atoms in both,
    ``r1 < d <= k``). A dot product scores (substructure, context) pairs; the positive pair of
    a molecule is its own, negatives pair it with the contexts of the molecules ``1..neg_samples``
    places further along the batch (cyclic shift). The loss is
    :func:`pair_bce_loss`: ``BCE(pos, 1) + neg_samples * BCE(neg, 0)``, as in the reference.

    With ``mode='skipgram'`` every anchor embedding is scored on its own against its
    molecule's substructure (positives) and against the substructures of shifted molecules
    (negatives).

    Molecules without an anchor (too small for a context, e.g. ``CC`` with ``k=5``) take no
    part in the loss or in the negatives, as in the reference, and are counted in the logs
    (``skipped``, ``skipped_frac``).

    Logs: ``pos_loss``, ``neg_loss``, ``pos_acc`` (positive scores > 0), ``neg_acc``
    (negative scores < 0), ``acc`` (their mean, the reference's accuracy), ``skipped``,
    ``skipped_frac``.

    Only :attr:`encoder` (the substructure GNN) is kept by checkpoints; the context GNN is a
    pretraining head.

    Args:
        encoder (Encoder): an encoder on OGB atom features.
        k (int, optional): substructure radius. (default: ``encoder.num_layers``)
        r1 (int, optional): inner context radius (exclusive), ``r1 < k``. (default: ``k - 1``)
        r2 (int, optional): outer context radius (inclusive). (default: ``r1 + 3``)
        context_layers (int): layers of the context GNN. (default: :obj:`3`)
        mode (str): ``'cbow'`` or ``'skipgram'``. (default: :obj:`'cbow'`)
        neg_samples (int): negative contexts per substructure. (default: :obj:`1`)
    """

    input_kinds = ('ogb_atom',)

    def __init__(self, encoder: Encoder, k: int | None = None, r1: int | None = None,
                 r2: int | None = None, context_layers: int = 3, mode: str = 'cbow',
                 neg_samples: int = 1) -> None:
        if k is None:
            k = getattr(encoder, 'num_layers', None) or \
                (getattr(encoder, 'kwargs', None) or {}).get('num_layers')
            if k is None:
                raise ValueError(f'{type(encoder).__name__} has no num_layers; pass k')
        r1 = k - 1 if r1 is None else r1
        r2 = r1 + 3 if r2 is None else r2
        super().__init__(encoder, k=int(k), r1=int(r1), r2=int(r2),
                         context_layers=context_layers, mode=mode, neg_samples=neg_samples)
        if mode not in MODES:
            raise ValueError(f"mode '{mode}' invalid; valid options: {', '.join(MODES)}")
        if neg_samples < 1:
            raise ValueError(f'neg_samples must be >= 1, got {neg_samples}')
        self.mode = mode
        self.neg_samples = neg_samples
        self.transform = ExtractSubstructContext(int(k), int(r1), int(r2))
        self.context_encoder = MolGIN(num_layers=context_layers,
                                      hidden_channels=encoder.out_channels,
                                      dropout=float(getattr(encoder, 'dropout', 0.0)))

    def prepare(self, batch: Data, generator: torch.Generator | None = None
                ) -> SubstructContext:
        return self.transform(batch, generator)

    def compute(self, pair: SubstructContext) -> ObjectiveOutput:
        sub, ctx = pair.substruct, pair.context
        num_kept = pair.num_kept
        # counts known on the host stay Python numbers; the scores' statistics are tensors
        logs: dict[str, Tensor | float] = {
            'skipped': float(pair.num_skipped),
            'skipped_frac': pair.num_skipped / max(pair.num_graphs, 1)}
        # batch norm needs two values per channel in training mode
        if num_kept == 0 or (self.training and min(sub.num_nodes, ctx.num_nodes) < 2):
            loss = torch.zeros((), device=sub.x.device, requires_grad=True)
            return ObjectiveOutput(loss, logs)

        sub_rep = self.encode(sub)[sub.center_index]                           # [G', C]
        anchor_h = self.context_encoder(ctx.x, ctx.edge_index, edge_attr=ctx.edge_attr,
                                        batch=ctx.batch)[ctx.anchor_index]     # [A, C]
        # shifts s with s % G' != 0: a molecule is never its own negative
        shifts = [s for s in range(1, self.neg_samples + 1) if s % num_kept != 0]
        ids = torch.arange(num_kept, device=sub_rep.device)
        if self.mode == 'cbow':
            ctx_rep = scatter(anchor_h, ctx.anchor_batch, 0, dim_size=num_kept, reduce='mean')
            pos = (sub_rep * ctx_rep).sum(-1)
            neg = torch.cat([(sub_rep * ctx_rep[(ids + s) % num_kept]).sum(-1)
                             for s in shifts]) if shifts else pos.new_zeros(0)
        else:  # skipgram: every anchor against its own / a shifted molecule's substructure
            g = ctx.anchor_batch
            pos = (sub_rep[g] * anchor_h).sum(-1)
            neg = torch.cat([(sub_rep[(g + s) % num_kept] * anchor_h).sum(-1)
                             for s in shifts]) if shifts else pos.new_zeros(0)
        loss = pair_bce_loss(pos, neg, float(len(shifts)))
        with torch.no_grad():  # detached 0-dim tensors: nothing is read back to the host
            logs['pos_loss'] = F.binary_cross_entropy_with_logits(pos, torch.ones_like(pos))
            logs['pos_acc'] = (pos > 0).float().mean()
            if neg.numel() > 0:
                logs['neg_loss'] = F.binary_cross_entropy_with_logits(neg, torch.zeros_like(neg))
                logs['neg_acc'] = (neg < 0).float().mean()
                logs['acc'] = 0.5 * (logs['pos_acc'] + logs['neg_acc'])
        return ObjectiveOutput(loss, logs)
