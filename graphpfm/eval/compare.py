"""Pretrained versus from-scratch encoders under one fine-tuning recipe, and a results table."""
from __future__ import annotations

import logging
import os
from typing import Any, Callable, Mapping

import torch

from ..tasks import higher_is_better
from .finetune import FinetuneConfig, FinetuneResult, finetune

logger = logging.getLogger(__name__)


def compare(bundle: Any, make_pretrained: Callable[[int], torch.nn.Module],
            make_scratch: Callable[[int], torch.nn.Module], config: FinetuneConfig | None = None,
            log_dir: str | os.PathLike | None = None,
            evaluator: Any | None = None) -> dict[str, FinetuneResult]:
    r"""Fine-tune a pretrained and a randomly initialised encoder with the same seeds, recipe
    and evaluator: the comparison of `Hu et al. (2020) <https://arxiv.org/abs/1905.12265>`_.

    Args:
        bundle (DatasetBundle): the labelled downstream dataset.
        make_pretrained (callable): ``seed -> Encoder`` with pretrained weights loaded.
        make_scratch (callable): ``seed -> Encoder`` randomly initialised (same architecture).
        config (FinetuneConfig, optional): the shared recipe. (default: :obj:`FinetuneConfig()`)
        log_dir (str, optional): directory receiving ``pretrained.jsonl`` and
            ``scratch.jsonl`` (see :func:`finetune`).
        evaluator (optional): passed to :func:`finetune`.

    Returns:
        ``{'pretrained': FinetuneResult, 'scratch': FinetuneResult}``
    """
    config = FinetuneConfig() if config is None else config
    results: dict[str, FinetuneResult] = {}
    for name, make in (('pretrained', make_pretrained), ('scratch', make_scratch)):
        log_path = None if log_dir is None else os.path.join(log_dir, f'{name}.jsonl')
        logger.info('fine-tuning %s encoder on %s', name, bundle.name)
        results[name] = finetune(bundle, make, config, log_path=log_path, evaluator=evaluator)
    return results


def format_table(results: Mapping[str, FinetuneResult], metric: str | None = None,
                 digits: int = 3) -> str:
    """A markdown table: one row per method with test and valid ``mean ± std`` (``ddof=0``)
    over seeds, and the seeds.

    Args:
        results (dict): ``{method name: FinetuneResult}``.
        metric (str, optional): metric name for the header (default: the results' metric).
        digits (int): decimals. (default: :obj:`3`)
    """
    if not results:
        raise ValueError('no results to tabulate')
    metrics = {r.metric for r in results.values()}
    if metric is None:
        if len(metrics) != 1:
            raise ValueError(f'results use different metrics {sorted(metrics)}; pass metric=')
        metric = metrics.pop()
    elif metrics != {metric}:
        raise ValueError(f"metric '{metric}' does not match the results' {sorted(metrics)}")
    arrow = '↑' if higher_is_better(metric) else '↓'
    header = ['method', f'test {metric} {arrow}', f'valid {metric}', 'seeds']
    rows = [[name, r.summary(digits), r.valid_summary(digits),
             ','.join(str(s) for s in r.seeds)] for name, r in results.items()]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return '| ' + ' | '.join(c.ljust(w) for c, w in zip(cells, widths)) + ' |'

    sep = '|' + '|'.join('-' * (w + 2) for w in widths) + '|'
    return '\n'.join([line(header), sep, *(line(r) for r in rows)])
