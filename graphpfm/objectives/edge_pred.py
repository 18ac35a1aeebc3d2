"""Edge prediction (Hamilton et al., 2017; as a baseline in Hu et al., 2020)."""
from __future__ import annotations

import copy

import torch
from torch_geometric.data import Data

from ..nn.encoders.base import Encoder
from ..transforms.negative_edges import num_non_edges, sample_negative_edges, undirected_pairs
from .base import OBJECTIVES, Objective, ObjectiveOutput
from .discrimination import pos_neg_bce_with_logits, pos_neg_logs


@OBJECTIVES.register('edge_pred')
class EdgePred(Objective):
    r"""Edge prediction, the graph-autoencoder baseline of `"Strategies for Pre-training Graph
    Neural Networks" <https://arxiv.org/abs/1905.12265>`_: encode the clean batch and tell its
    bonds from sampled non-bonds by the dot product of the two atoms' embeddings,

    .. math::
        s_{uv} = \mathbf{h}_u^{\top} \mathbf{h}_v, \qquad
        \mathcal{L} = \mathrm{BCE}(s_{\text{bonds}}, 1) + \mathrm{BCE}(s_{\text{non-bonds}}, 0)

    (each term a mean over its pairs). Positives are the bonds of the batch, one column per
    bond (``u < v``). Negatives are drawn per molecule, uniformly over its pairs of distinct
    atoms that are not bonded (rejection sampling, vectorised over the whole batch, see
    :func:`~graphpfm.transforms.negative_edges.sample_negative_edges`), so a negative never
    crosses two molecules and is never a real bond. Each bond draws ``neg_ratio`` negatives
    in its own molecule (a fraction rounds over the batch), so molecules get negatives in
    proportion to their bonds, as in the reference; molecules without any non-bond (two
    atoms, a triangle) get none.

    Negatives come from our own sampler rather than
    :func:`torch_geometric.utils.batched_negative_sampling`: that function draws from the
    global random state (no :obj:`generator`), loops over the graphs of the batch in Python,
    and may return fewer negatives than asked; ours uses only :obj:`generator`, so
    :meth:`prepare` is reproducible, and is one set of tensor ops per rejection round.

    :meth:`prepare` adds, on a shallow copy of the batch, :obj:`edge_label_index`
    (``LongTensor [2, P + M]``: the ``P`` bonds, then the ``M`` negatives; global node
    indices) and :obj:`edge_label` (``FloatTensor [P + M]``, 1 for bonds, 0 for negatives),
    PyG's link-prediction names.

    Args:
        encoder (Encoder): any encoder.
        neg_ratio (float): negatives per bond. (default: :obj:`1.0`)
    """

    def __init__(self, encoder: Encoder, neg_ratio: float = 1.0) -> None:
        if not neg_ratio > 0:
            raise ValueError(f'neg_ratio must be > 0, got {neg_ratio}')
        super().__init__(encoder, neg_ratio=float(neg_ratio))
        self.neg_ratio = float(neg_ratio)

    def prepare(self, batch: Data, generator: torch.Generator | None = None) -> Data:
        ptr = batch.ptr if getattr(batch, 'ptr', None) is not None else torch.tensor(
            [0, batch.num_nodes], device=batch.edge_index.device)
        pos = undirected_pairs(batch.edge_index, batch.num_nodes)
        pos_graph = torch.searchsorted(ptr, pos[0], right=True) - 1
        # the molecule of every wanted negative: each bond's, neg_ratio times
        num_neg = int(round(self.neg_ratio * pos.size(1)))
        graph = pos_graph[torch.arange(num_neg, device=ptr.device) % max(pos.size(1), 1)]
        graph = graph[num_non_edges(pos, ptr)[graph] > 0]
        neg = sample_negative_edges(pos, ptr, graph, generator)
        out = copy.copy(batch)
        out.edge_label_index = torch.cat([pos, neg], dim=1)
        out.edge_label = torch.cat([pos.new_ones(pos.size(1)), pos.new_zeros(neg.size(1))]
                                   ).float()
        return out

    def compute(self, prepared: Data) -> ObjectiveOutput:
        h = self.encode(prepared)
        src, dst = prepared.edge_label_index
        score = (h[src] * h[dst]).sum(dim=-1)
        is_pos = prepared.edge_label > 0.5
        pos, neg = score[is_pos], score[~is_pos]
        logs = pos_neg_logs(pos, neg)
        # a batch without an edge teaches nothing (the trainer stops runs made of such batches)
        logs['skipped_frac'] = float(prepared.edge_label_index.size(1) == 0)
        return ObjectiveOutput(pos_neg_bce_with_logits(pos, neg), logs)
