"""Fixtures of the objective tests: a small float-feature graph for node-level objectives."""
from __future__ import annotations

import pytest
from torch_geometric.data import Data


@pytest.fixture
def float_graph(community_graph) -> Data:
    """40 nodes in 2 communities, 16 float features, undirected edges."""
    return community_graph()


@pytest.fixture
def float_minibatch(community_graph) -> Data:
    """The float graph as a neighbour-sampled mini-batch: its first 12 nodes are the seeds
    (``batch_size=12``), the rest their 'sampled neighbours' (NeighborLoader's format)."""
    data = community_graph()
    data.batch_size = 12
    return data
