"""OGB graph-property datasets read from OGB's raw files."""
from __future__ import annotations

import contextlib
import io
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from ogb.utils import smiles2graph
from ogb.utils.features import get_atom_feature_dims, get_bond_feature_dims

from graphpfm.datasets import (
    DatasetNotFoundError,
    load_ogb_graph,
    ogb_graph,
    ogb_info,
    ogb_mol_names,
)
from graphpfm.datasets.ogb_graph import ogb_smiles, read_ogb_raw

README = {  # /work/shared/data/README.md
    'ogbg-molbbbp': (2039, 1631, 204, 204, 1, 'binary classification', 'rocauc'),
    'ogbg-molhiv': (41127, 32901, 4113, 4113, 1, 'binary classification', 'rocauc'),
}


def check_split(split_idx: dict[str, torch.Tensor], n: int) -> None:
    assert set(split_idx) == {'train', 'valid', 'test'}
    assert all(v.dtype == torch.long for v in split_idx.values())
    allidx = torch.cat(list(split_idx.values()))
    assert allidx.numel() == n and torch.equal(allidx.sort().values, torch.arange(n))


def check_vocab(batch) -> None:
    atom, bond = get_atom_feature_dims(), get_bond_feature_dims()
    assert batch.x.dtype == torch.long and batch.x.size(1) == len(atom)
    assert batch.edge_attr.size(1) == len(bond)
    assert (batch.x >= 0).all() and (batch.edge_attr >= 0).all()
    assert (batch.x < torch.tensor(atom)).all()
    assert (batch.edge_attr < torch.tensor(bond)).all()


@pytest.mark.data
@pytest.mark.parametrize('name', sorted(README))
def test_counts_and_splits_match_readme(data_root: Path, name: str) -> None:
    n, n_train, n_valid, n_test, tasks, task_type, metric = README[name]
    b = load_ogb_graph(name, data_root, download=False)
    assert len(b.dataset) == n and b.dataset.y.shape == (n, tasks)
    assert b.dataset.y.dtype == torch.float32
    assert {k: v.numel() for k, v in b.split_idx.items()} == {
        'train': n_train, 'valid': n_valid, 'test': n_test}
    check_split(b.split_idx, n)
    assert (b.num_tasks, b.task_type, b.eval_metric, b.level) == (tasks, task_type, metric,
                                                                   'graph')
    # every graph's local edge indices point at its own nodes
    s = b.dataset
    owner_nodes = s.num_nodes.repeat_interleave(s.num_edges)
    assert (s.edge_index.long() < owner_nodes).all()
    check_vocab(s.collate(torch.arange(n)))


@pytest.mark.data
def test_reader_equals_ogb_read_csv_graph_raw(data_root: Path) -> None:
    from ogb.io.read_graph_raw import read_csv_graph_raw

    raw = data_root / 'ogb' / 'ogbg_molbbbp' / 'raw'
    with contextlib.redirect_stdout(io.StringIO()):
        reference = read_csv_graph_raw(str(raw), add_inverse_edge=True)
    store = read_ogb_raw(raw, add_inverse_edge=True)
    assert len(store) == len(reference) == 2039
    for i, g in enumerate(reference):
        d = store[i]
        assert d.num_nodes == g['num_nodes']
        assert np.array_equal(d.x.numpy(), g['node_feat'])
        assert np.array_equal(d.edge_index.numpy(), g['edge_index'])
        assert np.array_equal(d.edge_attr.numpy(), g['edge_feat'])


def test_fake_dataset_equals_smiles2graph(tmp_path: Path, fresh_cache: Path, helpers) -> None:
    labels = helpers.write_fake_ogb(tmp_path / 'ogb' / 'ogbg_molclintox')
    b = load_ogb_graph('ogbg-molclintox', tmp_path, download=False)
    assert len(b.dataset) == len(helpers.fake_smiles) and b.num_tasks == 2
    for i, smi in enumerate(helpers.fake_smiles):
        g, d = smiles2graph(smi), b.dataset[i]
        assert np.array_equal(d.x.numpy(), g['node_feat'])
        assert np.array_equal(d.edge_index.numpy(), g['edge_index'])
        assert np.array_equal(d.edge_attr.numpy(), g['edge_feat'])
    assert torch.equal(torch.isnan(b.dataset.y), torch.from_numpy(np.isnan(labels)))
    known = ~np.isnan(labels)
    assert np.array_equal(b.dataset.y.numpy()[known], labels[known].astype(np.float32))
    assert ogb_smiles('ogbg-molclintox', tmp_path) == helpers.fake_smiles
    assert b.meta['smiles_path'].endswith('mol.csv.gz')
    # limit keeps the first graphs and filters the split to them
    small = load_ogb_graph('ogbg-molclintox', tmp_path, download=False, limit=7)
    assert len(small.dataset) == 7
    assert torch.equal(small.dataset.x, b.dataset.index_select(torch.arange(7)).x)
    assert all((v < 7).all() for v in small.split_idx.values())
    assert sum(v.numel() for v in small.split_idx.values()) == 7


def test_also_accepts_root_holding_dataset_folder_directly(tmp_path: Path,
                                                           fresh_cache: Path, helpers) -> None:
    helpers.write_fake_ogb(tmp_path / 'ogbg_molsider', num_tasks=27)
    b = load_ogb_graph('ogbg-molsider', tmp_path, download=False)
    assert b.num_tasks == 27 and b.meta['source'] == str(tmp_path / 'ogbg_molsider')


@pytest.mark.data
def test_second_load_from_cache_root_untouched(data_root: Path, fresh_cache: Path,
                                               monkeypatch: pytest.MonkeyPatch, helpers) -> None:
    before = helpers.tree_state(data_root / 'ogb' / 'ogbg_molbbbp')
    first = load_ogb_graph('ogbg-molbbbp', data_root, download=False)
    assert first.meta['from_cache'] is False

    def boom(*args, **kwargs):
        raise AssertionError('raw files re-read despite a valid cache')

    monkeypatch.setattr(ogb_graph, 'read_ogb_raw', boom)
    second = load_ogb_graph('ogbg-molbbbp', data_root, download=False)
    assert second.meta['from_cache'] is True
    for key in ('x', 'edge_index', 'edge_attr', 'node_ptr', 'edge_ptr'):
        assert torch.equal(getattr(first.dataset, key), getattr(second.dataset, key))
    assert torch.equal(first.dataset.y.isnan(), second.dataset.y.isnan())
    assert helpers.tree_state(data_root / 'ogb' / 'ogbg_molbbbp') == before
    cache_path = Path(second.meta['cache_path'])
    assert cache_path.is_file() and fresh_cache in cache_path.parents
    state = torch.load(cache_path, weights_only=True)  # plain tensors only
    assert state['store']['x'].shape == first.dataset.x.shape


def test_changed_raw_file_invalidates_cache(tmp_path: Path, fresh_cache: Path, helpers) -> None:
    folder = tmp_path / 'ogb' / 'ogbg_molclintox'
    helpers.write_fake_ogb(folder, seed=0)
    a = load_ogb_graph('ogbg-molclintox', tmp_path, download=False)
    assert load_ogb_graph('ogbg-molclintox', tmp_path, download=False).meta['from_cache']
    (folder / 'raw' / 'graph-label.csv.gz').unlink()
    ones = np.ones((len(helpers.fake_smiles), 2))
    import pandas as pd
    pd.DataFrame(ones).to_csv(folder / 'raw' / 'graph-label.csv.gz', header=False, index=False)
    b = load_ogb_graph('ogbg-molclintox', tmp_path, download=False)
    assert b.meta['from_cache'] is False and b.meta['cache_path'] != a.meta['cache_path']
    assert torch.equal(b.dataset.y, torch.ones(len(helpers.fake_smiles), 2))


def test_absent_offline_raises_fast(tmp_path: Path, fresh_cache: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def offline(url, *args, **kwargs):
        calls.append(url)
        raise urllib.error.URLError('network unreachable')

    monkeypatch.setattr(urllib.request, 'urlopen', offline)
    start = time.perf_counter()
    with pytest.raises(DatasetNotFoundError) as info:
        load_ogb_graph('ogbg-molclintox', tmp_path)
    assert time.perf_counter() - start < 5
    assert calls == [ogb_info('ogbg-molclintox')['url']]
    msg = str(info.value)
    assert str(tmp_path / 'ogb' / 'ogbg_molclintox') in msg
    assert 'raw/edge.csv.gz' in msg and 'GRAPHPFM_DATA' in msg and 'URLError' in msg
    assert isinstance(info.value, FileNotFoundError)
    assert not (tmp_path / 'ogb' / 'ogbg_molclintox').exists()  # nothing half-written

    with pytest.raises(DatasetNotFoundError, match='download=False'):
        load_ogb_graph('ogbg-molclintox', tmp_path, download=False)
    assert len(calls) == 1  # no network call at all with download=False


def test_download_extracts_into_writable_root(tmp_path: Path, fresh_cache: Path,
                                              monkeypatch: pytest.MonkeyPatch, helpers) -> None:
    src = tmp_path / 'src'
    helpers.write_fake_ogb(src / 'clintox')  # OGB's archives hold a folder named download_name
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, 'w') as zf:
        for path in sorted(src.rglob('*')):
            zf.write(path, path.relative_to(src).as_posix())
    payload = archive.getvalue()
    monkeypatch.setattr(urllib.request, 'urlopen', lambda url, timeout=None: io.BytesIO(payload))
    root = tmp_path / 'root'
    b = load_ogb_graph('ogbg-molclintox', root)
    assert len(b.dataset) == len(helpers.fake_smiles)
    assert b.meta['source'] == str(root / 'ogb' / 'ogbg_molclintox')
    assert [p.name for p in (root / 'ogb').iterdir()] == ['ogbg_molclintox']  # temp dir gone


def test_metadata_comes_from_master_csv() -> None:
    names = ogb_mol_names()
    for name in ('ogbg-molbace', 'ogbg-molclintox', 'ogbg-molmuv', 'ogbg-molpcba',
                 'ogbg-molesol', 'ogbg-mollipo'):
        assert name in names
    assert 'ogbg-ppa' not in names and 'ogbg-code2' not in names
    tox = ogb_info('ogbg-moltoxcast')
    assert tox['num tasks'] == '617' and tox['eval metric'] == 'rocauc'
    assert ogb_info('ogbg-molmuv')['eval metric'] == 'ap'
    assert ogb_info('ogbg-molesol')['task type'] == 'regression'
    with pytest.raises(KeyError, match='ogbg-molhiv'):
        ogb_info('ogbg-molfoo')
