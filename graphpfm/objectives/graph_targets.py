"""What the graph property prediction objectives share: predict per-molecule RDKit targets
from the pooled embedding of the clean graph."""
from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor
from torch_geometric.data import Data

from ..datasets.targets import target_width
from ..nn.encoders.base import Encoder
from ..nn.heads import projection_head, resolve_pool
from .base import Objective, ObjectiveOutput


class GraphTargetPrediction(Objective):
    r"""Base of the objectives that predict a graph-level target of each molecule (a batch
    attribute named :attr:`target`, ``[num_graphs, num_targets]``, attached by
    :func:`~graphpfm.datasets.load_dataset` with ``targets=[...]``) from its pooled clean
    embedding through a head of ``head_layers`` layers (``Linear -> ReLU -> Linear`` for 2).

    Subclasses set :attr:`target` and define :meth:`loss`. The targets use the structure
    only, never a label: no leakage control is needed for them.
    """

    #: the batch attribute holding the targets
    target: ClassVar[str] = ''

    def __init__(self, encoder: Encoder, num_targets: int | None = None, pool: str = 'mean',
                 head_layers: int = 2) -> None:
        width = target_width(self.target) if num_targets is None else num_targets
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ValueError(f'num_targets must be an int >= 1, got {width!r}')
        if head_layers not in (1, 2):
            raise ValueError(f'head_layers must be 1 or 2, got {head_layers!r}')
        super().__init__(encoder, num_targets=width, pool=pool, head_layers=head_layers)
        self._pool = resolve_pool(pool)
        self.num_targets = width
        c = encoder.out_channels
        self.head = (torch.nn.Linear(c, width) if head_layers == 1 else
                     projection_head(c, c, width))

    @classmethod
    def required_targets(cls) -> tuple[str, ...]:
        return (cls.target,)

    def reset_parameters(self) -> None:
        """Re-initialise the head (the encoder is left alone)."""
        for m in self.head.modules():
            if isinstance(m, torch.nn.Linear):
                m.reset_parameters()

    def prepare(self, batch: Data, generator: torch.Generator | None = None) -> Data:
        t = getattr(batch, self.target, None)
        name = type(self).registry_name
        if t is None:
            raise ValueError(f"objective '{name}' needs the RDKit targets '{self.target}' on "
                             f"every batch; load the corpus with load_dataset(..., targets="
                             f"['{self.target}']) (graphpfm pretrain does so)")
        if t.dim() != 2 or t.size(1) != self.num_targets or t.size(0) != batch.num_graphs:
            raise ValueError(f"batch.{self.target} has shape {tuple(t.shape)}; objective '{name}' "
                             f'expects [num_graphs={batch.num_graphs}, {self.num_targets}] '
                             '(targets made with another RDKit? rebuild them)')
        return batch

    def compute(self, prepared: Data) -> ObjectiveOutput:
        h = self.encode(prepared)
        g = self._pool(h, prepared.batch, size=prepared.num_graphs)
        pred = self.head(g)
        target = getattr(prepared, self.target).to(pred.dtype)
        return self.loss(pred, target, getattr(prepared, 'targets_ok', None))

    def loss(self, pred: Tensor, target: Tensor, ok: Tensor | None) -> ObjectiveOutput:
        """The loss of predictions ``pred`` against ``target`` (``ok``: bool ``[num_graphs]``,
        the molecules RDKit could read, or :obj:`None`)."""
        raise NotImplementedError
