"""SMILES featurisation rate and cache size.

    python -m benchmarks.featurize --num-molecules 20000

Featurises the first N MOSES SMILES with ``ogb.utils.smiles2graph`` in process and with a
process pool, twice each (alternating), reports molecules/s (wall clock) and the cache's size
on disk and in memory, extrapolated per million molecules.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

from .harness.records import append_jsonl


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--root', default=None)
    p.add_argument('--num-molecules', type=int, default=20000)
    p.add_argument('--workers', default='0,2', help='comma list of num_workers to compare')
    p.add_argument('--out', default='benchmarks/results/featurize.jsonl')
    args = p.parse_args()
    os.environ['GRAPHPFM_CACHE'] = tempfile.mkdtemp()
    from graphpfm.datasets import featurize_smiles, load_smiles_file, read_smiles_file
    from graphpfm.datasets.corpora import moses_path

    path = moses_path(args.root)
    smiles, _ = read_smiles_file(path, limit=args.num_molecules)
    rates: dict[int, list[float]] = {}
    workers = [int(w) for w in args.workers.split(',')]
    for _ in range(2):
        for w in workers:
            t = time.perf_counter()
            store = featurize_smiles(smiles, num_workers=w, progress=False)
            rates.setdefault(w, []).append(len(store) / (time.perf_counter() - t))
    store = load_smiles_file(path, limit=args.num_molecules, num_workers=max(workers),
                             progress=False)
    t = time.perf_counter()
    load_smiles_file(path, limit=args.num_molecules, progress=False)
    cached_load_s = time.perf_counter() - t
    scale = 1e6 / len(store)
    row = {'molecules': len(store), 'cpu_count': os.cpu_count(),
           'mol_per_s': {str(w): [round(r) for r in v] for w, v in rates.items()},
           'disk_mb_per_million': round(os.path.getsize(store.meta['cache_path']) * scale / 1e6),
           'memory_mb_per_million': round(store.nbytes() * scale / 1e6),
           'cached_load_s': round(cached_load_s, 3),
           'atoms_per_molecule': round(store.x.size(0) / len(store), 1)}
    for w, v in rates.items():
        print(f'num_workers={w}: {max(v):,.0f} molecules/s (best of {len(v)})')
    print(f"cache: {row['disk_mb_per_million']} MB on disk, {row['memory_mb_per_million']} MB "
          f'in memory per million molecules; cached load of {len(store)} in {cached_load_s:.3f} s')
    append_jsonl(args.out, [row])


if __name__ == '__main__':
    main()
