r"""Small node-classification benchmarks read offline with PyG's own readers.

* **Planetoid** (``'Cora'``, ``'CiteSeer'``, ``'PubMed'``) of `Yang et al. (2016)
  <https://arxiv.org/abs/1603.08861>`_ with the public split, read by
  :func:`torch_geometric.io.read_planetoid_data` from ``<root>/planetoid/<Name>/raw/ind.<name>.*``
  (the layout of ``torch_geometric.datasets.Planetoid(root=<root>/planetoid, name=<Name>)``).
* **Amazon and Coauthor** (``'Amazon-Computers'``, ``'Amazon-Photo'``, ``'Coauthor-CS'``,
  ``'Coauthor-Physics'``) of `Shchur et al. (2018) <https://arxiv.org/abs/1811.05868>`_, read by
  :func:`torch_geometric.io.read_npz` (edges made undirected, as PyG does) from
  ``<root>/amazon/<Computers|Photo>/raw/amazon_electronics_<computers|photo>.npz`` and
  ``<root>/coauthor/<CS|Physics>/raw/ms_academic_<cs|phy>.npz`` (the layout of
  ``torch_geometric.datasets.Amazon(root=<root>/amazon, ...)`` and ``Coauthor(root=<root>/coauthor,
  ...)``), with a seeded random 10/10/80 node split (these datasets ship no split).

PyG's dataset classes are not used, so nothing is written next to the raw files (they would
write ``processed/``); the parsed graph is cached as plain tensors under ``cache_dir('pyg')``.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch_geometric.data import Data

from ..paths import cache_dir, data_root
from .bundle import DatasetBundle
from .cache import cache_file, file_fingerprint, load_tensors, save_tensors
from .download import AUTO_DOWNLOAD_MAX_BYTES, DEFAULT_TIMEOUT, download_file
from .errors import DatasetNotFoundError
from .node_common import (
    data_to_tensors,
    labels_to_long,
    node_bundle,
    split_from_masks,
    tensors_to_data,
)
from .ogb_graph import _writable_root
from .splits import random_split

log = logging.getLogger(__name__)

#: Bump when the reader's output changes, to invalidate old caches.
READER_VERSION = 1
PLANETOID_NAMES = ('Cora', 'CiteSeer', 'PubMed')
PLANETOID_URL = 'https://github.com/kimiyoung/planetoid/raw/master/data'
PLANETOID_SUFFIXES = ('x', 'tx', 'allx', 'y', 'ty', 'ally', 'graph', 'test.index')
#: name -> (folder under the data root, PyG's sub-folder, raw file), as PyG lays them out.
NPZ_DATASETS = {
    'Amazon-Computers': ('amazon', 'Computers', 'amazon_electronics_computers.npz'),
    'Amazon-Photo': ('amazon', 'Photo', 'amazon_electronics_photo.npz'),
    'Coauthor-CS': ('coauthor', 'CS', 'ms_academic_cs.npz'),
    'Coauthor-Physics': ('coauthor', 'Physics', 'ms_academic_phy.npz'),
}
NPZ_URL = 'https://github.com/shchur/gnn-benchmark/raw/master/data/npz/'
#: train/valid/test fractions of the random node split of the npz datasets.
NPZ_SPLIT_FRAC = (0.1, 0.1, 0.8)


def _check_name(name: str, valid: Sequence[str]) -> None:
    if name not in valid:
        raise KeyError(f"Unknown dataset '{name}'. Valid options: {', '.join(valid)}")


def _download_base() -> Path:
    return cache_dir('pyg') / 'downloads'


def _download_raw_dir(rel: Path, root: str | os.PathLike | None) -> Path:
    base = _writable_root(data_root(root))
    return (base if base is not None else _download_base()) / rel


def _cached_data(stem: str, files: list[Path], reader: Any) -> tuple[Data, Path, bool]:
    key = {'reader': READER_VERSION, 'stem': stem, 'files': [file_fingerprint(f) for f in files]}
    path = cache_file('pyg', stem, key)
    cached = load_tensors(path)
    if cached is not None:
        log.info('loaded %s from cache %s', stem, path)
        return tensors_to_data(cached[0]), path, True
    data = reader()
    save_tensors(path, data_to_tensors(data))
    log.info('processed %s (%d nodes) into cache %s', stem, data.num_nodes, path)
    return data, path, False


# ---------------------------------------------------------------------------- Planetoid
def planetoid_files(name: str) -> list[str]:
    """The raw file names PyG's Planetoid reader needs for ``name`` (``ind.cora.x``, ...)."""
    _check_name(name, PLANETOID_NAMES)
    return [f'ind.{name.lower()}.{s}' for s in PLANETOID_SUFFIXES]


def planetoid_candidate_dirs(name: str, root: str | os.PathLike | None = None) -> list[Path]:
    """Every ``raw`` folder searched for Planetoid dataset ``name``, in order of preference:
    ``<root>/planetoid/<Name>/raw``, ``<root>/<Name>/raw`` and earlier downloads in the cache."""
    base = data_root(root)
    return [base / 'planetoid' / name / 'raw', base / name / 'raw',
            _download_base() / 'planetoid' / name / 'raw']


def find_planetoid(name: str, root: str | os.PathLike | None = None) -> Path | None:
    """The first ``raw`` folder holding every file of Planetoid dataset ``name``, or
    :obj:`None`."""
    files = planetoid_files(name)
    for cand in planetoid_candidate_dirs(name, root):
        if all((cand / f).is_file() for f in files):
            return cand
    return None


def _planetoid_message(name: str, root: str | os.PathLike | None, reason: str) -> str:
    cands = planetoid_candidate_dirs(name, root)
    return (f"Planetoid dataset '{name}' not found ({reason}). Searched:\n"
            + ''.join(f'  {c}\n' for c in cands)
            + f"Expected files: {', '.join(planetoid_files(name))}.\n"
            f'To fix: download them from {PLANETOID_URL}/<file> into {cands[0]}; or point '
            'GRAPHPFM_DATA (or root= / --root) at a directory that holds '
            f'planetoid/{name}/raw.')


def download_planetoid(name: str, root: str | os.PathLike | None = None,
                       timeout: float = DEFAULT_TIMEOUT) -> Path:
    r"""Download the raw files of Planetoid dataset ``name`` from PyG's source into
    ``<root>/planetoid/<Name>/raw`` (when the data root is writable) or the cache. Never prompts.

    Raises:
        DatasetNotFoundError: on any network error.
    """
    dest = _download_raw_dir(Path('planetoid') / name / 'raw', root)
    try:
        for f in planetoid_files(name):
            download_file(f'{PLANETOID_URL}/{f}', dest / f, timeout=timeout,
                          max_bytes=AUTO_DOWNLOAD_MAX_BYTES)
    except Exception as exc:
        raise DatasetNotFoundError(_planetoid_message(
            name, root, f'download from {PLANETOID_URL} failed: {type(exc).__name__}: {exc}')
        ) from exc
    return dest


def _read_planetoid(raw: Path, name: str) -> Data:
    from torch_geometric.io import read_planetoid_data

    d = read_planetoid_data(str(raw), name)
    return Data(x=d.x.float(), edge_index=d.edge_index.long(), y=labels_to_long(d.y),
                num_nodes=int(d.y.size(0)), train_mask=d.train_mask, val_mask=d.val_mask,
                test_mask=d.test_mask)


def load_planetoid(name: str, root: str | os.PathLike | None = None, *,
                   download: bool | None = None, limit: int | None = None,
                   progress: bool = True, timeout: float = DEFAULT_TIMEOUT) -> DatasetBundle:
    r"""Load Planetoid dataset ``name`` (``'Cora'``, ``'CiteSeer'``, ``'PubMed'``) with its
    public split as a ``level='node'`` :class:`DatasetBundle`.

    The graph is PyG's :func:`~torch_geometric.io.read_planetoid_data` output: ``x`` float
    ``[N, F]`` (row-normalisation is left to the user), ``edge_index`` long ``[2, E]``
    (undirected, coalesced, no self-loops), ``y`` long ``[N]``; ``split_idx`` comes from PyG's
    public masks (20 nodes per class / 500 / 1000). ``num_tasks`` is the number of classes
    (``y.max() + 1``); ``eval_metric`` is ``'acc'``.

    Args:
        name (str): ``'Cora'``, ``'CiteSeer'`` or ``'PubMed'``.
        root (str or Path, optional): the data root; files are expected in
            ``<root>/planetoid/<name>/raw`` (see :func:`planetoid_candidate_dirs`).
            (default: :obj:`None`)
        download (bool, optional): fetch absent files from PyG's source; :obj:`None` means yes.
            (default: :obj:`None`)
        limit (int, optional): keep only the subgraph induced by the first ``limit`` nodes.
            (default: :obj:`None`)
        progress (bool, optional): unused. (default: :obj:`True`)
        timeout (float, optional): network timeout in seconds. (default: :obj:`10.0`)

    Raises:
        DatasetNotFoundError: the files are absent and could not be downloaded.
    """
    del progress
    raw = find_planetoid(name, root)
    if raw is None:
        if download is False:
            raise DatasetNotFoundError(_planetoid_message(name, root, 'download=False'))
        raw = download_planetoid(name, root, timeout=timeout)
    files = [raw / f for f in planetoid_files(name)]
    data, path, from_cache = _cached_data(f'planetoid-{name}', files,
                                          lambda: _read_planetoid(raw, name))
    split_idx = split_from_masks(data.train_mask, data.val_mask, data.test_mask)
    for key in ('train_mask', 'val_mask', 'test_mask'):  # split_idx is the one split record
        del data[key]
    meta = {'source': str(raw), 'cache_path': str(path), 'from_cache': from_cache,
            'split': 'public (Planetoid masks)', 'split_seed': None, 'url': PLANETOID_URL,
            'num_classes': int(data.y.max()) + 1}
    return node_bundle(name, data, split_idx, task_type='multiclass classification',
                       num_tasks=meta['num_classes'], eval_metric='acc', meta=meta, limit=limit)


# ---------------------------------------------------------------------------- Amazon, Coauthor
def npz_candidate_paths(name: str, root: str | os.PathLike | None = None) -> list[Path]:
    """Every path searched for the raw ``.npz`` of ``name``, in order of preference:
    ``<root>/<amazon|coauthor>/<Sub>/raw/<file>``, ``<root>/<name>/raw/<file>`` and earlier
    downloads in the cache."""
    _check_name(name, list(NPZ_DATASETS))
    family, sub, file = NPZ_DATASETS[name]
    base = data_root(root)
    return [base / family / sub / 'raw' / file, base / name / 'raw' / file,
            _download_base() / family / sub / 'raw' / file]


def find_npz(name: str, root: str | os.PathLike | None = None) -> Path | None:
    """The raw ``.npz`` file of ``name``, or :obj:`None`."""
    return next((p for p in npz_candidate_paths(name, root) if p.is_file()), None)


def _npz_message(name: str, root: str | os.PathLike | None, reason: str) -> str:
    cands = npz_candidate_paths(name, root)
    url = NPZ_URL + NPZ_DATASETS[name][2]
    return (f"Dataset '{name}' not found ({reason}). Searched:\n"
            + ''.join(f'  {c}\n' for c in cands)
            + f'To fix: download {url} to {cands[0]}; or point GRAPHPFM_DATA (or root= / '
            f'--root) at a directory that holds {cands[0].relative_to(data_root(root))}.')


def download_npz(name: str, root: str | os.PathLike | None = None,
                 timeout: float = DEFAULT_TIMEOUT) -> Path:
    r"""Download the raw ``.npz`` of ``name`` from PyG's source into
    ``<root>/<family>/<Sub>/raw`` (when the data root is writable) or the cache. Never prompts.

    Raises:
        DatasetNotFoundError: on any network error.
    """
    family, sub, file = NPZ_DATASETS[name]
    dest = _download_raw_dir(Path(family) / sub / 'raw', root) / file
    try:
        download_file(NPZ_URL + file, dest, timeout=timeout, max_bytes=AUTO_DOWNLOAD_MAX_BYTES)
    except Exception as exc:
        raise DatasetNotFoundError(_npz_message(
            name, root, f'download from {NPZ_URL + file} failed: {type(exc).__name__}: {exc}')
        ) from exc
    return dest


def _read_npz(path: Path) -> Data:
    from torch_geometric.io import read_npz

    d = read_npz(str(path), to_undirected=True)
    return Data(x=d.x.float(), edge_index=d.edge_index.long(), y=labels_to_long(d.y),
                num_nodes=int(d.x.size(0)))


def load_pyg_npz(name: str, root: str | os.PathLike | None = None, *,
                 download: bool | None = None, limit: int | None = None, split_seed: int = 0,
                 frac: Sequence[float] = NPZ_SPLIT_FRAC, progress: bool = True,
                 timeout: float = DEFAULT_TIMEOUT) -> DatasetBundle:
    r"""Load ``'Amazon-Computers'``, ``'Amazon-Photo'``, ``'Coauthor-CS'`` or
    ``'Coauthor-Physics'`` as a ``level='node'`` :class:`DatasetBundle`.

    The graph is PyG's :func:`~torch_geometric.io.read_npz` output (binary ``x`` float,
    undirected ``edge_index`` without self-loops, ``y`` long ``[N]``). These datasets ship no
    split: ``split_idx`` is a random node split with fractions ``frac`` drawn from
    ``torch.Generator().manual_seed(split_seed)`` (:func:`~graphpfm.datasets.random_split`;
    indices sorted), recorded in ``meta['split_seed']``. ``num_tasks`` is the number of
    classes (``y.max() + 1``); ``eval_metric`` is ``'acc'``.

    Args:
        name (str): one of :data:`NPZ_DATASETS`.
        root (str or Path, optional): the data root; the file is expected at
            ``<root>/amazon/Computers/raw/amazon_electronics_computers.npz`` etc. (see
            :func:`npz_candidate_paths`). (default: :obj:`None`)
        download (bool, optional): fetch an absent file from PyG's source; :obj:`None` means
            yes. (default: :obj:`None`)
        limit (int, optional): keep only the subgraph induced by the first ``limit`` nodes
            (the split is drawn on the whole graph, then filtered). (default: :obj:`None`)
        split_seed (int, optional): seed of the random split. (default: :obj:`0`)
        frac (tuple of float, optional): train/valid/test fractions.
            (default: ``(0.1, 0.1, 0.8)``)
        progress (bool, optional): unused. (default: :obj:`True`)
        timeout (float, optional): network timeout in seconds. (default: :obj:`10.0`)

    Raises:
        DatasetNotFoundError: the file is absent and could not be downloaded.
    """
    del progress
    _check_name(name, list(NPZ_DATASETS))
    path = find_npz(name, root)
    if path is None:
        if download is False:
            raise DatasetNotFoundError(_npz_message(name, root, 'download=False'))
        path = download_npz(name, root, timeout=timeout)
    data, cache_path, from_cache = _cached_data(name, [path], lambda: _read_npz(path))
    split_idx = {k: v.sort().values
                 for k, v in random_split(int(data.num_nodes), frac, split_seed).items()}
    meta = {'source': str(path), 'cache_path': str(cache_path), 'from_cache': from_cache,
            'split': 'random {:g}/{:g}/{:g} per node'.format(*(100 * f for f in frac)),
            'split_seed': int(split_seed), 'split_frac': [float(f) for f in frac],
            'url': NPZ_URL + NPZ_DATASETS[name][2], 'num_classes': int(data.y.max()) + 1}
    return node_bundle(name, data, split_idx, task_type='multiclass classification',
                       num_tasks=meta['num_classes'], eval_metric='acc', meta=meta, limit=limit)
