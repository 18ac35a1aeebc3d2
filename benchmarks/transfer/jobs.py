"""The two jobs of a transfer run, each run in a worker process: pretrain one arm, fine-tune
one (arm, dataset, seed)."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from ..harness.env import cpu_seconds, hardware, timestamp, versions
from .protocol import SCRATCH

#: pretraining logs the mean loss of every this many steps (the loss-curve figure); logging
#: only, so not part of the protocol
LOSS_LOG_STEPS = 10


def pretrain_arm(task: dict[str, Any]) -> dict[str, Any]:
    """Pretrain one objective through the ``graphpfm pretrain`` command (leakage control
    included); writes ``protocol.json`` (hash, key, wall and CPU seconds) beside the
    checkpoint."""
    from graphpfm.cli import run
    proto, arm, out, root, device = (task['protocol'], task['arm'], Path(task['out']),
                                     task['root'], task['device'])
    key = task['key']
    argv = ['pretrain', '--objective', arm, '--encoder', proto['encoder'],
            '--num-layers', str(proto['num_layers']),
            '--hidden-channels', str(proto['hidden_channels']), '--jk', proto['jk'],
            '--batch-size', str(proto['pretrain_batch_size']), '--lr', str(proto['pretrain_lr']),
            '--seed', str(proto['pretrain_seed']), '--device', device, '--no-progress',
            '--log-every', str(LOSS_LOG_STEPS), '--out', str(out)]
    if root:
        argv += ['--root', root]
    argv += ['--dataset', key['corpus'], '--epochs', str(key['epochs'])]
    if arm == 'supervised':
        if key['exclude']:
            argv += ['--exclude', ','.join(key['exclude'])]
    elif key['limit']:
        argv += ['--limit', str(key['limit'])]
    for name, value in key['options'].items():
        argv += [f"--{name.replace('_', '-')}", str(value)]
    if key.get('amp'):
        argv += ['--amp', key['amp']]
    start, cpu = time.perf_counter(), cpu_seconds()
    run(argv)
    wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    (out / 'protocol.json').write_text(json.dumps({'hash': task['hash'], 'key': key,
                                                   'wall_s': wall, 'cpu_s': cpu}, indent=1))
    return {'arm': arm, 'wall_s': wall, 'cpu_s': cpu}


#: datasets loaded by this worker process, by name
BUNDLES: dict[str, Any] = {}


def finetune_one(task: dict[str, Any]) -> dict[str, Any]:
    """One (arm, dataset, seed) fine-tuning; returns its record."""
    import torch

    from graphpfm import build_encoder, load_dataset, load_encoder
    from graphpfm.eval import FinetuneConfig, finetune

    proto, arm, dataset, seed = task['protocol'], task['arm'], task['dataset'], task['seed']
    if dataset not in BUNDLES:
        BUNDLES[dataset] = load_dataset(dataset, root=task['root'], progress=False)
    bundle = BUNDLES[dataset]
    dropout = proto['finetune_dropout']
    if arm == SCRATCH:
        kw = dict(num_layers=proto['num_layers'], hidden_channels=proto['hidden_channels'],
                  jk=proto['jk'], dropout=dropout)

        def make(_seed: int) -> Any:
            return build_encoder(proto['encoder'], **kw)
    else:
        ckpt = task['checkpoint']

        def make(_seed: int) -> Any:
            return load_encoder(ckpt, dropout=dropout)
    config = FinetuneConfig(epochs=proto['finetune_epochs'],
                            batch_size=proto['finetune_batch_size'], lr=proto['finetune_lr'],
                            pool=proto['pool'], seeds=(seed,), device=task['device'])
    start, cpu = time.perf_counter(), time.process_time()
    result = finetune(bundle, make, config)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    run = result.runs[0]
    return {
        'arm': arm, 'dataset': dataset, 'seed': seed, 'hash': task['hash'],
        'metric': result.metric, 'higher_is_better': result.higher_is_better,
        'best_epoch': run['best_epoch'], 'best_valid': run['best_valid'],
        'test_at_best_valid': run['test_at_best_valid'], 'curves': run['curves'],
        'skipped_tasks': result.skipped_tasks, 'num_tasks': int(bundle.num_tasks),
        'split_sizes': {k: int(v.numel()) for k, v in bundle.split_idx.items()},
        'finetune_config': result.config,
        'protocol': task['key'], 'checkpoint': task.get('checkpoint'),
        'git_commit': task['git_commit'], 'versions': versions(),
        'hardware': hardware(torch.get_num_threads()), 'wall_s': round(wall, 2),
        'cpu_s': round(cpu, 2), 'finished': timestamp(),
    }
