"""Where the system time goes: glibc's allocator returning training buffers to the kernel every
step. Each workload runs in fresh processes under three allocator settings, interleaved:

* ``default``: glibc's defaults;
* ``tune_malloc``: :func:`graphpfm.utils.tune_malloc` called at start (what the ``graphpfm``
  command does);
* ``env``: the same thresholds through ``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``
  and ``MALLOC_TOP_PAD_`` (set before the process starts, so they also cover import time).

and reports, per workload and setting, the median over repeats of CPU seconds (user, system),
minor page faults, wall seconds and peak RSS (``resource.getrusage`` of the child).

    python -m benchmarks.malloc --root ../shared/data [--repeats 3]

CPU seconds are the figure to compare when the machine is shared: wall time then depends on
the other processes, CPU time much less.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .harness.records import append_jsonl

#: the thresholds of graphpfm.utils.tune_malloc's defaults
ENV = {'MALLOC_MMAP_THRESHOLD_': str(32 << 20), 'MALLOC_TRIM_THRESHOLD_': str(256 << 20),
       'MALLOC_TOP_PAD_': str(256 << 20)}

WORKLOADS = {
    # node level, full batch: GRACE's configuration of benchmarks/node_probe.py
    'grace-cora': """
import dataclasses, graphpfm
from benchmarks.node_probe import ARCHITECTURES, METHODS, normalise_features
bundle = normalise_features(graphpfm.load_dataset('Cora', root=ROOT, progress=False))
arch = dict(ARCHITECTURES['gcn2']); name = arch.pop('name')
enc = graphpfm.build_encoder(name, in_channels=bundle.dataset.num_features, **arch)
obj = graphpfm.build_objective('grace', enc, **METHODS['grace']['options'])
cfg = graphpfm.TrainConfig(epochs=20, lr=5e-4, progress=False, node_batch_size=0)
graphpfm.Trainer(obj, cfg).fit(bundle.dataset)
""",
    # graph level: attribute masking, the 5 x 300 GIN, batches of 256 MOSES molecules
    'attr_masking-moses': """
import graphpfm
store = graphpfm.load_dataset('moses', root=ROOT, limit=5120, progress=False).dataset
enc = graphpfm.build_encoder('gin', num_layers=5, hidden_channels=300)
obj = graphpfm.build_objective('attr_masking', enc)
cfg = graphpfm.TrainConfig(epochs=1, batch_size=256, progress=False)
graphpfm.Trainer(obj, cfg).fit(store)
""",
    # fine-tuning: the transfer benchmark's recipe (batch 32) on BBBP, 2 epochs
    'finetune-bbbp': """
import graphpfm
bundle = graphpfm.load_dataset('ogbg-molbbbp', root=ROOT, progress=False)
cfg = graphpfm.FinetuneConfig(epochs=2, batch_size=32, seeds=[0], dropout=0.5)
graphpfm.finetune(bundle, lambda s: graphpfm.build_encoder('gin', num_layers=5,
                                                           hidden_channels=300), cfg)
""",
}

CHILD = """
import resource, sys, time, torch
torch.set_num_threads(1)
if sys.argv[1] == 'tune_malloc':
    from graphpfm.utils import tune_malloc
    assert tune_malloc()
ROOT = sys.argv[2] or None
start = time.perf_counter()
exec(sys.argv[3])
wall = time.perf_counter() - start
r = resource.getrusage(resource.RUSAGE_SELF)
print('RESULT', r.ru_utime, r.ru_stime, r.ru_minflt, wall, r.ru_maxrss)
"""


def run_once(setting: str, workload: str, root: str | None) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith('MALLOC_')}
    env.pop('GRAPHPFM_TUNE_MALLOC', None)
    if setting == 'env':
        env.update(ENV)
    proc = subprocess.run([sys.executable, '-c', CHILD, setting, root or '',
                           WORKLOADS[workload]], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parent.parent, check=False)
    line = [x for x in proc.stdout.splitlines() if x.startswith('RESULT')]
    if proc.returncode != 0 or not line:
        raise RuntimeError(f'{workload} under {setting} failed:\n{proc.stderr[-2000:]}')
    user, sys_, faults, wall, rss = (float(v) for v in line[0].split()[1:])
    return {'user_s': user, 'sys_s': sys_, 'cpu_s': user + sys_, 'minor_faults': faults,
            'wall_s': wall, 'peak_rss_mb': rss / 1024}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--root', default=os.environ.get('GRAPHPFM_DATA'))
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--workloads', default=','.join(WORKLOADS))
    p.add_argument('--out', default='benchmarks/results/malloc.jsonl')
    args = p.parse_args(argv)
    settings = ('default', 'tune_malloc', 'env')
    rows = []
    for workload in [w for w in args.workloads.split(',') if w]:
        if workload not in WORKLOADS:
            raise SystemExit(f"error: unknown workload '{workload}'; valid: "
                             f"{', '.join(WORKLOADS)}")
        runs: dict[str, list[dict[str, float]]] = {s: [] for s in settings}
        for _ in range(args.repeats):  # interleaved, so drifts in load hit every setting
            for s in settings:
                runs[s].append(run_once(s, workload, args.root))
        base = statistics.median(r['cpu_s'] for r in runs['default'])
        for s in settings:
            med = {k: statistics.median(r[k] for r in runs[s]) for k in runs[s][0]}
            rows.append({'workload': workload, 'setting': s, **med,
                         'cpu_ratio_to_default': med['cpu_s'] / base,
                         'repeats': args.repeats, 'time': time.strftime('%Y-%m-%d %H:%M')})
    append_jsonl(args.out, rows)
    lines = ['| workload | allocator | CPU s (user + sys) | sys s | minor faults | wall s | '
             'peak RSS MB | CPU vs default |', '|---|---|---|---|---|---|---|---|']
    for r in rows:
        lines.append(f"| {r['workload']} | {r['setting']} | {r['cpu_s']:.1f} | {r['sys_s']:.1f}"
                     f" | {r['minor_faults'] / 1e3:.0f}k | {r['wall_s']:.1f} | "
                     f"{r['peak_rss_mb']:.0f} | {r['cpu_ratio_to_default']:.2f} |")
    sys.stdout.write('\n'.join(lines) + '\n')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
