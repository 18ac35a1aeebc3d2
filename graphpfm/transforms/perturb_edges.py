"""Edge perturbation (GraphCL) on a whole batch: drop and add undirected edges."""
from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.data import Data

from ..data.ogb_features import bond_feature_dims
from .batch_ops import check_rate, graph_layout, replace_edges, sample_count_per_graph
from .negative_edges import num_non_edges, sample_negative_edges


def single_bond_features() -> Tensor:
    r"""The OGB bond feature row of a plain single bond: bond type ``SINGLE``, stereo
    ``STEREONONE``, not conjugated, indexed in :data:`ogb.utils.features.allowable_features`
    (``[0, 0, 0]`` in OGB's conventions)."""
    from ogb.utils.features import allowable_features as feats
    return torch.tensor([feats['possible_bond_type_list'].index('SINGLE'),
                         feats['possible_bond_stereo_list'].index('STEREONONE'),
                         feats['possible_is_conjugated_list'].index(False)])


class PerturbEdges:
    r"""Edge perturbation of `"Graph Contrastive Learning with Augmentations"
    <https://arxiv.org/abs/2010.13902>`_ (GraphCL) on every graph of a batch at once, keeping
    the graphs undirected.

    In every graph with ``m`` undirected edges (distinct unordered pairs of distinct nodes),
    ``round(rate * m)`` of them chosen uniformly at random are removed in both directions
    (the reference code drops single directions). With ``add=True`` the graph then gets as
    many new undirected edges (both directions): pairs of distinct nodes of the same graph
    drawn uniformly among the pairs that are *not* edges of the input graph, so a new edge
    is never a self-loop, never a duplicate of an existing edge and never restores a dropped
    one. They are drawn with replacement and de-duplicated, so a graph may get slightly
    fewer, and at most as many as it has free pairs (a graph with one node gets none).
    Self-loops of the input are kept and not counted. The input is assumed undirected (both
    directions of every edge present); a pair present in one direction only is dropped as a
    whole.

    New edges get a valid ``edge_attr`` row: for categorical OGB bond features (integer
    ``[E, 3]``) a plain single bond (:func:`single_bond_features`), otherwise zeros; other
    edge-level attributes (``edge_weight``, ...) get zeros; graphs without ``edge_attr`` just
    get edges. Edges stay grouped by graph (kept edges in their order, then the new ones).

    Returns a new batch; the input batch and the tensors it shares with a dataset are never
    written. Changed attributes: ``edge_index`` ``[2, E']`` and every edge-level attribute
    ``[E', *]``; nodes, ``batch``, ``ptr`` and ``y`` are unchanged.

    Args:
        rate (float): fraction of every graph's undirected edges to drop (and to add), in
            ``[0, 1)``. (default: :obj:`0.2`)
        add (bool): also add as many random new edges as were dropped. (default: :obj:`True`)
    """

    def __init__(self, rate: float = 0.2, add: bool = True) -> None:
        self.rate = check_rate(rate)
        self.add = add

    def __call__(self, batch: Data, generator: torch.Generator | None = None) -> Data:
        layout = graph_layout(batch)
        num_nodes, num_graphs = layout.num_nodes, layout.num_graphs
        src, dst = batch.edge_index
        not_loop = src != dst
        lo = torch.minimum(src, dst)[not_loop]
        hi = torch.maximum(src, dst)[not_loop]
        pair_key, pair_of_edge = torch.unique(lo * num_nodes + hi, return_inverse=True)
        pair_graph = layout.batch[pair_key // num_nodes]
        num_pairs = torch.bincount(pair_graph, minlength=num_graphs)
        num_drop = torch.round(num_pairs.double() * self.rate).long()
        drop_pair = sample_count_per_graph(pair_graph, num_drop, generator)
        keep = torch.ones_like(src, dtype=torch.bool)
        keep[not_loop] = ~drop_pair[pair_of_edge]

        new_edges = src.new_empty(2, 0)
        if self.add:
            pairs = torch.stack([pair_key // num_nodes, pair_key % num_nodes])
            ptr = layout.ptr
            num_add = torch.minimum(num_drop, num_non_edges(pairs, ptr))
            graph = torch.repeat_interleave(torch.arange(num_graphs, device=ptr.device),
                                            num_add)
            new = sample_negative_edges(pairs, ptr, graph, generator)
            new_key = torch.unique(new[0] * num_nodes + new[1])
            a, b = new_key // num_nodes, new_key % num_nodes
            new_edges = torch.stack([torch.cat([a, b]), torch.cat([b, a])])

        fill = {}
        edge_attr = batch.edge_attr if 'edge_attr' in batch else None
        if (edge_attr is not None and not edge_attr.is_floating_point() and edge_attr.dim() == 2
                and edge_attr.size(1) == len(bond_feature_dims())):
            fill['edge_attr'] = single_bond_features()
        return replace_edges(batch, keep, new_edges, fill, layout)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(rate={self.rate}, add={self.add})'
