r"""Helpers shared by the node-property loaders (:mod:`~graphpfm.datasets.ogb_node`,
:mod:`~graphpfm.datasets.pyg_node`): one :class:`~torch_geometric.data.Data` to and from plain
tensors (for caches loaded with ``weights_only=True``), the ``limit`` option and the bundle."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data

from .bundle import DatasetBundle

SPLIT_NAMES = ('train', 'valid', 'test')
#: Attributes indexed by edge (everything else of first size ``num_nodes`` is per node).
EDGE_KEYS = ('edge_index', 'edge_attr')


def data_to_tensors(data: Data) -> dict[str, Any]:
    """The tensors of ``data`` plus ``num_nodes`` (an int), for :func:`save_tensors`."""
    out: dict[str, Any] = {k: v for k, v in data.items() if isinstance(v, Tensor)}
    out['num_nodes'] = int(data.num_nodes)
    return out


def tensors_to_data(tensors: dict[str, Any]) -> Data:
    """Inverse of :func:`data_to_tensors` (``num_nodes`` set explicitly)."""
    return Data(**tensors)


def split_from_masks(train: Tensor, valid: Tensor, test: Tensor) -> dict[str, Tensor]:
    """Boolean node masks -> ``{'train', 'valid', 'test'}`` ascending ``LongTensor`` s."""
    return {s: m.nonzero().view(-1) for s, m in zip(SPLIT_NAMES, (train, valid, test))}


def check_split(split_idx: dict[str, Tensor], num_nodes: int, where: str) -> None:
    """Raise :class:`ValueError` if a split index falls outside ``[0, num_nodes)``."""
    for s, idx in split_idx.items():
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= num_nodes):
            raise ValueError(f"{where}: split '{s}' has node indices outside [0, {num_nodes})")


def first_nodes(data: Data, split_idx: dict[str, Tensor], limit: int
                ) -> tuple[Data, dict[str, Tensor]]:
    r"""The subgraph induced by nodes ``0 .. limit - 1`` (node indices unchanged) and the
    split restricted to them. For quick runs on a piece of a large graph.

    Raises:
        ValueError: ``limit`` is not positive.
    """
    if limit < 1:
        raise ValueError(f'limit must be a positive number of nodes, got {limit}')
    n = int(data.num_nodes)
    limit = min(int(limit), n)
    if limit == n:
        return data, split_idx
    ei = data.edge_index
    keep = (ei[0] < limit) & (ei[1] < limit)
    out = Data(num_nodes=limit)
    for key, value in data.items():
        if key == 'num_nodes' or not isinstance(value, Tensor):
            continue
        if key == 'edge_index':
            out[key] = value[:, keep]
        elif key in EDGE_KEYS:
            out[key] = value[keep]
        elif value.dim() > 0 and value.size(0) == n:
            out[key] = value[:limit]
        else:
            out[key] = value
    return out, {k: v[v < limit] for k, v in split_idx.items()}


def node_bundle(name: str, data: Data, split_idx: dict[str, Tensor], *, task_type: str,
                num_tasks: int, eval_metric: str, meta: dict[str, Any],
                limit: int | None = None) -> DatasetBundle:
    r"""A ``level='node'`` :class:`DatasetBundle` with the counts added to ``meta``
    (``num_nodes``, ``num_edges``, ``num_features``, and ``limit`` when given)."""
    meta = dict(meta)
    meta['full_num_nodes'] = int(data.num_nodes)
    if limit is not None:
        data, split_idx = first_nodes(data, split_idx, limit)
        meta['limit'] = int(data.num_nodes)
    meta.update(num_nodes=int(data.num_nodes), num_edges=int(data.edge_index.size(1)),
                num_features=int(data.x.size(1)),
                split_sizes={k: int(v.numel()) for k, v in split_idx.items()})
    return DatasetBundle(name=name, dataset=data, split_idx=split_idx, level='node',
                         task_type=task_type, num_tasks=int(num_tasks), eval_metric=eval_metric,
                         meta=meta)


def labels_to_long(labels: Any) -> Tensor:
    """Single-column class labels (numpy/tensor, ``[N]`` or ``[N, 1]``) as ``long [N]``;
    missing labels (NaN) become ``-1``."""
    if isinstance(labels, np.ndarray):  # pandas 3 hands out read-only arrays: copy
        labels = torch.from_numpy(np.array(labels))
    y = torch.as_tensor(labels).reshape(-1)
    if y.is_floating_point():
        missing = torch.isnan(y)
        y = torch.where(missing, torch.full_like(y, -1), y)
    return y.long()
