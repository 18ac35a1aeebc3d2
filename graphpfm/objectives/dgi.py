"""Deep Graph Infomax at node level (Velickovic et al., 2019)."""
from __future__ import annotations

import copy
from typing import Any, ClassVar

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.nn import DeepGraphInfomax

from ..nn.encoders.base import Encoder
from ..transforms.node_views import shuffle_rows
from .base import OBJECTIVES, Objective, ObjectiveOutput, seed_count
from .discrimination import pos_neg_bce_with_logits, pos_neg_logs


def sigmoid_mean_summary(z: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    r"""DGI's readout :math:`\sigma\big(\frac{1}{N} \sum_i \mathbf{h}_i\big)`, ``[channels]``."""
    return torch.sigmoid(z.mean(dim=0))


def _corruption_in_prepare(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError('the node-level DGI objective corrupts the batch in '
                              'DGI.prepare() with the trainer\'s generator; its '
                              'DeepGraphInfomax module is used for the summary and the '
                              'discriminator only')


@OBJECTIVES.register('dgi')
class DGI(Objective):
    r"""`"Deep Graph Infomax" <https://arxiv.org/abs/1809.10341>`_ on the nodes of a graph:
    the embeddings :math:`\mathbf{h}_i` of the graph are scored against its summary
    :math:`\mathbf{s}` (positives) and the embeddings :math:`\tilde{\mathbf{h}}_i` of a
    corrupted graph, whose feature rows are shuffled over the nodes (same edges), against the
    same summary (negatives),

    .. math::
        \mathbf{s} = \sigma\Big(\frac{1}{N}\sum_{i} \mathbf{h}_i\Big), \qquad
        D(\mathbf{h}, \mathbf{s}) = \mathbf{h}^{\top} \mathbf{W} \mathbf{s},

    .. math::
        \mathcal{L} = -\frac{1}{N} \sum_i \log \sigma\big(D(\mathbf{h}_i, \mathbf{s})\big)
        - \frac{1}{N} \sum_i \log\big(1 - \sigma(D(\tilde{\mathbf{h}}_i, \mathbf{s}))\big).

    The summary and the bilinear discriminator are those of
    :class:`torch_geometric.nn.DeepGraphInfomax` (held as :attr:`dgi`, with its weight
    :math:`\mathbf{W}` and PyG's initialisation; the encoder is not registered twice). The
    loss is :meth:`DeepGraphInfomax.loss
    <torch_geometric.nn.models.DeepGraphInfomax.loss>` written on the logits
    (:func:`~graphpfm.objectives.discrimination.pos_neg_bce_with_logits`): the same value
    without PyG's :math:`10^{-15}` inside the logarithms, and a gradient that does not vanish
    when a score saturates. The corruption happens in :meth:`prepare` (not in the module's
    :meth:`forward`, which is not used), from the trainer's generator.

    **Mini-batches.** On a neighbour-sampled mini-batch (an integer ``batch_size``, see
    :func:`~graphpfm.objectives.base.seed_count`) all rows of the mini-batch are shuffled and
    both graphs are encoded whole; the summary is taken over the seed nodes, and the positives
    and the negatives are the seed nodes' clean and corrupted embeddings.

    :meth:`prepare` returns ``(batch, corrupted)``: the batch itself and a shallow copy whose
    ``x`` is ``batch.x[perm]``, with the permutation stored as :obj:`shuffle_index`
    (LongTensor ``[N]``; corrupted node ``i`` carries the features of node ``perm[i]``). The
    batch is never written.

    Logs ``acc`` and ``auc`` of the positive against the negative scores.

    Args:
        encoder (Encoder): an encoder on float node features.
    """

    level: ClassVar[str] = 'node'
    input_kinds: ClassVar[tuple[str, ...]] = ('float',)

    def __init__(self, encoder: Encoder) -> None:
        super().__init__(encoder)
        self.dgi = DeepGraphInfomax(encoder.out_channels, encoder=torch.nn.Identity(),
                                    summary=sigmoid_mean_summary,
                                    corruption=_corruption_in_prepare)

    def reset_parameters(self) -> None:
        """Re-initialise the discriminator (the encoder is left alone)."""
        self.dgi.reset_parameters()

    def prepare(self, batch: Data, generator: torch.Generator | None = None
                ) -> tuple[Data, Data]:
        x = batch.x
        corrupted = copy.copy(batch)
        corrupted.x, corrupted.shuffle_index = shuffle_rows(x, generator)
        return batch, corrupted

    def compute(self, prepared: tuple[Data, Data]) -> ObjectiveOutput:
        clean, corrupted = prepared
        k = seed_count(clean)
        pos_z = self.encode(clean)[:k]
        neg_z = self.encode(corrupted)[:k]
        summary = self.dgi.summary(pos_z)
        pos = self.dgi.discriminate(pos_z, summary, sigmoid=False)
        neg = self.dgi.discriminate(neg_z, summary, sigmoid=False)
        return ObjectiveOutput(pos_neg_bce_with_logits(pos, neg), pos_neg_logs(pos, neg))
