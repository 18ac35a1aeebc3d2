"""Featurisation with RDKit targets: rate, wall time and cache size on a SMILES corpus.

    python -m benchmarks.targets --dataset moses --limit 1584663 \\
        --out benchmarks/results/targets/moses-train.json

Featurises the corpus's graphs (or loads their cache), then computes the RDKit targets of
:mod:`graphpfm.datasets.targets` (motif bits, standardised descriptors, ECFP4 bits) in the
same process pool, timing each phase apart, and records molecules per second, the sizes of
both caches and the descriptors masked out. Run it on idle cores: the rates are wall-clock.
A cache already present is reported as such (``from_cache``). CPU milliseconds per molecule
(this process and its pool's workers) are recorded too: unlike the rates, they hold on busy
cores.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from .harness.env import cpu_model


def measure(dataset: str, limit: int | None, workers: int | None, root: str | None,
            progress: bool) -> dict:
    from graphpfm.datasets import attach_targets, bundle_smiles, load_dataset
    from graphpfm.datasets.targets import TARGET_KINDS, targets_cache_path

    start, cpu0 = time.perf_counter(), _cpu_s()
    bundle = load_dataset(dataset, root=root, limit=limit, num_workers=workers,
                          progress=progress)
    graphs_s, graphs_cpu = time.perf_counter() - start, _cpu_s() - cpu0
    store = bundle.dataset
    smiles = bundle_smiles(bundle, root)
    start, cpu0 = time.perf_counter(), _cpu_s()
    attach_targets(store, smiles, TARGET_KINDS, num_workers=workers, progress=progress)
    targets_s, targets_cpu = time.perf_counter() - start, _cpu_s() - cpu0
    n = len(store)
    graph_cache = Path(store.meta['cache_path']) if 'cache_path' in store.meta else None
    tcache = targets_cache_path(smiles)
    target_bytes = sum(t.numel() * t.element_size() for k, t in store.graph_attrs.items())
    return {
        'dataset': dataset, 'limit': limit, 'molecules': n,
        'workers': workers or os.cpu_count(), 'cpu': cpu_model(),
        'graphs_from_cache': bool(store.meta.get('from_cache')),
        'graphs_s': round(graphs_s, 1),
        'graphs_cpu_ms_per_mol': round(1e3 * graphs_cpu / n, 3),
        'targets_from_cache': not _fresh(tcache, targets_s),
        'targets_s': round(targets_s, 1),
        'targets_mol_per_s': round(n / targets_s, 1),
        'targets_cpu_ms_per_mol': round(1e3 * targets_cpu / n, 3),
        'graph_cache_bytes': graph_cache.stat().st_size if graph_cache else None,
        'targets_cache_bytes': tcache.stat().st_size,
        'target_tensor_bytes_per_molecule': round(target_bytes / n, 1),
        'target_widths': {k: store.bit_widths.get(k, int(t.shape[1]) if t.dim() > 1 else 1)
                          for k, t in store.graph_attrs.items()},
        'dropped_descriptors': store.meta['targets']['dropped_descriptors'],
        'rdkit_failures': store.meta['targets']['num_failed'],
        'finished': time.strftime('%Y-%m-%dT%H:%M:%S%z'),
    }


def _cpu_s() -> float:
    """CPU seconds of this process and of its finished children (the pool's workers)."""
    import resource
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


def _fresh(path: Path, seconds: float) -> bool:
    """Whether the cache was written during this run (else it was loaded)."""
    return path.stat().st_mtime > time.time() - seconds - 5


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--dataset', default='moses')
    p.add_argument('--limit', type=int, default=None)
    p.add_argument('--workers', type=int, default=None, help='processes (default: all cores)')
    p.add_argument('--root', default=None)
    p.add_argument('--out', default=None, help='JSON file for the record')
    p.add_argument('--no-progress', dest='progress', action='store_false')
    args = p.parse_args(argv)
    import logging
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(name)s: %(message)s')
    rec = measure(args.dataset, args.limit, args.workers, args.root, args.progress)
    text = json.dumps(rec, indent=1)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + '\n')
    sys.stdout.write(text + '\n')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
