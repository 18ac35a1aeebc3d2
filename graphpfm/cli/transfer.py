"""``graphpfm finetune`` and ``graphpfm probe``: transfer encoders to a labelled dataset."""
from __future__ import annotations

import argparse
import csv
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import ConfigError, DataError
from .common import (
    DataOptions,
    EncoderOptions,
    build_encoder,
    check_width,
    fill_architecture,
    load,
    run_group,
)
from .options import Command, Group, config_from, dataclass_options

log = logging.getLogger('graphpfm')


@dataclass
class TransferOptions:
    r"""Which encoders to transfer.

    Args:
        checkpoint (str, optional): a pretrained checkpoint file or shipped pretrained model
            (``graphpfm list``); :obj:`None`: a randomly initialised encoder of the encoder
            options only.
        compare_scratch (bool): also fine-tune a randomly initialised encoder of the
            checkpoint's architecture with the same recipe and seeds.
        compare_random (bool): also probe a randomly initialised encoder of the checkpoint's
            architecture with the same seeds.
    """

    checkpoint: str | None = None
    compare_scratch: bool = False
    compare_random: bool = False


#: the encoder's dropout by default: in fine-tuning (as Hu et al.), in probing
FINETUNE_DROPOUT, PROBE_DROPOUT = 0.5, 0.0


def _groups(config: type, compare: str, dataset: str, dropout: float, out: str,
            rename: dict[str, str] | None = None) -> list[Group]:
    return [Group('data', dataclass_options(DataOptions, dataset=dataset)),
            Group('encoders',
                  dataclass_options(TransferOptions, ('checkpoint', f'compare_{compare}'))),
            Group("encoder (default: the --checkpoint's architecture, if given)",
                  dataclass_options(EncoderOptions, dropout=dropout), fill=False),
            Group(f'recipe ({config.__name__})',
                  dataclass_options(config, rename=rename, device='auto', progress=None)),
            run_group(('out', 'config', 'verbose'), out=out)]


def _encoders(args: argparse.Namespace, bundle: Any, compare: str, **overrides: Any
              ) -> dict[str, Callable[[int], Any]]:
    """``{name: seed -> encoder}``: the checkpoint's (and with ``--compare-<compare>`` a random
    one of its architecture), or a random one of the encoder options."""
    from ..nn import build_encoder as build
    from ..train import load_encoder
    if not args.checkpoint:
        if getattr(args, f'compare_{compare}'):
            raise ConfigError(f'--compare-{compare} needs --checkpoint (without one, a randomly '
                             'initialised encoder of the encoder options is used)')
        return {compare: lambda seed: build_encoder(args, bundle, **overrides)}
    spec = check_width(args.checkpoint, bundle)
    makers = {'pretrained': lambda seed: load_encoder(args.checkpoint, **overrides)}
    if getattr(args, f'compare_{compare}'):
        makers[compare] = lambda seed: build(spec['name'], **{**spec['kwargs'], **overrides})
    return makers


def _report(args: argparse.Namespace, bundle: Any, results: dict[str, Any], what: str
            ) -> dict[str, Any]:
    """Write and print the results table."""
    from ..eval import format_table
    split = int(bundle.split_idx['train'].numel())
    used = int(bundle.limit_train(args.train_limit).split_idx['train'].numel())
    payload = {'dataset': bundle.name, 'checkpoint': args.checkpoint,
               'train_size': used, 'train_split_size': split,
               'results': {k: r.to_dict() for k, r in results.items()}}
    out = Path(args.out)
    (out / 'results.md').write_text(format_table(results) + '\n')
    (out / 'results.json').write_text(json.dumps(payload, indent=1))
    with (out / 'results.csv').open('w', newline='') as f:  # one row per method
        writer = csv.writer(f)
        writer.writerow(['dataset', 'method', 'metric', 'test_mean', 'test_std', 'valid_mean',
                         'valid_std', 'std_ddof', 'seeds'])
        for name, r in results.items():
            writer.writerow([bundle.name, name, r.metric, r.mean, r.std, r.valid_mean,
                             r.valid_std, 0, ' '.join(map(str, r.seeds))])
    print(f'{bundle.name}: {what}\n{format_table(results)}\nresults: {out}/results.json, '
          f'{out}/results.csv')
    return payload


def finetune(args: argparse.Namespace) -> dict[str, Any]:
    """Fine-tune (pretrained and/or from scratch); prints and writes the results table."""
    import torch.distributed as dist

    from ..eval import FinetuneConfig, finetune
    from ..utils import resolve_device
    fill_architecture(args, args.checkpoint, '--checkpoint', dropout=FINETUNE_DROPOUT)
    config = config_from(FinetuneConfig, args, dropout='head_dropout')
    config.device = str(resolve_device(config.device))
    bundle = load(args)
    if not bundle.labelled:
        raise DataError(f"dataset '{bundle.name}' has no labels to fine-tune on")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    results = {}
    for name, make in _encoders(args, bundle, 'scratch', dropout=args.dropout).items():
        log.info('fine-tuning %s encoder on %s (%s, %d seeds)', name, bundle.name, config.mode,
                 len(config.seeds))
        results[name] = finetune(bundle, make, config, log_path=Path(args.out) / f'{name}.jsonl')
    if dist.is_available() and dist.is_initialized() and dist.get_rank() != 0:
        return {'results': {k: r.to_dict() for k, r in results.items()}}  # rank 0 reports
    payload = _report(args, bundle, results, f'test {bundle.eval_metric or ""} at the best '
                      f'validation epoch, mean ± std over seeds {list(config.seeds)} '
                      f'({config.mode} fine-tuning, {config.epochs} epochs; per-epoch logs: '
                      f'{args.out}/*.jsonl)')
    if 'pretrained' in results and 'scratch' in results:
        payload['comparison'] = _compare(args, results, 'scratch')
    return payload


def probe(args: argparse.Namespace) -> dict[str, Any]:
    """Linear probe of a pretrained (and/or randomly initialised) encoder; prints and writes
    the results table."""
    from ..eval import ProbeConfig, probe
    from ..utils import resolve_device
    fill_architecture(args, args.checkpoint, '--checkpoint', dropout=PROBE_DROPOUT)
    config = config_from(ProbeConfig, args)
    config.device = str(resolve_device(config.device))
    bundle = load(args)
    if not bundle.labelled or bundle.split_idx is None:
        raise DataError(f"dataset '{bundle.name}' has no labels and split to probe on")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    results = {}
    for name, make in _encoders(args, bundle, 'random').items():
        log.info('linear probe of the %s encoder on %s (%d seeds)', name, bundle.name,
                 len(config.seeds))
        results[name] = probe(bundle, make, config=config)
    chosen = '; '.join(f"{k}: {', '.join(f'{c:g}' for c in r.best_Cs)}"
                       for k, r in results.items())
    metric = next(iter(results.values())).metric
    payload = _report(args, bundle, results, f'linear probe, test {metric} at the C chosen on '
                      f'validation, mean ± std over seeds {list(config.seeds)} (chosen C per '
                      f'seed: {chosen})')
    if 'pretrained' in results and 'random' in results:
        payload['comparison'] = _compare(args, results, 'random')
    return payload


#: how each comparison arm is named in sentences
BASELINES = {'random': 'a randomly initialised encoder of the same architecture',
             'scratch': 'the same architecture trained from scratch with the same recipe and '
                        'seeds'}


def _compare(args: argparse.Namespace, results: dict[str, Any], other: str) -> dict[str, Any]:
    """Print whether the pretrained encoder beat ``other`` (``'random'`` or ``'scratch'``)
    by more than the spread over seeds (:func:`~graphpfm.eval.compare_to_random`), a warning
    when it did not; the comparison also goes into ``results.json``."""
    from ..eval import compare_to_random
    comparison = compare_to_random(results['pretrained'], results[other])
    text = comparison.message(baseline=BASELINES[other])
    rule = (f'rule: pretrained minus {other} per seed, its mean with a 95% Student t interval '
            'over the seeds; pretraining helped only if the interval lies above 0')
    if comparison.helped:
        print(f'{text} ({rule})')
    else:
        log.warning('%s', text)
        print(f'WARNING: {text} ({rule}).')
    path = Path(args.out) / 'results.json'
    payload = json.loads(path.read_text())
    payload['comparison'] = comparison.to_dict()
    path.write_text(json.dumps(payload, indent=1))
    return payload['comparison']


def _finetune_groups(objective: str | None) -> list[Group]:
    from ..eval import FinetuneConfig
    return _groups(FinetuneConfig, 'scratch', 'ogbg-molbbbp', FINETUNE_DROPOUT, 'runs/finetune',
                   {'dropout': 'head_dropout'})


def _probe_groups(objective: str | None) -> list[Group]:
    from ..eval import ProbeConfig
    return _groups(ProbeConfig, 'random', 'Cora', PROBE_DROPOUT, 'runs/probe')


FINETUNE = Command('finetune', 'fine-tune or linearly probe on a labelled dataset', finetune,
                   _finetune_groups)
PROBE = Command('probe', 'linear probe of frozen encoder embeddings (C chosen on validation)',
                probe, _probe_groups)
