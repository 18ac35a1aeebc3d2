r"""Datasets from your own graphs: :mod:`networkx` graphs or PyG
:class:`~torch_geometric.data.Data` objects as a :class:`~graphpfm.datasets.DatasetBundle`.

Attributes read from a :class:`networkx.Graph` (node and edge order as
:func:`torch_geometric.utils.from_networkx`, each undirected edge stored in both directions):

* node features, one of: ``x``, a sequence of numbers of the same length on every node of
  every graph (stored as ``float32``), or ``atom_features``, the integer atom columns of
  :func:`ogb.utils.smiles2graph` (for the molecular encoders);
* edge features (optional), one of: ``edge_attr`` (numbers, ``float32``) or
  ``bond_features`` (the integer bond columns of :func:`ogb.utils.smiles2graph`);
* node labels (``level='node'``): ``y``, one number per node (NaN, or a negative class
  index, marks a missing label);
* graph labels (``level='graph'``): the ``y`` argument, else ``G.graph['y']`` of every graph
  (other graph attributes are ignored).

A :class:`~torch_geometric.data.Data` object gives ``x`` (``[num_nodes, F]``, float or
integer), ``edge_index`` (taken as given: store both directions of an undirected graph),
optional ``edge_attr`` (``[num_edges, Fe]``) and ``y`` (node labels ``[num_nodes]`` for
``level='node'``, the graph's label for ``level='graph'``).

Directed networkx graphs and multigraphs are refused (convert them with ``G.to_undirected()``
or ``networkx.Graph(G)``). Features must be finite. Every problem raises a
:class:`GraphFormatError` that names the graph's position, the node or edge and the attribute.
"""
from __future__ import annotations

import gzip
import json
import logging
import numbers
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data

from ..data.store import GraphStore, compact
from .bundle import DatasetBundle
from .node_common import node_bundle
from .smiles import EVAL_METRICS
from .splits import SPLIT_NAMES, random_split

log = logging.getLogger(__name__)

#: node feature attributes (networkx): float features, or OGB's categorical atom columns
NODE_FEATURES = ('x', 'atom_features')
#: edge feature attributes (networkx): float features, or OGB's categorical bond columns
EDGE_FEATURES = ('edge_attr', 'bond_features')
#: the label attribute (per node for ``level='node'``, per graph otherwise)
LABEL = 'y'
#: keys of a :class:`~torch_geometric.data.Data` input that are read
DATA_KEYS = ('x', 'edge_index', 'edge_attr', 'y', 'num_nodes')
#: what to do with attributes not listed above
EXTRA_ATTRS = ('raise', 'ignore')
LEVELS = ('graph', 'node')
#: suffixes :func:`read_graphs` reads
GRAPH_FILE_SUFFIXES = ('.json', '.json.gz', '.gml', '.graphml')


class GraphFormatError(ValueError):
    """A graph that :func:`from_graphs` cannot take; :attr:`index` is its input position."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index


def is_graph(obj: Any) -> bool:
    """Whether ``obj`` is a networkx graph or a PyG :class:`~torch_geometric.data.Data`."""
    if isinstance(obj, Data):
        return True
    nx = _networkx_if_loaded()
    return nx is not None and isinstance(obj, nx.Graph)


def _networkx_if_loaded() -> Any:
    """networkx if imported (graphs of it exist only then), else :obj:`None`."""
    return sys.modules.get('networkx')


def _ogb_dims(key: str) -> list[int]:
    from ogb.utils.features import get_atom_feature_dims, get_bond_feature_dims
    return get_atom_feature_dims() if key == 'atom_features' else get_bond_feature_dims()


def _check_choice(name: str, value: Any, options: Sequence[str]) -> None:
    if value not in options:
        raise ValueError(f"{name} '{value}' invalid; valid options: {', '.join(options)}")


# ---------------------------------------------------------------------------- value checks
def _is_number(v: Any, integer: bool) -> bool:
    if integer:
        return isinstance(v, (bool, numbers.Integral, np.bool_))
    return isinstance(v, (bool, numbers.Real, np.bool_))


def _diagnose(values: list[Any], key: str, where: Callable[[int], str], integer: bool,
              scalar: bool) -> str:
    """The message for the first value that is not a number (``scalar``) or a sequence of
    numbers of the first value's length."""
    want = ('an integer' if integer else 'a number') if scalar else \
        f"a sequence of {'integers' if integer else 'numbers'}"
    width = None
    for i, v in enumerate(values):
        if isinstance(v, (Tensor, np.ndarray)):
            v = v.tolist()
        if scalar:
            if not _is_number(v, integer):
                return f"{where(i)}: '{key}' is {v!r} ({type(v).__name__}), expected {want}"
            continue
        if isinstance(v, (str, bytes)) or not isinstance(v, Sequence):
            return f"{where(i)}: '{key}' is {v!r} ({type(v).__name__}), expected {want}"
        bad = [e for e in v if not _is_number(e, integer)]
        if bad:
            return (f"{where(i)}: '{key}' holds {bad[0]!r} ({type(bad[0]).__name__}), "
                    f'expected {want}')
        if len(v) == 0:
            return f"{where(i)}: '{key}' is empty, expected {want}"
        if width is None:
            width = len(v)
        elif len(v) != width:
            return (f"{where(i)}: '{key}' has length {len(v)}, but {where(0)} has length "
                    f'{width}; every one must have the same length')
    return f"'{key}': values of mixed shapes, expected {want}"


def _rows(values: list[Any], key: str, where: Callable[[int], str], index: int, *,
          integer: bool = False, scalar: bool = False, allow_nan: bool = False) -> np.ndarray:
    """``values`` (one per node or edge) as an array ``[n, F]`` (``[n]`` with ``scalar``):
    float64 or int64. Numpy converts well-formed values at once; only a failure walks the
    values to name the first bad one."""
    arr = None
    try:
        arr = np.asarray([v.tolist() if isinstance(v, Tensor) else v for v in values])
    except (ValueError, TypeError):
        pass
    kinds = 'iub' if integer else 'iubf'
    if arr is None or arr.ndim != (1 if scalar else 2) or arr.dtype.kind not in kinds \
            or (not scalar and arr.shape[1] == 0):
        raise GraphFormatError(index, _diagnose(values, key, where, integer, scalar))
    if arr.dtype.kind != 'f':
        return arr.astype(np.int64)
    if not allow_nan:
        bad = ~np.isfinite(arr) if scalar else ~np.isfinite(arr).all(axis=1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise GraphFormatError(index, f"{where(i)}: '{key}' holds NaN or infinity "
                                          f'({values[i]!r}); features must be finite')
    return arr


def check_ogb_features(values: np.ndarray | Tensor, key: str, where: Callable[[int], str],
                       index: int) -> None:
    """Raise :class:`GraphFormatError` unless integer ``values`` ``[n, F]`` lie in OGB's
    vocabulary of ``key`` (``'atom_features'`` or ``'bond_features'``); ``where(i)`` names row
    ``i`` and ``index`` is the graph's position."""
    arr = values.numpy() if isinstance(values, Tensor) else values
    dims = _ogb_dims(key)
    what = 'atom' if key == 'atom_features' else 'bond'
    if arr.shape[1] != len(dims):
        raise GraphFormatError(index, f"{where(0)}: '{key}' has {arr.shape[1]} columns; OGB's "
                                      f'{what} features have {len(dims)} (ogb.utils.features)')
    bad = (arr < 0) | (arr >= np.asarray(dims))
    if bad.any():
        i, j = (int(t[0]) for t in np.nonzero(bad))
        raise GraphFormatError(index, f"{where(i)}: '{key}' column {j} is {int(arr[i, j])}, "
                                      f"outside OGB's {what} vocabulary [0, {dims[j]})")


# ---------------------------------------------------------------------------- one graph
def graph_to_data(graph: Any, index: int = 0, *, level: str = 'graph',
                  extra_attrs: str = 'raise', labels: bool = True) -> Data:
    r"""Check one networkx graph or :class:`~torch_geometric.data.Data` and convert it (see
    the module documentation for the attribute names).

    Args:
        graph (networkx.Graph or Data): the graph (left unchanged).
        index (int, optional): its position in the input, for error messages. (default:
            :obj:`0`)
        level (str, optional): ``'node'`` reads node labels ``y``; ``'graph'`` reads the
            graph's own label (``G.graph['y']`` or ``data.y``). (default: :obj:`'graph'`)
        extra_attrs (str, optional): ``'raise'`` on attributes not listed in the module
            documentation, or ``'ignore'`` them. (default: :obj:`'raise'`)
        labels (bool, optional): read labels; :obj:`False` leaves them out unchecked.
            (default: :obj:`True`)

    Returns:
        A new :class:`~torch_geometric.data.Data` with ``x`` (``float32`` ``[N, F]`` or
        integer ``[N, 9]``), ``edge_index`` (``long [2, E]``), ``edge_attr`` if any,
        ``num_nodes`` and ``y`` if labelled (node labels ``[N]``, a graph label ``[1, T]``),

    Raises:
        GraphFormatError: the graph breaks a rule (the message says which, and where).
    """
    _check_choice('level', level, LEVELS)
    _check_choice('extra_attrs', extra_attrs, EXTRA_ATTRS)
    if isinstance(graph, Data):
        return _from_data(graph, index, level, extra_attrs, labels)
    nx = _networkx_if_loaded()
    if nx is not None and isinstance(graph, nx.Graph):
        return _from_networkx(graph, index, level, extra_attrs, labels)
    hint = ' (for SMILES use graphpfm.from_smiles)' if isinstance(graph, str) else ''
    raise GraphFormatError(index, f'graph {index} is a {type(graph).__name__}; expected a '
                                  f'networkx.Graph or a torch_geometric.data.Data{hint}')


def _unknown(found: set[str], allowed: Sequence[str]) -> list[str]:
    return sorted((str(k) for k in found if k not in allowed), key=str)


def _from_networkx(G: Any, index: int, level: str, extra_attrs: str, labels: bool) -> Data:
    if G.is_directed():
        raise GraphFormatError(index, f'graph {index} is a directed networkx graph '
                                      f'({type(G).__name__}); graphs are taken undirected: '
                                      'convert it with G.to_undirected()')
    if G.is_multigraph():
        raise GraphFormatError(index, f'graph {index} is a networkx multigraph '
                                      f'({type(G).__name__}); convert it with networkx.Graph(G) '
                                      '(one edge per pair of nodes)')
    nodes = list(G.nodes(data=True))
    if not nodes:
        raise GraphFormatError(index, f'graph {index} has no nodes')

    def node(i: int) -> str:
        return f'graph {index}, node {nodes[i][0]!r}'

    allowed = NODE_FEATURES + ((LABEL,) if level == 'node' else ())
    keys: set[str] = set().union(*(d.keys() for _, d in nodes))
    if extra_attrs == 'raise':
        unknown = _unknown(keys, allowed)
        if unknown:
            i = next(i for i, (_, d) in enumerate(nodes) if unknown[0] in map(str, d))
            hint = (" (node labels are read with level='node')"
                    if unknown[0] == LABEL else '')
            raise GraphFormatError(index, f"{node(i)}: unknown node attribute "
                                          f"'{unknown[0]}'{hint}; known: {', '.join(allowed)}; "
                                          "drop it or pass extra_attrs='ignore'")
    given = [k for k in NODE_FEATURES if k in keys]
    if len(given) != 1:
        if given:
            raise GraphFormatError(index, f"graph {index} has both 'x' and 'atom_features' "
                                          'node attributes; give one of them')
        attrs = ', '.join(map(str, nodes[0][1])) or 'none'
        raise GraphFormatError(index, f"{node(0)}: no node features: give every node 'x' (a "
                                      "sequence of numbers) or 'atom_features' (OGB's integer "
                                      f'atom columns); its attributes: {attrs}')
    fkey = given[0]
    values = _required([d for _, d in nodes], fkey, node, index)
    integer = fkey == 'atom_features'
    x = _rows(values, fkey, node, index, integer=integer)
    if integer:
        check_ogb_features(x, fkey, node, index)
    data = Data(x=torch.from_numpy(x if integer else x.astype(np.float32)),
                num_nodes=len(nodes))

    # edges in from_networkx's order: every node's adjacency, both directions
    position = {n: i for i, (n, _) in enumerate(nodes)}
    pairs = [(u, v, d) for u, nbrs in G.adj.items() for v, d in nbrs.items()]
    data.edge_index = torch.tensor([[position[u] for u, _, _ in pairs],
                                    [position[v] for _, v, _ in pairs]],
                                   dtype=torch.long).view(2, -1)
    if pairs:
        def edge(i: int) -> str:
            return f'graph {index}, edge ({pairs[i][0]!r}, {pairs[i][1]!r})'

        ekeys: set[str] = set().union(*(d.keys() for _, _, d in pairs))
        if extra_attrs == 'raise':
            unknown = _unknown(ekeys, EDGE_FEATURES)
            if unknown:
                i = next(i for i, (_, _, d) in enumerate(pairs) if unknown[0] in map(str, d))
                raise GraphFormatError(index, f"{edge(i)}: unknown edge attribute "
                                              f"'{unknown[0]}'; known: "
                                              f"{', '.join(EDGE_FEATURES)}; drop it or pass "
                                              "extra_attrs='ignore'")
        egiven = [k for k in EDGE_FEATURES if k in ekeys]
        if len(egiven) > 1:
            raise GraphFormatError(index, f"graph {index} has both 'edge_attr' and "
                                          "'bond_features' edge attributes; give one of them")
        if egiven:
            ekey = egiven[0]
            evalues = _required([d for _, _, d in pairs], ekey, edge, index)
            eint = ekey == 'bond_features'
            ea = _rows(evalues, ekey, edge, index, integer=eint)
            if eint:
                check_ogb_features(ea, ekey, edge, index)
            data.edge_attr = torch.from_numpy(ea if eint else ea.astype(np.float32))

    if not labels:
        return data
    if level == 'node' and LABEL in keys:
        values = _required([d for _, d in nodes], LABEL, node, index)
        data.y = torch.from_numpy(_rows(values, LABEL, node, index, scalar=True,
                                        allow_nan=True))
    elif level == 'graph' and LABEL in G.graph:
        data.y = _graph_label(G.graph[LABEL], index)
    return data


def _required(dicts: list[dict[str, Any]], key: str, where: Callable[[int], str],
              index: int) -> list[Any]:
    """``d[key]`` of every dict; the first one without it raises."""
    try:
        return [d[key] for d in dicts]
    except KeyError:
        i = next(i for i, d in enumerate(dicts) if key not in d)
        j = next(j for j, d in enumerate(dicts) if key in d)
        raise GraphFormatError(index, f"{where(i)} lacks attribute '{key}' ({where(j)} has "
                                      'it); give it to all or none') from None


def _graph_label(value: Any, index: int) -> Tensor:
    """One graph's label(s) as ``[1, T]`` (integers kept as ``int64``, else ``float32``)."""
    try:
        arr = np.asarray(value.tolist() if isinstance(value, Tensor) else value)
    except (ValueError, TypeError):
        arr = None
    if arr is None or arr.dtype.kind not in 'iubf' or arr.size == 0:
        raise GraphFormatError(index, f"graph {index}: label 'y' is {value!r}, expected a "
                                      'number or a sequence of numbers')
    arr = arr.reshape(1, -1)
    return torch.from_numpy(arr.astype(np.float32 if arr.dtype.kind == 'f' else np.int64))


def _from_data(data: Data, index: int, level: str, extra_attrs: str, labels: bool) -> Data:
    where = f'graph {index} (Data)'
    if extra_attrs == 'raise':
        unknown = _unknown(set(data.keys()), DATA_KEYS)
        if unknown:
            raise GraphFormatError(index, f"{where}: unknown attribute '{unknown[0]}'; known: "
                                          f"{', '.join(DATA_KEYS)}; drop it or pass "
                                          "extra_attrs='ignore'")
    x = data.x
    if not isinstance(x, Tensor):
        raise GraphFormatError(index, f"{where}: no node features 'x' (a tensor "
                                      '[num_nodes, num_features])')
    if x.dim() != 2 or x.size(1) == 0:
        raise GraphFormatError(index, f"{where}: 'x' has shape {tuple(x.shape)}, expected "
                                      '[num_nodes, num_features] (e.g. x.view(-1, 1))')
    n = x.size(0)
    if n == 0:
        raise GraphFormatError(index, f'graph {index} has no nodes')
    if 'num_nodes' in data and data.num_nodes != n:
        raise GraphFormatError(index, f"{where}: num_nodes is {data.num_nodes} but 'x' has "
                                      f'{n} rows')
    if x.dtype == torch.bool:
        x = x.float()
    if x.is_floating_point():
        bad = ~torch.isfinite(x).all(dim=1)
        if bool(bad.any()):
            raise GraphFormatError(index, f"{where}, node {int(bad.nonzero()[0])}: 'x' holds "
                                          'NaN or infinity; features must be finite')
        x = x.float()
    ei = data.edge_index
    if not isinstance(ei, Tensor):
        raise GraphFormatError(index, f"{where}: no 'edge_index' (a LongTensor [2, num_edges];"
                               ' empty for a graph without edges)')
    if ei.dim() != 2 or ei.size(0) != 2 or ei.is_floating_point():
        raise GraphFormatError(index, f"{where}: 'edge_index' is {ei.dtype} of shape "
                                      f'{tuple(ei.shape)}, expected integers [2, num_edges]')
    if ei.numel() and (int(ei.min()) < 0 or int(ei.max()) >= n):
        raise GraphFormatError(index, f"{where}: 'edge_index' refers to nodes outside "
                                      f'[0, {n})')
    out = Data(x=x.cpu().clone(), edge_index=ei.long().cpu().clone(), num_nodes=n)
    ea = data.edge_attr
    if ea is not None:
        if not isinstance(ea, Tensor) or ea.dim() != 2 or ea.size(0) != ei.size(1):
            shape = tuple(ea.shape) if isinstance(ea, Tensor) else type(ea).__name__
            raise GraphFormatError(index, f"{where}: 'edge_attr' is {shape}, expected "
                                          f'[{ei.size(1)}, num_edge_features] (one row per '
                                          'edge)')
        if ea.is_floating_point() and not bool(torch.isfinite(ea).all()):
            raise GraphFormatError(index, f"{where}: 'edge_attr' holds NaN or infinity")
        out.edge_attr = ea.cpu().clone()
    y = data.y if labels else None
    if y is not None:
        if level == 'node':
            if not isinstance(y, Tensor) or y.numel() != n or (y.dim() > 1 and y.size(-1) != 1):
                shape = tuple(y.shape) if isinstance(y, Tensor) else type(y).__name__
                raise GraphFormatError(index, f"{where}: node labels 'y' are {shape}, expected "
                                              f'[{n}] (one per node)')
            out.y = y.reshape(-1).cpu().clone()
        else:
            out.y = _graph_label(y, index)
    return out


# ---------------------------------------------------------------------------- many graphs
def feature_signature(t: Tensor | None) -> dict[str, Any] | None:
    """``{'dtype', 'width'}`` of a feature tensor (``'float32'`` or ``'int64'``), or
    :obj:`None`."""
    if t is None:
        return None
    return {'dtype': 'float32' if t.is_floating_point() else 'int64', 'width': int(t.size(1))}


def _describe(sig: dict[str, Any] | None) -> str:
    return 'none' if sig is None else f"{sig['dtype']} of width {sig['width']}"


def collate_graphs(datas: Sequence[Data]) -> GraphStore:
    r"""A :class:`~graphpfm.data.GraphStore` of converted graphs (:func:`graph_to_data`),
    checking that all have node features of one dtype and width, and edge features of one
    dtype and width on every graph with edges, or none.

    Raises:
        GraphFormatError: a graph's features differ from the first graph's.
    """
    if not datas:
        raise ValueError('no graphs')
    node_sig = feature_signature(datas[0].x)
    for i, d in enumerate(datas):
        if feature_signature(d.x) != node_sig:
            raise GraphFormatError(i, f'graph {i} has node features '
                                      f'{_describe(feature_signature(d.x))} but graph 0 has '
                                      f'{_describe(node_sig)}; every graph needs the same')
    with_edges = [i for i, d in enumerate(datas) if d.edge_index.size(1) > 0]
    edge_sig = feature_signature(datas[with_edges[0]].edge_attr) if with_edges else None
    for i in with_edges:
        sig = feature_signature(datas[i].edge_attr)
        if sig != edge_sig:
            raise GraphFormatError(i, f'graph {i} has edge features {_describe(sig)} but '
                                      f'graph {with_edges[0]} has {_describe(edge_sig)}; every '
                                      'graph with edges needs the same')
    x = torch.cat([d.x for d in datas])
    ei = torch.cat([d.edge_index for d in datas], dim=1)
    ea = None
    if edge_sig is not None:
        empty = torch.zeros(0, edge_sig['width'],
                            dtype=datas[with_edges[0]].edge_attr.dtype)
        ea = torch.cat([d.edge_attr if d.edge_attr is not None else empty for d in datas])
    n = torch.tensor([int(d.num_nodes) for d in datas])
    e = torch.tensor([d.edge_index.size(1) for d in datas])
    zero = torch.zeros(1, dtype=torch.long)
    return GraphStore(compact(x), compact(ei), torch.cat([zero, n.cumsum(0)]),
                      torch.cat([zero, e.cumsum(0)]), compact(ea))


def infer_task_type(y: np.ndarray) -> str:
    """The task type of labels (NaN, or a negative class index, = missing): ``'binary
    classification'`` when every known label is 0 or 1; ``'regression'`` when some label is not
    an integer; ``'multiclass classification'`` for other integer labels given as integers.
    Whole numbers outside {0, 1} given as floats are ambiguous and raise."""
    known = y[~np.isnan(y)] if y.dtype.kind == 'f' else y[y >= 0]
    if known.size == 0:
        raise ValueError('every label is missing; cannot infer the task type')
    if bool(np.isin(known, (0, 1)).all()):
        return 'binary classification'
    if y.dtype.kind == 'f':
        if bool((known != np.round(known)).any()):
            return 'regression'
        raise ValueError('labels are whole numbers outside {0, 1} given as floats; give class '
                         'labels as integers, or pass task_type=, one of: '
                         f"{', '.join(EVAL_METRICS)}")
    return 'multiclass classification'


def _labels_array(y: Any, n: int, what: str) -> np.ndarray:
    arr = np.asarray(y.cpu().numpy() if isinstance(y, Tensor) else y)
    if arr.dtype.kind not in 'iubf':
        raise ValueError(f'{what} must be numbers, got dtype {arr.dtype}')
    if arr.dtype.kind == 'b':
        arr = arr.astype(np.int64)
    if arr.ndim == 0 or arr.shape[0] != n or arr.ndim > 2:
        raise ValueError(f'{what} must have shape [{n}] or [{n}, num_tasks], got '
                         f'{tuple(arr.shape)}')
    return arr


def _resolve_split(split_idx: dict[str, Any] | None, labelled: np.ndarray, frac: Sequence[float],
                   seed: int) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """The given split (indices or boolean masks, checked) or a seeded random split of the
    labelled items; and its description for ``meta``."""
    n = labelled.size
    if split_idx is None:
        items = torch.from_numpy(np.flatnonzero(labelled))
        parts = random_split(items.numel(), frac, seed)
        return ({k: items[v].sort().values for k, v in parts.items()},
                {'split': 'random', 'split_frac': [float(f) for f in frac], 'split_seed': seed})
    missing = [k for k in SPLIT_NAMES if k not in split_idx]
    if missing:
        raise ValueError(f"split_idx lacks {', '.join(missing)}; it needs "
                         f"{', '.join(SPLIT_NAMES)}")
    out = {}
    for k in SPLIT_NAMES:
        idx = torch.as_tensor(np.asarray(split_idx[k]))
        if idx.dtype == torch.bool:
            if idx.numel() != n:
                raise ValueError(f"split_idx['{k}'] is a mask of {idx.numel()} entries for "
                                 f'{n} items')
            idx = idx.nonzero().view(-1)
        if idx.is_floating_point() or idx.dim() != 1:
            raise ValueError(f"split_idx['{k}'] must be integer indices or a boolean mask")
        idx = idx.long()
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= n):
            raise ValueError(f"split_idx['{k}'] has indices outside [0, {n})")
        out[k] = idx
    return out, {'split': 'given'}


def from_graphs(graphs: Any, y: Any = None, name: str = 'custom', *, level: str = 'graph',
                task_type: str | None = None, split_idx: dict[str, Any] | None = None,
                frac: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0,
                extra_attrs: str = 'raise') -> DatasetBundle:
    r"""A :class:`~graphpfm.datasets.DatasetBundle` from networkx graphs or PyG
    :class:`~torch_geometric.data.Data` objects (attribute names: see
    :mod:`graphpfm.datasets.graphs`).

    ``level='graph'``: a dataset of graphs in a :class:`~graphpfm.data.GraphStore`, labelled
    by :obj:`y` (or each graph's own ``y``). ``level='node'``: one graph as a
    :class:`~torch_geometric.data.Data`, labelled by its nodes' ``y`` (or :obj:`y`). Without
    labels the bundle is an unlabelled pretraining corpus (no split). With labels the task
    type is inferred by :func:`infer_task_type` unless given, and the split is
    :obj:`split_idx` or a seeded random split of the labelled graphs (nodes).

    Args:
        graphs (list): networkx graphs or :class:`~torch_geometric.data.Data` objects (or one
            graph).
        y (array-like, optional): labels, ``[num_graphs]`` or ``[num_graphs, num_tasks]``
            (``[num_nodes]`` for ``level='node'``); NaN = missing. (default: :obj:`None`)
        name (str, optional): bundle name. (default: ``'custom'``)
        level (str, optional): ``'graph'`` or ``'node'``. (default: ``'graph'``)
        task_type (str, optional): ``'binary classification'``, ``'multiclass
            classification'`` or ``'regression'``. (default: inferred)
        split_idx (dict, optional): ``'train'``, ``'valid'``, ``'test'`` -> indices or
            boolean masks. (default: :obj:`None`, random)
        frac (tuple of float, optional): random split fractions. (default: ``(0.8, 0.1,
            0.1)``)
        seed (int, optional): random split seed. (default: :obj:`0`)
        extra_attrs (str, optional): ``'raise'`` on unknown attributes, or ``'ignore'`` them.
            (default: ``'raise'``)

    Raises:
        GraphFormatError: a graph breaks a rule (the message names graph, node or edge and
            attribute).
    """
    _check_choice('level', level, LEVELS)
    _check_choice('extra_attrs', extra_attrs, EXTRA_ATTRS)
    if task_type is not None:
        _check_choice('task_type', task_type, tuple(EVAL_METRICS))
    graphs = [graphs] if is_graph(graphs) else list(graphs)
    if not graphs:
        raise ValueError('from_graphs needs at least one graph')
    datas = [graph_to_data(g, i, level=level, extra_attrs=extra_attrs,
                           labels=y is None or level == 'node')
             for i, g in enumerate(graphs)]
    source = sorted({'pyg' if isinstance(g, Data) else 'networkx' for g in graphs})
    meta: dict[str, Any] = {'source': '+'.join(source), 'count': len(graphs),
                            'node_features': feature_signature(datas[0].x)}
    if level == 'node':
        return _node_level(datas, y, name, task_type, split_idx, frac, seed, meta)
    store = collate_graphs(datas)
    meta['edge_features'] = feature_signature(store.edge_attr)
    if y is not None:
        labels = _labels_array(y, len(datas), 'y')
    else:
        have = [d.y is not None for d in datas]
        if any(have) and not all(have):
            i = have.index(not have[0])
            raise GraphFormatError(i, f"graph {i} {'has' if have[i] else 'lacks'} a label 'y' "
                                      f"but graph 0 {'has' if have[0] else 'does not'}; label "
                                      'every graph or none (or pass y=)')
        labels = None
        if all(have):
            widths = {d.y.size(1) for d in datas}
            if len(widths) > 1:
                raise ValueError(f"graph labels 'y' have different numbers of tasks: "
                                 f'{sorted(widths)}')
            ys = [d.y for d in datas]
            dtype = torch.float32 if any(t.is_floating_point() for t in ys) else torch.long
            labels = torch.cat([t.to(dtype) for t in ys]).numpy()
    store.meta = meta
    if labels is None:
        return DatasetBundle(name=name, dataset=store, meta=meta)
    labels = labels.reshape(len(datas), -1)
    task_type = task_type or infer_task_type(labels.reshape(-1) if labels.shape[1] == 1
                                             else labels)
    if task_type == 'multiclass classification':
        if labels.shape[1] != 1:
            raise ValueError(f'multiclass labels must be one column, got {labels.shape[1]}')
        num_classes = int(np.nanmax(labels)) + 1
        meta['num_classes'] = num_classes
        num_tasks = num_classes
    else:
        num_tasks = labels.shape[1]
    yf = labels.astype(np.float32)
    if labels.dtype.kind in 'iu':
        yf[labels < 0] = np.nan
    store.y = torch.from_numpy(yf)
    split, info = _resolve_split(split_idx, ~np.isnan(yf).all(axis=1), frac, seed)
    meta.update(info)
    return DatasetBundle(name=name, dataset=store, split_idx=split, level='graph',
                         task_type=task_type, num_tasks=num_tasks,
                         eval_metric=EVAL_METRICS[task_type], meta=meta)


def _node_level(datas: list[Data], y: Any, name: str, task_type: str | None,
                split_idx: dict[str, Any] | None, frac: Sequence[float], seed: int,
                meta: dict[str, Any]) -> DatasetBundle:
    if len(datas) != 1:
        raise ValueError(f"level='node' takes one graph, got {len(datas)}")
    d = datas[0]
    n = int(d.num_nodes)
    if y is not None and d.y is not None:
        raise ValueError("node labels given twice: as the nodes' 'y' and as y=; give one")
    labels = _labels_array(y, n, 'y') if y is not None else \
        None if d.y is None else d.y.numpy()
    data = Data(x=d.x, edge_index=d.edge_index, num_nodes=n)
    if d.edge_attr is not None:
        data.edge_attr = d.edge_attr
    meta['edge_features'] = feature_signature(d.edge_attr)
    if labels is None:
        meta.update(num_nodes=n, num_edges=int(d.edge_index.size(1)))
        return DatasetBundle(name=name, dataset=data, level='node', meta=meta)
    if labels.ndim == 2:
        if labels.shape[1] != 1:
            raise ValueError(f'node labels must be one per node, got shape {labels.shape}')
        labels = labels[:, 0]
    task_type = task_type or infer_task_type(labels)
    if task_type == 'multiclass classification':
        lab = np.where(np.isnan(labels), -1, labels) if labels.dtype.kind == 'f' else labels
        data.y = torch.from_numpy(lab.astype(np.int64))
        data.y[data.y < 0] = -1
        num_tasks = int(data.y.max()) + 1
        meta['num_classes'] = num_tasks
        known = (data.y >= 0).numpy()
    else:
        yf = labels.astype(np.float32)
        if labels.dtype.kind in 'iu':
            yf[labels < 0] = np.nan
        data.y = torch.from_numpy(yf).view(-1, 1)
        num_tasks = 1
        known = ~np.isnan(yf)
    split, info = _resolve_split(split_idx, known, frac, seed)
    meta.update(info)
    return node_bundle(name, data, split, task_type=task_type, num_tasks=num_tasks,
                       eval_metric=EVAL_METRICS[task_type], meta=meta)


# ---------------------------------------------------------------------------- files
def read_graphs(path: str | os.PathLike) -> list[Any]:
    r"""Read networkx graphs from a file, for :func:`from_graphs`: node-link JSON
    (:func:`networkx.node_link_data`; one graph or a list of graphs, ``.json`` or
    ``.json.gz``), GML (``.gml``) or GraphML (``.graphml``, one graph each; GraphML holds no
    lists, so its node features cannot be ``x`` sequences).

    Raises:
        ValueError: an unsupported suffix (the message lists the supported ones).
        DataError: a file that is not of its suffix's format, or a JSON record that is not a
            node-link graph (the message names the file and the record).
    """
    import networkx as nx

    from ..errors import DataError
    path = Path(path)
    lower = path.name.lower()
    if not path.is_file():
        raise FileNotFoundError(f'graph file {path} not found')
    if not lower.endswith(GRAPH_FILE_SUFFIXES):
        raise ValueError(f"unsupported graph file '{path}'; valid suffixes: "
                         f"{', '.join(GRAPH_FILE_SUFFIXES)}")
    unreadable = (OSError, EOFError, ValueError, SyntaxError, nx.NetworkXError)
    if not lower.endswith(('.json', '.json.gz')):
        try:  # one graph each; a broken GraphML file raises xml's ParseError (a SyntaxError)
            return [(nx.read_gml if lower.endswith('.gml') else nx.read_graphml)(path)]
        except unreadable as err:
            raise DataError(f'cannot read {path}: {type(err).__name__}: {err}') from None
    opener = gzip.open if lower.endswith('.gz') else open
    try:
        with opener(path, 'rt', encoding='utf-8') as f:
            records = json.load(f)
    except unreadable as err:  # not JSON, not UTF-8, or a .gz that is not gzip
        raise DataError(f'cannot read {path} as JSON: {err}') from None
    graphs = []
    for i, r in enumerate(records if isinstance(records, list) else [records]):
        if not isinstance(r, dict) or 'nodes' not in r:
            raise DataError(f"{path}: record {i} is not a node-link graph (a mapping with "
                            "'nodes' and 'edges' or 'links', as networkx.node_link_data "
                            f'writes), got {type(r).__name__}')
        try:
            graphs.append(nx.node_link_graph(r, edges='links' if 'links' in r else 'edges'))
        except (KeyError, TypeError, *unreadable) as err:
            raise DataError(f'{path}: record {i} is not a valid node-link graph '
                            f'({type(err).__name__}: {err})') from None
    return graphs


def is_graph_file(name: str | os.PathLike) -> bool:
    """Whether ``name`` looks like a file :func:`read_graphs` reads (by suffix)."""
    return str(name).lower().endswith(GRAPH_FILE_SUFFIXES)


__all__ = ['EDGE_FEATURES', 'EXTRA_ATTRS', 'GRAPH_FILE_SUFFIXES', 'GraphFormatError', 'LABEL',
           'NODE_FEATURES', 'check_ogb_features', 'collate_graphs', 'feature_signature',
           'from_graphs',
           'graph_to_data',
           'infer_task_type', 'is_graph', 'is_graph_file', 'read_graphs']
