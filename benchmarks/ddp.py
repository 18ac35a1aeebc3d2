"""Data-parallel pretraining throughput: one process against ``torchrun`` processes, measured
side by side in one run.

    python -m benchmarks.ddp --num-molecules 20000 --objectives attr_masking --trials 3

Every configuration ``PxT`` (``P`` processes of ``T`` torch threads each; default
``1x1,1x2,2x1``) trains the same objective (GIN 5 x 300) on the same first ``--num-molecules``
MOSES molecules with the same **global** batch (``--batch-size``, 256) for one epoch with the
real loop (:class:`graphpfm.train.Trainer`), in fresh processes launched as users launch them:

* ``P = 1``: ``python -m benchmarks.ddp --worker ...`` (one process, no process group);
* ``P > 1``: ``torchrun --standalone --nproc_per_node P -m benchmarks.ddp --worker ...``
  (DistributedDataParallel over gloo; every rank takes its ``1/P`` share of each global batch,
  :class:`graphpfm.data.ShardedBatchSampler`).

The worker is the ``graphpfm pretrain`` path (:func:`graphpfm.utils.tune_malloc`, the dataset
from the featurisation cache, which this process fills first, :func:`build_encoder`,
:func:`build_objective`, :class:`Trainer`), plus a timing hook: the objective's
``on_step_end`` (which the Trainer calls after every optimizer step) records the time. The
figure reported is the global graphs/s over the full global batches after the first
``--warmup-steps`` (from the end of step ``w`` to the end of the last full batch; under
torchrun the slowest rank's time), so process start-up, data loading, the process group's
set-up and the first steps are left out. The Trainer's own figure for the whole epoch
(``epoch_graphs_per_s``, warm-up included) is kept alongside.

Trials interleave the configurations (trial ``t`` starts at the ``t``-th one), so drifts in
the machine's load reach all of them. One JSON line per configuration and trial is appended
to ``--out`` (the launched command, versions, hardware, load average); the markdown table of
medians, with the speed-up of every configuration over each single-process one, is printed.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from .harness.env import git_commit, hardware, versions

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CONFIGS = '1x1,1x2,2x1'
#: variables of an enclosing torchrun that must not reach the launched processes
DIST_ENV = ('RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'LOCAL_WORLD_SIZE', 'GROUP_RANK', 'ROLE_RANK',
            'MASTER_ADDR', 'MASTER_PORT', 'TORCHELASTIC_RUN_ID')


# ----------------------------------------------------------------------------- pure helpers
def parse_config(spec: str) -> tuple[int, int]:
    """``'2x1'`` -> ``(2, 1)``: processes and torch threads per process."""
    try:
        procs, threads = (int(v) for v in spec.lower().split('x'))
    except ValueError:
        raise ValueError(f"configuration '{spec}' is not PROCESSESxTHREADS (e.g. 2x1)") from None
    if procs < 1 or threads < 1:
        raise ValueError(f"configuration '{spec}' needs at least 1 process and 1 thread")
    return procs, threads


def steady_throughput(times: Sequence[float], num_graphs: int, batch_size: int,
                      warmup: int) -> tuple[int, int, float]:
    """``(steps, graphs, seconds)`` of the full global batches after the first ``warmup``
    steps, from the end times of the optimizer steps (``times[i]``: end of step ``i + 1``).

    Step ``i`` of the epoch trains global batch ``i`` of ``batch_size`` graphs (the last may
    be shorter and is left out); the clock runs from the end of step ``warmup`` to the end of
    the last full batch."""
    if warmup < 1:
        raise ValueError(f'warmup must be >= 1 step (the clock starts at its end), got {warmup}')
    full = num_graphs // batch_size
    if len(times) < full:
        raise RuntimeError(f'{len(times)} optimizer steps for {full} full batches: batches '
                           'were skipped')
    if full <= warmup:
        raise ValueError(f'{full} full batches of {batch_size} leave none to measure after '
                         f'{warmup} warm-up steps: use more molecules or fewer warm-up steps')
    steps = full - warmup
    return steps, steps * batch_size, times[full - 1] - times[warmup - 1]


def summarize(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (objective, config) in order of appearance: the median graphs/s over its
    trials and ``speedup``: the ratio of its median to that of every single-process config of
    the same objective (``{'1x1': 1.9, '1x2': 1.3}``)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((r['objective'], r['config']), []).append(r)
    rows = []
    for (objective, config), recs in groups.items():
        trials = [r['graphs_per_s'] for r in sorted(recs, key=lambda r: r['trial'])]
        rows.append({'objective': objective, 'config': config,
                     'processes': recs[0]['processes'],
                     'threads_per_process': recs[0]['threads_per_process'],
                     'graphs_per_s': statistics.median(trials), 'trials': trials,
                     'epoch_graphs_per_s': statistics.median(
                         r['epoch_graphs_per_s'] for r in recs)})
    for row in rows:
        row['speedup'] = {b['config']: row['graphs_per_s'] / b['graphs_per_s'] for b in rows
                          if b['objective'] == row['objective'] and b['processes'] == 1}
    return rows


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The markdown table of :func:`summarize`'s rows."""
    bases = list(dict.fromkeys(b for r in rows for b in r['speedup']))
    header = ['objective', 'config', 'processes x threads', 'graphs/s (median)', 'trials',
              'whole epoch graphs/s', *(f'speed-up vs {b}' for b in bases)]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for r in rows:
        cells = [r['objective'], r['config'],
                 f"{r['processes']} x {r['threads_per_process']}", f"{r['graphs_per_s']:.1f}",
                 ', '.join(f'{v:.0f}' for v in r['trials']), f"{r['epoch_graphs_per_s']:.1f}",
                 *(f"{r['speedup'][b]:.2f}x" if b in r['speedup'] else '-' for b in bases)]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def launch_command(procs: int, threads: int, worker_args: Sequence[str]) -> list[str]:
    """The command line of one configuration: plain ``python -m`` for one process,
    ``torchrun --standalone --nproc_per_node P -m`` for several."""
    worker = ['-m', 'benchmarks.ddp', '--worker', '--threads', str(threads), *worker_args]
    if procs == 1:
        return [sys.executable, *worker]
    torchrun = Path(sys.executable).with_name('torchrun')
    launcher = [str(torchrun)] if torchrun.is_file() else [sys.executable, '-m',
                                                           'torch.distributed.run']
    return [*launcher, '--standalone', '--nproc_per_node', str(procs), *worker]


# ----------------------------------------------------------------------------- worker
class StepTimer:
    """Wraps ``objective.on_step_end`` (called by the Trainer after every optimizer step) to
    record :func:`time.perf_counter` at the end of every step in :attr:`times`."""

    def __init__(self, objective: Any) -> None:
        self.times: list[float] = []
        inner = objective.on_step_end

        def on_step_end() -> None:
            inner()
            self.times.append(time.perf_counter())
        objective.on_step_end = on_step_end


def train_once(args: argparse.Namespace) -> tuple[dict[str, Any], int, int]:
    """Load, build and train one epoch; ``(figures, rank, world_size)``. Under torchrun the
    seconds are the slowest rank's, and the process group is left for the caller to end."""
    import torch

    from benchmarks.throughput import objective_options
    from graphpfm.datasets import load_dataset
    from graphpfm.nn import build_encoder
    from graphpfm.objectives import build_objective
    from graphpfm.train import TrainConfig, Trainer
    start = time.perf_counter()
    bundle = load_dataset(args.dataset, root=args.root, limit=args.num_molecules,
                          progress=False)
    load_s = time.perf_counter() - start
    store = bundle.dataset
    torch.manual_seed(args.seed)
    enc = build_encoder('gin', num_layers=args.num_layers, hidden_channels=args.hidden_channels)
    objective = build_objective(args.objective, enc, **objective_options(args.objective, bundle))
    timer = StepTimer(objective)
    cfg = TrainConfig(epochs=1, batch_size=args.batch_size, seed=args.seed, device='cpu',
                      progress=False)
    trainer = Trainer(objective, cfg)
    epoch = trainer.fit(store)[-1]
    steps, graphs, seconds = steady_throughput(timer.times, len(store), args.batch_size,
                                               args.warmup_steps)
    backend = None
    if trainer.world_size > 1:  # the slowest rank's time
        import torch.distributed as dist
        backend = dist.get_backend()
        t = torch.tensor([seconds], dtype=torch.float64)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        seconds = float(t)
    figures = {'world_size': trainer.world_size, 'backend': backend,
               'torch_threads': torch.get_num_threads(),
               'interop_threads': torch.get_num_interop_threads(),
               'omp_num_threads': os.environ.get('OMP_NUM_THREADS'),
               'graphs': len(store), 'steps': len(timer.times),
               'warmup_steps': args.warmup_steps, 'measured_steps': steps,
               'measured_graphs': graphs, 'measured_seconds': round(seconds, 4),
               'graphs_per_s': round(graphs / seconds, 2), 'epoch_graphs': epoch['graphs'],
               'epoch_seconds': round(epoch['seconds'], 4),
               'epoch_graphs_per_s': round(epoch['graphs_per_s'], 2), 'loss': epoch['loss'],
               'load_s': round(load_s, 3)}
    return figures, trainer.rank, trainer.world_size


def worker(args: argparse.Namespace) -> None:
    """One process (or one torchrun rank): train, then rank 0 writes the figures."""
    import torch
    torch.set_num_threads(args.threads)
    from graphpfm.utils import tune_malloc
    tuned = tune_malloc()  # as the graphpfm command does
    figures, rank, world_size = train_once(args)
    if world_size > 1:
        # the Trainer, and with it the DDP wrapper, is gone by now: a DDP reducer freed after
        # destroy_process_group() can deadlock in ProcessGroupGloo's destructor (it joins
        # gloo's run loop while holding the GIL that the loop needs)
        import torch.distributed as dist
        dist.barrier()
        dist.destroy_process_group()
    if rank == 0:
        Path(args.result).write_text(json.dumps({**figures, 'tune_malloc': tuned}))


# ----------------------------------------------------------------------------- driver
def run_config(procs: int, threads: int, worker_args: Sequence[str], result: Path,
               timeout: float) -> tuple[list[str], dict[str, Any], float]:
    """Launch one configuration in fresh processes; ``(command, rank 0's figures, wall s)``."""
    cmd = launch_command(procs, threads, [*worker_args, '--result', str(result)])
    env = {k: v for k, v in os.environ.items() if k not in DIST_ENV}
    env.update({'OMP_NUM_THREADS': str(threads), 'MKL_NUM_THREADS': str(threads),
                'PYTHONPATH': os.pathsep.join(p for p in (str(REPO), env.get('PYTHONPATH'))
                                              if p)})
    result.unlink(missing_ok=True)
    start = time.perf_counter()
    # a session of its own, so that a timeout ends torchrun's workers too
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        raise RuntimeError(f'{shlex.join(cmd)} ran past {timeout:.0f} s:\n'
                           f'{output[-3000:]}') from None
    wall = time.perf_counter() - start
    if proc.returncode != 0 or not result.is_file():
        raise RuntimeError(f'{shlex.join(cmd)} failed (exit {proc.returncode}):\n'
                           f'{output[-3000:]}')
    return cmd, json.loads(result.read_text()), wall


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--dataset', default='moses')
    p.add_argument('--root', default=None, help='data root (default: $GRAPHPFM_DATA)')
    p.add_argument('--num-molecules', type=int, default=20000)
    p.add_argument('--objectives', default='attr_masking', help='comma list')
    p.add_argument('--configs', default=DEFAULT_CONFIGS,
                   help='comma list of PROCESSESxTHREADS (default: %(default)s)')
    p.add_argument('--batch-size', type=int, default=256, help='global batch (all ranks)')
    p.add_argument('--num-layers', type=int, default=5)
    p.add_argument('--hidden-channels', type=int, default=300)
    p.add_argument('--warmup-steps', type=int, default=5,
                   help='optimizer steps left out of the clock (default: %(default)s)')
    p.add_argument('--trials', type=int, default=3)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--timeout', type=float, default=1800,
                   help='seconds one launch may take (default: %(default)s)')
    p.add_argument('--out', default='benchmarks/results/ddp.jsonl')
    p.add_argument('--worker', action='store_true', help=argparse.SUPPRESS)
    p.add_argument('--threads', type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument('--objective', default=None, help=argparse.SUPPRESS)
    p.add_argument('--result', default=None, help=argparse.SUPPRESS)
    return p


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    args = build_parser().parse_args(argv)
    if args.worker:
        worker(args)
        return []
    configs = [c.strip() for c in args.configs.split(',') if c.strip()]
    parsed = {c: parse_config(c) for c in configs}
    for c, (procs, _) in parsed.items():
        if args.batch_size < procs:
            raise SystemExit(f'error: the global batch {args.batch_size} is smaller than the '
                             f'{procs} processes of {c}')
    names = [n.strip() for n in args.objectives.split(',') if n.strip()]
    root = args.root or os.environ.get('GRAPHPFM_DATA')
    from graphpfm.datasets import load_dataset
    # featurise once here, so that every launch reads the cache
    start = time.perf_counter()
    bundle = load_dataset(args.dataset, root=root, limit=args.num_molecules, progress=False)
    num_graphs = len(bundle.dataset)
    steady_throughput([0.0] * (num_graphs // args.batch_size), num_graphs, args.batch_size,
                      args.warmup_steps)  # enough full batches to measure, before launching
    print(f'{bundle.name}: {num_graphs} graphs ready in {time.perf_counter() - start:.1f} s; '
          f'configs {", ".join(configs)}, {args.trials} trials', flush=True)
    common = {'benchmark': 'ddp', 'run_id': time.strftime('%Y-%m-%dT%H:%M:%S'),
              'dataset': bundle.name, 'batch_size': args.batch_size,
              'encoder': f'gin {args.num_layers}x{args.hidden_channels}', 'device': 'cpu',
              'git_commit': git_commit(), 'versions': versions(),
              'hardware': hardware(detail=True)}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    records = []
    with tempfile.TemporaryDirectory(prefix='graphpfm-ddp-') as tmp:
        for name in names:
            worker_args = ['--objective', name, '--dataset', args.dataset,
                           '--num-molecules', str(args.num_molecules),
                           '--batch-size', str(args.batch_size),
                           '--num-layers', str(args.num_layers),
                           '--hidden-channels', str(args.hidden_channels),
                           '--warmup-steps', str(args.warmup_steps), '--seed', str(args.seed)]
            if root:
                worker_args += ['--root', str(root)]
            for trial in range(args.trials):
                for c in configs[trial % len(configs):] + configs[:trial % len(configs)]:
                    procs, threads = parsed[c]
                    load = os.getloadavg()
                    cmd, result, wall = run_config(procs, threads, worker_args,
                                                   Path(tmp) / 'result.json', args.timeout)
                    record = {**common, 'objective': name, 'config': c, 'processes': procs,
                              'threads_per_process': threads,
                              'per_rank_batch': args.batch_size / procs, 'trial': trial,
                              **result, 'wall_s': round(wall, 2),
                              'load_average': [round(v, 2) for v in load],
                              'command': shlex.join(cmd),
                              'time': time.strftime('%Y-%m-%dT%H:%M:%S')}
                    records.append(record)
                    with out.open('a') as f:
                        f.write(json.dumps(record) + '\n')
                    print(f"{name} trial {trial + 1}/{args.trials} {c}: "
                          f"{result['graphs_per_s']:.1f} graphs/s (whole epoch "
                          f"{result['epoch_graphs_per_s']:.1f}; world {result['world_size']}, "
                          f"{result['torch_threads']} threads; {wall:.0f} s with start-up)",
                          flush=True)
    print(format_table(summarize(records)), flush=True)
    return records


if __name__ == '__main__':
    main()
