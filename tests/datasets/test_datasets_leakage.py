"""Leakage control: corpus molecules in downstream valid/test splits are found by identity
(InChIKey), whatever their SMILES spelling, and removed with the right counts."""
import pandas as pd
import pytest
import torch
from rdkit import Chem

from graphpfm.datasets import (
    exclude_overlap,
    find_overlap,
    from_smiles,
    load_dataset,
    molecule_key,
    overlap_table,
)
from graphpfm.datasets.leakage import bundle_smiles, downstream_smiles
from graphpfm.errors import ConfigError

FAR = 'CCCCCCCCCCCCCCCCCCCCCCCCO'  # a long fatty alcohol: in no OGB split below


def _respell(smiles):
    """A different, valid SMILES string for the same molecule (random atom order)."""
    mol = Chem.MolFromSmiles(smiles)
    for seed in range(20):
        alt = Chem.MolToRandomSmilesVect(mol, 1, randomSeed=seed)[0]
        if alt != smiles:
            return alt
    raise AssertionError('no other spelling found')


@pytest.fixture
def bbbp_pick(data_root):
    """A test molecule and a valid molecule of ogbg-molbbbp, plus a train-only molecule."""
    smiles, index, which = downstream_smiles('ogbg-molbbbp', data_root)
    keys = [molecule_key(s) for s in smiles]
    protected = set(keys)
    test = next(s for s, w, k in zip(smiles, which, keys) if w == 'test' and k
                and keys.count(k) == 1 and len(s) > 20)
    valid = next(s for s, w, k in zip(smiles, which, keys) if w == 'valid' and k
                 and keys.count(k) == 1 and len(s) > 20)
    train, _, _ = downstream_smiles('ogbg-molbbbp', data_root, ('train',))
    train_only = next(s for s in train if molecule_key(s) and molecule_key(s) not in protected)
    return test, valid, train_only


def test_molecule_key_ignores_spelling():
    assert molecule_key('OCC') == molecule_key('C(O)C') == molecule_key('[H]OC([H])([H])C')
    assert molecule_key('c1ccccc1') == molecule_key('C1=CC=CC=C1')
    assert molecule_key('CCO') != molecule_key('COC')
    assert molecule_key('not a smiles') is None and molecule_key('') is None


def test_find_overlap_catches_other_spellings(bbbp_pick, data_root):
    test, valid, train_only = bbbp_pick
    corpus = [FAR, _respell(test), 'xx', train_only, _respell(valid), _respell(test)]
    assert corpus[1] != test and corpus[4] != valid
    report = find_overlap(corpus, 'ogbg-molbbbp', data_root)
    o = report['ogbg-molbbbp']
    assert o.corpus_index == [1, 4, 5] and o.num_overlap == 3 and o.num_checked > 300
    assert {e['split'] for e in o.examples} == {'test', 'valid'}
    assert o.examples[0]['downstream_smiles'] == test
    # train molecules are only caught when the train split is checked
    assert 3 in find_overlap(corpus, ['ogbg-molbbbp'], data_root,
                             ('train',))['ogbg-molbbbp'].corpus_index
    table = overlap_table(report, len(corpus))
    assert '| ogbg-molbbbp | valid/test |' in table and '3 of 6' in table
    with pytest.raises(KeyError, match='ogbg-molhiv'):
        find_overlap(corpus, 'ogbg-nope', data_root)
    with pytest.raises(ConfigError, match='valid options: train, valid, test'):
        find_overlap(corpus, 'ogbg-molbbbp', data_root, ('dev',))


def test_exclude_overlap_from_a_smiles_file(bbbp_pick, data_root, tmp_path, small_smiles):
    test, valid, _ = bbbp_pick
    rows = small_smiles[:4] + [_respell(test), 'not_a_smiles', _respell(valid)] + small_smiles[4:8]
    path = tmp_path / 'corpus.csv'
    pd.DataFrame({'smiles': rows}).to_csv(path, index=False)
    bundle = load_dataset(path, num_workers=0, progress=False)
    assert len(bundle) == 10 and bundle_smiles(bundle) == [r for r in rows if r != 'not_a_smiles']
    before = [molecule_key(s) for s in small_smiles[:8]]
    protected = find_overlap(small_smiles[:8], 'ogbg-molbbbp', data_root)['ogbg-molbbbp']
    out = exclude_overlap(bundle, ['ogbg-molbbbp'], data_root)
    expected_removed = 2 + protected.num_overlap
    assert len(out) == 10 - expected_removed and len(bundle) == 10  # input unchanged
    info = out.meta['leakage']
    assert info['removed'] == expected_removed and info['per_dataset'] == {
        'ogbg-molbbbp': expected_removed} and info['num_graphs_before'] == 10
    kept = bundle_smiles(out)
    assert molecule_key(test) not in {molecule_key(s) for s in kept}
    assert molecule_key(valid) not in {molecule_key(s) for s in kept}
    # source_index still points at the input rows (skipping the invalid row 5)
    assert [rows[i] for i in out.dataset.source_index.tolist()] == kept
    assert set(before) - {molecule_key(s) for s in kept} <= {
        molecule_key(small_smiles[i]) for i in protected.corpus_index}
    # graphs are the right ones: the kept store equals the original store's rows
    pos = [bundle_smiles(bundle).index(s) for s in kept]
    assert torch.equal(out.dataset.collate(range(len(out))).x,
                       bundle.dataset.collate(pos).x)


def test_exclude_overlap_renumbers_splits(bbbp_pick, data_root):
    test, _, _ = bbbp_pick
    smiles = ['CCO', 'CCN', _respell(test), 'CCC', 'CCCl', 'CCBr', 'CCF', 'CCCO', 'CCCN', 'OCCO']
    bundle = from_smiles(smiles, [float(i % 2) for i in range(10)], split='random')
    out = exclude_overlap(bundle, 'ogbg-molbbbp', data_root, smiles=smiles)
    assert len(out) == 9 and out.meta['leakage']['removed'] == 1
    old_to_new = {old: new for new, old in enumerate([i for i in range(10) if i != 2])}
    for split, idx in bundle.split_idx.items():
        assert out.split_idx[split].tolist() == [old_to_new[i] for i in idx.tolist() if i != 2]
    with pytest.raises(ValueError, match='smiles='):
        exclude_overlap(bundle, 'ogbg-molbbbp', data_root)
