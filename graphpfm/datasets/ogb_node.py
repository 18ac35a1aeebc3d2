r"""OGB node-property datasets (``ogbn-*``) read straight from OGB's on-disk files.

Implements the node-property loaders of the `Open Graph Benchmark
<https://arxiv.org/abs/2005.00687>`_ without ogb's dataset classes (which prompt with
``input()``, write ``processed/`` next to the raw files and ``torch.load`` pickles): the raw
files are read with vectorised pandas/numpy code into one
:class:`~torch_geometric.data.Data`, exactly as :func:`ogb.io.read_graph_raw.read_csv_graph_raw`
(or its binary and heterogeneous variants) would build it, and cached as plain tensors under
``cache_dir('ogb')``. All metadata (task type, number of classes or tasks, metric, split,
``add_inverse_edge``, url, ...) comes from ogb's own ``nodeproppred/master.csv``.

Per dataset:

* **ogbn-arxiv, ogbn-products**: OGB's CSV layout. Edges are kept as OGB stores and loads them:
  ``add_inverse_edge`` is :obj:`False` for ogbn-arxiv, so its citation graph stays *directed*
  (1,166,243 edges); pass ``to_undirected=True`` to symmetrise it as most published baselines
  do (``torch_geometric.transforms.ToUndirected``).
* **ogbn-proteins**: no node features; ``x`` is the mean of the 8 features of each node's
  incident edges, as OGB's own examples build it (``adj_t.mean(dim=1)``); the edge features stay
  in ``edge_attr`` and the species in ``node_species``. Labels are 112 binary tasks
  (``y`` float ``[N, 112]``).
* **ogbn-mag**: heterogeneous; only its homogeneous *paper* part is loaded: paper features,
  the ``paper -> cites -> paper`` edges (directed, as stored), paper labels and the paper split.
* **ogbn-papers100M**: OGB's binary layout (``raw/data.npz``, ``raw/node-label.npz``), read
  with :func:`numpy.load` (no pickles); unlabelled papers get label ``-1``.
"""
from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Data

from .bundle import DatasetBundle
from .cache import cache_file, file_fingerprint, load_tensors, save_tensors
from .download import AUTO_DOWNLOAD_MAX_BYTES, DEFAULT_TIMEOUT
from .errors import DatasetNotFoundError
from .node_common import (
    SPLIT_NAMES,
    check_split,
    data_to_tensors,
    labels_to_long,
    node_bundle,
    tensors_to_data,
)
from .ogb_graph import (
    _as_ogb_dtype,
    _read_csv,
    candidate_dirs,
    fetch_ogb_archive,
    first_dir_with,
    ogb_dir_name,
    ogb_download_dest,
    read_split,
)

log = logging.getLogger(__name__)

#: Bump when the reader's output changes, to invalidate old caches.
READER_VERSION = 1
#: For heterogeneous datasets: the (head, relation, tail) whose homogeneous part is loaded.
HOMOGENEOUS_PART = {'ogbn-mag': ('paper', 'cites', 'paper')}


# ---------------------------------------------------------------------------- metadata
@functools.lru_cache(maxsize=1)
def _master() -> pd.DataFrame:
    import ogb.nodeproppred
    path = Path(ogb.nodeproppred.__file__).parent / 'master.csv'
    return pd.read_csv(path, index_col=0, keep_default_na=False)


def ogb_node_names() -> list[str]:
    """Names of ogb's node-property datasets (the columns of ``nodeproppred/master.csv``)."""
    return [str(name) for name in _master().columns]


def ogb_node_info(name: str) -> dict[str, str]:
    r"""The column of ogb's ``nodeproppred/master.csv`` for dataset ``name`` (strings).

    Raises:
        KeyError: ``name`` is not an OGB node-property dataset (the message lists the valid
            names).
    """
    names = ogb_node_names()
    if name not in names:
        raise KeyError(f"'{name}' is not an OGB node-property dataset. Valid options: "
                       f"{', '.join(names)}")
    return {str(k): str(v) for k, v in _master()[name].items()}


def _flag(info: dict[str, str], key: str) -> bool:
    return info[key] == 'True'


def _file_list(info: dict[str, str], key: str) -> list[str]:
    value = info[key]
    return [] if value in ('None', '') else value.split(',')


def _hetero_part(name: str) -> tuple[str, str, str]:
    if name not in HOMOGENEOUS_PART:
        raise NotImplementedError(
            f"'{name}' is heterogeneous and no homogeneous part is defined for it; supported "
            f"heterogeneous datasets: {', '.join(HOMOGENEOUS_PART)}")
    return HOMOGENEOUS_PART[name]


# ---------------------------------------------------------------------------- locating files
def _split_dir(name: str, info: dict[str, str]) -> str:
    split = f"split/{info['split']}"
    return f'{split}/{_hetero_part(name)[0]}' if _flag(info, 'is hetero') else split


def node_required_files(name: str) -> list[str]:
    """The files (relative to the dataset folder) that :func:`load_ogb_node` reads."""
    info = ogb_node_info(name)
    if _flag(info, 'is hetero'):
        head, rel, tail = _hetero_part(name)
        rdir = f'raw/relations/{head}___{rel}___{tail}'
        files = ['raw/num-node-dict.csv.gz', f'{rdir}/edge.csv.gz',
                 f'{rdir}/num-edge-list.csv.gz', f'raw/node-feat/{head}/node-feat.csv.gz',
                 f'raw/node-label/{head}/node-label.csv.gz']
    elif _flag(info, 'binary'):
        files = ['raw/data.npz', 'raw/node-label.npz']
    else:
        files = ['raw/edge.csv.gz', 'raw/num-node-list.csv.gz', 'raw/num-edge-list.csv.gz',
                 'raw/node-label.csv.gz']
        if _flag(info, 'has_node_attr'):
            files.append('raw/node-feat.csv.gz')
        if _flag(info, 'has_edge_attr'):
            files.append('raw/edge-feat.csv.gz')
    return files + [f'{_split_dir(name, info)}/{s}.csv.gz' for s in SPLIT_NAMES]


def find_ogb_node_dir(name: str, root: str | os.PathLike | None = None) -> Path | None:
    """The first folder holding all files of dataset ``name``, or :obj:`None`. Searches the
    same places as :func:`~graphpfm.datasets.ogb_graph.candidate_dirs`: ``<root>/ogb/<dir>``,
    ``<root>/<dir>``, ``<root>/<name>`` and earlier downloads in the cache folder."""
    return first_dir_with(name, root, node_required_files(name))


def _not_found_message(name: str, root: str | os.PathLike | None, reason: str) -> str:
    info = ogb_node_info(name)
    cands = candidate_dirs(name, root)
    return (
        f"OGB dataset '{name}' not found ({reason}). Searched:\n"
        + ''.join(f'  {c}\n' for c in cands)
        + f"Expected inside the dataset folder: {', '.join(node_required_files(name))}.\n"
        f"To fix: download {info['url']}, unzip it and move its folder "
        f"'{info['download_name']}' to {cands[0]}; or point GRAPHPFM_DATA (or root= / "
        f"--root) at a directory that holds ogb/{ogb_dir_name(name)}; or allow the download "
        "(download=True also fetches archives above 1 GiB)."
    )


def download_ogb_node(name: str, root: str | os.PathLike | None = None,
                      timeout: float = DEFAULT_TIMEOUT, max_bytes: int | None = None) -> Path:
    r"""Download dataset ``name`` from OGB's url into ``<root>/ogb/<dir>`` (when the data root
    is writable) or else into the cache directory. Never prompts.

    Args:
        name (str): an OGB node-property dataset name.
        root (str or Path, optional): the data root. (default: :obj:`None`)
        timeout (float, optional): network timeout in seconds. (default: :obj:`10.0`)
        max_bytes (int, optional): refuse larger archives. (default: :obj:`None`)

    Raises:
        DatasetNotFoundError: on any network or archive error (the message says how to place
            the files by hand).
    """
    info = ogb_node_info(name)
    try:
        dest = fetch_ogb_archive(info, ogb_download_dest(name, root), timeout=timeout,
                                 max_bytes=max_bytes)
    except Exception as exc:
        raise DatasetNotFoundError(_not_found_message(
            name, root, f'download from {info["url"]} failed: {type(exc).__name__}: {exc}')
        ) from exc
    log.info('downloaded %s to %s', name, dest)
    return dest


# ---------------------------------------------------------------------------- reading
def _tensor(a: np.ndarray) -> torch.Tensor:
    """``a`` as a tensor of OGB's dtype (int64 or float32); ``astype`` copies, so the
    (possibly read-only, pandas 3) input is never shared."""
    return torch.from_numpy(_as_ogb_dtype(a))


def _inverse(edge: np.ndarray) -> np.ndarray:
    """OGB's ``add_inverse_edge``: raw edge ``(u, v)`` becomes the adjacent pair ``(u, v),
    (v, u)``."""
    both = np.empty((2, 2 * edge.shape[1]), dtype=np.int64)
    both[:, 0::2] = edge
    both[0, 1::2] = edge[1]
    both[1, 1::2] = edge[0]
    return both


def _one_graph(counts: np.ndarray, what: str, where: Path) -> int:
    if counts.size != 1:
        raise ValueError(f'{where}: a node-property dataset holds one graph, but {what} has '
                         f'{counts.size} rows')
    return int(counts.reshape(-1)[0])


def _read_edges(folder: Path, add_inverse_edge: bool) -> tuple[np.ndarray, np.ndarray | None]:
    edge = _read_csv(folder / 'edge.csv.gz').T.astype(np.int64)
    num_edges = _one_graph(_read_csv(folder / 'num-edge-list.csv.gz'), 'num-edge-list', folder)
    if num_edges != edge.shape[1]:
        raise ValueError(f'{folder}: num-edge-list says {num_edges} edges but edge.csv.gz has '
                         f'{edge.shape[1]} rows')
    edge_feat = None
    if (folder / 'edge-feat.csv.gz').is_file():
        edge_feat = _as_ogb_dtype(_read_csv(folder / 'edge-feat.csv.gz'))
        if edge_feat.shape[0] != edge.shape[1]:
            raise ValueError(f'{folder}: edge-feat.csv.gz has {edge_feat.shape[0]} rows for '
                             f'{edge.shape[1]} edges')
    if add_inverse_edge:
        edge = _inverse(edge)
        if edge_feat is not None:
            edge_feat = np.repeat(edge_feat, 2, axis=0)
    return edge, edge_feat


def _node_file(folder: Path, stem: str) -> Path | None:
    path = folder / f'{stem}.csv.gz'
    if stem == 'node_species' and not path.is_file():  # ogb's own fallback name
        path = folder / 'species.csv.gz'
    return path if path.is_file() else None


def _read_csv_layout(raw: Path, info: dict[str, str]) -> tuple[dict[str, Any], np.ndarray]:
    edge, edge_feat = _read_edges(raw, _flag(info, 'add_inverse_edge'))
    n = _one_graph(_read_csv(raw / 'num-node-list.csv.gz'), 'num-node-list', raw)
    out: dict[str, Any] = {'num_nodes': n, 'edge_index': torch.from_numpy(edge)}
    if (raw / 'node-feat.csv.gz').is_file():
        out['x'] = _tensor(_read_csv(raw / 'node-feat.csv.gz'))
    if edge_feat is not None:
        out['edge_attr'] = torch.from_numpy(edge_feat)
    for stem in _file_list(info, 'additional node files'):
        path = _node_file(raw, stem)
        if path is not None:
            out[stem] = _tensor(_read_csv(path))
    return out, _read_csv(raw / 'node-label.csv.gz')


def _read_binary_layout(raw: Path, info: dict[str, str]) -> tuple[dict[str, Any], np.ndarray]:
    if _flag(info, 'add_inverse_edge'):  # ogb's read_binary_graph_raw refuses it too
        raise ValueError(f'{raw}: add_inverse_edge is not supported for binary OGB datasets')
    with np.load(raw / 'data.npz') as f:
        n = _one_graph(np.asarray(f['num_nodes_list']), 'num_nodes_list', raw)
        num_edges = _one_graph(np.asarray(f['num_edges_list']), 'num_edges_list', raw)
        out: dict[str, Any] = {'num_nodes': n,
                               'edge_index': torch.from_numpy(f['edge_index'].astype(np.int64))}
        if out['edge_index'].size(1) != num_edges:
            raise ValueError(f'{raw}/data.npz: num_edges_list says {num_edges} edges but '
                             f"edge_index has {out['edge_index'].size(1)}")
        for key in f.files:
            if key == 'node_feat':
                out['x'] = _tensor(f[key])
            elif key == 'edge_feat':
                out['edge_attr'] = _tensor(f[key])
            elif key.startswith('node_'):
                out[key] = _tensor(f[key])
    with np.load(raw / 'node-label.npz') as f:
        labels = np.array(f['node_label'])
    return out, labels


def _read_hetero_part(raw: Path, info: dict[str, str], name: str
                      ) -> tuple[dict[str, Any], np.ndarray]:
    head, rel, tail = _hetero_part(name)
    counts = pd.read_csv(raw / 'num-node-dict.csv.gz')
    if head not in counts.columns:
        raise ValueError(f"{raw}/num-node-dict.csv.gz has no node type '{head}'; it has "
                         f"{', '.join(map(str, counts.columns))}")
    n = _one_graph(counts[head].to_numpy(), f'num-node-dict[{head}]', raw)
    edge, edge_feat = _read_edges(raw / 'relations' / f'{head}___{rel}___{tail}',
                                  _flag(info, 'add_inverse_edge'))
    feat_dir = raw / 'node-feat' / head
    out: dict[str, Any] = {'num_nodes': n, 'edge_index': torch.from_numpy(edge),
                           'x': _tensor(_read_csv(feat_dir / 'node-feat.csv.gz'))}
    if edge_feat is not None:
        out['edge_attr'] = torch.from_numpy(edge_feat)
    for stem in _file_list(info, 'additional node files'):
        path = _node_file(feat_dir, stem)
        if path is not None:
            out[stem] = _tensor(_read_csv(path))
    return out, _read_csv(raw / 'node-label' / head / 'node-label.csv.gz')


def read_ogb_node_raw(folder: str | os.PathLike, name: str) -> Data:
    r"""Read the raw files of OGB node-property dataset ``name`` in ``folder`` (the dataset
    folder holding ``raw/``) into one :class:`~torch_geometric.data.Data`.

    ``edge_index`` equals ogb's ``graph['edge_index']`` (``add_inverse_edge`` from master.csv,
    inverse edges interleaved as ogb does); ``x`` is ``graph['node_feat']`` as float32 (for
    ogbn-proteins, the mean of incident edge features); additional node files (``node_year``,
    ``node_species``) keep ogb's shape ``[N, 1]``; ``y`` is ``long [N]`` (missing = ``-1``) for
    multiclass datasets and ``float [N, num_tasks]`` for binary ones. For heterogeneous
    datasets only the homogeneous part in :data:`HOMOGENEOUS_PART` is read.
    """
    from torch_geometric.utils import scatter

    info = ogb_node_info(name)
    raw = Path(folder) / 'raw'
    if _flag(info, 'is hetero'):
        if _flag(info, 'binary'):
            raise NotImplementedError(f'{name}: binary heterogeneous OGB files are not '
                                      'supported')
        out, labels = _read_hetero_part(raw, info, name)
    elif _flag(info, 'binary'):
        out, labels = _read_binary_layout(raw, info)
    else:
        out, labels = _read_csv_layout(raw, info)
    n = out['num_nodes']
    ei = out['edge_index']
    if ei.numel() and (int(ei.min()) < 0 or int(ei.max()) >= n):
        raise ValueError(f'{raw}: edge indices outside [0, {n})')
    if 'x' not in out:  # ogbn-proteins: mean of incident edge features (OGB's examples)
        if 'edge_attr' not in out:
            raise ValueError(f'{raw}: neither node nor edge features to build x from')
        out['x'] = scatter(out['edge_attr'].float(), ei[1], dim=0, dim_size=n, reduce='mean')
    out['x'] = out['x'].float()
    if out['x'].size(0) != n:
        raise ValueError(f"{raw}: {out['x'].size(0)} feature rows for {n} nodes")
    if labels.shape[0] != n:
        raise ValueError(f'{raw}: {labels.shape[0]} label rows for {n} nodes')
    if info['task type'] == 'multiclass classification':
        if labels.ndim == 2 and labels.shape[1] != 1:
            raise ValueError(f'{raw}: {labels.shape[1]} label columns for a multiclass task')
        out['y'] = labels_to_long(labels)
    else:
        out['y'] = torch.from_numpy(labels.astype(np.float32).reshape(n, -1))
    return tensors_to_data(out)


# ---------------------------------------------------------------------------- public loader
def _raw_fingerprint(folder: Path) -> list[dict[str, Any]]:
    return [file_fingerprint(p) for p in sorted((folder / 'raw').rglob('*')) if p.is_file()]


def load_ogb_node(name: str, root: str | os.PathLike | None = None, *,
                  download: bool | None = None, limit: int | None = None,
                  to_undirected: bool = False, progress: bool = True,
                  timeout: float = DEFAULT_TIMEOUT) -> DatasetBundle:
    r"""Load an OGB node-property dataset (e.g. ``'ogbn-arxiv'``) from OGB's files as a
    ``level='node'`` :class:`DatasetBundle` holding one :class:`~torch_geometric.data.Data`.

    Searches ``<root>/ogb/<dir>``, ``<root>/<dir>`` (``<dir>`` = ``name`` with ``-`` replaced
    by ``_``, e.g. ``ogbn_arxiv``), ``<root>/<name>`` and earlier downloads in the cache folder,
    where ``root`` resolves as in :func:`graphpfm.paths.data_root`. Expected files: see
    :func:`node_required_files`. The processed graph is cached under ``cache_dir('ogb')`` (the
    data root is only read), keyed by the raw files' paths, sizes and modification times.

    The bundle: ``dataset.x`` float ``[N, F]``, ``dataset.edge_index`` long ``[2, E]``,
    ``dataset.y`` (see :func:`read_ogb_node_raw`), ``split_idx`` from OGB's split files,
    ``task_type`` and ``eval_metric`` from master.csv, ``num_tasks`` = the number of classes
    (multiclass) or of binary tasks.

    Args:
        name (str): an OGB node-property dataset name (see :func:`ogb_node_names`).
        root (str or Path, optional): the data root. (default: :obj:`None`)
        download (bool, optional): try OGB's url when the files are absent; :obj:`None` means
            yes for archives up to 1 GiB, :obj:`True` for any size. (default: :obj:`None`)
        limit (int, optional): keep only the subgraph induced by the first ``limit`` nodes
            (splits are filtered to them). (default: :obj:`None`)
        to_undirected (bool, optional): symmetrise the edges
            (:func:`torch_geometric.utils.to_undirected`, coalesced; edge features of merged
            duplicates averaged). OGB's own loaders leave ogbn-arxiv, ogbn-mag and
            ogbn-papers100M directed. (default: :obj:`False`)
        progress (bool, optional): unused (reading is vectorised). (default: :obj:`True`)
        timeout (float, optional): network timeout in seconds. (default: :obj:`10.0`)

    Raises:
        KeyError: unknown name (the message lists the valid names).
        DatasetNotFoundError: the files are absent and could not be downloaded.
    """
    del progress
    info = ogb_node_info(name)
    folder = find_ogb_node_dir(name, root)
    if folder is None:
        if download is False:
            raise DatasetNotFoundError(_not_found_message(name, root, 'download=False'))
        max_bytes = None if download else AUTO_DOWNLOAD_MAX_BYTES
        folder = download_ogb_node(name, root, timeout=timeout, max_bytes=max_bytes)
        if find_ogb_node_dir(name, root) is None:
            raise DatasetNotFoundError(_not_found_message(
                name, root, f'the downloaded archive lacks files (in {folder})'))
    key = {'reader': READER_VERSION, 'name': name, 'files': _raw_fingerprint(folder),
           'add_inverse_edge': _flag(info, 'add_inverse_edge')}
    path = cache_file('ogb', ogb_dir_name(name), key)
    cached = load_tensors(path)
    if cached is not None:
        data = tensors_to_data(cached[0])
        log.info('loaded %s from cache %s', name, path)
    else:
        data = read_ogb_node_raw(folder, name)
        save_tensors(path, data_to_tensors(data))
        log.info('processed %s (%d nodes) into cache %s', name, data.num_nodes, path)
    if to_undirected:
        from torch_geometric.utils import to_undirected as _to_undirected
        if data.edge_attr is not None:
            data.edge_index, data.edge_attr = _to_undirected(
                data.edge_index, data.edge_attr, num_nodes=data.num_nodes, reduce='mean')
        else:
            data.edge_index = _to_undirected(data.edge_index, num_nodes=data.num_nodes)
    n = int(data.num_nodes)
    split_idx = read_split(folder / _split_dir(name, info), n)
    check_split(split_idx, n, str(folder))
    multiclass = info['task type'] == 'multiclass classification'
    num_tasks = int(info['num classes'] if multiclass else info['num tasks'])
    if multiclass and data.y.numel() and int(data.y.max()) >= num_tasks:
        raise ValueError(f"{folder}: label {int(data.y.max())} but ogb's master.csv says "
                         f'{name} has {num_tasks} classes')
    if not multiclass and data.y.size(1) != num_tasks:
        raise ValueError(f"{folder}: {data.y.size(1)} label columns but ogb's master.csv says "
                         f'{name} has {num_tasks} tasks')
    meta: dict[str, Any] = {
        'source': str(folder), 'cache_path': str(path), 'from_cache': cached is not None,
        'split': f"{info['split']} (OGB split files)", 'split_seed': None, 'url': info['url'],
        'version': int(info['version']),
        'release_file': (folder / f"RELEASE_v{info['version']}.txt").is_file(),
        'add_inverse_edge': _flag(info, 'add_inverse_edge'), 'to_undirected': bool(to_undirected),
        'num_classes': int(info['num classes']) if multiclass else None,
    }
    if _flag(info, 'is hetero'):
        meta['homogeneous_part'] = '___'.join(_hetero_part(name))
    if not _flag(info, 'has_node_attr'):
        meta['x'] = 'mean of incident edge features'
    return node_bundle(name, data, split_idx, task_type=info['task type'], num_tasks=num_tasks,
                       eval_metric=info['eval metric'], meta=meta, limit=limit)
