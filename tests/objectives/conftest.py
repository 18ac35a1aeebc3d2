"""Fixtures of the objective tests: a small float-feature graph for node-level objectives."""
from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected


def _community_graph(num_nodes: int = 40, num_features: int = 16, p_in: float = 0.3,
                    p_out: float = 0.02, seed: int = 0) -> Data:
    """Two communities of ``num_nodes // 2`` nodes (a stochastic block model, undirected, no
    self-loops); features are the community's mean vector plus Gaussian noise; ``y`` is the
    community."""
    g = torch.Generator().manual_seed(seed)
    y = (torch.arange(num_nodes) >= num_nodes // 2).long()
    same = y.view(-1, 1) == y.view(1, -1)
    prob = torch.where(same, torch.tensor(p_in), torch.tensor(p_out))
    upper = torch.triu(torch.rand(num_nodes, num_nodes, generator=g) < prob, diagonal=1)
    edge_index = to_undirected(upper.nonzero().t(), num_nodes=num_nodes)
    means = torch.randn(2, num_features, generator=g)
    x = means[y] + 0.5 * torch.randn(num_nodes, num_features, generator=g)
    return Data(x=x, edge_index=edge_index, y=y, num_nodes=num_nodes)


@pytest.fixture
def community_graph():
    """The builder of two-community float graphs (keyword arguments: ``num_nodes``,
    ``num_features``, ``p_in``, ``p_out``, ``seed``)."""
    return _community_graph


@pytest.fixture
def float_graph() -> Data:
    """40 nodes in 2 communities, 16 float features, undirected edges."""
    return _community_graph()


@pytest.fixture
def float_minibatch() -> Data:
    """The float graph as a neighbour-sampled mini-batch: its first 12 nodes are the seeds
    (``batch_size=12``), the rest their 'sampled neighbours' (NeighborLoader's format)."""
    data = _community_graph()
    data.batch_size = 12
    return data
