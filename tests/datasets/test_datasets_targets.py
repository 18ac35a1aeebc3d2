"""RDKit targets: equal to RDKit's own functions, standardised as documented, cached exactly,
added to an existing graph cache without touching it."""
import hashlib
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from rdkit import Chem
from rdkit.Chem import Descriptors, rdFingerprintGenerator

from graphpfm.datasets import attach_targets, load_dataset, load_smiles_file
from graphpfm.datasets import targets as tg

#: benzene, aspirin, a charged molecule (a zwitterionic amino acid with a quaternary ammonium)
#: and a disconnected salt
MOLECULES = ['c1ccccc1', 'CC(=O)Oc1ccccc1C(=O)O', 'C[N+](C)(C)CC(=O)[O-]', '[Na+].[Cl-]',
             'CCO', 'CCN(CC)CC']


def _raw(smiles):
    return tg._targets_chunk(smiles)


def test_raw_targets_equal_rdkit_functions():
    raw = _raw(MOLECULES)
    fns = dict(Descriptors._descList)
    motif = np.unpackbits(raw['motif'], axis=1)[:, :len(tg.motif_names())]
    ecfp = np.unpackbits(raw['ecfp4'], axis=1)
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    assert raw['ok'].all()
    for i, s in enumerate(MOLECULES):
        mol = Chem.MolFromSmiles(s)
        for j, name in enumerate(tg.motif_names()):
            assert motif[i, j] == (fns[name](mol) > 0), (s, name)
        for j, name in enumerate(tg.descriptor_names()):
            want = np.float32(fns[name](mol))
            got = raw['descriptors'][i, j]
            assert got == want or (math.isnan(got) and math.isnan(want)), (s, name)
        assert np.array_equal(ecfp[i], gen.GetFingerprintAsNumPy(mol))
    # a few values checked against chemistry by hand
    names = tg.descriptor_names()
    aspirin = raw['descriptors'][1]
    assert aspirin[names.index('NumHDonors')] == 1
    assert aspirin[names.index('NumHAcceptors')] == 3
    assert aspirin[names.index('RingCount')] == 1
    assert abs(aspirin[names.index('MolWt')] - 180.159) < 1e-2
    fr = tg.motif_names()
    assert motif[1, fr.index('fr_ester')] == 1 and motif[1, fr.index('fr_benzene')] == 1
    assert motif[0, fr.index('fr_ester')] == 0 and motif[0, fr.index('fr_benzene')] == 1
    assert motif[2, fr.index('fr_quatN')] == 1
    assert raw['descriptors'][3, names.index('NumAromaticRings')] == 0


def test_unreadable_molecules_and_failing_descriptors_are_nan(monkeypatch):
    names = tg.descriptor_names()
    victim = names.index('MolLogP')
    entries = [(n, (lambda m: (_ for _ in ()).throw(RuntimeError('boom'))) if n == 'MolLogP'
                else f) for n, f in Descriptors._descList]
    monkeypatch.setattr(Descriptors, '_descList', entries)
    raw = _raw(['c1ccccc1', 'not a molecule', 'CCO'])
    assert raw['ok'].tolist() == [True, False, True]
    assert np.isnan(raw['descriptors'][1]).all()
    assert np.isnan(raw['descriptors'][[0, 2], victim]).all()
    assert np.isfinite(raw['descriptors'][[0, 2], names.index('MolWt')]).all()
    assert raw['motif'][1].sum() == 0 and raw['ecfp4'][1].sum() == 0


def test_standardize_clips_centres_scales_and_drops_constant_columns():
    col = np.array([1., 2., 3., 4., 100., np.nan])  # one outlier, one missing entry
    raw = np.stack([col, np.full(6, 5.0), np.full(6, np.nan)], 1)
    z, stats = tg.standardize(raw, quantiles=(0.0, 0.75))
    lo, hi = 1.0, np.quantile([1., 2., 3., 4., 100.], 0.75)  # 4.0
    clipped = np.clip([1., 2., 3., 4., 100.], lo, hi)
    mean, std = clipped.mean(), clipped.std()
    assert hi == 4.0 and stats['low'][0] == lo and stats['high'][0] == hi
    assert np.allclose(z[:5, 0], (clipped - mean) / std) and np.isnan(z[5, 0])
    assert stats['mean'][0] == pytest.approx(mean) and stats['std'][0] == pytest.approx(std)
    assert stats['dropped'] == [1, 2] and np.isnan(z[:, 1:]).all()
    # the outlier is clipped to the high quantile: it no longer dominates the scale
    assert z[4, 0] == z[3, 0]


def test_half_precision_storage_loses_under_a_hundredth_of_a_standard_deviation(tmp_path,
                                                                                 monkeypatch):
    monkeypatch.setenv('GRAPHPFM_CACHE', str(tmp_path))
    smiles = [line.split()[0] for line in
              Path(Chem.RDConfig.RDDataDir, 'NCI', 'first_5K.smi').read_text().splitlines()[:300]]
    tensors, meta = tg.compute_targets(smiles, num_workers=0, progress=False)
    z32, _ = tg.standardize(_raw(smiles)['descriptors'])
    z16 = tensors['descriptors'].float().numpy()
    finite = np.isfinite(z32)
    assert np.array_equal(finite, np.isfinite(z16))
    assert np.abs(z16[finite] - z32[finite]).max() < 1e-2
    assert tensors['descriptors'].dtype == torch.float16
    assert tensors['motif'].dtype == torch.uint8 and tensors['ecfp4'].shape == (300, 128)
    assert meta['bit_widths'] == {'motif': len(tg.motif_names()), 'ecfp4': 1024}


def test_cache_round_trip_is_exact_and_parts_resume(tmp_path, monkeypatch):
    monkeypatch.setenv('GRAPHPFM_CACHE', str(tmp_path))
    first, meta1 = tg.load_targets(MOLECULES, num_workers=0, progress=False)
    again, meta2 = tg.load_targets(MOLECULES, num_workers=0, progress=False)
    assert not meta1['from_cache'] and meta2['from_cache']
    for k in first:
        assert torch.equal(torch.nan_to_num(first[k].float(), 9.0),
                           torch.nan_to_num(again[k].float(), 9.0)), k
        assert first[k].dtype == again[k].dtype
    assert not list(tmp_path.rglob('*.parts'))
    # a run in parts, resumed after an interruption, gives the same targets
    parts = tmp_path / 'parts'
    direct, _ = tg.compute_targets(MOLECULES, num_workers=0, progress=False)
    tg.compute_targets(MOLECULES, num_workers=0, progress=False, parts_dir=parts, part_size=2)
    (parts / 'part-000000000002.npz').unlink()
    resumed, _ = tg.compute_targets(MOLECULES, num_workers=0, progress=False, parts_dir=parts,
                                    part_size=2)
    for k in direct:
        assert torch.equal(torch.nan_to_num(direct[k].float(), 9.0),
                           torch.nan_to_num(resumed[k].float(), 9.0)), k


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_graph_cache_gains_targets_untouched(tmp_path, fresh_cache):
    path = tmp_path / 'mols.smi'
    path.write_text('smiles\n' + '\n'.join(MOLECULES + ['not_a_smiles']) + '\n')
    plain = load_smiles_file(path, progress=False, num_workers=0)
    cache = Path(plain.meta['cache_path'])
    before = _sha(cache)
    bundle = load_dataset(str(path), targets=['descriptors', 'motif'], num_workers=0,
                          progress=False)
    store = bundle.dataset
    assert store.meta['from_cache'] and _sha(cache) == before
    for key in ('x', 'edge_index', 'edge_attr', 'node_ptr', 'edge_ptr'):
        assert torch.equal(getattr(store, key), getattr(plain, key)), key
    assert set(store.graph_attrs) == {'targets_ok', 'descriptors', 'motif'}
    assert bundle.meta['targets']['kinds'] == ['descriptors', 'motif']
    # the invalid line was dropped with its graph: targets follow the kept molecules
    assert store.graph_attrs['descriptors'].shape[0] == len(store) == len(MOLECULES)
    batch = store.collate([1, 0])
    raw = _raw([MOLECULES[1]])
    fr = np.unpackbits(raw['motif'], axis=1)[0, :len(tg.motif_names())]
    assert torch.equal(batch.motif[0], torch.from_numpy(fr).float())
    assert batch.descriptors.dtype == torch.float32 and batch.motif.shape == (2, 85)


def test_targets_of_a_node_dataset_are_refused(data_root):
    with pytest.raises(ValueError, match='need molecules'):
        load_dataset('Cora', root=data_root, targets=['descriptors'], progress=False)


def test_unknown_target_kind_lists_the_valid_ones(mol_store, small_smiles):
    with pytest.raises(ValueError, match='motif, descriptors, ecfp4'):
        attach_targets(mol_store, small_smiles, ['logp'], num_workers=0, progress=False)
    with pytest.raises(ValueError, match='one SMILES per graph'):
        attach_targets(mol_store, small_smiles[:3], ['motif'], num_workers=0, progress=False)
