"""What every level of prediction shares: labels, splits, the evaluator, the training plan."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np
import torch
from torch import Tensor

from ..nn.losses import loss_for_task
from .evaluator import Evaluator

logger = logging.getLogger(__name__)

SPLITS = ('train', 'valid', 'test')


def label_array(y: Tensor, task_type: str) -> np.ndarray:
    """Labels as an evaluator takes them: ``[n, 1]`` class indices (multiclass; missing = -1)
    or ``[n, T]`` floats (NaN = missing)."""
    if task_type == 'multiclass classification':
        if y.is_floating_point():
            y = torch.nan_to_num(y, nan=-1.0)
        return y.reshape(-1, 1).long().numpy()
    y = y.float()
    return (y.view(-1, 1) if y.dim() == 1 else y).numpy()


def predictions(out: Tensor, task_type: str, metric: str) -> Tensor:
    """What the evaluator expects from raw model outputs."""
    if task_type == 'multiclass classification':
        return out.argmax(dim=-1, keepdim=True)
    if metric == 'acc':  # binary accuracy: threshold the logits
        return (out > 0).to(out.dtype)
    return out  # logits are fine for rocauc/ap (monotone); values for rmse/mae


@dataclass
class TrainingPlan:
    r"""How a supervised model trains and is scored on a task, for one seed: what
    :func:`~graphpfm.train.loop.train_epoch` and the fine-tuning loop need.

    Attributes:
        batches: the training batches of one epoch (iterated once per epoch).
        step (callable): ``batch -> loss`` (the batch on the device).
        count (callable): ``batch -> int``, the items (graphs or nodes) its loss covers.
        scores (callable): ``() -> {'valid': float, 'test': float}`` of the current model.
        skip (callable, optional): ``batch -> bool``, batches to leave out.
        unit (str): what :attr:`count` counts, ``'graphs'`` or ``'nodes'``.
    """

    batches: Iterable
    step: Callable[[Any], Tensor]
    count: Callable[[Any], int]
    scores: Callable[[], dict[str, float]]
    skip: Callable[[Any], bool] | None = None
    unit: str = 'graphs'
    extra: dict[str, Any] | None = None


class Task:
    r"""A prediction task on a :class:`~graphpfm.datasets.DatasetBundle`: its labels and
    splits, its evaluator, the predictor for an encoder, its training batches and its
    embedding function. :meth:`from_bundle` picks :class:`~graphpfm.tasks.GraphTask` or
    :class:`~graphpfm.tasks.NodeTask` by the bundle's level; pretraining, fine-tuning and
    probing all go through one.

    Args:
        bundle (DatasetBundle): the dataset; unlabelled bundles serve pretraining only.
    """

    level = ''
    unit = ''
    #: level name -> task class, filled by the subclasses' definitions
    levels: dict[str, type['Task']] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.level:
            Task.levels[cls.level] = cls

    def __init__(self, bundle: Any) -> None:
        self.bundle = bundle
        self.name = bundle.name
        self.task_type = bundle.task_type

    @staticmethod
    def from_bundle(bundle: Any) -> 'Task':
        """The task of ``bundle``'s level."""
        level = getattr(bundle, 'level', 'graph')
        if level not in Task.levels:
            raise ValueError(f"level '{level}' invalid; valid options: "
                             f"{', '.join(Task.levels)}")
        return Task.levels[level](bundle)

    @staticmethod
    def for_data(data: Any, name: str = 'data') -> 'Task':
        """An unlabelled task on raw data: one :class:`~torch_geometric.data.Data` graph is a
        node-level task, anything else a dataset of graphs."""
        from torch_geometric.data import Data

        from ..datasets.bundle import DatasetBundle
        level = 'node' if isinstance(data, Data) else 'graph'
        return Task.from_bundle(DatasetBundle(name=name, dataset=data, level=level))

    @property
    def dataset(self) -> Any:
        return self.bundle.dataset

    # ---------------------------------------------------------------- labels and splits
    def check_labelled(self, what: str = 'fine-tuning') -> None:
        """Raise :class:`ValueError` unless the bundle is labelled with non-empty splits."""
        bundle = self.bundle
        if bundle.split_idx is None or bundle.task_type is None:
            raise ValueError(f"dataset '{bundle.name}' is unlabelled or has no split; {what} "
                             'needs task_type and split_idx')
        for split in SPLITS:
            if split not in bundle.split_idx:
                raise ValueError(f"dataset '{bundle.name}' lacks split '{split}'; it has "
                                 f"{', '.join(bundle.split_idx)}")
            if bundle.split_idx[split].numel() == 0:
                raise ValueError(f"split '{split}' of dataset '{bundle.name}' is empty")

    def evaluator(self) -> Evaluator:
        """OGB's evaluator for an OGB dataset, else the evaluator of its metric."""
        return Evaluator.from_bundle(self.bundle)

    @property
    def num_outputs(self) -> int:
        """Width of the predictor's output: classes (multiclass) or tasks."""
        bundle = self.bundle
        if bundle.task_type != 'multiclass classification':
            return int(bundle.num_tasks)
        num_classes = bundle.meta.get('num_classes')
        if num_classes is None:
            y = self.all_labels()
            num_classes = int(torch.nan_to_num(y.float(), nan=-1.0).max()) + 1
        return int(num_classes)

    def loss(self) -> Callable[[Tensor, Tensor], Tensor]:
        """The masked loss of the task type."""
        return loss_for_task(self.task_type)

    def all_labels(self) -> Tensor:
        raise NotImplementedError

    def target_scale(self) -> tuple[Tensor, Tensor] | None:
        r"""``(mean, std)`` ``[T]`` of each regression target over the labelled training rows
        (a constant or unlabelled target gets std 1), or :obj:`None` for classification.
        Models train on :math:`(y - \mu) / \sigma` and predict in the original units."""
        if self.task_type != 'regression':
            return None
        y = torch.as_tensor(self.labels('train'), dtype=torch.float64)
        observed = ~torch.isnan(y)
        count = observed.sum(0)
        mean = torch.where(observed, y, 0.0).sum(0) / count.clamp(min=1)
        var = torch.where(observed, (y - mean) ** 2, 0.0).sum(0) / count.clamp(min=1)
        std = var.sqrt()
        std = torch.where((std > 0) & torch.isfinite(std), std, torch.ones_like(std))
        return mean.float(), std.float()

    def labels(self, split: str) -> np.ndarray:
        """Labels of ``split`` in the evaluator's format (see :func:`label_array`), in the
        order the task scores them."""
        raise NotImplementedError

    def skipped_tasks(self, evaluator: Any) -> dict[str, list[int]]:
        """``{'valid': [...], 'test': [...]}``: tasks the metric leaves out (a single class in
        the split); raises :class:`ValueError` when it leaves out every task of a split."""
        skipped: dict[str, list[int]] = {}
        if not hasattr(evaluator, 'skipped_tasks') or \
                self.task_type == 'multiclass classification':
            return skipped
        for split in ('valid', 'test'):
            y = self.labels(split)
            skipped[split] = evaluator.skipped_tasks(y)
            if skipped[split] and len(skipped[split]) == y.shape[1]:
                raise ValueError(f"every task of split '{split}' of '{self.name}' has a "
                                 f'single class: {evaluator.metric} is undefined')
            if skipped[split]:
                logger.warning("%s leaves out %d of %d tasks of split '%s' (single class): %s",
                               evaluator.metric, len(skipped[split]), y.shape[1], split,
                               skipped[split])
        return skipped

    def score(self, evaluator: Any, split: str, out: Tensor,
              truth: np.ndarray | None = None) -> float:
        """``evaluator``'s score of raw outputs ``out`` on the rows of ``split`` (whose labels
        are ``truth``, default :meth:`labels`)."""
        pred = predictions(out, self.task_type, evaluator.metric).numpy()
        truth = self.labels(split) if truth is None else truth
        if self.task_type == 'multiclass classification':
            labelled = truth[:, 0] >= 0
            truth, pred = truth[labelled], pred[labelled]
        return float(evaluator.eval({'y_true': truth, 'y_pred': pred})[evaluator.metric])

    # ---------------------------------------------------------------- models and batches
    def predictor(self, encoder: torch.nn.Module, *, dropout: float = 0.0,
                  pool: str = 'mean') -> torch.nn.Module:
        raise NotImplementedError

    def pretrain_batches(self, batch_size: int, generator: torch.Generator, **kwargs: Any
                         ) -> Iterable:
        raise NotImplementedError

    def training_plan(self, model: torch.nn.Module, config: Any, generator: torch.Generator,
                      device: torch.device, evaluator: Any, *, train_model: Any = None,
                      world_size: int = 1, rank: int = 0, host_group: Any = None
                      ) -> TrainingPlan:
        raise NotImplementedError

    def embed(self, encoder: torch.nn.Module, device: Any = None, *,
              batch_size: int | None = None, **kwargs: Any
              ) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        raise NotImplementedError
