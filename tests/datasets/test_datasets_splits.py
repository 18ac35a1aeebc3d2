"""Scaffold and random splits."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from graphpfm.datasets import load_ogb_graph, ogb_smiles, random_split, scaffold_split
from graphpfm.datasets.corpora import embedded_smiles_path
from graphpfm.datasets.splits import murcko_scaffold


def valid_embedded(n: int) -> list[str]:
    from rdkit import Chem
    from rdkit.rdBase import BlockLogs
    _block = BlockLogs()  # noqa: F841
    lines = embedded_smiles_path().read_text().splitlines()[:n]
    return [s for s in (line.split()[0] for line in lines) if Chem.MolFromSmiles(s) is not None]


def test_scaffold_split_invariants() -> None:
    smiles = valid_embedded(800)
    split = scaffold_split(smiles)
    n = len(smiles)
    allidx = torch.cat(list(split.values()))
    assert torch.equal(allidx.sort().values, torch.arange(n))  # disjoint and complete
    assert split['train'].numel() <= 0.8 * n
    assert split['train'].numel() + split['valid'].numel() <= 0.9 * n
    assert split['valid'].numel() > 0 and split['test'].numel() > 0
    scaffolds = {k: {murcko_scaffold(smiles[i]) for i in v.tolist()} for k, v in split.items()}
    assert not scaffolds['train'] & scaffolds['valid']
    assert not scaffolds['train'] & scaffolds['test']
    assert not scaffolds['valid'] & scaffolds['test']
    again = scaffold_split(smiles)
    assert all(torch.equal(split[k], again[k]) for k in split)


@pytest.mark.data
@pytest.mark.parametrize('name', ['ogbg-molbbbp', 'ogbg-molesol'])
def test_scaffold_split_reproduces_ogb_split(data_root: Path, name: str) -> None:
    b = load_ogb_graph(name, data_root, download=False)
    split = scaffold_split(ogb_smiles(name, data_root))
    for k in ('train', 'valid', 'test'):
        assert torch.equal(split[k], b.split_idx[k].sort().values), k


def test_scaffold_split_rejects_invalid_smiles_and_bad_fractions() -> None:
    with pytest.raises(ValueError, match='molecule 1'):
        scaffold_split(['CCO', 'C1CC', 'CCN'])
    with pytest.raises(ValueError, match='summing to 1'):
        scaffold_split(['CCO'], frac=(0.8, 0.3, 0.1))


def test_random_split_seeded_and_complete() -> None:
    a, b, c = random_split(101, seed=1), random_split(101, seed=1), random_split(101, seed=2)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a['train'], c['train'])
    assert torch.equal(torch.cat(list(a.values())).sort().values, torch.arange(101))
    assert [v.numel() for v in a.values()] == [81, 10, 10]
