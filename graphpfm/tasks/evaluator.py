"""OGB's dict-in / dict-out evaluators (graph and node property prediction), for any dataset by
metric."""
from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np

#: supported metric names
METRICS = ('rocauc', 'ap', 'rmse', 'mae', 'acc')
_HIGHER_IS_BETTER = {'rocauc': True, 'ap': True, 'acc': True, 'rmse': False, 'mae': False}
#: an OGB dataset whose evaluator computes each metric (its ``_eval_<metric>`` is reused)
_OGB_PROXY = {'rocauc': 'ogbg-molbbbp', 'ap': 'ogbg-molpcba', 'rmse': 'ogbg-molesol',
              'acc': 'ogbg-ppa'}


def _check_metric(metric: str) -> str:
    if metric not in _HIGHER_IS_BETTER:
        raise ValueError(f"metric '{metric}' invalid; valid options: {', '.join(METRICS)}")
    return metric


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` is better (``rocauc``, ``ap``, ``acc``) or worse
    (``rmse``, ``mae``)."""
    return _HIGHER_IS_BETTER[_check_metric(metric)]


def ogb_master(package: Any) -> dict[str, dict[str, Any]]:
    """``{name: {'eval_metric', 'num_tasks', 'task_type'}}`` from the ``master.csv`` that
    :mod:`ogb` ships in ``package`` (e.g. :mod:`ogb.graphproppred`)."""
    import pandas as pd
    path = os.path.join(os.path.dirname(package.__file__), 'master.csv')
    meta = pd.read_csv(path, index_col=0, keep_default_na=False)
    return {name: {'eval_metric': meta[name]['eval metric'],
                   'num_tasks': int(meta[name]['num tasks']),
                   'task_type': meta[name]['task type']} for name in meta.columns}


@functools.lru_cache(maxsize=1)
def ogb_graph_datasets() -> dict[str, dict[str, Any]]:
    """:func:`ogb_master` of OGB's graph property datasets."""
    import ogb.graphproppred
    return ogb_master(ogb.graphproppred)


@functools.lru_cache(maxsize=1)
def ogb_node_datasets() -> dict[str, dict[str, Any]]:
    """:func:`ogb_master` of OGB's node property datasets."""
    import ogb.nodeproppred
    return ogb_master(ogb.nodeproppred)


def _ogb_meta(name: str | None) -> tuple[dict[str, Any] | None, bool]:
    """OGB's record of dataset ``name`` and whether it is a node dataset (``(None, False)``
    for a name OGB does not know)."""
    if name is None:
        return None, False
    meta = ogb_graph_datasets().get(name)
    if meta is not None:
        return meta, False
    meta = ogb_node_datasets().get(name)
    return meta, meta is not None


def _to_numpy(a: Any) -> Any:
    if hasattr(a, 'detach'):
        return a.detach().cpu().numpy()
    return a


def single_class_tasks(y_true: Any) -> list[int]:
    """Tasks (column indices) of ``y_true`` whose observed labels do not contain both a ``1`` and a
    ``0``: OGB's ``rocauc`` and ``ap`` silently leave them out of the average."""
    y = np.asarray(_to_numpy(y_true))
    if y.ndim != 2:
        raise ValueError(f'y_true must be 2-dimensional, got {y.ndim} dimensions')
    has_pos = (y == 1).any(axis=0)
    has_neg = (y == 0).any(axis=0)
    return [int(t) for t in np.flatnonzero(~(has_pos & has_neg))]


class Evaluator:
    r"""The evaluator of the `Open Graph Benchmark <https://ogb.stanford.edu>`_, usable by OGB
    dataset name (graph ``ogbg-*`` or node ``ogbn-*``) or, for any other dataset, by metric
    name.

    ``eval({'y_true': ..., 'y_pred': ...})`` takes numpy arrays or tensors of shape
    ``[num_items, num_tasks]`` (graphs or nodes; NaN in ``y_true`` = missing; class indices
    ``[n, 1]`` for ``acc`` on multiclass labels) and returns ``{metric: value}``, exactly as
    OGB's evaluators do: for an OGB name the call is delegated to
    :class:`ogb.graphproppred.Evaluator` or :class:`ogb.nodeproppred.Evaluator`; otherwise the
    inputs get the same checks and the score comes from OGB's own per-metric routine (``mae``,
    which OGB's graph evaluator lacks, is computed here the way OGB computes ``rmse``: per task
    over labelled rows, then averaged over tasks).

    For ``rocauc`` and ``ap`` OGB skips tasks with a single class among the labelled rows;
    :meth:`skipped_tasks` names them.

    Args:
        name (str, optional): an OGB dataset name, e.g. ``'ogbg-molbbbp'`` or
            ``'ogbn-arxiv'``. Its metric and number of tasks are taken from OGB.
        metric (str, optional): one of :data:`METRICS`; required when :obj:`name` is not an
            OGB dataset, and must agree with OGB's when it is.
        num_tasks (int, optional): expected number of columns; :obj:`None` skips the check.
    """

    def __init__(self, name: str | None = None, *, metric: str | None = None,
                 num_tasks: int | None = None) -> None:
        from ogb.graphproppred import Evaluator as OGBEvaluator

        ogb_meta, node = _ogb_meta(name)
        self._ogb: Any = None
        if ogb_meta is not None:
            ogb_metric = ogb_meta['eval_metric']
            if ogb_metric not in METRICS:
                raise ValueError(f"OGB dataset '{name}' uses metric '{ogb_metric}', which is not "
                                 f"supported; valid options: {', '.join(METRICS)}")
            if metric is not None and metric != ogb_metric:
                raise ValueError(f"metric '{metric}' disagrees with OGB's '{ogb_metric}' for "
                                 f"'{name}'")
            if num_tasks is not None and num_tasks != ogb_meta['num_tasks']:
                raise ValueError(f"num_tasks={num_tasks} disagrees with OGB's "
                                 f"{ogb_meta['num_tasks']} for '{name}'")
            metric, num_tasks = ogb_metric, ogb_meta['num_tasks']
            if node:
                from ogb.nodeproppred import Evaluator as OGBNodeEvaluator
                self._ogb = OGBNodeEvaluator(name)
            else:
                self._ogb = OGBEvaluator(name)
        else:
            if metric is None:
                raise ValueError(f"'{name}' is not an OGB dataset, so a metric is needed; "
                                 f"valid options: {', '.join(METRICS)}")
            _check_metric(metric)
            self._ogb = OGBEvaluator(_OGB_PROXY[metric]) if metric in _OGB_PROXY else None
        self.name = name
        self.metric = metric
        self.num_tasks = num_tasks
        self.is_ogb = ogb_meta is not None

    @classmethod
    def from_bundle(cls, bundle: Any) -> 'Evaluator':
        """The evaluator for a :class:`~graphpfm.datasets.DatasetBundle` (by OGB name when the
        bundle is an OGB dataset with OGB's metric, else by its ``eval_metric``)."""
        meta, _ = _ogb_meta(bundle.name)
        if meta is not None and meta['eval_metric'] == bundle.eval_metric:
            return cls(bundle.name)
        if bundle.eval_metric is None:
            raise ValueError(f"dataset '{bundle.name}' has no eval_metric; valid options: "
                             f"{', '.join(METRICS)}")
        # multiclass labels are one column of class indices, whatever num_tasks says
        num_tasks = None if bundle.task_type == 'multiclass classification' else bundle.num_tasks
        return cls(bundle.name if meta is None else None, metric=bundle.eval_metric,
                   num_tasks=num_tasks)

    @property
    def higher_is_better(self) -> bool:
        return higher_is_better(self.metric)

    def skipped_tasks(self, y_true: Any) -> list[int]:
        """Tasks this evaluator leaves out of its average for these labels (``rocauc``/``ap``
        only: tasks with a single observed class)."""
        if self.metric not in ('rocauc', 'ap'):
            return []
        return single_class_tasks(y_true)

    def _check(self, input_dict: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        for key in ('y_true', 'y_pred'):
            if key not in input_dict:
                raise RuntimeError(f"Missing key of {key}; expected keys: 'y_true', 'y_pred'")
        y_true, y_pred = _to_numpy(input_dict['y_true']), _to_numpy(input_dict['y_pred'])
        if not isinstance(y_true, np.ndarray) or not isinstance(y_pred, np.ndarray):
            raise RuntimeError('Arguments to Evaluator need to be either numpy ndarray or '
                               'torch tensor')
        if y_true.shape != y_pred.shape:
            raise RuntimeError(f'Shape of y_true {y_true.shape} and y_pred {y_pred.shape} must '
                               'be the same')
        if y_true.ndim != 2:
            raise RuntimeError(f'y_true and y_pred must be 2-dim arrays, {y_true.ndim}-dim '
                               'given')
        if self.num_tasks is not None and y_true.shape[1] != self.num_tasks:
            raise RuntimeError(f'Number of tasks for {self.name} should be {self.num_tasks} but '
                               f'{y_true.shape[1]} given')
        return y_true, y_pred

    def eval(self, input_dict: dict[str, Any]) -> dict[str, float]:
        """``{'y_true', 'y_pred'}`` in, ``{metric: value}`` out."""
        if self.is_ogb:
            out = self._ogb.eval(input_dict)
            return {self.metric: float(out[self.metric])}
        y_true, y_pred = self._check(input_dict)
        if self.metric == 'mae':
            return {'mae': _eval_mae(y_true, y_pred)}
        out = getattr(self._ogb, f'_eval_{self.metric}')(y_true, y_pred)
        return {self.metric: float(out[self.metric])}

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(name={self.name!r}, metric={self.metric!r}, '
                f'num_tasks={self.num_tasks})')


def _eval_mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error per task over labelled rows, averaged over tasks."""
    maes = []
    for t in range(y_true.shape[1]):
        labelled = ~np.isnan(y_true[:, t])
        maes.append(float(np.abs(y_true[labelled, t] - y_pred[labelled, t]).mean()))
    return sum(maes) / len(maes)
