"""Resident memory of pretraining on the whole MOSES corpus from its memory-mapped store,
against holding the corpus as a Python list of PyG ``Data`` objects.

    python -m benchmarks.memory --root ../shared/data            # the full measurement
    python -m benchmarks.memory --num-molecules 20000 --max-steps 20 --datalist-molecules 20000

Each case runs in a fresh process, so every peak is that case's own:

* ``baseline``: a process that has only imported torch, torch_geometric and graphpfm
  (subtract it from the others to see what the data and the model cost).
* ``featurise``: ``load_dataset('moses', limit=N)``: featurises the first N molecules
  (all 1,936,962 by default) into the corpus cache if it is absent (timed; skipped, and
  recorded as from cache, when it is there), and records the cache's size on disk.
* ``store``: loads that cache memory-mapped (``GraphStore``, ``torch.load(mmap=True)``) and
  runs the real pretraining loop (``Trainer``: attr_masking, GIN 5 x 300, batches of 256) for
  ``--max-steps`` steps (default: one epoch). Reports the peak RSS (``VmHWM``), the peak of
  its two parts sampled every 0.1 s (``RssAnon``: private memory, the part that is not
  reclaimable; ``RssFile``: pages of the mapped cache, page cache the kernel can drop),
  steps and graphs/s. The process applies ``tune_malloc`` as the ``graphpfm`` command does
  (``--no-tune-malloc``: glibc's defaults).
* ``datalist``: the first N' molecules (200,000 by default) as a list of ``Data(x,
  edge_index, edge_attr)`` with ``int64`` tensors, what ``smiles2graph`` -> ``Data`` gives
  (pretrain-gnns, a plain in-memory pipeline). The list is built from the featurised store
  (no second featurisation; the same values). Its size is the growth of ``RssAnon`` from
  before building it to after (both after ``gc.collect`` and ``malloc_trim``), and is
  extrapolated **linearly** per molecule to the 1,936,962 molecules of MOSES (labelled as
  extrapolated in the table and the record).

Prints a markdown table and appends one JSON record per case to ``--out``.
"""
from __future__ import annotations

import argparse
import gc
import itertools
import json
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .harness.env import git_commit, hardware, versions
from .harness.records import append_jsonl

#: molecules in the MOSES corpus (``dataset_v1.csv``), the target of the extrapolation
MOSES_MOLECULES = 1_936_962
CASES = ('baseline', 'featurise', 'store', 'datalist')
STATUS_KEYS = ('VmHWM', 'VmRSS', 'RssAnon', 'RssFile', 'RssShmem')
REPO = Path(__file__).resolve().parent.parent
MIB = 1 << 20


# ----------------------------------------------------------------------------- measuring
def parse_status(text: str) -> dict[str, int]:
    """Bytes of the :data:`STATUS_KEYS` lines of a ``/proc/<pid>/status`` text (in kB there)."""
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(':')
        if key in STATUS_KEYS:
            number, unit = value.split()
            if unit != 'kB':
                raise ValueError(f'unexpected unit {unit!r} in {line!r}')
            out[key] = int(number) * 1024
    return out


def memory_now() -> dict[str, int]:
    """This process's ``/proc/self/status`` figures and ``ru_maxrss``, in bytes."""
    with open('/proc/self/status') as f:
        out = parse_status(f.read())
    out['ru_maxrss'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    return out


def malloc_trim() -> None:
    """Give glibc's free memory back to the kernel (so RSS counts live allocations)."""
    import ctypes
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


class PeakSampler:
    """Samples ``RssAnon`` and ``RssFile`` every ``interval`` seconds in a thread and keeps
    their peaks (the kernel keeps a peak of their sum only, ``VmHWM``)."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval, self.peak = interval, {'RssAnon': 0, 'RssFile': 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        now = memory_now()
        for k in self.peak:
            self.peak[k] = max(self.peak[k], now[k])

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> PeakSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


# ----------------------------------------------------------------------------- the cases
def load_corpus(args: argparse.Namespace, progress: bool = False):
    """The bundle of the first ``--num-molecules`` MOSES molecules (the library's cache)."""
    from graphpfm.datasets import load_dataset
    return load_dataset('moses', root=args.root, limit=args.num_molecules,
                        num_workers=args.featurize_workers, progress=progress)


def case_baseline(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    import torch_geometric  # noqa: F401

    import graphpfm  # noqa: F401
    return {'torch_threads': torch.get_num_threads()}


def case_featurise(args: argparse.Namespace) -> dict[str, Any]:
    import graphpfm.datasets  # noqa: F401  (imports stay out of the timing)
    start = time.perf_counter()
    store = load_corpus(args, progress=args.progress).dataset
    seconds = time.perf_counter() - start
    path = Path(store.meta['cache_path'])
    built = not store.meta['from_cache']
    return {'molecules': len(store), 'from_cache': not built,
            'featurise_s': seconds if built else None, 'load_s': None if built else seconds,
            'cache_path': str(path), 'cache_bytes': path.stat().st_size,
            'store_bytes': store.nbytes(), 'nodes': int(store.x.size(0)),
            'edges': int(store.edge_index.size(1))}


class _FirstSteps:
    """The first ``steps`` batches of ``loader`` (with ``len``, which the Trainer reads)."""

    def __init__(self, loader: Any, steps: int) -> None:
        self.loader, self.steps = loader, steps

    def __iter__(self):
        return itertools.islice(self.loader, self.steps)

    def __len__(self) -> int:
        return min(len(self.loader), self.steps)


def case_store(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    import graphpfm
    import graphpfm.datasets  # noqa: F401  (imports stay out of the timing)
    from graphpfm.utils import tune_malloc
    tuned = tune_malloc() if args.tune_malloc else False
    with PeakSampler() as peaks:
        start = time.perf_counter()
        store = load_corpus(args).dataset
        load_s = time.perf_counter() - start
        if not store.meta['from_cache']:
            raise RuntimeError('the corpus cache was absent: the store case must load it '
                               'memory-mapped (run the featurise case first)')
        after_load = memory_now()
        torch.manual_seed(0)
        encoder = graphpfm.build_encoder('gin', num_layers=5, hidden_channels=300)
        objective = graphpfm.build_objective('attr_masking', encoder)
        cfg = graphpfm.TrainConfig(epochs=1, batch_size=args.batch_size, device='cpu',
                                   progress=args.progress)
        trainer = graphpfm.Trainer(objective, cfg)
        loaders: list[Any] = []
        make_loader = trainer.make_loader

        def limited(dataset: Any) -> Any:
            loader = make_loader(dataset)
            if args.max_steps is not None:
                loader = _FirstSteps(loader, args.max_steps)
            loaders.append(loader)
            return loader
        trainer.make_loader = limited
        record = trainer.fit(store)[-1]
    end = memory_now()
    return {'molecules': len(store), 'mmap': True, 'tune_malloc': tuned, 'load_s': load_s,
            'steps': len(loaders[0]), 'full_epoch': args.max_steps is None,
            'graphs': record['graphs'], 'train_s': record['seconds'],
            'graphs_per_s': record['graphs_per_s'], 'loss': record['loss'],
            'batch_size': args.batch_size, 'encoder': 'gin 5x300', 'objective': 'attr_masking',
            'after_load': after_load, 'peak_rss_anon': peaks.peak['RssAnon'],
            'peak_rss_file': peaks.peak['RssFile'], 'torch_threads': torch.get_num_threads(),
            **end}


def as_data_list(store: Any, n: int) -> list:
    """The first ``n`` graphs of ``store`` as ``Data(x, edge_index, edge_attr)`` with ``int64``
    tensors of their own (as :func:`ogb.utils.smiles2graph` -> ``Data`` gives them)."""
    import torch
    from torch_geometric.data import Data

    def own(t: torch.Tensor) -> torch.Tensor:  # never a view into the store's mapping
        t = t.long()
        return t if t.untyped_storage().nbytes() == t.nbytes else t.clone()
    out = []
    for i in range(n):
        g = store[i]
        out.append(Data(x=own(g.x), edge_index=own(g.edge_index), edge_attr=own(g.edge_attr)))
    return out


def case_datalist(args: argparse.Namespace) -> dict[str, Any]:
    store = load_corpus(args).dataset
    n = min(args.datalist_molecules, len(store))
    gc.collect()
    malloc_trim()
    before = memory_now()
    start = time.perf_counter()
    graphs = as_data_list(store, n)
    build_s = time.perf_counter() - start
    gc.collect()
    malloc_trim()
    after = memory_now()
    list_bytes = after['RssAnon'] - before['RssAnon']
    tensor_bytes = sum(t.nbytes for d in graphs for t in (d.x, d.edge_index, d.edge_attr))
    per_molecule = list_bytes / n
    store_per_molecule = store.nbytes() / len(store)
    return {'molecules': n, 'from_store_molecules': len(store), 'build_s': build_s,
            'before': before, 'after': after, 'list_bytes': list_bytes,
            'tensor_bytes': tensor_bytes, 'bytes_per_molecule': per_molecule,
            'extrapolated_to': MOSES_MOLECULES,
            'extrapolated_list_bytes': per_molecule * MOSES_MOLECULES,
            'store_bytes_per_molecule': store_per_molecule, **after}


# ----------------------------------------------------------------------------- the driver
def run_case(case: str, argv: list[str]) -> dict[str, Any]:
    """Run one case in a fresh ``python -m benchmarks.memory --case`` process."""
    proc = subprocess.run([sys.executable, '-m', 'benchmarks.memory', '--case', case, *argv],
                          stdout=subprocess.PIPE, text=True, cwd=REPO, check=False)
    lines = [x for x in proc.stdout.splitlines() if x.startswith('RESULT ')]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"case '{case}' failed (exit {proc.returncode}); its stderr is above")
    return json.loads(lines[-1][len('RESULT '):])


def _mib(value: float | None) -> str:
    return '' if value is None else f'{value / MIB:,.0f}'


def table(rows: list[dict[str, Any]]) -> str:
    out = ['| case | molecules | peak RSS (VmHWM) MiB | peak RssAnon MiB | peak RssFile MiB | '
           'steps | graphs/s | seconds | note |', '|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        c = r['case']
        if c == 'baseline':
            out.append(f"| baseline (imports only) | | {_mib(r['VmHWM'])} | {_mib(r['RssAnon'])}"
                       f" | {_mib(r['RssFile'])} | | | | torch, torch_geometric, graphpfm |")
        elif c == 'featurise':
            note = ('cache present, not rebuilt' if r['from_cache'] else 'cache built') + \
                f"; cache {_mib(r['cache_bytes'])} MiB on disk"
            secs = r['featurise_s'] if r['featurise_s'] is not None else r['load_s']
            out.append(f"| featurise | {r['molecules']:,} | {_mib(r['VmHWM'])} | | | | | "
                       f"{secs:.1f} | {note} |")
        elif c == 'store':
            note = f"mmap store; {'one epoch' if r['full_epoch'] else 'max steps'}"
            out.append(f"| store + pretraining | {r['molecules']:,} | {_mib(r['VmHWM'])} | "
                       f"{_mib(r['peak_rss_anon'])} | {_mib(r['peak_rss_file'])} | {r['steps']}"
                       f" | {r['graphs_per_s']:.0f} | {r['train_s']:.1f} | {note} |")
        elif c == 'datalist':
            out.append(f"| list of Data, held (measured) | {r['molecules']:,} | "
                       f"{_mib(r['VmHWM'])} | +{_mib(r['list_bytes'])} | | | | "
                       f"{r['build_s']:.1f} | RssAnon growth; "
                       f"{r['bytes_per_molecule']:,.0f} B/molecule (store: "
                       f"{r['store_bytes_per_molecule']:,.0f}) |")
            if r['molecules'] < r['extrapolated_to']:  # measured on the whole corpus: no row
                out.append(f"| list of Data, held (**extrapolated**) | {r['extrapolated_to']:,} | "
                           f"| +{_mib(r['extrapolated_list_bytes'])} | | | | | linear in "
                           "molecules, from the measured row |")
    return '\n'.join(out)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--root', default=None, help='data root (default: $GRAPHPFM_DATA)')
    p.add_argument('--num-molecules', type=int, default=None,
                   help='first N MOSES molecules for the store (default: all)')
    p.add_argument('--max-steps', type=int, default=None,
                   help='pretraining steps of the store case (default: one full epoch)')
    p.add_argument('--batch-size', type=int, default=256)
    p.add_argument('--datalist-molecules', type=int, default=200_000)
    p.add_argument('--featurize-workers', type=int, default=None,
                   help='featurisation processes (default: os.cpu_count())')
    p.add_argument('--tune-malloc', action=argparse.BooleanOptionalAction, default=True,
                   help="the store case calls graphpfm's tune_malloc, as the graphpfm command "
                   'does (keeps up to ~256 MiB of freed buffers resident)')
    p.add_argument('--cases', default=','.join(CASES), help='comma list of ' + ', '.join(CASES))
    p.add_argument('--progress', action='store_true', help='progress bars on stderr')
    p.add_argument('--out', default='benchmarks/results/memory.jsonl')
    p.add_argument('--case', choices=CASES, help=argparse.SUPPRESS)  # inside a child process
    return p


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    if args.case:  # a child: measure one case, print its result
        result = globals()[f'case_{args.case}'](args)
        result = {**memory_now(), **result}  # the case's own figures where it has them
        result.setdefault('versions', versions())
        sys.stdout.write('RESULT ' + json.dumps(result) + '\n')
        return [result]
    cases = [c for c in args.cases.split(',') if c]
    bad = [c for c in cases if c not in CASES]
    if bad:
        raise SystemExit(f"error: unknown case(s) {', '.join(bad)}; valid: {', '.join(CASES)}")
    if args.max_steps is not None and args.max_steps < 1:
        raise SystemExit('error: --max-steps must be >= 1')
    if ('store' in cases or 'datalist' in cases) and 'featurise' not in cases:
        cases.insert(0, 'featurise')  # the cache must exist before it is mapped
    cases = [c for c in CASES if c in cases]
    common = {'git_sha': git_commit(), 'time': time.strftime('%Y-%m-%d %H:%M:%S'),
              'command': ' '.join(['python', '-m', 'benchmarks.memory', *argv]),
              'hardware': hardware(detail=True),
              'num_molecules_arg': args.num_molecules}
    rows = []
    for case in cases:
        print(f'memory: running {case}', file=sys.stderr, flush=True)
        rows.append({'case': case, **run_case(case, argv), **common})
    append_jsonl(args.out, rows)
    sys.stdout.write(table(rows) + '\n')
    return rows


if __name__ == '__main__':
    main()
