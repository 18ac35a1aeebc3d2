"""Corpora: RDKit's embedded NCI molecules (and their TPSA), MOSES, SMILES files."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from graphpfm.datasets import DatasetNotFoundError, load_dataset
from graphpfm.datasets.corpora import embedded_smiles_path, read_tpsa_file


def test_embedded_corpus(fresh_cache: Path) -> None:
    b = load_dataset('embedded', num_workers=2, progress=False)
    records = [line for line in embedded_smiles_path().read_text().splitlines() if line.strip()]
    assert b.meta['count'] == len(records) == 4999
    # RDKit 2026 rejects 8 of them (hypervalent Hg/Al/Si/Be/P...): reported, never fatal
    assert b.meta['num_invalid'] == 8 and len(b) == 4999 - 8
    first = b.meta['invalid_examples'][0]
    assert (first['index'], first['line']) == (2097, 2098)
    assert records[2097].split()[0] == first['smiles']
    assert (b.split_idx, b.task_type, b.num_tasks, b.eval_metric, b.level) == (
        None, None, 0, None, 'graph')
    assert not b.labelled
    assert load_dataset('embedded', progress=False).meta['from_cache'] is True


def test_embedded_tpsa_labels_aligned(fresh_cache: Path) -> None:
    from rdkit import Chem
    from rdkit.Chem import rdMolDescriptors

    b = load_dataset('embedded-tpsa', num_workers=0, progress=False)
    assert (b.task_type, b.num_tasks, b.eval_metric, b.meta['split']) == (
        'regression', 1, 'rmse', 'scaffold')
    y = b.dataset.y.view(-1)
    assert y.dtype == torch.float32 and len(b) == 4991 and not torch.isnan(y).any()
    smiles, tpsa = read_tpsa_file(Path(b.meta['source']))
    src = b.dataset.source_index
    assert torch.equal(y, torch.from_numpy(tpsa)[src])
    # TPSA recomputed by RDKit agrees with the label of the same graph (Daylight's values
    # differ for 2 of 4991 molecules)
    sample = src[::25].tolist()
    agree = sum(abs(rdMolDescriptors.CalcTPSA(Chem.MolFromSmiles(smiles[i])) - tpsa[i]) < 0.02
                for i in sample)
    assert agree >= len(sample) - 1
    assert abs(float(y[0]) - rdMolDescriptors.CalcTPSA(Chem.MolFromSmiles(smiles[0]))) < 0.01
    allidx = torch.cat(list(b.split_idx.values()))
    assert torch.equal(allidx.sort().values, torch.arange(len(b)))
    again = load_dataset('embedded-tpsa', progress=False)
    assert again.meta['from_cache'] is True
    assert all(torch.equal(b.split_idx[k], again.split_idx[k]) for k in b.split_idx)


def test_embedded_polar_thresholds_the_tpsa_labels_on_the_same_split(fresh_cache: Path
                                                                     ) -> None:
    from graphpfm.datasets import bundle_smiles
    from graphpfm.datasets.corpora import POLAR_TPSA
    tpsa = load_dataset('embedded-tpsa', num_workers=0, progress=False, limit=400)
    polar = load_dataset('embedded-polar', progress=False, limit=400)
    assert (polar.task_type, polar.num_tasks, polar.eval_metric) == (
        'binary classification', 1, 'rocauc')
    t, y = tpsa.dataset.y.view(-1), polar.dataset.y.view(-1)
    assert torch.equal(y, (t > POLAR_TPSA).float()) and 0 < y.sum() < len(y)
    assert tpsa.dataset.y.view(-1).max() > 1  # the TPSA bundle keeps its own labels
    assert all(torch.equal(tpsa.split_idx[k], polar.split_idx[k]) for k in tpsa.split_idx)
    assert bundle_smiles(polar) == bundle_smiles(tpsa)


@pytest.mark.data
def test_moses_limit(data_root: Path, fresh_cache: Path) -> None:
    b = load_dataset('moses', data_root, limit=300, num_workers=0, progress=False)
    assert len(b) == 300 and b.meta['limit'] == 300 and b.meta['num_invalid'] == 0
    assert b.split_idx is None and b.num_tasks == 0


def test_moses_absent_names_path(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset('moses', tmp_path)
    assert str(tmp_path / 'pretrain' / 'moses.csv.gz') in str(info.value)
    assert 'GRAPHPFM_DATA' in str(info.value)


def test_path_to_smiles_file_is_a_corpus(tmp_path: Path, fresh_cache: Path) -> None:
    path = tmp_path / 'mine.smi'
    path.write_text('CCO a\nc1ccccc1 b\nC1CC c\nCCN d\n')
    b = load_dataset(str(path), num_workers=0, progress=False)
    assert b.name == str(path) and len(b) == 3 and b.meta['num_invalid'] == 1
    assert load_dataset(path, limit=2, num_workers=0, progress=False).meta['count'] == 2
