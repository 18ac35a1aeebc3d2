"""load_dataset, the dataset registry and available_datasets; a contract over every entry."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from ogb.utils.features import get_atom_feature_dims, get_bond_feature_dims

from graphpfm.datasets import (
    DATASETS,
    NPZ_DATASETS,
    PLANETOID_NAMES,
    DatasetNotFoundError,
    available_datasets,
    load_dataset,
    ogb_mol_names,
    ogb_node_names,
)

SHARED = ['ogbg-molbace', 'ogbg-molbbbp', 'ogbg-molesol', 'ogbg-molfreesolv', 'ogbg-molhiv',
          'ogbg-mollipo', 'ogbg-moltox21', 'ogbg-moltoxcast', 'moses']


def test_registry_holds_corpora_and_every_ogb_molecule_dataset() -> None:
    assert set(DATASETS.names()) == {'embedded', 'embedded-tpsa', 'embedded-polar', 'moses',
                                     *ogb_mol_names(), *ogb_node_names(), *PLANETOID_NAMES,
                                     *NPZ_DATASETS}


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(KeyError) as info:
        load_dataset('ogbg-molfoo')
    msg = str(info.value)
    assert 'ogbg-molfoo' in msg and 'ogbg-molhiv' in msg and 'embedded-tpsa' in msg
    assert '.smi' in msg and '.csv' in msg


@pytest.mark.data
def test_available_datasets(data_root: Path, tmp_path: Path) -> None:
    found = available_datasets(data_root)
    assert set(found) == set(DATASETS.names())
    for name in SHARED:
        assert isinstance(found[name], Path) and found[name].exists(), name
    assert found['ogbg-molclintox'] is False and found['ogbg-molpcba'] is False
    empty = available_datasets(tmp_path)
    assert empty['moses'] is False and empty['ogbg-molhiv'] is False
    assert isinstance(empty['embedded'], Path)  # ships with RDKit


@pytest.mark.data
@pytest.mark.parametrize('name', DATASETS.names())
def test_dataset_contract(name: str, data_root: Path) -> None:
    """Every entry loads into a consistent bundle when present, or raises
    DatasetNotFoundError (without touching the network) when absent."""
    if not available_datasets(data_root)[name]:
        with pytest.raises(DatasetNotFoundError):
            load_dataset(name, data_root, download=False)
        return
    b = load_dataset(name, data_root, limit=64, download=False, num_workers=0, progress=False)
    assert b.name == name and 0 < len(b) <= 64
    if b.level == 'node':  # one graph, limited to the subgraph of its first 64 nodes
        d = b.dataset
        assert d.num_nodes == len(b) and d.x.size(0) == len(b) and d.x.is_floating_point()
        assert d.edge_index.numel() == 0 or int(d.edge_index.max()) < len(b)
        assert b.labelled and b.num_tasks > 0 and b.eval_metric is not None
        assert all(int(v.max()) < len(b) for v in b.split_idx.values() if v.numel())
        return
    assert b.level == 'graph'
    batch = b.dataset.collate(torch.arange(len(b)))
    assert (batch.x < torch.tensor(get_atom_feature_dims())).all()
    assert (batch.edge_attr < torch.tensor(get_bond_feature_dims())).all()
    if b.labelled:
        assert b.num_tasks == b.dataset.y.size(1) > 0 and b.eval_metric is not None
        allidx = torch.cat(list(b.split_idx.values()))
        assert torch.equal(allidx.sort().values, torch.arange(len(b)))
    else:
        assert b.num_tasks == 0 and b.eval_metric is None and b.split_idx is None
