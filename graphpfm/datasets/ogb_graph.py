r"""OGB graph-property molecule datasets read straight from OGB's on-disk files.

Implements the loaders of the `Open Graph Benchmark <https://arxiv.org/abs/2005.00687>`_
(``ogbg-mol*``) without ogb's dataset classes: the raw CSV files are read with vectorised
pandas/numpy code into a :class:`~graphpfm.data.GraphStore`, exactly as
:func:`ogb.io.read_graph_raw.read_csv_graph_raw` would build them, and cached as plain tensors.
All metadata (number of tasks, task type, metric, url, ...) comes from ogb's own
``graphproppred/master.csv``.
"""
from __future__ import annotations

import functools
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..data.store import GraphStore, compact
from ..paths import cache_dir, data_root
from .bundle import DatasetBundle
from .cache import cache_file, file_fingerprint, load_cached, save_cached
from .download import DEFAULT_TIMEOUT, download_zip
from .errors import DatasetNotFoundError

log = logging.getLogger(__name__)

#: Bump when the reader's output changes, to invalidate old caches.
READER_VERSION = 1
RAW_FILES = ('edge', 'num-node-list', 'num-edge-list', 'node-feat', 'edge-feat', 'graph-label')
SPLIT_NAMES = ('train', 'valid', 'test')


# ---------------------------------------------------------------------------- metadata
@functools.lru_cache(maxsize=1)
def _master() -> pd.DataFrame:
    import ogb.graphproppred
    path = Path(ogb.graphproppred.__file__).parent / 'master.csv'
    return pd.read_csv(path, index_col=0, keep_default_na=False)


def ogb_mol_names() -> list[str]:
    """Names of ogb's graph-property datasets whose ``data type`` is ``'mol'`` (from master.csv)."""
    master = _master()
    return [name for name in master.columns if master[name]['data type'] == 'mol']


def ogb_info(name: str) -> dict[str, str]:
    r"""The column of ogb's ``graphproppred/master.csv`` for dataset ``name`` (strings).

    Raises:
        KeyError: ``name`` is not an OGB molecule dataset (the message lists the valid names).
    """
    names = ogb_mol_names()
    if name not in names:
        raise KeyError(f"'{name}' is not an OGB molecule dataset. Valid options: "
                       f"{', '.join(names)}")
    return {str(k): str(v) for k, v in _master()[name].items()}


def ogb_dir_name(name: str) -> str:
    """OGB's folder name for ``name``: ``'ogbg-molhiv'`` -> ``'ogbg_molhiv'``."""
    return name.replace('-', '_')


# ---------------------------------------------------------------------------- locating files
def _required_files(info: dict[str, str]) -> list[str]:
    files = ['raw/edge.csv.gz', 'raw/num-node-list.csv.gz', 'raw/num-edge-list.csv.gz',
             'raw/graph-label.csv.gz']
    if info['has_node_attr'] == 'True':
        files.append('raw/node-feat.csv.gz')
    if info['has_edge_attr'] == 'True':
        files.append('raw/edge-feat.csv.gz')
    files += [f"split/{info['split']}/{s}.csv.gz" for s in SPLIT_NAMES]
    return files


def _download_dir() -> Path:
    return cache_dir('ogb') / 'downloads'


def candidate_dirs(name: str, root: str | os.PathLike | None = None) -> list[Path]:
    """Every folder searched for dataset ``name``, in order of preference."""
    base = data_root(root)
    d = ogb_dir_name(name)
    return [base / 'ogb' / d, base / d, base / name, _download_dir() / d]


def first_dir_with(name: str, root: str | os.PathLike | None, files: list[str]) -> Path | None:
    """The first of :func:`candidate_dirs` holding every one of ``files``, or :obj:`None`."""
    for cand in candidate_dirs(name, root):
        if all((cand / f).is_file() for f in files):
            return cand
    return None


def find_ogb_dir(name: str, root: str | os.PathLike | None = None) -> Path | None:
    """The first folder holding all files of dataset ``name``, or :obj:`None`."""
    return first_dir_with(name, root, _required_files(ogb_info(name)))


def _not_found_message(name: str, root: str | os.PathLike | None, reason: str) -> str:
    info = ogb_info(name)
    cands = candidate_dirs(name, root)
    return (
        f"OGB dataset '{name}' not found ({reason}). Searched:\n"
        + ''.join(f'  {c}\n' for c in cands)
        + f"Expected inside the dataset folder: {', '.join(_required_files(info))} "
        "(and mapping/mol.csv.gz for the SMILES).\n"
        f"To fix: download {info['url']}, unzip it and move its folder "
        f"'{info['download_name']}' to {cands[0]}; or point GRAPHPFM_DATA (or root= / "
        f"--root) at a directory that holds ogb/{ogb_dir_name(name)}."
    )


def _writable_root(base: Path) -> Path | None:
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return base if os.access(base, os.W_OK) else None


def ogb_download_dest(name: str, root: str | os.PathLike | None = None) -> Path:
    """Where a download of OGB dataset ``name`` goes: ``<root>/ogb/<dir>`` when the data root
    is writable, else the cache directory (which :func:`candidate_dirs` also searches)."""
    base = _writable_root(data_root(root))
    return (base / 'ogb' if base is not None else _download_dir()) / ogb_dir_name(name)


def fetch_ogb_archive(info: dict[str, str], dest: Path, timeout: float = DEFAULT_TIMEOUT,
                      max_bytes: int | None = None) -> Path:
    r"""Download ``info['url']`` (a column of an ogb ``master.csv``) and move the archive's
    folder ``info['download_name']`` to ``dest``. Never prompts; errors propagate."""
    extracted = download_zip(info['url'], dest.parent, timeout=timeout, max_bytes=max_bytes)
    try:
        src = extracted / info['download_name']
        if not src.is_dir():
            raise OSError(f"archive has no folder '{info['download_name']}'")
        if dest.exists():
            shutil.rmtree(dest)
        shutil.move(str(src), str(dest))
    finally:
        shutil.rmtree(extracted, ignore_errors=True)
    return dest


def download_ogb(name: str, root: str | os.PathLike | None = None,
                 timeout: float = DEFAULT_TIMEOUT) -> Path:
    r"""Download dataset ``name`` from OGB's url into ``<root>/ogb/<dir>`` (when the data root
    is writable) or else into the cache directory. Never prompts.

    Raises:
        DatasetNotFoundError: on any network or archive error (the message says how to place
            the files by hand).
    """
    info = ogb_info(name)
    try:
        dest = fetch_ogb_archive(info, ogb_download_dest(name, root), timeout=timeout)
    except Exception as exc:
        raise DatasetNotFoundError(_not_found_message(
            name, root, f'download from {info["url"]} failed: {type(exc).__name__}: {exc}')
        ) from exc
    log.info('downloaded %s to %s', name, dest)
    return dest


# ---------------------------------------------------------------------------- reading
def _read_csv(path: Path) -> np.ndarray:
    return pd.read_csv(path, header=None).to_numpy()


def _as_ogb_dtype(a: np.ndarray) -> np.ndarray:
    # the same rule as ogb.io.read_graph_raw: integers -> int64, anything else -> float32
    return a.astype(np.int64) if 'int' in str(a.dtype) else a.astype(np.float32)


def read_ogb_raw(raw_dir: str | os.PathLike, add_inverse_edge: bool = True,
                 meta: dict[str, Any] | None = None) -> GraphStore:
    r"""Read OGB's raw CSV files of a graph-property dataset into a
    :class:`~graphpfm.data.GraphStore`, without a loop over graphs.

    The result equals :func:`ogb.io.read_graph_raw.read_csv_graph_raw` graph by graph: with
    :obj:`add_inverse_edge`, every raw edge ``(u, v)`` becomes the adjacent pair ``(u, v),
    (v, u)`` with its features repeated. Labels (``graph-label.csv.gz``) become ``y`` as
    ``float32 [num_graphs, num_tasks]`` with NaN for missing values.

    Args:
        raw_dir (str or Path): the dataset's ``raw`` folder.
        add_inverse_edge (bool, optional): add the reverse of every edge. (default: :obj:`True`)
        meta (dict, optional): metadata kept with the store. (default: :obj:`None`)
    """
    raw_dir = Path(raw_dir)
    edge = _read_csv(raw_dir / 'edge.csv.gz').T.astype(np.int64)  # [2, E]
    num_nodes = _read_csv(raw_dir / 'num-node-list.csv.gz')[:, 0].astype(np.int64)
    num_edges = _read_csv(raw_dir / 'num-edge-list.csv.gz')[:, 0].astype(np.int64)
    node_feat = edge_feat = None
    if (raw_dir / 'node-feat.csv.gz').is_file():
        node_feat = _as_ogb_dtype(_read_csv(raw_dir / 'node-feat.csv.gz'))
    if (raw_dir / 'edge-feat.csv.gz').is_file():
        edge_feat = _as_ogb_dtype(_read_csv(raw_dir / 'edge-feat.csv.gz'))

    if num_nodes.shape != num_edges.shape:
        raise ValueError(f'{raw_dir}: {num_nodes.size} node counts but {num_edges.size} '
                         'edge counts')
    if int(num_edges.sum()) != edge.shape[1]:
        raise ValueError(f'{raw_dir}: edge counts sum to {int(num_edges.sum())} but edge.csv.gz '
                         f'has {edge.shape[1]} rows')
    if node_feat is not None and int(num_nodes.sum()) != node_feat.shape[0]:
        raise ValueError(f'{raw_dir}: node counts sum to {int(num_nodes.sum())} but '
                         f'node-feat.csv.gz has {node_feat.shape[0]} rows')
    if edge_feat is not None and edge_feat.shape[0] != edge.shape[1]:
        raise ValueError(f'{raw_dir}: edge-feat.csv.gz has {edge_feat.shape[0]} rows for '
                         f'{edge.shape[1]} edges')

    if add_inverse_edge:
        # edges of a graph are contiguous, so interleaving keeps them grouped by graph
        both = np.empty((2, 2 * edge.shape[1]), dtype=np.int64)
        both[:, 0::2] = edge
        both[0, 1::2] = edge[1]
        both[1, 1::2] = edge[0]
        edge = both
        num_edges = 2 * num_edges
        if edge_feat is not None:
            edge_feat = np.repeat(edge_feat, 2, axis=0)

    y = None
    if (raw_dir / 'graph-label.csv.gz').is_file():
        y = torch.from_numpy(_read_csv(raw_dir / 'graph-label.csv.gz').astype(np.float32))
        if y.size(0) != num_nodes.size:
            raise ValueError(f'{raw_dir}: {y.size(0)} label rows for {num_nodes.size} graphs')

    zero = torch.zeros(1, dtype=torch.long)
    node_ptr = torch.cat([zero, torch.from_numpy(num_nodes).cumsum(0)])
    edge_ptr = torch.cat([zero, torch.from_numpy(num_edges).cumsum(0)])
    if node_feat is None:  # featureless graphs: an empty feature matrix of the right height
        node_feat = np.zeros((int(node_ptr[-1]), 0), dtype=np.int64)
    x = torch.from_numpy(node_feat)
    ea = None if edge_feat is None else torch.from_numpy(edge_feat)
    return GraphStore(compact(x), compact(torch.from_numpy(edge)), node_ptr, edge_ptr,
                      compact(ea), y, meta)


def read_split(split_dir: str | os.PathLike, num_graphs: int | None = None
               ) -> dict[str, torch.Tensor]:
    """Read ``{train,valid,test}.csv.gz`` of an OGB split folder as ``LongTensor`` s."""
    split_dir = Path(split_dir)
    out = {}
    for s in SPLIT_NAMES:
        idx = torch.from_numpy(_read_csv(split_dir / f'{s}.csv.gz')[:, 0].astype(np.int64))
        if num_graphs is not None and idx.numel() and (idx.min() < 0 or idx.max() >= num_graphs):
            raise ValueError(f'{split_dir}/{s}.csv.gz has indices outside [0, {num_graphs})')
        out[s] = idx
    return out


# ---------------------------------------------------------------------------- public loaders
def _raw_fingerprint(folder: Path) -> list[dict[str, Any]]:
    raw = folder / 'raw'
    return [file_fingerprint(raw / f'{f}.csv.gz') for f in RAW_FILES
            if (raw / f'{f}.csv.gz').is_file()]


def load_ogb_graph(name: str, root: str | os.PathLike | None = None, *,
                   download: bool | None = None, limit: int | None = None,
                   progress: bool = True, timeout: float = DEFAULT_TIMEOUT) -> DatasetBundle:
    r"""Load an OGB graph-property molecule dataset (e.g. ``'ogbg-molhiv'``) from OGB's files.

    Searches ``<root>/ogb/<dir>``, ``<root>/<dir>`` (``<dir>`` = ``name`` with ``-`` replaced
    by ``_``), ``<root>/<name>`` and earlier downloads in the cache folder, where ``root``
    resolves as in :func:`graphpfm.paths.data_root`. The processed graphs are cached under
    ``cache_dir('ogb')`` (the data root is only read), keyed by the raw files' paths, sizes and
    modification times.

    Args:
        name (str): an OGB molecule dataset name (see :func:`ogb_mol_names`).
        root (str or Path, optional): the data root. (default: :obj:`None`)
        download (bool, optional): try OGB's url when the files are absent; :obj:`None` means
            :obj:`True`. (default: :obj:`None`)
        limit (int, optional): keep only the first ``limit`` graphs (splits are filtered to
            them). (default: :obj:`None`)
        progress (bool, optional): unused (reading is vectorised); kept for a uniform
            signature. (default: :obj:`True`)
        timeout (float, optional): network timeout in seconds. (default: :obj:`10.0`)

    Raises:
        DatasetNotFoundError: the files are absent and could not be downloaded.
    """
    del progress
    info = ogb_info(name)
    folder = find_ogb_dir(name, root)
    if folder is None:
        if download is False:
            raise DatasetNotFoundError(_not_found_message(name, root, 'download=False'))
        folder = download_ogb(name, root, timeout=timeout)
        if find_ogb_dir(name, root) is None:
            raise DatasetNotFoundError(_not_found_message(
                name, root, f'the downloaded archive lacks files (in {folder})'))
    add_inverse = info['add_inverse_edge'] == 'True'
    key = {'reader': READER_VERSION, 'name': name, 'add_inverse_edge': add_inverse,
           'files': _raw_fingerprint(folder)}
    path = cache_file('ogb', ogb_dir_name(name), key)
    cached = load_cached(path)
    if cached is not None:
        store = cached[0]
        log.info('loaded %s from cache %s', name, path)
    else:
        store = read_ogb_raw(folder / 'raw', add_inverse_edge=add_inverse,
                             meta={'source': str(folder), 'name': name})
        save_cached(path, store)
        log.info('processed %s (%d graphs) into cache %s', name, len(store), path)
    num_tasks = int(info['num tasks'])
    if store.num_tasks != num_tasks:
        raise ValueError(f"{folder}: graph-label.csv.gz has {store.num_tasks} columns but "
                         f"ogb's master.csv says {name} has {num_tasks} tasks")
    split_idx = read_split(folder / 'split' / info['split'], len(store))
    smiles_path = folder / 'mapping' / 'mol.csv.gz'
    meta: dict[str, Any] = {
        'source': str(folder), 'cache_path': str(path), 'from_cache': cached is not None,
        'split': info['split'], 'url': info['url'], 'version': int(info['version']),
        'release_file': (folder / f"RELEASE_v{info['version']}.txt").is_file(),
        'smiles_path': str(smiles_path) if smiles_path.is_file() else None,
        'num_graphs': len(store),
    }
    if limit is not None:
        if limit < 1:
            raise ValueError(f'limit must be a positive number of graphs, got {limit}')
        limit = min(int(limit), len(store))
        store = store.index_select(torch.arange(limit))
        split_idx = {k: v[v < limit] for k, v in split_idx.items()}
        meta['limit'] = limit
    return DatasetBundle(name=name, dataset=store, split_idx=split_idx, level='graph',
                         task_type=info['task type'], num_tasks=num_tasks,
                         eval_metric=info['eval metric'], meta=meta)


def ogb_smiles(name: str, root: str | os.PathLike | None = None) -> list[str]:
    """The SMILES of dataset ``name`` in graph order (``mapping/mol.csv.gz``, ``smiles``
    column), e.g. for leakage checks between a pretraining corpus and a downstream task."""
    folder = find_ogb_dir(name, root)
    path = None if folder is None else folder / 'mapping' / 'mol.csv.gz'
    if path is None or not path.is_file():
        raise DatasetNotFoundError(_not_found_message(
            name, root, 'mapping/mol.csv.gz missing' if folder is not None else 'not on disk'))
    return pd.read_csv(path, usecols=['smiles'], dtype={'smiles': str},
                       keep_default_na=False)['smiles'].tolist()
