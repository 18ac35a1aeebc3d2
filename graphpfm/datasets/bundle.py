"""The object :func:`graphpfm.load_dataset` returns."""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import Tensor

from ..errors import ConfigError

LEVELS = ('graph', 'node')
TASK_TYPES = ('binary classification', 'multiclass classification', 'regression')


def check_train_limit(limit: Any) -> None:
    """Refuse a training limit that is not a positive integer (:obj:`None`: no limit)."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, numbers.Integral)
                              or limit < 1):
        raise ConfigError(f'train_limit must be a positive number of samples, got {limit!r}')


@dataclass
class DatasetBundle:
    r"""A dataset with everything needed to train and evaluate on it.

    Attributes:
        name (str): registry name, e.g. ``'ogbg-molbbbp'``.
        dataset: the graphs (a :class:`~graphpfm.data.GraphStore` for molecule sets), or for
            ``level='node'`` one :class:`~torch_geometric.data.Data` (``x``, ``edge_index``,
            ``y``, ``num_nodes``).
        split_idx (dict, optional): ``{'train', 'valid', 'test'}`` -> ``LongTensor`` of graph
            indices (node indices for ``level='node'``); :obj:`None` for unlabelled
            pretraining corpora.
        level (str): ``'graph'`` or ``'node'``.
        task_type (str, optional): one of :data:`TASK_TYPES`, :obj:`None` when unlabelled.
        num_tasks (int): number of prediction targets (0 when unlabelled).
        eval_metric (str, optional): OGB metric name (``'rocauc'``, ``'ap'``, ``'rmse'``, ...).
        meta (dict): plain-value provenance (source path, counts, invalid SMILES, ...).
    """

    name: str
    dataset: Any
    split_idx: dict[str, Tensor] | None = None
    level: str = 'graph'
    task_type: str | None = None
    num_tasks: int = 0
    eval_metric: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"level '{self.level}' invalid; valid options: {', '.join(LEVELS)}")
        if self.task_type is not None and self.task_type not in TASK_TYPES:
            raise ValueError(f"task_type '{self.task_type}' invalid; valid options: "
                             f"{', '.join(TASK_TYPES)}")

    def split(self, name: str) -> torch.utils.data.Dataset:
        """The subset of :attr:`dataset` for split ``name`` (``'train'``, ``'valid'``, ``'test'``).

        Graph-level bundles only: a node-level split is ``split_idx[name]``, node indices into
        the one graph :attr:`dataset`.
        """
        if self.level == 'node':
            raise ValueError(f"dataset '{self.name}' is node-level: use split_idx['{name}'] "
                             '(node indices into bundle.dataset) instead of split()')
        if self.split_idx is None:
            raise ValueError(f"dataset '{self.name}' has no split (it is an unlabelled corpus)")
        if name not in self.split_idx:
            raise KeyError(f"unknown split '{name}'; valid options: {', '.join(self.split_idx)}")
        return torch.utils.data.Subset(self.dataset, self.split_idx[name].tolist())

    def limit_train(self, n: int | None, seed: int = 0) -> DatasetBundle:
        """A copy whose training split is ``n`` samples drawn at random from this one's
        (without replacement, by a generator seeded with ``seed``: the same subset for every
        caller, so that arms and seeds compared on it see the same labels); valid and test are
        kept whole. ``n`` :obj:`None`, or at least the split's size: this bundle unchanged.
        The subset size is recorded in ``meta['train_limit']``."""
        if n is None:
            return self
        if self.split_idx is None or 'train' not in self.split_idx:
            raise ValueError(f"dataset '{self.name}' has no training split to limit")
        check_train_limit(n)
        n, train = int(n), self.split_idx['train']
        if n >= train.numel():
            return self
        generator = torch.Generator().manual_seed(seed)
        chosen = train[torch.randperm(train.numel(), generator=generator)[:n]].sort().values
        return replace(self, split_idx={**self.split_idx, 'train': chosen},
                       meta={**self.meta, 'train_limit': n})

    @property
    def labelled(self) -> bool:
        return self.task_type is not None

    def __len__(self) -> int:
        """Number of graphs; for ``level='node'``, number of nodes of the one graph."""
        if self.level == 'node':
            return int(self.dataset.num_nodes)
        return len(self.dataset)

    def __repr__(self) -> str:
        splits = ({k: int(v.numel()) for k, v in self.split_idx.items()}
                  if self.split_idx is not None else None)
        unit = 'nodes' if self.level == 'node' else 'graphs'
        return (f"DatasetBundle(name='{self.name}', {unit}={len(self)}, level='{self.level}', "
                f"task_type={self.task_type!r}, num_tasks={self.num_tasks}, "
                f"eval_metric={self.eval_metric!r}, splits={splits})")
