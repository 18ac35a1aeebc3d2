r"""Datasets: :func:`load_dataset` returns a :class:`DatasetBundle` for a registered name (OGB
molecule datasets, SMILES corpora, node-classification graphs: OGB ``ogbn-*``, Planetoid,
Amazon, Coauthor) or for a path to a SMILES file; :func:`from_smiles` and :func:`from_graphs`
build one from your own molecules, networkx graphs or PyG ``Data`` objects.

Registered names live in :data:`DATASETS`; each entry is a :class:`DatasetSpec` that knows how
to load the dataset and where to find it on disk.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from ..registry import Registry
from .bundle import DatasetBundle
from .corpora import (
    embedded_smiles_path,
    embedded_tpsa_path,
    load_embedded,
    load_embedded_polar,
    load_embedded_tpsa,
    load_moses,
    load_smiles_corpus,
    moses_path,
)
from .errors import DatasetNotFoundError
from .graphs import (
    GRAPH_FILE_SUFFIXES,
    GraphFormatError,
    collate_graphs,
    from_graphs,
    graph_to_data,
    is_graph,
    is_graph_file,
    read_graphs,
)
from .leakage import (
    DatasetOverlap,
    bundle_smiles,
    dataset_smiles,
    exclude_overlap,
    find_overlap,
    molecule_key,
    overlap_table,
)
from .ogb_graph import find_ogb_dir, load_ogb_graph, ogb_info, ogb_mol_names, ogb_smiles
from .ogb_node import (
    find_ogb_node_dir,
    load_ogb_node,
    node_required_files,
    ogb_node_info,
    ogb_node_names,
)
from .pyg_node import (
    NPZ_DATASETS,
    PLANETOID_NAMES,
    find_npz,
    find_planetoid,
    load_planetoid,
    load_pyg_npz,
)
from .smiles import (
    featurize_smiles,
    from_smiles,
    is_smiles_file,
    load_smiles_file,
    read_smiles_file,
)
from .splits import random_split, scaffold_split
from .targets import TARGET_KINDS, attach_targets, bundle_with_targets, compute_targets


@dataclass(frozen=True)
class DatasetSpec:
    """A registry entry: how to load a dataset and where it lives.

    Attributes:
        name (str): registry name.
        load (callable): ``load(root, *, limit, download, num_workers, progress, **options)``
            -> :class:`DatasetBundle`; ``options`` are the family's extra loader arguments
            (``to_undirected`` for OGB node datasets, ``split_seed`` and ``frac`` for Amazon
            and Coauthor), all with defaults.
        locate (callable): ``locate(root)`` -> the path of the files, or :obj:`None` if absent.
    """

    name: str
    load: Callable[..., DatasetBundle]
    locate: Callable[[str | os.PathLike | None], Path | None]


DATASETS: Registry[DatasetSpec] = Registry('dataset')


def _existing(path: Path) -> Path | None:
    return path if path.exists() else None


def _register(spec: DatasetSpec) -> None:
    DATASETS.register(spec.name)(spec)


def _load_ogb(name: str, root=None, *, limit=None, download=None, num_workers=None,
              progress=True) -> DatasetBundle:
    del num_workers
    return load_ogb_graph(name, root, download=download, limit=limit, progress=progress)


_register(DatasetSpec('embedded', load_embedded,
                      lambda root: _existing(embedded_smiles_path())))
_register(DatasetSpec('embedded-tpsa', load_embedded_tpsa,
                      lambda root: _existing(embedded_tpsa_path())))
_register(DatasetSpec('embedded-polar', load_embedded_polar,
                      lambda root: _existing(embedded_tpsa_path())))
_register(DatasetSpec('moses', load_moses, lambda root: _existing(moses_path(root))))
def _load_ogb_node(name: str, root=None, *, limit=None, download=None, num_workers=None,
                   progress=True, **options) -> DatasetBundle:
    del num_workers
    return load_ogb_node(name, root, download=download, limit=limit, progress=progress,
                         **options)


def _load_planetoid(name: str, root=None, *, limit=None, download=None, num_workers=None,
                    progress=True, **options) -> DatasetBundle:
    del num_workers
    return load_planetoid(name, root, download=download, limit=limit, progress=progress,
                          **options)


def _load_npz(name: str, root=None, *, limit=None, download=None, num_workers=None,
              progress=True, **options) -> DatasetBundle:
    del num_workers
    return load_pyg_npz(name, root, download=download, limit=limit, progress=progress,
                        **options)


for _name in ogb_mol_names():
    _register(DatasetSpec(_name, functools.partial(_load_ogb, _name),
                          functools.partial(find_ogb_dir, _name)))
for _name in ogb_node_names():
    _register(DatasetSpec(_name, functools.partial(_load_ogb_node, _name),
                          functools.partial(find_ogb_node_dir, _name)))
for _name in PLANETOID_NAMES:
    _register(DatasetSpec(_name, functools.partial(_load_planetoid, _name),
                          functools.partial(find_planetoid, _name)))
for _name in NPZ_DATASETS:
    _register(DatasetSpec(_name, functools.partial(_load_npz, _name),
                          functools.partial(find_npz, _name)))
del _name


def load_dataset(name: str | os.PathLike, root: str | os.PathLike | None = None, *,
                 limit: int | None = None, download: bool | None = None,
                 num_workers: int | None = None, progress: bool = True,
                 targets: Sequence[str] = (), level: str | None = None) -> DatasetBundle:
    r"""Load a dataset by registry name, or a SMILES or graph file by path.

    Args:
        name (str or Path): a name in :data:`DATASETS` (``'embedded'``, ``'embedded-tpsa'``,
            ``'moses'``, ``'ogbg-molhiv'``, ``'ogbn-arxiv'``, ``'Cora'``,
            ``'Amazon-Computers'``, ...) or a path to a ``.csv``/``.smi`` file (optionally
            ``.gz``). Node-classification names give a ``level='node'`` bundle (one
            :class:`~torch_geometric.data.Data`; ``limit`` keeps the subgraph induced by the
            first ``limit`` nodes; ``num_workers`` is ignored); their extra options are
            arguments of :func:`load_ogb_node`, :func:`load_planetoid`, :func:`load_pyg_npz`.
            A networkx graph file (node-link ``.json(.gz)``, ``.gml``, ``.graphml``; see
            :func:`read_graphs`) gives :func:`from_graphs`'s bundle of its graphs.
        root (str or Path, optional): the data root (see :func:`graphpfm.paths.data_root`).
            (default: :obj:`None`)
        limit (int, optional): keep only the first ``limit`` molecules (nodes for node-level
            datasets). (default: :obj:`None`)
        download (bool, optional): allow downloading absent OGB/PyG datasets; :obj:`None`
            means yes (OGB node archives only up to 1 GiB). (default: :obj:`None`)
        num_workers (int, optional): SMILES featurisation processes (0 = in process).
            (default: :obj:`os.cpu_count()`)
        progress (bool, optional): show progress bars. (default: :obj:`True`)
        targets (list of str, optional): RDKit targets to attach to every molecule, from
            :data:`~graphpfm.datasets.targets.TARGET_KINDS` (computed once and cached; see
            :mod:`graphpfm.datasets.targets`), for graph property prediction objectives.
            (default: none)
        level (str, optional): a graph file's level: ``'graph'`` (its graphs are the
            samples) or ``'node'`` (its one graph's nodes are); :obj:`None`: ``'node'`` for a
            file of one graph whose nodes all have float features ``x``, else ``'graph'``.
            (default: :obj:`None`)

    Raises:
        KeyError: unknown name (the message lists the valid names).
        DatasetNotFoundError: the dataset's files are absent.
    """
    kwargs = dict(limit=limit, download=download, num_workers=num_workers, progress=progress)
    key = str(name)
    if level is not None and not is_graph_file(key):
        raise ValueError(f"level '{level}' is an option of graph files "
                         f"({', '.join(GRAPH_FILE_SUFFIXES)}), not of '{key}'")
    if key in DATASETS:
        bundle = DATASETS.get(key).load(root, **kwargs)
    elif is_graph_file(key):
        graphs = read_graphs(key)
        if limit is not None:
            graphs = graphs[:limit]
        if level is None:  # one graph with float node features: a graph of samples
            single = graphs[0] if len(graphs) == 1 else None
            level = 'node' if single is not None and all(
                'x' in a for _, a in single.nodes(data=True)) else 'graph'
        bundle = from_graphs(graphs, name=Path(key).name.split('.')[0], level=level)
    elif is_smiles_file(key) or Path(key).is_file():
        bundle = load_smiles_corpus(key, root, **kwargs)
    else:
        raise KeyError(f"Unknown dataset '{key}'. Valid options: "
                       f"{', '.join(DATASETS.names())}; or a path to a .csv/.smi file "
                       '(optionally .gz) with SMILES, or to a graph file '
                       f"({', '.join(GRAPH_FILE_SUFFIXES)})")
    if targets:
        bundle = bundle_with_targets(bundle, targets, root, num_workers=num_workers,
                                     progress=progress)
    return bundle


def available_datasets(root: str | os.PathLike | None = None) -> dict[str, Path | bool]:
    """For every registered dataset, the path of its files under the data root, or
    :obj:`False` if absent (for ``graphpfm list``)."""
    out: dict[str, Path | bool] = {}
    for name in DATASETS.names():
        found = DATASETS.get(name).locate(root)
        out[name] = found if found is not None else False
    return out


__all__ = [
    'DATASETS', 'DatasetBundle', 'DatasetNotFoundError', 'DatasetOverlap', 'DatasetSpec',
    'available_datasets', 'bundle_smiles', 'dataset_smiles', 'exclude_overlap',
    'featurize_smiles', 'find_overlap', 'from_smiles', 'load_dataset', 'load_ogb_graph',
    'load_ogb_node', 'load_planetoid', 'load_pyg_npz', 'load_smiles_file', 'molecule_key',
    'node_required_files', 'overlap_table', 'ogb_info', 'ogb_mol_names', 'ogb_node_info',
    'ogb_node_names', 'ogb_smiles', 'random_split', 'read_smiles_file', 'scaffold_split',
    'NPZ_DATASETS', 'PLANETOID_NAMES', 'TARGET_KINDS', 'attach_targets', 'bundle_with_targets',
    'compute_targets', 'GraphFormatError', 'collate_graphs', 'from_graphs', 'graph_to_data',
    'is_graph', 'is_graph_file', 'read_graphs', 'GRAPH_FILE_SUFFIXES',
]
