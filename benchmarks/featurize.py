"""SMILES featurisation rate and cache size.

    python -m benchmarks.featurize --num-molecules 20000

Featurises the first N MOSES SMILES with ``ogb.utils.smiles2graph`` in process and with a
process pool, with and without the per-molecule time budget (``--max-seconds``), twice each
(alternating), reports molecules/s (wall clock) and the cache's size on disk and in memory,
extrapolated per million molecules.
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
    p.add_argument('--max-seconds', default='none,10',
                   help="comma list of per-molecule budgets to compare ('none': no budget)")
    p.add_argument('--out', default='benchmarks/results/featurize.jsonl')
    args = p.parse_args()
    os.environ['GRAPHPFM_CACHE'] = tempfile.mkdtemp()
    from graphpfm.datasets import featurize_smiles, load_smiles_file, read_smiles_file
    from graphpfm.datasets.corpora import moses_path

    path = moses_path(args.root)
    smiles, _ = read_smiles_file(path, limit=args.num_molecules)
    rates: dict[str, list[float]] = {}
    cpu_ms: dict[str, list[float]] = {}  # in process: CPU ms per molecule (holds on busy cores)
    workers = [int(w) for w in args.workers.split(',')]
    budgets = [None if b.lower() == 'none' else float(b) for b in args.max_seconds.split(',')]
    for _ in range(2):
        for w in workers:
            for b in budgets:
                t, c = time.perf_counter(), time.process_time()
                store = featurize_smiles(smiles, num_workers=w, progress=False, max_seconds=b)
                rates.setdefault(f'workers={w} budget={b}', []).append(
                    len(store) / (time.perf_counter() - t))
                if w == 0:
                    cpu_ms.setdefault(f'budget={b}', []).append(
                        1e3 * (time.process_time() - c) / len(smiles))
    store = load_smiles_file(path, limit=args.num_molecules, num_workers=max(workers),
                             progress=False)
    t = time.perf_counter()
    load_smiles_file(path, limit=args.num_molecules, progress=False)
    cached_load_s = time.perf_counter() - t
    scale = 1e6 / len(store)
    row = {'molecules': len(store), 'cpu_count': os.cpu_count(),
           'mol_per_s': {str(w): [round(r) for r in v] for w, v in rates.items()},
           'in_process_cpu_ms_per_mol': {k: [round(x, 4) for x in v] for k, v in cpu_ms.items()},
           'disk_mb_per_million': round(os.path.getsize(store.meta['cache_path']) * scale / 1e6),
           'memory_mb_per_million': round(store.nbytes() * scale / 1e6),
           'cached_load_s': round(cached_load_s, 3),
           'atoms_per_molecule': round(store.x.size(0) / len(store), 1)}
    for w, v in rates.items():
        print(f'{w}: {max(v):,.0f} molecules/s (best of {len(v)})')
    for k, v in cpu_ms.items():
        print(f'in process, {k}: {min(v):.4f} CPU ms per molecule (best of {len(v)})')
    print(f"cache: {row['disk_mb_per_million']} MB on disk, {row['memory_mb_per_million']} MB "
          f'in memory per million molecules; cached load of {len(store)} in {cached_load_s:.3f} s')
    append_jsonl(args.out, [row])


if __name__ == '__main__':
    main()
