"""``calibrate``: measure this machine's per-graph costs of pretraining and fine-tuning (CPU
seconds of single-threaded jobs), the numbers behind :data:`.cost.COSTS`."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from ..harness.env import cpu_seconds, timestamp
from ..harness.records import protocol_hash
from .cards import corpus_overlap
from .cost import MOLECULE_SIZES, REFERENCE_MOL_PER_S
from .jobs import BUNDLES, finetune_one, pretrain_arm
from .protocol import MOLECULE_BENCHMARK, SCRATCH, Protocol, resolve_objectives


def _reference_workload(root: str | None, n: int = 3000, repeat: int = 3) -> dict[str, float]:
    """Featurise the first ``n`` MOSES molecules in process (best of ``repeat``): the rate by
    CPU time and by wall time, against :data:`REFERENCE_MOL_PER_S` (how much a busy machine
    slows a fixed job)."""
    from graphpfm.datasets import featurize_smiles, moses_path, read_smiles_file
    smiles, _ = read_smiles_file(moses_path(root), limit=n)
    runs = [_timed(lambda: featurize_smiles(smiles, num_workers=0, progress=False))[1:]
            for _ in range(repeat)]
    wall, cpu = min(w for w, _ in runs), min(c for _, c in runs)
    return {'molecules': n, 'cpu_s': round(cpu, 3), 'wall_s': round(wall, 3),
            'cpu_slowdown': round(REFERENCE_MOL_PER_S * cpu / n, 3),
            'wall_slowdown': round(REFERENCE_MOL_PER_S * wall / n, 3)}


def _timed(fn: Any, *a: Any) -> tuple[Any, float, float]:
    """``fn(*a)``, its wall seconds and its CPU seconds (children included)."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    out = fn(*a)
    return out, time.perf_counter() - wall, cpu_seconds() - cpu


def calibrate(args: argparse.Namespace) -> int:
    """Measure, on this machine with one torch thread, the CPU seconds of pretraining per
    molecule (each objective) and of fine-tuning per training graph per epoch (valid + test
    scored every epoch), for each encoder size; one JSON line per measurement in ``--out``.

    The CPU time of a single-threaded process is what it would take alone on a free core
    (up to the cache and memory-bandwidth effects of neighbours, which the reference workload
    measures); wall time is recorded too. Pretraining and fine-tuning go through the
    benchmark's own :func:`pretrain_arm` and :func:`finetune_one`, so that the measured
    cost is the run's."""
    import tempfile

    import torch

    from graphpfm import load_checkpoint, load_dataset
    torch.set_num_threads(args.threads)
    root = args.root or os.environ.get('GRAPHPFM_DATA')
    sizes = [tuple(int(v) for v in s.split('x')) for s in args.sizes.split(',') if s]
    objectives = resolve_objectives(args.objectives)
    datasets = [d for d in args.datasets.split(',') if d]
    if args.exclude is None:
        from graphpfm.datasets import available_datasets
        found = available_datasets(root)
        args.exclude = ','.join(d for d in MOLECULE_BENCHMARK if found.get(d))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def emit(row: dict[str, Any]) -> None:
        row = {**row, 'threads': torch.get_num_threads(), 'cpu_count': os.cpu_count(),
               'time': timestamp()}
        with out.open('a') as f:
            f.write(json.dumps(row) + '\n')
        sys.stdout.write(json.dumps(row) + '\n')
        sys.stdout.flush()

    emit({'phase': 'reference', **_reference_workload(root)})
    if objectives:
        load_dataset('moses', root=root, limit=args.molecules, progress=False)
    if args.overlap:  # the model cards' InChIKeys: corpus + every downstream molecule
        downstream = args.exclude.split(',')
        _, wall, cpu = _timed(corpus_overlap, 'moses', args.molecules, downstream, root)
        n = args.molecules + sum(MOLECULE_SIZES[d][0] for d in downstream)
        emit({'phase': 'overlap', 'molecules': n, 'wall_s': round(wall, 2),
              'cpu_s': round(cpu, 2), 'mol_per_s': round(n / wall)})
    for layers, hidden in sizes:
        proto = Protocol(objectives=objectives, datasets=args.exclude.split(','), seeds=[0],
                         corpus_limit=args.molecules, pretrain_epochs=1, supervised_epochs=1,
                         num_layers=layers, hidden_channels=hidden)
        size = f'{layers}x{hidden}'
        for arm in objectives:
            # supervised pays a fixed cost (leakage control) per run: two points separate it
            cost = {}
            for epochs in ((1, 3) if arm == 'supervised' else (1,)):
                p = replace(proto, pretrain_epochs=epochs, supervised_epochs=epochs)
                key = p.pretrain_key(arm)
                with tempfile.TemporaryDirectory() as d:
                    task = {'protocol': asdict(p), 'arm': arm, 'key': key,
                            'hash': protocol_hash(key), 'out': d, 'root': root,
                            'device': args.device}
                    _, wall, cpu = _timed(pretrain_arm, task)
                    graphs = load_checkpoint(Path(d) / 'checkpoint.pt')['data']['num_graphs']
                cost[epochs] = (wall, cpu)
            epoch_cpu = (cost[3][1] - cost[1][1]) / 2 if 3 in cost else cost[1][1]
            emit({'phase': 'pretrain', 'size': size, 'objective': arm, 'corpus': key['corpus'],
                  'graphs': graphs, 'cpu_s': {e: round(c, 2) for e, (_, c) in cost.items()},
                  'wall_s': {e: round(w, 2) for e, (w, _) in cost.items()},
                  'cpu_per_graph_ms': round(1e3 * epoch_cpu / graphs, 4),
                  'setup_cpu_s': round(cost[1][1] - epoch_cpu, 2)})
        for dataset in datasets:
            if dataset not in BUNDLES:
                bundle, wall, cpu = _timed(
                    lambda d=dataset: load_dataset(d, root=root, progress=False))
                BUNDLES[dataset] = bundle
                emit({'phase': 'load', 'dataset': dataset, 'cpu_s': round(cpu, 2),
                      'wall_s': round(wall, 2)})
            n_train = int(BUNDLES[dataset].split_idx['train'].numel())
            cost = {}
            for epochs in (1, 2):
                p = replace(proto, finetune_epochs=epochs)
                key = p.finetune_key(SCRATCH)
                task = {'protocol': asdict(p), 'arm': SCRATCH, 'dataset': dataset, 'seed': 0,
                        'key': key, 'hash': protocol_hash(key), 'checkpoint': None,
                        'root': root, 'device': args.device, 'git_commit': None}
                _, wall, cpu = _timed(finetune_one, task)
                cost[epochs] = (wall, cpu)
            epoch_cpu = cost[2][1] - cost[1][1]
            emit({'phase': 'finetune', 'size': size, 'dataset': dataset, 'train_graphs': n_train,
                  'eval_graphs': int(BUNDLES[dataset].split_idx['valid'].numel()
                                     + BUNDLES[dataset].split_idx['test'].numel()),
                  'cpu_s_1_epoch': round(cost[1][1], 2), 'cpu_s_2_epochs': round(cost[2][1], 2),
                  'wall_s_1_epoch': round(cost[1][0], 2),
                  'wall_s_2_epochs': round(cost[2][0], 2),
                  'cpu_per_train_graph_epoch_ms': round(1e3 * epoch_cpu / n_train, 4),
                  'setup_cpu_s': round(cost[1][1] - epoch_cpu, 2)})
        emit({'phase': 'reference', **_reference_workload(root)})
    return 0
