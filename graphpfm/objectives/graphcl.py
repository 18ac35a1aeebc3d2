"""GraphCL: graph contrastive learning with augmentations (You et al., 2020)."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch_geometric.data import Data

from ..nn.encoders.base import Encoder
from ..nn.heads import projection_head, resolve_pool
from ..nn.losses import nt_xent
from ..transforms.augment import AUGMENTATIONS, RandomChoice
from .base import OBJECTIVES, Objective, ObjectiveOutput

#: augmentations a view may use; ``'random'`` samples one of :data:`RANDOM_POOL` per batch
RANDOM = 'random'
RANDOM_POOL = ('drop_nodes', 'perturb_edges', 'mask_features', 'subgraph')


def build_view(name: str, ratio: float) -> Any:
    """The augmentation ``name`` at strength ``ratio`` (``'random'``: JOAO-style uniform choice
    among :data:`RANDOM_POOL` per batch)."""
    if name == RANDOM:
        return RandomChoice([build_view(n, ratio) for n in RANDOM_POOL])
    if name not in AUGMENTATIONS:
        raise ValueError(f"augmentation '{name}' invalid; valid options: "
                         f"{', '.join([*AUGMENTATIONS.names(), RANDOM])}")
    if name == 'identity':
        return AUGMENTATIONS.build(name)
    return AUGMENTATIONS.build(name, rate=ratio)


@OBJECTIVES.register('graphcl')
class GraphCL(Objective):
    r"""GraphCL from `"Graph Contrastive Learning with Augmentations"
    <https://arxiv.org/abs/2010.13902>`_: two augmented views of every graph of the batch are
    encoded by the same encoder, mean-pooled, passed through a two-layer projection head and
    contrasted with NT-Xent (:func:`~graphpfm.nn.losses.nt_xent`), the other graphs of the
    batch being the negatives.

    Defaults follow the reference transfer-learning code on molecules: views ``drop_nodes``
    and ``subgraph`` at ratio 0.2, temperature 0.1, anchors from view 1 only and negatives
    from view 2 only. One difference: the reference drops the positive from the denominator;
    here it stays (the standard NT-Xent of SimCLR and PyGCL). With ``aug1='random'`` (or
    ``aug2``) each batch draws that view's augmentation uniformly from
    ``drop_nodes, perturb_edges, mask_features, subgraph``: JOAO's uniform prior, without
    its min-max optimisation of the sampling distribution.

    Args:
        encoder (Encoder): any encoder.
        aug1 (str): augmentation of view 1: ``'identity'``, ``'drop_nodes'``,
            ``'perturb_edges'``, ``'mask_features'``, ``'subgraph'`` or ``'random'``.
            (default: :obj:`'drop_nodes'`)
        aug2 (str): augmentation of view 2, same choices. (default: :obj:`'subgraph'`)
        aug_ratio (float): strength of both augmentations (fraction of nodes dropped or
            masked, of edges perturbed, or of nodes removed by ``subgraph``).
            (default: :obj:`0.2`)
        temperature (float): NT-Xent temperature. (default: :obj:`0.1`)
        pool (str): graph readout, ``'mean'``, ``'sum'`` or ``'max'``. (default: :obj:`'mean'`)
        intra_view_negatives (bool): also contrast with the other graphs of the anchor's view
            (SimCLR). (default: :obj:`False`)
        symmetric (bool): anchors from both views (SimCLR). (default: :obj:`False`)
    """

    def __init__(self, encoder: Encoder, aug1: str = 'drop_nodes', aug2: str = 'subgraph',
                 aug_ratio: float = 0.2, temperature: float = 0.1, pool: str = 'mean',
                 intra_view_negatives: bool = False, symmetric: bool = False) -> None:
        super().__init__(encoder, aug1=aug1, aug2=aug2, aug_ratio=aug_ratio,
                         temperature=temperature, pool=pool,
                         intra_view_negatives=intra_view_negatives, symmetric=symmetric)
        if not 0.0 <= aug_ratio < 1.0:
            raise ValueError(f'aug_ratio must be in [0, 1), got {aug_ratio}')
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        self.view1 = build_view(aug1, aug_ratio)
        self.view2 = build_view(aug2, aug_ratio)
        self._pool = resolve_pool(pool)
        self.proj = projection_head(encoder.out_channels)

    def prepare(self, batch: Data, generator: torch.Generator | None = None
                ) -> tuple[Data, Data]:
        """Two augmented views of the batch (new batches; ``batch`` is not written)."""
        return self.view1(batch, generator), self.view2(batch, generator)

    def project(self, view: Data) -> Tensor:
        """Projected graph embeddings of a view, ``[num_graphs, channels]``."""
        h = self.encode(view)
        return self.proj(self._pool(h, view.batch, size=view.num_graphs))

    def compute(self, views: tuple[Data, Data]) -> ObjectiveOutput:
        v1, v2 = views
        if v1.num_graphs != v2.num_graphs:
            raise ValueError(f'the views hold {v1.num_graphs} and {v2.num_graphs} graphs; an '
                             'augmentation lost a graph')
        if v1.num_graphs < 2:
            raise ValueError('GraphCL contrasts graphs within a batch: it needs at least 2 '
                             f'graphs per batch, got {v1.num_graphs}')
        z1, z2 = self.project(v1), self.project(v2)
        loss = nt_xent(z1, z2, self.kwargs['temperature'],
                       intra_view_negatives=self.kwargs['intra_view_negatives'],
                       symmetric=self.kwargs['symmetric'])
        with torch.no_grad():
            pos = torch.nn.functional.cosine_similarity(z1, z2, dim=-1).mean()
        return ObjectiveOutput(loss, {'nt_xent': loss.detach(), 'pos_cos': pos})
