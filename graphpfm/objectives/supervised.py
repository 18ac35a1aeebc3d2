"""Supervised multi-task graph-level pretraining (Hu et al., 2020)."""
from __future__ import annotations

from typing import Any

import torch
from torch_geometric.data import Data

from ..errors import DataError
from ..nn.encoders.base import Encoder
from ..nn.heads import resolve_pool
from ..nn.losses import masked_bce_with_logits
from .base import OBJECTIVES, Objective, ObjectiveOutput


@OBJECTIVES.register('supervised')
class Supervised(Objective):
    r"""Supervised graph-level pretraining from `"Strategies for Pre-training Graph Neural
    Networks" <https://arxiv.org/abs/1905.12265>`_: predict many binary properties of each
    molecule at once from its pooled embedding, with a linear head,

    .. math::
        \mathbf{z}_g = \mathbf{W}\, \mathrm{pool}(\{\mathbf{h}_i : i \in g\}) + \mathbf{b},
        \qquad \mathcal{L} = \frac{1}{|\Omega|} \sum_{(g, t) \in \Omega}
        \mathrm{BCE}(z_{gt}, y_{gt})

    over the observed labels :math:`\Omega` only (NaN in ``batch.y`` marks a missing label;
    see :func:`~graphpfm.nn.losses.masked_bce_with_logits`). Used as the second stage after
    node-level self-supervision (``graphpfm pretrain --init stage1.pt --objective
    supervised``), where the reference used ChEMBL and here any labelled binary dataset
    (e.g. ``ogbg-moltoxcast``) fits.

    ``num_tasks`` is required (the head's width must be known before the first batch so that
    :meth:`config` can rebuild the objective); :meth:`data_kwargs` reads it from the dataset.

    Args:
        encoder (Encoder): any encoder.
        num_tasks (int): number of binary tasks (columns of ``batch.y``).
        pool (str): graph readout, ``'mean'``, ``'sum'`` or ``'max'``. (default:
            :obj:`'mean'`)
    """

    def __init__(self, encoder: Encoder, num_tasks: int, pool: str = 'mean') -> None:
        if isinstance(num_tasks, bool) or not isinstance(num_tasks, int) or num_tasks < 1:
            raise ValueError(f'num_tasks must be an int >= 1, got {num_tasks!r}')
        super().__init__(encoder, num_tasks=num_tasks, pool=pool)
        self._pool = resolve_pool(pool)
        self.num_tasks = num_tasks
        self.head = torch.nn.Linear(encoder.out_channels, num_tasks)

    @classmethod
    def data_kwargs(cls, data: Any, num_steps: int) -> dict[str, Any]:
        """``num_tasks`` of a labelled binary-classification dataset."""
        if not data.labelled:
            raise DataError(f"objective 'supervised' needs labels, but dataset '{data.name}' "
                             'is unlabelled; use a labelled dataset, e.g. ogbg-moltoxcast, '
                             'ogbg-moltox21 or ogbg-molhiv')
        if data.task_type != 'binary classification':
            raise DataError(f"objective 'supervised' predicts binary labels, but '{data.name}' "
                             f'is a {data.task_type} dataset; valid datasets are binary '
                             'classification ones, e.g. ogbg-moltoxcast, ogbg-moltox21, '
                             'ogbg-molhiv')
        return {'num_tasks': int(data.num_tasks)}

    def reset_parameters(self) -> None:
        """Re-initialise the head (the encoder is left alone)."""
        self.head.reset_parameters()

    def prepare(self, batch: Data, generator: torch.Generator | None = None) -> Data:
        y = getattr(batch, 'y', None)
        if y is None:
            raise ValueError("the 'supervised' objective needs labels: the batch has no 'y'. "
                             'Pretrain it on a labelled dataset (e.g. ogbg-moltoxcast, '
                             'ogbg-moltox21, ogbg-molhiv)')
        if y.dim() != 2 or y.size(1) != self.num_tasks:
            raise ValueError(f'batch.y has shape {tuple(y.shape)} but the objective was built '
                             f'with num_tasks={self.num_tasks}; expected [num_graphs, '
                             f'{self.num_tasks}]')
        if not y.is_floating_point():
            raise ValueError(f'batch.y must be float (NaN = missing), got {y.dtype}')
        return batch

    def compute(self, prepared: Data) -> ObjectiveOutput:
        h = self.encode(prepared)
        g = self._pool(h, prepared.batch, size=prepared.num_graphs)
        logits = self.head(g)
        y = prepared.y
        loss = masked_bce_with_logits(logits, y)
        observed = ~torch.isnan(y)
        correct = ((logits.detach() > 0) == (y > 0.5)) & observed
        logs = {'acc': correct.sum() / observed.sum().clamp(min=1),
                'observed': observed.float().mean()}
        return ObjectiveOutput(loss, logs)
