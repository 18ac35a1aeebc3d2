"""The data a GPU machine needs for ``benchmarks/gpu_check.sh``, written here (where the data
root and RDKit are) into a folder that travels with the working tree (``.gpudata/``).

    python -m benchmarks.gpu_data --out .gpudata --molecules 50000

* ``moses-<N>.pt``: the first ``N`` rows of ``pretrain/moses.csv.gz`` (all in its training
  split), featurised by ``ogb.smiles2graph`` exactly as ``load_dataset('moses', limit=N)`` does,
  saved with :meth:`GraphStore.save` (plain tensors: :meth:`GraphStore.load` reads it back with
  neither RDKit nor the SMILES file; ``benchmarks.throughput --store`` and ``benchmarks.amp
  --store`` take it). A cached featurisation of at least ``N`` rows of the same file is sliced
  rather than featurised again.
* ``planetoid/Cora/raw/ind.cora.*``: Planetoid's raw files, so that ``load_dataset('Cora',
  root='.gpudata')`` works there.
* ``MANIFEST.json``: what was written, with sizes, SHA-256 and provenance.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path

import torch

from graphpfm.data import GraphStore
from graphpfm.datasets import find_planetoid, load_dataset
from graphpfm.datasets.cache import cache_file, file_fingerprint, load_cached
from graphpfm.datasets.corpora import moses_path
from graphpfm.datasets.smiles import featurizer_info
from graphpfm.paths import cache_dir


def cached_moses_rows(n: int, root: str | None = None) -> GraphStore | None:
    """The first ``n`` rows of MOSES from an existing cache of at least ``n`` rows of the same
    file and featuriser (the file name of a cache encodes both), or :obj:`None`."""
    path = moses_path(root)
    fingerprint, featurizer = file_fingerprint(path), featurizer_info()
    best = None
    for cand in cache_dir('smiles').glob(f'{path.name}-*.pt'):
        try:
            limit = torch.load(cand, weights_only=True, mmap=True)['store']['meta']['limit']
        except Exception:  # unreadable or foreign: not a candidate
            continue
        if limit is not None and limit < n:
            continue
        key = {'file': fingerprint, 'limit': limit, 'featurizer': featurizer}
        if cache_file('smiles', path.name, key) != cand:  # another file or featuriser
            continue
        if best is None or (limit or float('inf')) < best[0]:
            best = (limit or float('inf'), cand)
    if best is None:
        return None
    store, extra = load_cached(best[1])
    keep = torch.nonzero(extra['source_index'] < n).view(-1)  # graphs of the first n rows
    out = store.index_select(keep)
    out.meta = {**store.meta, 'limit': n, 'sliced_from': str(best[1])}
    out.meta.pop('cache_path', None)
    out.meta.pop('from_cache', None)
    return out


def moses_rows(n: int, root: str | None = None) -> GraphStore:
    """The first ``n`` rows of MOSES, featurised (from a cache where one serves)."""
    store = cached_moses_rows(n, root)
    if store is None:
        store = load_dataset('moses', root=root, limit=n, progress=False).dataset
        store.meta = {k: v for k, v in store.meta.items() if k not in ('cache_path', 'from_cache')}
    return store


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open('rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', default='.gpudata')
    p.add_argument('--root', default=None, help='the data root (default: $GRAPHPFM_DATA)')
    p.add_argument('--molecules', type=int, default=50_000)
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    store = moses_rows(args.molecules, args.root)
    target = out / f'moses-{args.molecules}.pt'
    store.save(target)
    written[target.name] = {'graphs': len(store), 'nodes': int(store.x.size(0)),
                            'edges': int(store.edge_index.size(1)), 'meta': store.meta}
    raw = find_planetoid('Cora', args.root)
    if raw is None:
        raise SystemExit('Cora not found under the data root (planetoid/Cora/raw)')
    dest = out / 'planetoid' / 'Cora' / 'raw'
    dest.mkdir(parents=True, exist_ok=True)
    for f in sorted(raw.glob('ind.cora.*')):
        shutil.copyfile(f, dest / f.name)
        written[str((dest / f.name).relative_to(out))] = {'source': str(f.resolve())}
    for name, entry in written.items():
        path = out / name
        entry.update({'bytes': path.stat().st_size, 'sha256': _sha256(path)})
    (out / 'MANIFEST.json').write_text(json.dumps(written, indent=1, default=str) + '\n')
    total = sum(e['bytes'] for e in written.values())
    print(f'{target}: {len(store)} graphs ({target.stat().st_size / 2**20:.1f} MiB); '
          f'Cora raw files: {dest}; total {total / 2**20:.1f} MiB')


if __name__ == '__main__':
    main()
