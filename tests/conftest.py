"""Shared fixtures: the real data root, an isolated cache dir, tiny molecules, the devices."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from devices import available_devices
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

REPO = Path(__file__).resolve().parents[1]


def _find_data_root() -> Path | None:
    env = os.environ.get('GRAPHPFM_DATA')
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / 'shared' / 'data')
    for c in candidates:
        if (c / 'ogb').is_dir():
            return c.resolve()
    return None


@pytest.fixture(scope='session')
def data_root() -> Path:
    """The real datasets (``$GRAPHPFM_DATA`` or ``../shared/data``).

    Under ``CI=true`` a missing data root is a failure, never a skip.
    """
    root = _find_data_root()
    if root is None:
        msg = ('real datasets not found: set GRAPHPFM_DATA or place them at '
               f'{REPO.parent / "shared" / "data"}')
        if os.environ.get('CI', '').lower() in ('1', 'true', 'yes'):
            pytest.fail(msg)
        pytest.skip(msg)
    return root


@pytest.fixture(params=[pytest.param(d, marks=pytest.mark.device) for d in available_devices()])
def device(request: pytest.FixtureRequest) -> str:
    """Every available device in turn (:func:`devices.available_devices`: ``'cpu'``, and
    ``'cuda'`` where present); the cases are marked ``device``, so ``pytest -m device`` selects
    them (``benchmarks/gpu_check.sh`` runs them on a GPU)."""
    return request.param


@pytest.fixture(autouse=True, scope='session')
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Caches go to a per-session temp dir, never into the user's home or the data root."""
    os.environ['GRAPHPFM_CACHE'] = str(tmp_path_factory.mktemp('graphpfm-cache'))


SMALL_SMILES = [
    'CCO', 'c1ccccc1O', 'CC(=O)Nc1ccc(O)cc1', 'C1CCCCC1N', 'O=C(O)c1ccccc1OC(C)=O',
    'CN1C=NC2=C1C(=O)N(C(=O)N2C)C', 'CC(C)Cc1ccc(cc1)C(C)C(=O)O', 'C#N', 'ClC(Cl)Cl',
    'OC[C@H]1OC(O)[C@H](O)[C@@H](O)[C@@H]1O', 'c1ccc2ccccc2c1', 'CCN(CC)CC',
    'FC(F)(F)c1ccccc1', 'CC(=O)OC1=CC=CC=C1C(=O)O', 'N#Cc1ccccc1', 'CCCCCCCCCCCCCCCC(=O)O',
]


@pytest.fixture
def mol_store():
    """A GraphStore of 16 small real molecules featurised with ogb.smiles2graph."""
    from ogb.utils import smiles2graph

    from graphpfm.data import GraphStore
    return GraphStore.from_graphs([smiles2graph(s) for s in SMALL_SMILES])


@pytest.fixture
def small_smiles() -> list[str]:
    return list(SMALL_SMILES)


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
