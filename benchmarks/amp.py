"""Mixed precision (bf16 autocast) against float32, side by side in one run: milliseconds per
training step of the same objective on the same batches.

    python -m benchmarks.amp --root ../shared/data

Molecules: attr_masking with the 5 x 300 GIN on the first MOSES molecules, batches of 256 and
32. Nodes: the node objectives on Cora full-batch with the configurations of
``benchmarks/node_probe.py``. bf16 is only fast on CPUs with AMX or AVX512-BF16 (and on GPUs);
elsewhere it is slower than float32.

``--device cuda`` runs the same steps on a GPU (batches moved there before the clock starts,
the clock stopped after the device has finished); ``--store`` reads the molecules from a
:meth:`GraphStore.save` file instead of featurising MOSES (no RDKit needed);
``--batch-sizes`` and ``--node-methods`` choose the cases.

``--loop`` measures the **training loop** instead, for every registered graph-level objective
(resolved from the registry when the command runs; ``--objectives`` picks some):

    GRAPHPFM_DATA=../shared/data python -m benchmarks.amp --loop --num-molecules 5120

Per objective, two copies with the same initial weights, one trained in float32 and one
under bf16 autocast, side by side: trials alternate the two precisions (the first one
swapping every trial), so background load falls on both alike. Every trial shuffles the
corpus anew, and every objective with its own seeds (:func:`shuffle_seed`). Each trial runs,
per precision, one epoch of :class:`~graphpfm.train.Trainer` over the first
``--num-molecules`` MOSES molecules (what :meth:`Trainer.fit` does per epoch: loader and collation,
:meth:`prepare`, :meth:`compute`, backward, Adam step; its milliseconds per step) and the
**model step** alone (``compute`` + backward + Adam step on batches collated and prepared
before the clock starts; the median of ``--model-steps`` steps). Reported: the medians over
trials and the ratios float32 / bf16 of both. Like the ``graphpfm`` command, the benchmark
keeps freed memory for reuse (:func:`graphpfm.tune_malloc`; ``GRAPHPFM_TUNE_MALLOC=0`` turns
it off). Objectives that need RDKit targets get them (``load_dataset(..., targets=...)``);
``supervised`` trains on the labelled ``--labelled-dataset``. One JSON line per objective is
appended to ``--out``. ``--profile-steps`` adds a profile of one more epoch per precision:
milliseconds per step of the data path, matrix products, the sparse neighbourhood sum,
normalisation, elementwise ops, copies and casts, the optimizer (:func:`profile_loop`).
"""
from __future__ import annotations

import argparse
import copy
import inspect
import math
import statistics
import time
import zlib
from typing import Any

import torch

from graphpfm import build_encoder, build_objective, load_dataset
from graphpfm.objectives import OBJECTIVES, required_targets
from graphpfm.train import TrainConfig, Trainer
from graphpfm.train.trainer import autocast_context
from graphpfm.utils import resolve_device

from .harness.env import git_commit, hardware, versions
from .harness.records import append_jsonl
from .node_probe import ARCHITECTURES, METHODS
from .throughput import device_name, load_store, objective_options, synchronize
from .transfer import graph_objectives

#: the precisions of a loop comparison, float32 first
PRECISIONS = (None, 'bf16')


def step_ms(objective, batches, amp: str | None, steps: int,
            device: torch.device | None = None) -> float:
    device = device or torch.device('cpu')
    opt = torch.optim.Adam(objective.parameters(), lr=1e-3)
    gen = torch.Generator(device=device).manual_seed(0)
    times = []
    objective.train()
    for i in range(steps + 2):
        b = batches[i % len(batches)]
        synchronize(device)
        start = time.perf_counter()
        with autocast_context(device, amp):
            out = objective(b, gen)
        opt.zero_grad()
        out.loss.float().backward()
        opt.step()
        objective.on_step_end()
        synchronize(device)
        if i >= 2:  # warm-up steps left out
            times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def shuffle_seed(name: str, trial: int) -> int:
    """The loop's seed (its shuffle) in ``trial`` for objective ``name``: its own for every
    objective, so that no objective meets the batch shapes of another, whose compiled bf16
    kernels one process keeps (a real run draws new batches every epoch)."""
    return zlib.crc32(name.encode()) % 100_000 * 100 + trial


def bf16_cpu_features() -> list[str]:
    """The CPU's bfloat16 instruction sets among ``amx_bf16`` and ``avx512_bf16`` (Linux)."""
    try:
        with open('/proc/cpuinfo') as f:
            flags = next((line.split(':', 1)[1].split() for line in f
                          if line.startswith('flags')), [])
    except OSError:
        return []
    return [flag for flag in ('amx_bf16', 'avx512_bf16') if flag in flags]


def model_step_ms(objective, prepared, optimizer, amp: str | None, steps: int,
                  device: torch.device) -> list[float]:
    """Milliseconds of ``compute`` + backward + optimizer step, one per step, on batches
    prepared beforehand (cycled), under ``amp``'s autocast as :class:`Trainer` runs it."""
    objective.train()
    times = []
    for i in range(steps):
        synchronize(device)
        start = time.perf_counter()
        with autocast_context(device, amp):
            out = objective.compute(prepared[i % len(prepared)])
        optimizer.zero_grad(set_to_none=True)
        out.loss.float().backward()
        optimizer.step()
        objective.on_step_end()
        synchronize(device)
        times.append(1000 * (time.perf_counter() - start))
    return times


def loop_ms(objective, store, amp: str | None, batch_size: int, seed: int,
            device: torch.device) -> tuple[float, int]:
    """(milliseconds per optimizer step, steps) of one :class:`Trainer` epoch over ``store``
    (the Trainer's own clock: loader to the epoch's last read-back)."""
    cfg = TrainConfig(epochs=1, batch_size=batch_size, seed=seed, device=str(device),
                      progress=False, amp=amp)
    trainer = Trainer(objective, cfg)
    record = trainer.fit(store)[-1]
    steps = math.ceil(len(store) / batch_size)
    return 1000 * record['seconds'] / steps, steps


#: where the profile of a loop epoch puts its time (:func:`profile_loop`)
PROFILE_GROUPS = ('data path', 'matmul', 'sparse sum', 'gather/scatter', 'normalisation',
                  'elementwise', 'copies/casts', 'optimizer', 'other', 'python')
#: the record_function around :meth:`prepare` in a profiled epoch
PREPARE_EVENT = 'amp::prepare'
#: events of the GIN's sparse neighbourhood sum (float32: EdgeIndex; bfloat16: CSRSum)
_SPARSE = ('aten::_sparse_mm_reduce_impl', 'CSRSum', 'CSRSumBackward', '_TorchSPMM',
           '_TorchSPMMBackward')
_GROUP_OF = {'gather': 'gather/scatter', 'scatter': 'gather/scatter',
             'copies/alloc': 'copies/casts', 'views': 'copies/casts',
             'autograd engine': 'other'}


def event_group(event: Any) -> str:
    """The :data:`PROFILE_GROUPS` entry of a profiler event of a loop epoch: the data path
    (loader, :meth:`prepare`), the optimizer step and the sparse sum claim every op inside
    them; otherwise :func:`benchmarks.flops.categorize`'s category (the outermost matmul,
    gather, scatter or normalisation op claims the ops inside it)."""
    from .flops import KERNEL_CATEGORIES, categorize
    chain = [event]
    while chain[-1].cpu_parent is not None:
        chain.append(chain[-1].cpu_parent)
    names = [e.name for e in chain]
    if any(n == PREPARE_EVENT or n.startswith('enumerate(DataLoader)') for n in names):
        return 'data path'
    if any(n.startswith('Optimizer.') for n in names):
        return 'optimizer'
    if any(n in _SPARSE for n in names):
        return 'sparse sum'
    category = categorize(event.name)
    for name in names[1:]:
        if categorize(name) in KERNEL_CATEGORIES:
            category = categorize(name)
    return _GROUP_OF.get(category, category)


def profile_loop(objective, store, amp: str | None, batch_size: int, steps: int, seed: int,
                 device: torch.device) -> dict[str, float]:
    """Milliseconds per step of every :data:`PROFILE_GROUPS` entry in a profiled
    :class:`Trainer` epoch over the first ``steps`` batches of ``store`` (self CPU time of
    the ops on the training thread; ``'python'``: the rest of the epoch), and ``'step'``."""
    from torch.profiler import ProfilerActivity, profile, record_function
    subset = store.index_select(torch.arange(min(len(store), steps * batch_size)))
    prepare = objective.prepare

    def marked_prepare(*args: Any, **kwargs: Any) -> Any:
        with record_function(PREPARE_EVENT):
            return prepare(*args, **kwargs)
    objective.prepare = marked_prepare  # an instance attribute, removed below
    try:
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            step, n = loop_ms(objective, subset, amp, batch_size, seed, device)
    finally:
        del objective.prepare
    groups = dict.fromkeys(PROFILE_GROUPS, 0.0)
    for event in prof.events():
        if event.name != PREPARE_EVENT:
            groups[event_group(event)] += event.self_cpu_time_total / 1000 / n
    groups['python'] = max(step - sum(groups.values()), 0.0)
    return {**{k: round(v, 2) for k, v in groups.items()}, 'step': round(step, 2)}


def loop_main(args: argparse.Namespace) -> list[dict[str, Any]]:
    """``--loop``: float32 against bf16 for the training loop of every chosen objective."""
    from graphpfm.utils import tune_malloc
    tuned = tune_malloc()  # as the graphpfm command does (GRAPHPFM_TUNE_MALLOC=0: off)
    device = resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    valid = graph_objectives()
    names = valid if args.objectives == 'all' else args.objectives.split(',')
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise SystemExit(f"unknown or node-level objective(s) {', '.join(unknown)}; valid "
                         f"options: all, {', '.join(valid)}")
    targets: list[str] = []
    for name in names:
        targets += [t for t in required_targets(name) if t not in targets]
    corpora: dict[str, Any] = {}

    def bundle_for(name: str) -> Any:
        labelled = 'num_tasks' in inspect.signature(OBJECTIVES.get(name).__init__).parameters
        key = args.labelled_dataset if labelled else 'moses'
        if key not in corpora:
            kwargs = {} if labelled else {'targets': targets}
            corpora[key] = load_dataset(key, root=args.root, limit=args.num_molecules,
                                        progress=False, **kwargs)
        return corpora[key]

    rows = []
    for name in names:
        bundle = bundle_for(name)
        store = bundle.dataset
        torch.manual_seed(0)
        encoder = build_encoder('gin', num_layers=args.num_layers,
                                hidden_channels=args.hidden_channels)
        first = build_objective(name, encoder, **objective_options(name, bundle))
        objectives = {amp: (copy.deepcopy(first) if amp else first).to(device)
                      for amp in PRECISIONS}
        gen = torch.Generator(device=device).manual_seed(0)
        batches = [store.collate(range(i, min(i + args.batch_size, len(store)))).to(device)
                   for i in range(0, min(len(store), 4 * args.batch_size), args.batch_size)]
        prepared = [objectives[None].prepare(b, gen) for b in batches]
        optimizers = {amp: torch.optim.Adam(o.parameters(), lr=1e-3)
                      for amp, o in objectives.items()}
        warm = store.index_select(torch.arange(min(len(store), 2 * args.batch_size)))
        for amp, objective in objectives.items():  # warm-up: allocator, autocast, kernels
            loop_ms(objective, warm, amp, args.batch_size, 0, device)
            model_step_ms(objective, prepared, optimizers[amp], amp, len(prepared), device)
        loops: dict[Any, list[float]] = {amp: [] for amp in PRECISIONS}
        models: dict[Any, list[float]] = {amp: [] for amp in PRECISIONS}
        steps = 0
        seeds = [shuffle_seed(name, t) for t in range(args.trials)]
        for t, seed in enumerate(seeds):
            order = PRECISIONS if t % 2 == 0 else PRECISIONS[::-1]
            for amp in order:
                ms, steps = loop_ms(objectives[amp], store, amp, args.batch_size, seed, device)
                loops[amp].append(ms)
            for amp in order[::-1]:
                models[amp].append(statistics.median(model_step_ms(
                    objectives[amp], prepared, optimizers[amp], amp, args.model_steps, device)))
        loop = {amp: statistics.median(v) for amp, v in loops.items()}
        model = {amp: statistics.median(v) for amp, v in models.items()}
        profiles = {str(amp): profile_loop(objectives[amp], store, amp, args.batch_size,
                                           args.profile_steps, seeds[0] + args.trials, device)
                    for amp in PRECISIONS} if args.profile_steps else None
        row = {'objective': name, 'dataset': bundle.name, 'graphs': len(store),
               'batch_size': args.batch_size, 'steps_per_epoch': steps,
               'encoder': f'gin {args.num_layers}x{args.hidden_channels}',
               'fp32_loop_ms': round(loop[None], 2), 'bf16_loop_ms': round(loop['bf16'], 2),
               'loop_ratio': round(loop[None] / loop['bf16'], 3),
               'fp32_model_ms': round(model[None], 2), 'bf16_model_ms': round(model['bf16'], 2),
               'model_ratio': round(model[None] / model['bf16'], 3),
               'trials': {'loop_ms': {str(a): [round(v, 2) for v in loops[a]] for a in loops},
                          'model_ms': {str(a): [round(v, 2) for v in models[a]]
                                       for a in models}},
               'profile_ms_per_step': profiles,
               'model_steps': args.model_steps, 'seeds': seeds, 'device': str(device),
               'device_name': device_name(device), 'hardware': hardware(detail=True),
               'cpu_bf16': bf16_cpu_features(),
               'threads': torch.get_num_threads(), 'tune_malloc': tuned, 'git_sha': git_commit(),
               'versions': versions()}
        rows.append(row)
        print(f"{name:16s} loop fp32 {loop[None]:7.1f} ms  bf16 {loop['bf16']:7.1f} ms  "
              f"x{row['loop_ratio']:.2f}   model step fp32 {model[None]:7.1f} ms  bf16 "
              f"{model['bf16']:7.1f} ms  x{row['model_ratio']:.2f}", flush=True)
        for amp, groups in (profiles or {}).items():
            print(f"  profiled {'fp32' if amp == 'None' else amp} ms/step: " + ', '.join(
                f'{k} {v:.1f}' for k, v in groups.items()), flush=True)
    append_jsonl(args.out, rows)
    if rows:
        print('\n| objective | fp32 ms/step | bf16 ms/step | loop ratio | model-step ratio |\n'
              '|---|---:|---:|---:|---:|')
        for r in rows:
            print(f"| {r['objective']} | {r['fp32_loop_ms']:.1f} | {r['bf16_loop_ms']:.1f} | "
                  f"{r['loop_ratio']:.2f} | {r['model_ratio']:.2f} |")
    return rows


def main(argv: list[str] | None = None) -> list[dict[str, Any]] | None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--loop', action='store_true',
                   help='the training loop of every graph-level objective (see above)')
    p.add_argument('--objectives', default='all',
                   help="--loop: comma list or 'all' (every registered graph-level objective)")
    p.add_argument('--num-molecules', type=int, default=5120, help='--loop: corpus size')
    p.add_argument('--batch-size', type=int, default=256, help='--loop: graphs per step')
    p.add_argument('--num-layers', type=int, default=5, help='--loop: GIN layers')
    p.add_argument('--hidden-channels', type=int, default=300, help='--loop: GIN width')
    p.add_argument('--trials', type=int, default=3, help='--loop: alternating trials')
    p.add_argument('--model-steps', type=int, default=8,
                   help='--loop: model steps per precision and trial')
    p.add_argument('--profile-steps', type=int, default=0,
                   help='--loop: also profile an epoch of this many steps per precision, '
                        'after the trials, and record where its time goes (0: no profile)')
    p.add_argument('--labelled-dataset', default='ogbg-moltoxcast',
                   help='--loop: the corpus of objectives that need labels (supervised)')
    p.add_argument('--threads', type=int, default=None, help='torch threads (default: as set)')
    p.add_argument('--root', default=None)
    p.add_argument('--store', default=None,
                   help='a GraphStore file (GraphStore.save) instead of featurising MOSES')
    p.add_argument('--steps', type=int, default=8)
    p.add_argument('--device', default='cpu')
    p.add_argument('--batch-sizes', default='256,32', help='molecule batch sizes (comma list)')
    p.add_argument('--node-methods', default='all',
                   help="node objectives on Cora: 'all', 'none' or a comma list of "
                        f"{', '.join(METHODS)}")
    p.add_argument('--out', default=None,
                   help='JSON lines (default: benchmarks/results/amp.jsonl, with --loop '
                        'benchmarks/results/amp-loop.jsonl)')
    args = p.parse_args(argv)
    if args.loop:
        args.out = args.out or 'benchmarks/results/amp-loop.jsonl'
        return loop_main(args)
    args.out = args.out or 'benchmarks/results/amp.jsonl'
    device = resolve_device(args.device)
    sizes = [int(b) for b in args.batch_sizes.split(',') if b]
    methods = (list(METHODS) if args.node_methods == 'all' else
               [] if args.node_methods == 'none' else args.node_methods.split(','))
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise SystemExit(f"unknown --node-methods {', '.join(unknown)}; valid options: all, "
                         f"none, {', '.join(METHODS)}")
    cases = []
    need = 4 * max(sizes, default=0)
    store = None
    if sizes:
        store = (load_store(args.store, need).dataset if args.store else
                 load_dataset('moses', root=args.root, limit=max(need, 2048),
                              progress=False).dataset)
    for bs in sizes:
        batches = [store.collate(range(i, i + bs)).to(device) for i in range(0, 4 * bs, bs)]
        cases.append((f'attr_masking gin 5x300, MOSES batch {bs}', 'attr_masking',
                      dict(name='gin', num_layers=5, hidden_channels=300), {}, batches))
    if methods:
        cora = load_dataset('Cora', root=args.root, progress=False).dataset
    for m in methods:
        spec = METHODS[m]
        arch = dict(ARCHITECTURES[spec['arch']])
        cases.append((f'{m} on Cora ({arch["name"]} {arch["num_layers"]}x'
                      f'{arch["hidden_channels"]})', m,
                      {**arch, 'in_channels': cora.num_features}, spec['options'],
                      [cora.clone().to(device)]))
    rows = []
    for label, name, arch, options, batches in cases:
        arch = dict(arch)
        enc_name = arch.pop('name')
        ms = {}
        for amp in (None, 'bf16'):
            torch.manual_seed(0)
            objective = build_objective(name, build_encoder(enc_name, **arch),
                                        **options).to(device)
            ms[amp] = step_ms(objective, batches, amp, args.steps, device)
        rows.append({'case': label, 'fp32_ms': round(ms[None], 2), 'bf16_ms': round(ms['bf16'], 2),
                     'speedup': round(ms[None] / ms['bf16'], 2), 'steps': args.steps,
                     'device': str(device), 'device_name': device_name(device),
                     'threads': torch.get_num_threads(), 'versions': versions()})
        print(f"{label:48s} fp32 {ms[None]:8.1f} ms  bf16 {ms['bf16']:8.1f} ms  "
              f"x{ms[None] / ms['bf16']:.2f}", flush=True)
    append_jsonl(args.out, rows)
    return rows


if __name__ == '__main__':
    main()
