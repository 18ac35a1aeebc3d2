"""GRACE: node-level contrast of two augmented views of a graph (Zhu et al., 2020)."""
from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor
from torch_geometric.data import Data

from ..nn.encoders.base import Encoder
from ..nn.losses import nt_xent
from ..transforms.node_views import node_view
from .base import OBJECTIVES, Objective, ObjectiveOutput, seed_count


@OBJECTIVES.register('grace')
class GRACE(Objective):
    r"""GRACE from `"Deep Graph Contrastive Representation Learning"
    <https://arxiv.org/abs/2006.04131>`_: two views of the graph, each made by dropping edges
    (every edge independently, with probability :math:`p_{e,1}` or :math:`p_{e,2}`) and
    masking feature columns (every column independently, with probability :math:`p_{f,1}` or
    :math:`p_{f,2}`, the same columns for all nodes), are encoded by the same encoder and
    projected by a two-layer head :math:`g` (``Linear -> ELU -> Linear``); node :math:`i` of
    one view is pulled towards node :math:`i` of the other and pushed away from every other
    node of both views,

    .. math::
        \ell(\mathbf{u}_i, \mathbf{v}_i) = -\log
        \frac{e^{\theta(\mathbf{u}_i, \mathbf{v}_i)/\tau}}
        {e^{\theta(\mathbf{u}_i, \mathbf{v}_i)/\tau}
        + \sum_{k \neq i} e^{\theta(\mathbf{u}_i, \mathbf{v}_k)/\tau}
        + \sum_{k \neq i} e^{\theta(\mathbf{u}_i, \mathbf{u}_k)/\tau}},
        \qquad
        \mathcal{L} = \frac{1}{2N} \sum_{i=1}^{N}
        \big(\ell(\mathbf{u}_i, \mathbf{v}_i) + \ell(\mathbf{v}_i, \mathbf{u}_i)\big),

    with :math:`\theta` the cosine similarity of the projections. This is
    :func:`~graphpfm.nn.losses.nt_xent` with ``intra_view_negatives=True`` and
    ``symmetric=True`` (the positive stays in the denominator, the anchor's similarity to
    itself does not: GRACE's ``semi_loss``).

    **Mini-batches.** On a neighbour-sampled mini-batch (a :class:`Data` with an integer
    ``batch_size``, the format of :class:`~torch_geometric.loader.NeighborLoader`) both views
    are encoded whole, and the loss is computed on the first ``batch_size`` nodes (the seed
    nodes, see :func:`~graphpfm.objectives.base.seed_count`): the negatives of a seed are
    the other seeds of the mini-batch, in both views. Without ``batch_size``, all nodes.

    :meth:`prepare` returns the two views (shallow copies of the batch with new
    ``edge_index``, edge-level attributes and ``x``; the batch is never written), made with
    :func:`~graphpfm.transforms.node_views.node_view` from the generator: view 1's edges,
    view 1's columns, view 2's edges, view 2's columns.

    Differences from the reference code: the encoder is any float-input encoder (GRACE's
    ends each GCN layer, the last included, with an activation; the encoders here end without
    one); the loss over all nodes is computed at once (GRACE's ``batched_semi_loss`` for large
    graphs is replaced by seed-node mini-batches). The defaults are GRACE's Cora configuration.

    Args:
        encoder (Encoder): an encoder on float node features.
        temperature (float): :math:`\tau`. (default: :obj:`0.4`)
        pe1 (float): edge drop probability of view 1. (default: :obj:`0.2`)
        pe2 (float): edge drop probability of view 2. (default: :obj:`0.4`)
        pf1 (float): feature-column masking probability of view 1. (default: :obj:`0.3`)
        pf2 (float): feature-column masking probability of view 2. (default: :obj:`0.4`)
        proj_channels (int): hidden width of the projection head (GRACE's
            ``num_proj_hidden``); its output width is the encoder's. (default: :obj:`128`)
    """

    level: ClassVar[str] = 'node'
    input_kinds: ClassVar[tuple[str, ...]] = ('float',)

    def __init__(self, encoder: Encoder, temperature: float = 0.4, pe1: float = 0.2,
                 pe2: float = 0.4, pf1: float = 0.3, pf2: float = 0.4,
                 proj_channels: int = 128) -> None:
        for name, rate in (('pe1', pe1), ('pe2', pe2), ('pf1', pf1), ('pf2', pf2)):
            if not 0.0 <= rate < 1.0:
                raise ValueError(f'{name} must be in [0, 1), got {rate}')
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        if proj_channels < 1:
            raise ValueError(f'proj_channels must be >= 1, got {proj_channels}')
        super().__init__(encoder, temperature=float(temperature), pe1=float(pe1),
                         pe2=float(pe2), pf1=float(pf1), pf2=float(pf2),
                         proj_channels=int(proj_channels))
        channels = encoder.out_channels
        self.proj = torch.nn.Sequential(torch.nn.Linear(channels, proj_channels),
                                        torch.nn.ELU(),
                                        torch.nn.Linear(proj_channels, channels))

    def reset_parameters(self) -> None:
        """Re-initialise the projection head (the encoder is left alone)."""
        for module in self.proj:
            if hasattr(module, 'reset_parameters'):
                module.reset_parameters()

    def prepare(self, batch: Data, generator: torch.Generator | None = None
                ) -> tuple[Data, Data]:
        """The two augmented views (new batches; ``batch`` is not written)."""
        kw = self.kwargs
        return (node_view(batch, kw['pe1'], kw['pf1'], generator),
                node_view(batch, kw['pe2'], kw['pf2'], generator))

    def project(self, view: Data) -> Tensor:
        """Projected embeddings of the seed nodes of a view, ``[seed_count, channels]``."""
        return self.proj(self.encode(view)[:seed_count(view)])

    def compute(self, views: tuple[Data, Data]) -> ObjectiveOutput:
        v1, v2 = views
        z1, z2 = self.project(v1), self.project(v2)
        if z1.size(0) < 2:
            raise ValueError('GRACE contrasts nodes: it needs at least 2 (seed) nodes, got '
                             f'{z1.size(0)}')
        loss = nt_xent(z1, z2, self.kwargs['temperature'], intra_view_negatives=True,
                       symmetric=True)
        with torch.no_grad():
            pos = torch.nn.functional.cosine_similarity(z1, z2, dim=-1).mean()
        return ObjectiveOutput(loss, {'nt_xent': loss.detach(), 'pos_cos': pos})
