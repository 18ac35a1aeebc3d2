"""Tiny encoder and tiny labelled molecule bundles for the evaluation tests (fixture `kit`)."""
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
