"""Tiny encoder and tiny labelled molecule bundles for the evaluation tests (fixture `kit`);
a tiny labelled node-level graph (fixture `node_kit`)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from ogb.utils import smiles2graph
from ogb.utils.features import get_atom_feature_dims
from torch_geometric.nn import GINConv

from graphpfm.data.store import GraphStore
from graphpfm.datasets.bundle import DatasetBundle
from graphpfm.nn.encoders.base import Encoder

SMILES = ['CCO', 'CCN', 'c1ccccc1', 'CC(=O)O', 'CCCl', 'OCCO', 'CC(C)O', 'c1ccncc1', 'CCOC',
          'CC#N', 'C1CCCCC1', 'CC(=O)N', 'NCCN', 'OC(=O)CCl', 'c1ccoc1', 'CCCCO', 'CSC', 'CC=C',
          'FC(F)F', 'c1ccsc1']


class TinyEncoder(Encoder):
    """Embedding of the atomic number, one GIN layer and a batch norm (has running stats)."""

    def __init__(self, hidden_channels: int = 8) -> None:
        super().__init__(hidden_channels=hidden_channels)
        self.emb = torch.nn.Embedding(get_atom_feature_dims()[0], hidden_channels)
        self.conv = GINConv(torch.nn.Sequential(torch.nn.Linear(hidden_channels, hidden_channels),
                                                torch.nn.ReLU(),
                                                torch.nn.Linear(hidden_channels, hidden_channels)))
        self.norm = torch.nn.BatchNorm1d(hidden_channels)
        self.out_channels = hidden_channels

    def forward(self, x, edge_index, *, edge_attr=None, batch=None):
        return self.norm(self.conv(self.emb(x[:, 0]), edge_index)).relu()


def make_bundle(y: torch.Tensor, task_type: str = 'binary classification',
                eval_metric: str = 'rocauc', name: str = 'tiny', n_valid: int = 6,
                n_test: int = 8) -> DatasetBundle:
    """A bundle over :data:`SMILES` (repeated as needed) with labels ``y`` ``[n, T]``."""
    n = y.size(0)
    store = GraphStore.from_graphs([smiles2graph(SMILES[i % len(SMILES)]) for i in range(n)],
                                   y=y.float())
    perm = torch.arange(n)
    n_train = n - n_valid - n_test
    split_idx = {'train': perm[:n_train], 'valid': perm[n_train:n_train + n_valid],
                 'test': perm[n_train + n_valid:]}
    return DatasetBundle(name=name, dataset=store, split_idx=split_idx, task_type=task_type,
                         num_tasks=y.size(1), eval_metric=eval_metric)


def binary_labels(n: int = 30, tasks: int = 2, seed: int = 0) -> torch.Tensor:
    """Alternating-ish 0/1 labels so that every split holds both classes for every task."""
    g = torch.Generator().manual_seed(seed)
    y = (torch.arange(n).view(-1, 1) + torch.arange(tasks)) % 2
    flip = torch.rand(n, tasks, generator=g) < 0.2
    return torch.where(flip, 1 - y, y).float()



@pytest.fixture
def kit() -> SimpleNamespace:
    """The helpers above (tests run under ``--import-mode=importlib``, so not importable)."""
    return SimpleNamespace(TinyEncoder=TinyEncoder, make_bundle=make_bundle,
                           binary_labels=binary_labels,
                           make_tiny=lambda seed: TinyEncoder(hidden_channels=8))


def make_node_bundle(n: int = 90, num_classes: int = 3, num_features: int = 8, seed: int = 0,
                     signal: float = 1.0, binary_tasks: int = 0,
                     name: str = 'toy-nodes') -> DatasetBundle:
    """A stochastic block model: class ``i % num_classes``, edges mostly inside a class,
    features = ``signal`` x one-hot class (padded) + noise; splits 1/3 each (interleaved).
    With ``binary_tasks`` > 0 the labels are ``[n, T]`` floats (task t: class == t % C)."""
    from torch_geometric.data import Data
    g = torch.Generator().manual_seed(seed)
    cls = torch.arange(n) % num_classes
    src = torch.randint(0, n, (6 * n,), generator=g)
    dst = torch.randint(0, n, (6 * n,), generator=g)
    keep = (cls[src] == cls[dst]) | (torch.rand(6 * n, generator=g) < 0.1)
    ei = torch.stack([src[keep], dst[keep]])
    ei = torch.cat([ei, ei.flip(0)], 1)
    x = torch.randn(n, num_features, generator=g)
    x[torch.arange(n), cls % num_features] += signal
    if binary_tasks:
        y = (cls.view(-1, 1) == torch.arange(binary_tasks) % num_classes).float()
        task_type, num_tasks, metric = 'binary classification', binary_tasks, 'rocauc'
    else:
        y, task_type, num_tasks, metric = cls, 'multiclass classification', num_classes, 'acc'
    perm = torch.randperm(n, generator=g)
    split_idx = {'train': perm[:n // 3].sort()[0], 'valid': perm[n // 3:2 * n // 3].sort()[0],
                 'test': perm[2 * n // 3:].sort()[0]}
    return DatasetBundle(name=name, dataset=Data(x=x, edge_index=ei, y=y, num_nodes=n),
                         split_idx=split_idx, level='node', task_type=task_type,
                         num_tasks=num_tasks, eval_metric=metric,
                         meta={'num_classes': num_classes} if not binary_tasks else {})


@pytest.fixture
def node_kit() -> SimpleNamespace:
    """Node-level helpers: :func:`make_node_bundle` and a float-input GCN factory."""
    from graphpfm.nn import build_encoder

    def make_gcn(seed: int, in_channels: int = 8, **kwargs):
        return build_encoder('gcn', **{'num_layers': 2, 'hidden_channels': 16,
                                       'in_channels': in_channels, **kwargs})

    return SimpleNamespace(make_node_bundle=make_node_bundle, make_gcn=make_gcn)
