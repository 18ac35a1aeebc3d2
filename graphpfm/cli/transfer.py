"""``graphpfm finetune``, ``graphpfm probe`` and ``graphpfm quickstart``: transfer encoders to
a labelled dataset."""
from __future__ import annotations

import argparse
import logging
import time
from typing import Any

from ..config import config_from, dataclass_options
from ..eval import FinetuneConfig, ProbeConfig
from ..runs import (
    BASELINES,
    FINETUNE_DROPOUT,
    PROBE_DROPOUT,
    DataConfig,
    EncoderConfig,
    QuickstartConfig,
    TransferConfig,
    TransferReport,
)
from .options import Command, Group, run_group

log = logging.getLogger('graphpfm')


def _groups(config: type, compare: str, dataset: str, dropout: float, out: str,
            rename: dict[str, str] | None = None, jobs: tuple[str, ...] = ()) -> list[Group]:
    return [Group('data', dataclass_options(DataConfig, dataset=dataset)),
            Group('encoders', dataclass_options(
                TransferConfig, ('checkpoint', f'compare_{compare}', *jobs))),
            Group("encoder (default: the --checkpoint's architecture, if given)",
                  dataclass_options(EncoderConfig, dropout=dropout), fill=False),
            Group(f'recipe ({config.__name__})',
                  dataclass_options(config, rename=rename, device='auto', progress=None)),
            run_group(('out', 'config', 'verbose'), out=out)]


def transfer(args: argparse.Namespace, how: str) -> dict[str, Any]:
    """Fine-tune (``how='finetune'``) or probe the encoders of the options; print and write
    the results table, and whether the pretrained encoder beat its comparison."""
    from .. import runs
    config = (config_from(FinetuneConfig, args, dropout='head_dropout') if how == 'finetune'
              else config_from(ProbeConfig, args))
    report = getattr(runs, how)(args.out, config_from(DataConfig, args),
                                config_from(EncoderConfig, args),
                                config_from(TransferConfig, args), config)
    return show(report, args.out)


def show(report: TransferReport, out: str) -> dict[str, Any]:
    """Print the results table, and whether the pretrained encoder beat its comparison."""
    if not report.description:  # under torchrun, rank 0 reports
        return report.payload
    print(report.summary(out))
    if report.comparison is not None and not report.comparison.helped:
        log.warning('%s', report.comparison.message(baseline=BASELINES[report.baseline]))
    return report.payload


def quickstart(args: argparse.Namespace) -> dict[str, Any]:
    """Fine-tune the shipped pretrained encoder and the same architecture from scratch on a
    classification task, and say whether pretraining helped."""
    from ..runs import quickstart
    t0 = time.perf_counter()
    report = quickstart(args.out, config_from(QuickstartConfig, args), device=args.device,
                        progress=args.progress)
    payload = show(report, args.out)
    print(f'quickstart done in {time.perf_counter() - t0:.0f} s; results and logs are under '
          f'{args.out}/')
    return payload


FINETUNE = Command(
    'finetune', 'fine-tune or linearly probe on a labelled dataset',
    lambda args: transfer(args, 'finetune'),
    lambda _: _groups(FinetuneConfig, 'scratch', 'ogbg-molbbbp', FINETUNE_DROPOUT,
                      'runs/finetune', {'dropout': 'head_dropout'}, ('jobs',)))
PROBE = Command(
    'probe', 'linear probe of frozen encoder embeddings (C chosen on validation)',
    lambda args: transfer(args, 'probe'),
    lambda _: _groups(ProbeConfig, 'random', 'Cora', PROBE_DROPOUT, 'runs/probe'))
QUICKSTART = Command(
    'quickstart', 'fine-tune the shipped pretrained model and the same model from scratch on a '
    'classification task, and compare', quickstart,
    lambda _: [Group('quickstart', dataclass_options(QuickstartConfig)),
               run_group(('out', 'config', 'device', 'progress', 'verbose'),
                         out='runs/quickstart')])
