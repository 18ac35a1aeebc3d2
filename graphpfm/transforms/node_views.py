r"""Node-level views of a graph (GRACE, BGRL) and the row shuffle of DGI, driven by a generator.

PyG's :func:`~torch_geometric.utils.dropout_edge` and :func:`~torch_geometric.utils.mask_feature`
draw from the global random state; these helpers draw only from the :obj:`generator` they are
given, so an objective's :meth:`prepare` is reproducible. All of them return new objects: the
input graph and the dataset tensors it may share storage with are never written.
"""
from __future__ import annotations

import copy

import torch
from torch import Tensor
from torch_geometric.data import Data

from .batch_ops import _edge_ptr, _update_slices, check_rate, graph_layout, split_keys


def drop_edges(data: Data, rate: float, generator: torch.Generator | None = None) -> Data:
    r"""Drop every edge (every column of ``edge_index``, so each direction of an undirected
    edge on its own) independently with probability ``rate``, as the ``dropout_adj`` of
    `GRACE <https://arxiv.org/abs/2006.04131>`_ and `BGRL <https://arxiv.org/abs/2102.06514>`_.

    Edge-level attributes (``edge_attr``, ``edge_weight``, ``e_id``, ...; see
    :func:`~graphpfm.transforms.batch_ops.split_keys`) keep the rows of the kept edges; nodes
    are untouched. Kept edges keep their order.

    Args:
        data (Data): a graph, a batch of graphs or a sampled mini-batch (never written).
        rate (float): drop probability, in ``[0, 1)``.
        generator (torch.Generator, optional): source of randomness. (default: :obj:`None`)
    """
    rate = check_rate(rate)
    if rate == 0.0:
        return copy.copy(data)
    edge_index = data.edge_index
    keep = torch.rand(edge_index.size(1), generator=generator,
                      device=edge_index.device) >= rate
    layout = graph_layout(data)
    _, edge_keys = split_keys(data, layout.num_nodes, edge_index.size(1), layout.num_graphs)
    out = copy.copy(data)
    out.edge_index = edge_index[:, keep]
    for key in edge_keys:
        out[key] = data[key][keep]
    _update_slices(out, data, [], edge_keys, None,
                   _edge_ptr(out.edge_index, layout.batch, layout.num_graphs))
    return out


def mask_feature_columns(data: Data, rate: float,
                         generator: torch.Generator | None = None) -> Data:
    r"""Set whole feature columns to zero, every column independently with probability
    ``rate``: the same columns for every node, the feature masking of
    `GRACE <https://arxiv.org/abs/2006.04131>`_ and `BGRL <https://arxiv.org/abs/2102.06514>`_
    (their ``drop_feature``).

    Returns a shallow copy whose only new tensor is ``x`` (same shape and dtype).

    Args:
        data (Data): a graph with float node features ``x`` ``[N, F]`` (never written).
        rate (float): masking probability of a column, in ``[0, 1)``.
        generator (torch.Generator, optional): source of randomness. (default: :obj:`None`)
    """
    rate = check_rate(rate)
    x = data.x
    if not x.is_floating_point() or x.dim() != 2:
        raise ValueError(f'feature-column masking needs float features [N, F], got {x.dtype} '
                         f'{tuple(x.shape)}')
    out = copy.copy(data)
    if rate == 0.0:
        return out
    masked = torch.rand(x.size(1), generator=generator, device=x.device) < rate
    out.x = x.masked_fill(masked, 0.0)
    return out


def node_view(data: Data, edge_rate: float, feature_rate: float,
              generator: torch.Generator | None = None) -> Data:
    r"""One augmented view of `GRACE <https://arxiv.org/abs/2006.04131>`_ and
    `BGRL <https://arxiv.org/abs/2102.06514>`_: :func:`drop_edges` at ``edge_rate``, then
    :func:`mask_feature_columns` at ``feature_rate`` (both from :obj:`generator`, in this
    order)."""
    return mask_feature_columns(drop_edges(data, edge_rate, generator), feature_rate, generator)


def shuffle_rows(x: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    r"""The corruption of `Deep Graph Infomax <https://arxiv.org/abs/1809.10341>`_: the rows of
    ``x`` in a uniformly random order.

    Returns:
        ``(x[perm], perm)``: the shuffled rows (a new tensor) and the permutation
        (LongTensor ``[N]``).
    """
    perm = torch.randperm(x.size(0), generator=generator, device=x.device)
    return x[perm], perm
