"""Reading ``.csv`` records the csv module finds awkward: each is still one record, kept as
given, so that it is found invalid rather than read as another molecule or fatal."""
from __future__ import annotations

import csv
from pathlib import Path

from graphpfm.datasets import featurize_smiles, read_smiles_file


def test_quoted_line_breaks_stay_in_their_record(tmp_path: Path) -> None:
    path = tmp_path / 'mols.csv'
    with open(path, 'w', newline='') as f:
        csv.writer(f).writerows([['smiles', 'y'], ['CCO', 1], ['CC(=O)\r\nO', 0], ['CCN', 1]])
    smiles, lines = read_smiles_file(path)
    assert smiles == ['CCO', 'CC(=O)\r\nO', 'CCN']  # not the valid 'CC(=O)O'
    assert lines.tolist() == [2, 4, 5]
    store = featurize_smiles(smiles, num_workers=0, progress=False)
    assert store.invalid == [(1, 'whitespace inside the SMILES')]


def test_lines_the_csv_module_rejects_are_one_record_each(tmp_path: Path) -> None:
    path = tmp_path / 'mols.csv'
    huge = 'C' * (csv.field_size_limit() + 10)
    path.write_bytes(b'smiles\nCCO\nC\rC\n' + huge.encode() + b'\nCCN\n')
    smiles, lines = read_smiles_file(path)
    assert smiles == ['CCO', 'C\rC', huge, 'CCN']
    assert lines.tolist() == [2, 3, 4, 5]
    store = featurize_smiles(smiles, num_workers=0, progress=False)
    assert store.source_index.tolist() == [0, 3]
    assert store.invalid == [
        (1, 'whitespace inside the SMILES'),
        (2, f'SMILES of {len(huge)} characters, more than the limit of 2000')]
