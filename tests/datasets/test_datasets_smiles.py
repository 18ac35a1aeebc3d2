"""SMILES featurisation, file readers, caching and bundles built from SMILES."""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from ogb.utils import smiles2graph

from graphpfm.datasets import featurize_smiles, from_smiles, load_smiles_file, read_smiles_file
from graphpfm.datasets.corpora import embedded_smiles_path


def assert_graphs_equal_smiles2graph(store, smiles: list[str]) -> None:
    assert len(store) == len(smiles)
    for i, smi in enumerate(smiles):
        g, d = smiles2graph(smi), store[i]
        assert d.num_nodes == g['num_nodes']
        assert np.array_equal(d.x.numpy(), g['node_feat']), smi
        assert np.array_equal(d.edge_index.numpy(), g['edge_index']), smi
        assert np.array_equal(d.edge_attr.numpy(), g['edge_feat']), smi


def assert_stores_equal(a, b) -> None:
    for key in ('x', 'edge_index', 'edge_attr', 'node_ptr', 'edge_ptr'):
        assert torch.equal(getattr(a, key), getattr(b, key)), key
    assert torch.equal(a.source_index, b.source_index)


def embedded_head(n: int) -> list[str]:
    return [line.split()[0] for line in embedded_smiles_path().read_text().splitlines()[:n]]


@pytest.mark.data
def test_featurisation_equals_smiles2graph_on_moses(data_root: Path) -> None:
    smiles, _ = read_smiles_file(data_root / 'pretrain' / 'moses.csv.gz', limit=50)
    assert len(smiles) == 50
    store = featurize_smiles(smiles, num_workers=0, progress=False)
    assert store.meta['num_invalid'] == 0
    assert_graphs_equal_smiles2graph(store, smiles)


def test_featurisation_equals_smiles2graph_on_varied_molecules(helpers) -> None:
    smiles = helpers.fake_smiles + embedded_head(40)
    store = featurize_smiles(smiles, num_workers=0, progress=False)
    assert_graphs_equal_smiles2graph(store, smiles)
    assert torch.equal(store.source_index, torch.arange(len(smiles)))
    info = store.meta['featurizer']
    assert info['name'] == 'ogb.smiles2graph' and info['rdkit'] and info['ogb']


def test_invalid_smiles_counted_not_fatal() -> None:
    smiles = ['CCO', 'C1CC', 'c1ccccc1', 'not_a_smiles', '', 'O', None]
    store = featurize_smiles(smiles, num_workers=0, progress=False)
    assert len(store) == 3
    assert store.source_index.tolist() == [0, 2, 5]
    assert_graphs_equal_smiles2graph(store, ['CCO', 'c1ccccc1', 'O'])
    meta = store.meta
    assert (meta['count'], meta['num_valid'], meta['num_invalid']) == (7, 3, 4)
    assert [e['index'] for e in meta['invalid_examples']] == [1, 3, 4, 6]
    reasons = {e['index']: e['reason'] for e in meta['invalid_examples']}
    assert 'empty record' in reasons[4] and 'not a string' in reasons[6]
    assert reasons[1] and reasons[3]


def test_all_invalid_gives_empty_store() -> None:
    store = featurize_smiles(['C1CC', ''], num_workers=0, progress=False)
    assert len(store) == 0 and store.meta['num_invalid'] == 2


def test_parallel_equals_in_process() -> None:
    smiles = embedded_head(400)
    for pos in (5, 130, 131, 399):  # invalid molecules spread over several chunks
        smiles[pos] = 'C1CC'
    serial = featurize_smiles(smiles, num_workers=0, progress=False)
    parallel = featurize_smiles(smiles, num_workers=2, progress=False, chunk_size=64)
    assert_stores_equal(serial, parallel)
    assert serial.meta['invalid_examples'] == parallel.meta['invalid_examples']
    assert [e['index'] for e in parallel.meta['invalid_examples']] == [5, 130, 131, 399]
    assert len(parallel) == 396


def write_files(folder: Path, smiles: list[str]) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame({'id': range(len(smiles)), 'SMILES': smiles, 'y': 0.5})
    paths = {'csv': folder / 'mols.csv', 'csv.gz': folder / 'mols.csv.gz',
             'smi': folder / 'mols.smi', 'smi.gz': folder / 'mols.smi.gz'}
    df.to_csv(paths['csv'], index=False)
    df.to_csv(paths['csv.gz'], index=False)
    text = 'smiles name\n' + ''.join(f'{s}\tmol{i}\n' for i, s in enumerate(smiles)) + '\n'
    paths['smi'].write_text(text)
    with gzip.open(paths['smi.gz'], 'wt') as f:
        f.write(text)
    return paths


def test_readers_and_limit(tmp_path: Path) -> None:
    smiles = ['CCO', 'c1ccccc1', 'C1CC', 'CC(=O)O', 'N']
    for kind, path in write_files(tmp_path, smiles).items():
        got, lines = read_smiles_file(path)
        assert got == smiles, kind
        assert lines.tolist() == [2, 3, 4, 5, 6], kind  # after the header line
        head, _ = read_smiles_file(path, limit=3)
        assert head == smiles[:3], kind
    (tmp_path / 'plain.smi').write_text('CCO 1\nCCN 2\n')
    assert read_smiles_file(tmp_path / 'plain.smi')[0] == ['CCO', 'CCN']  # no header


def test_reader_errors(tmp_path: Path) -> None:
    (tmp_path / 'bad.csv').write_text('id,structure\n1,CCO\n')
    with pytest.raises(ValueError, match='id, structure'):
        read_smiles_file(tmp_path / 'bad.csv')
    (tmp_path / 'mols.txt').write_text('CCO\n')
    with pytest.raises(ValueError, match=r'\.smi\.gz'):
        read_smiles_file(tmp_path / 'mols.txt')


def test_load_smiles_file_cache(tmp_path: Path, fresh_cache: Path) -> None:
    smiles = ['CCO', 'C1CC', 'c1ccccc1', 'CC(=O)O', 'N']
    path = write_files(tmp_path / 'data', smiles)['csv.gz']
    first = load_smiles_file(path, num_workers=0, progress=False)
    assert first.meta['from_cache'] is False and first.source_index.tolist() == [0, 2, 3, 4]
    assert first.meta['invalid_examples'][0]['line'] == 3
    second = load_smiles_file(path, num_workers=0, progress=False)
    assert second.meta['from_cache'] is True
    assert_stores_equal(first, second)
    # the reasons of the invalid records come back with the cache (embed reports them)
    assert first.invalid == second.invalid and [i for i, _ in second.invalid] == [1]
    assert 'C1CC' not in second.invalid[0][1] and second.invalid[0][1]
    cache = Path(first.meta['cache_path'])
    assert fresh_cache in cache.parents
    state = torch.load(cache, weights_only=True)
    assert torch.equal(state['extra']['source_index'], first.source_index)
    # a different limit is another cache entry
    limited = load_smiles_file(path, limit=2, num_workers=0, progress=False)
    assert limited.meta['from_cache'] is False and len(limited) == 1
    # a changed file invalidates the cache
    pd.DataFrame({'smiles': ['CCCC', 'CC']}).to_csv(path, index=False)
    os.utime(path, ns=(1, 1))
    changed = load_smiles_file(path, num_workers=0, progress=False)
    assert changed.meta['from_cache'] is False and len(changed) == 2


def test_from_smiles_unlabelled() -> None:
    b = from_smiles(['CCO', 'CCN', 'xyz'], name='tiny')
    assert (b.name, len(b), b.split_idx, b.task_type, b.num_tasks, b.eval_metric, b.level) == (
        'tiny', 2, None, None, 0, None, 'graph')
    assert b.meta['num_invalid'] == 1


def test_from_smiles_labels_dropped_with_invalid_molecules() -> None:
    smiles = embedded_head(60)
    smiles[10] = 'C1CC'
    smiles[33] = 'not_a_smiles'
    labels = np.arange(60, dtype=np.float64) + 0.5
    b = from_smiles(smiles, labels)
    assert b.task_type == 'regression' and b.eval_metric == 'rmse' and b.num_tasks == 1
    assert len(b) == 58 and b.meta['num_invalid'] == 2
    kept = b.dataset.source_index
    assert 10 not in kept.tolist() and 33 not in kept.tolist()
    assert torch.equal(b.dataset.y.view(-1), torch.from_numpy(labels[kept.numpy()]).float())
    allidx = torch.cat(list(b.split_idx.values()))
    assert torch.equal(allidx.sort().values, torch.arange(58))
    assert b.meta['split'] == 'scaffold'


def test_from_smiles_task_types_and_random_split() -> None:
    smiles = embedded_head(50)
    binary = np.tile([[0.0, 1.0], [1.0, np.nan]], (25, 1))
    b = from_smiles(smiles, binary, split='random', seed=3)
    assert (b.task_type, b.eval_metric, b.num_tasks) == ('binary classification', 'rocauc', 2)
    assert b.meta['split_seed'] == 3
    assert [v.numel() for v in b.split_idx.values()] == [40, 5, 5]
    again = from_smiles(smiles, binary, split='random', seed=3)
    assert all(torch.equal(b.split_idx[k], again.split_idx[k]) for k in b.split_idx)
    with pytest.raises(ValueError, match='task_type'):
        from_smiles(smiles, np.arange(50))  # integers 0..49: ambiguous
    assert from_smiles(smiles, np.arange(50), task_type='regression').task_type == 'regression'
    with pytest.raises(ValueError, match='scaffold, random'):
        from_smiles(smiles, binary, split='stratified')
    with pytest.raises(ValueError, match=r'\[50\]'):
        from_smiles(smiles, np.zeros(49))


def test_interrupted_featurisation_resumes_without_duplicates_or_gaps(tmp_path, monkeypatch):
    import graphpfm.datasets.smiles as sm
    smiles = embedded_head(40) + ['not a smiles', 'C1CC']  # two invalid, at the end
    direct = featurize_smiles(smiles, num_workers=0, progress=False)
    real = sm._featurize_chunk
    calls = []
    kill = {'at': 5}

    def failing(chunk, **limits):
        calls.append(len(chunk))
        if len(calls) == kill['at']:  # the 5th chunk (in the third part) dies, once
            kill['at'] = None
            raise RuntimeError('killed')
        return real(chunk, **limits)
    monkeypatch.setattr(sm, '_featurize_chunk', failing)
    parts = tmp_path / 'parts'
    with pytest.raises(RuntimeError, match='killed'):
        featurize_smiles(smiles, num_workers=0, progress=False, chunk_size=5, parts_dir=parts,
                         part_size=10)
    assert sorted(p.name for p in parts.iterdir()) == [f'part-{s:012d}.npz' for s in (0, 10)]
    calls.clear()
    resumed = featurize_smiles(smiles, num_workers=0, progress=False, chunk_size=5,
                               parts_dir=parts, part_size=10)
    assert sum(calls) == len(smiles) - 20  # only the missing parts were featurised again
    assert_stores_equal(resumed, direct)
    assert torch.equal(resumed.source_index, direct.source_index)
    assert resumed.meta['num_invalid'] == 2 and resumed.meta['count'] == len(smiles)
    assert [e['index'] for e in resumed.meta['invalid_examples']] == [40, 41]
    # a truncated part is featurised again, never misread
    (parts / 'part-000000000000.npz').write_bytes(b'garbage')
    calls.clear()
    again = featurize_smiles(smiles, num_workers=0, progress=False, chunk_size=5,
                             parts_dir=parts, part_size=10)
    assert sum(calls) == 10
    assert_stores_equal(again, direct)


def test_load_smiles_file_removes_its_parts(tmp_path):
    path = tmp_path / 'mols.smi'
    path.write_text('\n'.join(embedded_head(12)) + '\n')
    store = load_smiles_file(path, progress=False, num_workers=0)
    cache = Path(store.meta['cache_path'])
    assert cache.is_file() and not cache.with_name(cache.stem + '.parts').exists()


def test_featurisation_parts_are_held_and_saved_in_small_dtypes(tmp_path):
    # a full-corpus run concatenates every part at the end: int64 parts would need eight times
    # the memory (and disk) of the final store
    import graphpfm.datasets.smiles as sm
    smiles = embedded_head(30)
    direct = featurize_smiles(smiles, num_workers=0, progress=False)
    parts = tmp_path / 'parts'
    featurize_smiles(smiles, num_workers=0, progress=False, parts_dir=parts, part_size=10)
    with np.load(parts / 'part-000000000000.npz') as z:
        assert z['x'].dtype == np.uint8 and z['edge_attr'].dtype == np.uint8
        assert z['edge_index'].dtype == np.uint8  # local indices of small molecules
        x0 = z['x']
    assert np.array_equal(x0.astype(np.int64), direct.x[:len(x0)].long().numpy())
    # a part saved as int64 (older versions) is read and compacted, with the same result
    res = sm._load_graph_part(parts / 'part-000000000010.npz', 10)
    wide = {k: (v.astype(np.int64) if isinstance(v, np.ndarray) else v) for k, v in res.items()}
    sm._save_graph_part(parts / 'part-000000000010.npz', wide, 10)
    with np.load(parts / 'part-000000000010.npz') as z:
        assert z['x'].dtype == np.int64
    resumed = featurize_smiles(smiles, num_workers=0, progress=False, parts_dir=parts,
                               part_size=10)
    assert_stores_equal(resumed, direct)
    assert resumed.x.dtype == torch.uint8
