r"""SMILES corpora: RDKit's embedded NCI molecules (with TPSA labels), MOSES and any SMILES file."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..paths import data_root
from .bundle import DatasetBundle
from .cache import cache_file, file_fingerprint, load_cached, save_cached
from .errors import DatasetNotFoundError
from .smiles import bundle_from_store, featurize_smiles, featurizer_info, load_smiles_file

log = logging.getLogger(__name__)

MOSES_RELPATH = Path('pretrain') / 'moses.csv.gz'


def embedded_smiles_path() -> Path:
    """The 5,000 NCI molecules RDKit ships (``RDDataDir/NCI/first_5K.smi``)."""
    from rdkit import RDConfig
    return Path(RDConfig.RDDataDir) / 'NCI' / 'first_5K.smi'


def embedded_tpsa_path() -> Path:
    """TPSA values of the same molecules (``RDDataDir/NCI/first_5k.tpsa.csv``)."""
    from rdkit import RDConfig
    return Path(RDConfig.RDDataDir) / 'NCI' / 'first_5k.tpsa.csv'


def moses_path(root: str | os.PathLike | None = None) -> Path:
    """Where the MOSES corpus is expected: ``<root>/pretrain/moses.csv.gz``."""
    return data_root(root) / MOSES_RELPATH


def _corpus_bundle(name: str, path: Path, limit: int | None, num_workers: int | None,
                   progress: bool) -> DatasetBundle:
    store = load_smiles_file(path, limit, num_workers=num_workers, progress=progress)
    return DatasetBundle(name=name, dataset=store, meta=dict(store.meta))


def load_smiles_corpus(path: str | os.PathLike, root: str | os.PathLike | None = None, *,
                       limit: int | None = None, num_workers: int | None = None,
                       progress: bool = True, **_: Any) -> DatasetBundle:
    """Any ``.csv``/``.smi`` (optionally ``.gz``) file as an unlabelled corpus named by its
    path."""
    del root
    return _corpus_bundle(str(path), Path(path), limit, num_workers, progress)


def load_embedded(root: str | os.PathLike | None = None, *, limit: int | None = None,
                  num_workers: int | None = None, progress: bool = True,
                  **_: Any) -> DatasetBundle:
    """The ~5,000 NCI molecules shipped with RDKit, as an unlabelled corpus (no data root
    needed)."""
    del root
    return _corpus_bundle('embedded', embedded_smiles_path(), limit, num_workers, progress)


def read_tpsa_file(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    """Read RDKit's ``first_5k.tpsa.csv``: ``#`` comment lines, then ``smiles,tpsa`` rows
    without a header (the SMILES never contain a comma)."""
    smiles, values = [], []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            smi, value = line.rsplit(',', 1)
            smiles.append(smi)
            values.append(float(value))
    return smiles, np.asarray(values, dtype=np.float32)


def load_embedded_tpsa(root: str | os.PathLike | None = None, *, limit: int | None = None,
                       num_workers: int | None = None, progress: bool = True,
                       **_: Any) -> DatasetBundle:
    r"""RDKit's NCI molecules labelled with their topological polar surface area (TPSA, from
    ``first_5k.tpsa.csv``): regression, 1 task, scaffold split 80/10/10, metric ``'rmse'``.

    The fallback downstream task when no OGB dataset is on disk. Featurised graphs and the
    split are cached.
    """
    del root
    from .smiles import make_split
    path = embedded_tpsa_path()
    key = {'file': file_fingerprint(path), 'limit': limit, 'featurizer': featurizer_info(),
           'split': 'scaffold'}
    cpath = cache_file('smiles', 'embedded-tpsa', key)
    cached = load_cached(cpath)
    if cached is not None:
        store, extra = cached
        store.source_index = extra['source_index']
        split_idx = extra['split_idx']
        store.meta['from_cache'] = True
    else:
        smiles, tpsa = read_tpsa_file(path)
        if limit is not None:
            smiles, tpsa = smiles[:limit], tpsa[:limit]
        store = featurize_smiles(smiles, tpsa, num_workers=num_workers, progress=progress,
                                 source=str(path), line_numbers=None)
        store.meta.update({'limit': limit, 'cache_path': str(cpath), 'label': 'tpsa'})
        kept = [smiles[i] for i in store.source_index.tolist()]
        split_idx = make_split('scaffold', kept, (0.8, 0.1, 0.1), 0)
        save_cached(cpath, store, source_index=store.source_index, split_idx=split_idx)
        store.meta['from_cache'] = False
    return bundle_from_store(store, [], 'embedded-tpsa', split='scaffold',
                             task_type='regression', split_idx=split_idx)


#: TPSA (square angstroms) above which ``'embedded-polar'`` labels a molecule polar: the usual
#: ceiling for molecules meant to cross the blood-brain barrier (Hitchcock and Pennington,
#: J. Med. Chem. 2006)
POLAR_TPSA = 90.0


def load_embedded_polar(root: str | os.PathLike | None = None, *, limit: int | None = None,
                        num_workers: int | None = None, progress: bool = True,
                        **_: Any) -> DatasetBundle:
    r"""RDKit's NCI molecules labelled 1 where their TPSA exceeds :data:`POLAR_TPSA` (too
    polar, by the rule of thumb, to cross the blood-brain barrier), else 0: binary
    classification, 1 task, the scaffold split of ``'embedded-tpsa'``, metric ``'rocauc'``.
    A classification task that needs nothing but RDKit.
    """
    import copy
    tpsa = load_embedded_tpsa(root, limit=limit, num_workers=num_workers, progress=progress)
    store = copy.copy(tpsa.dataset)  # the same graphs, new labels
    store.graph_attrs, store.meta = dict(store.graph_attrs), dict(store.meta)
    store.y = (tpsa.dataset.y > POLAR_TPSA).float()
    store.meta['label'] = f'tpsa > {POLAR_TPSA:g}'
    return bundle_from_store(store, [], 'embedded-polar', split='scaffold',
                             task_type='binary classification', split_idx=tpsa.split_idx)


def load_moses(root: str | os.PathLike | None = None, *, limit: int | None = None,
               num_workers: int | None = None, progress: bool = True,
               **_: Any) -> DatasetBundle:
    r"""The MOSES corpus (1.9M ZINC SMILES, columns ``smiles,split``) from
    ``<root>/pretrain/moses.csv.gz``; :obj:`limit` takes the first ``limit`` molecules.

    Raises:
        DatasetNotFoundError: the file is absent (never downloaded automatically).
    """
    path = moses_path(root)
    if not path.is_file():
        raise DatasetNotFoundError(
            f'MOSES corpus not found at {path}. Place the MOSES csv (columns smiles,split; '
            'e.g. dataset_v1.csv from github.com/molecularsets/moses, gzipped) there, or point '
            'GRAPHPFM_DATA (or root= / --root) at a directory holding pretrain/moses.csv.gz.')
    return _corpus_bundle('moses', path, limit, num_workers, progress)
