"""OGB's :class:`~ogb.nodeproppred.Evaluator` for ``ogbn-*`` datasets, by metric for the others."""
from __future__ import annotations

import functools
from typing import Any

from .evaluator import Evaluator, higher_is_better, ogb_master, single_class_tasks


@functools.lru_cache(maxsize=1)
def ogb_node_datasets() -> dict[str, dict[str, Any]]:
    """:func:`~graphpfm.eval.evaluator.ogb_master` of OGB's node property datasets."""
    import ogb.nodeproppred
    return ogb_master(ogb.nodeproppred)


class NodeEvaluator:
    r"""The node-level evaluator of the `Open Graph Benchmark <https://ogb.stanford.edu>`_:
    :class:`ogb.nodeproppred.Evaluator` for an ``ogbn-*`` name, otherwise
    :class:`~graphpfm.eval.Evaluator` by metric (same dict-in / dict-out contract and input
    checks).

    ``eval({'y_true': ..., 'y_pred': ...})`` takes ``[num_nodes, num_tasks]`` arrays: class
    indices ``[n, 1]`` for ``acc`` on multiclass labels, scores ``[n, T]`` for ``rocauc``.

    Args:
        name (str, optional): an OGB node dataset name, e.g. ``'ogbn-arxiv'``.
        metric (str, optional): required when :obj:`name` is not an OGB node dataset; must
            agree with OGB's when it is.
        num_tasks (int, optional): expected number of columns (non-OGB names only).
    """

    def __init__(self, name: str | None = None, *, metric: str | None = None,
                 num_tasks: int | None = None) -> None:
        meta = ogb_node_datasets().get(name) if name is not None else None
        if meta is not None:
            if metric is not None and metric != meta['eval_metric']:
                raise ValueError(f"metric '{metric}' disagrees with OGB's "
                                 f"'{meta['eval_metric']}' for '{name}'")
            from ogb.nodeproppred import Evaluator as OGBNodeEvaluator
            self._impl: Any = OGBNodeEvaluator(name)
            metric, num_tasks = meta['eval_metric'], meta['num_tasks']
        else:
            self._impl = Evaluator(name, metric=metric, num_tasks=num_tasks)
            metric = self._impl.metric
        self.name = name
        self.metric = metric
        self.num_tasks = num_tasks
        self.is_ogb = meta is not None

    @classmethod
    def from_bundle(cls, bundle: Any) -> 'NodeEvaluator':
        """The evaluator of a node-level :class:`~graphpfm.datasets.DatasetBundle`."""
        meta = ogb_node_datasets().get(bundle.name)
        if meta is not None and meta['eval_metric'] == bundle.eval_metric:
            return cls(bundle.name)
        if bundle.eval_metric is None:
            raise ValueError(f"dataset '{bundle.name}' has no eval_metric; valid options: "
                             "acc, rocauc, ap, rmse, mae")
        num_tasks = None if bundle.task_type == 'multiclass classification' else bundle.num_tasks
        return cls(bundle.name if meta is None else None, metric=bundle.eval_metric,
                   num_tasks=num_tasks)

    @property
    def higher_is_better(self) -> bool:
        return higher_is_better(self.metric)

    def skipped_tasks(self, y_true: Any) -> list[int]:
        """Tasks left out of ``rocauc``/``ap`` because they have a single observed class."""
        if self.metric not in ('rocauc', 'ap'):
            return []
        return single_class_tasks(y_true)

    def eval(self, input_dict: dict[str, Any]) -> dict[str, float]:
        """``{'y_true', 'y_pred'}`` in, ``{metric: value}`` out."""
        out = self._impl.eval(input_dict)
        return {self.metric: float(out[self.metric])}

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(name={self.name!r}, metric={self.metric!r}, '
                f'num_tasks={self.num_tasks})')
