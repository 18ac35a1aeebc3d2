"""Node-property datasets: OGB ogbn-* (CSV, binary and heterogeneous layouts), Planetoid,
Amazon/Coauthor; synthetic files in each library's exact layout, Cora from the real root."""
from __future__ import annotations

import builtins
import contextlib
import io
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from graphpfm.datasets import (
    DATASETS,
    NPZ_DATASETS,
    PLANETOID_NAMES,
    DatasetBundle,
    DatasetNotFoundError,
    available_datasets,
    load_dataset,
    load_ogb_node,
    load_pyg_npz,
    ogb_node,
    ogb_node_info,
    ogb_node_names,
)

#: every registered node-level dataset: OGB's ogbn-*, Planetoid, Amazon and Coauthor
NODE_NAMES = [*ogb_node_names(), *PLANETOID_NAMES, *NPZ_DATASETS]


# ---------------------------------------------------------------------------- fake files
def _write(path: Path, array, header: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = array if isinstance(array, pd.DataFrame) else pd.DataFrame(array)
    frame.to_csv(path, header=header, index=False)  # OGB's files: gzip by suffix, no header


def _write_split(folder: Path, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    perm = rng.permutation(n)
    parts = {'train': np.sort(perm[:n // 2]), 'valid': np.sort(perm[n // 2:3 * n // 4]),
             'test': np.sort(perm[3 * n // 4:])}
    for s, idx in parts.items():
        _write(folder / f'{s}.csv.gz', idx[:, None])
    return parts


def _edges(n: int, e: int, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, n, size=(e, 2))  # [E, 2] as OGB writes edge.csv.gz


def write_fake_arxiv(folder: Path, n: int = 60, f: int = 5, classes: int = 4, e: int = 150,
                     seed: int = 0) -> dict[str, np.ndarray]:
    """OGB's CSV node layout (ogbn-arxiv's: node features, node_year, split/time)."""
    rng = np.random.default_rng(seed)
    raw = folder / 'raw'
    _write(raw / 'edge.csv.gz', _edges(n, e, rng))
    _write(raw / 'node-feat.csv.gz', rng.normal(size=(n, f)))
    _write(raw / 'node-label.csv.gz', rng.integers(0, classes, size=(n, 1)))
    _write(raw / 'node_year.csv.gz', rng.integers(1990, 2020, size=(n, 1)))
    _write(raw / 'num-node-list.csv.gz', [[n]])
    _write(raw / 'num-edge-list.csv.gz', [[e]])
    (folder / 'RELEASE_v1.txt').write_text('fake\n')
    return _write_split(folder / 'split' / 'time', n, rng)


def write_fake_proteins(folder: Path, n: int = 40, e: int = 90, tasks: int = 112,
                        seed: int = 1) -> dict[str, np.ndarray]:
    """ogbn-proteins' layout: no node features, 8 edge features, species, split/species."""
    rng = np.random.default_rng(seed)
    raw = folder / 'raw'
    _write(raw / 'edge.csv.gz', _edges(n, e, rng))
    _write(raw / 'edge-feat.csv.gz', rng.random(size=(e, 8)))
    _write(raw / 'node-label.csv.gz', rng.integers(0, 2, size=(n, tasks)))
    _write(raw / 'node_species.csv.gz', rng.integers(3702, 3710, size=(n, 1)))
    _write(raw / 'num-node-list.csv.gz', [[n]])
    _write(raw / 'num-edge-list.csv.gz', [[e]])
    return _write_split(folder / 'split' / 'species', n, rng)


def write_fake_mag(folder: Path, n_paper: int = 50, n_author: int = 20, seed: int = 2
                   ) -> dict[str, np.ndarray]:
    """ogbn-mag's heterogeneous layout (two node types, two relations)."""
    rng = np.random.default_rng(seed)
    raw = folder / 'raw'
    _write(raw / 'num-node-dict.csv.gz', pd.DataFrame({'author': [n_author], 'paper': [n_paper]}),
           header=True)
    triplets = [('author', 'writes', 'paper'), ('paper', 'cites', 'paper')]
    _write(raw / 'triplet-type-list.csv.gz', triplets)
    for (h, r, t), e in zip(triplets, (70, 120)):
        rel = raw / 'relations' / f'{h}___{r}___{t}'
        nh, nt = (n_author if h == 'author' else n_paper), n_paper
        _write(rel / 'edge.csv.gz', np.stack([rng.integers(0, nh, e), rng.integers(0, nt, e)], 1))
        _write(rel / 'num-edge-list.csv.gz', [[e]])
        _write(rel / 'edge_reltype.csv.gz', np.full((e, 1), triplets.index((h, r, t))))
    _write(raw / 'node-feat' / 'paper' / 'node-feat.csv.gz', rng.normal(size=(n_paper, 6)))
    _write(raw / 'node-feat' / 'paper' / 'node_year.csv.gz',
           rng.integers(2010, 2020, size=(n_paper, 1)))
    _write(raw / 'nodetype-has-label.csv.gz',
           pd.DataFrame({'author': [False], 'paper': [True]}), header=True)
    _write(raw / 'node-label' / 'paper' / 'node-label.csv.gz',
           rng.integers(0, 349, size=(n_paper, 1)))
    split = folder / 'split' / 'time'
    _write(split / 'nodetype-has-split.csv.gz',
           pd.DataFrame({'author': [False], 'paper': [True]}), header=True)
    (folder / 'RELEASE_v2.txt').write_text('fake\n')
    return _write_split(split / 'paper', n_paper, rng)


def write_fake_papers(folder: Path, n: int = 45, e: int = 100, seed: int = 3
                      ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """ogbn-papers100M's binary layout (data.npz, node-label.npz with NaN = unlabelled)."""
    rng = np.random.default_rng(seed)
    raw = folder / 'raw'
    raw.mkdir(parents=True)
    np.savez_compressed(raw / 'data.npz', edge_index=_edges(n, e, rng).T,
                        num_nodes_list=np.array([n]), num_edges_list=np.array([e]),
                        node_feat=rng.normal(size=(n, 7)).astype(np.float32),
                        node_year=rng.integers(2000, 2020, size=(n, 1)))
    labels = rng.integers(0, 172, size=(n, 1)).astype(np.float32)
    labels[rng.random(n) < 0.5] = np.nan
    np.savez_compressed(raw / 'node-label.npz', node_label=labels)
    return _write_split(folder / 'split' / 'time', n, rng), labels


def write_fake_npz(path: Path, n: int = 200, f: int = 12, classes: int = 5, e: int = 500,
                   seed: int = 4) -> None:
    """A graph in the npz format of Shchur et al. (the keys torch_geometric.io.read_npz reads)."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    attr = sp.csr_matrix((rng.random((n, f)) < 0.3).astype(np.float32))
    edges = _edges(n, e, rng)
    adj = sp.csr_matrix((np.ones(e, dtype=np.float32), (edges[:, 0], edges[:, 1])), shape=(n, n))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, adj_data=adj.data, adj_indices=adj.indices, adj_indptr=adj.indptr,
             adj_shape=np.array(adj.shape), attr_data=attr.data, attr_indices=attr.indices,
             attr_indptr=attr.indptr, attr_shape=np.array(attr.shape),
             labels=rng.integers(0, classes, size=n))


@pytest.fixture
def guarded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """No prompt and no network: input() fails the test; urlopen is recorded and refused."""
    calls: list[str] = []

    def no_input(*args, **kwargs):
        raise AssertionError('a dataset loader prompted with input()')

    def offline(url, *args, **kwargs):
        calls.append(getattr(url, 'full_url', url))
        raise urllib.error.URLError('network unreachable (test)')

    monkeypatch.setattr(builtins, 'input', no_input)
    monkeypatch.setattr(urllib.request, 'urlopen', offline)
    return calls


def _quiet(fn, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return fn(*args, **kwargs)


def _check_split_equals(split_idx: dict[str, torch.Tensor], parts: dict[str, np.ndarray]) -> None:
    assert set(split_idx) == set(parts)
    for s, idx in parts.items():
        assert split_idx[s].dtype == torch.long
        assert np.array_equal(split_idx[s].numpy(), idx)


# ---------------------------------------------------------------------------- OGB node
def test_registry_lists_every_ogb_node_dataset_and_pyg_benchmarks() -> None:
    import ogb.nodeproppred

    master = pd.read_csv(Path(ogb.nodeproppred.__file__).parent / 'master.csv', index_col=0)
    assert ogb_node_names() == list(master.columns)
    expected = [*master.columns, 'Cora', 'CiteSeer', 'PubMed', 'Amazon-Computers',
                'Amazon-Photo', 'Coauthor-CS', 'Coauthor-Physics']
    for name in expected:
        assert name in DATASETS and name in NODE_NAMES
    with pytest.raises(KeyError, match='ogbn-arxiv'):
        ogb_node_info('ogbn-foo')
    with pytest.raises(KeyError, match='Cora'):
        load_dataset('cora')  # names are case-sensitive; the error lists the valid ones


def test_ogbn_arxiv_layout_equals_ogb_reader(tmp_path: Path, fresh_cache: Path, helpers,
                                             guarded: list[str]) -> None:
    from ogb.io.read_graph_raw import read_csv_graph_raw

    root = tmp_path / 'root'
    folder = root / 'ogb' / 'ogbn_arxiv'
    parts = write_fake_arxiv(folder)
    before = helpers.tree_state(root)

    b = load_dataset('ogbn-arxiv', root, download=False)
    assert isinstance(b, DatasetBundle) and b.level == 'node' and b.name == 'ogbn-arxiv'
    assert (b.task_type, b.num_tasks, b.eval_metric) == ('multiclass classification', 40, 'acc')
    d = b.dataset
    ref = _quiet(read_csv_graph_raw, str(folder / 'raw'), add_inverse_edge=False,
                 additional_node_files=['node_year'])[0]
    labels = pd.read_csv(folder / 'raw' / 'node-label.csv.gz', header=None).to_numpy()
    assert d.num_nodes == ref['num_nodes'] == 60 and len(b) == 60
    assert d.x.dtype == torch.float32 and np.array_equal(d.x.numpy(), ref['node_feat'])
    assert d.edge_index.dtype == torch.long
    assert np.array_equal(d.edge_index.numpy(), ref['edge_index'])  # directed, as OGB loads it
    assert d.edge_index.size(1) == 150
    assert d.y.dtype == torch.long and d.y.shape == (60,)
    assert np.array_equal(d.y.numpy(), labels[:, 0])
    assert np.array_equal(d.node_year.numpy(), ref['node_year'])
    _check_split_equals(b.split_idx, parts)
    assert b.meta['source'] == str(folder) and b.meta['split'].startswith('time')
    assert b.meta['num_nodes'] == 60 and b.meta['num_edges'] == 150
    assert b.meta['num_features'] == 5 and b.meta['to_undirected'] is False
    assert b.meta['release_file'] is True
    assert 'nodes=60' in repr(b)
    with pytest.raises(ValueError, match='node-level'):
        b.split('train')

    # processed once into the cache, reused next time; the data root never written
    cache_path = Path(b.meta['cache_path'])
    assert b.meta['from_cache'] is False and cache_path.is_file()
    assert fresh_cache in cache_path.parents
    assert torch.load(cache_path, weights_only=True)['tensors']['x'].shape == (60, 5)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ogb_node, 'read_ogb_node_raw', lambda *a, **k: pytest.fail('raw re-read'))
        again = load_ogb_node('ogbn-arxiv', root, download=False)
    assert again.meta['from_cache'] is True and again.meta['cache_path'] == str(cache_path)
    for key in ('x', 'edge_index', 'y', 'node_year'):
        assert torch.equal(getattr(again.dataset, key), getattr(d, key))
    assert helpers.tree_state(root) == before
    assert sorted(p.name for p in folder.iterdir()) == ['RELEASE_v1.txt', 'raw', 'split']
    assert guarded == []  # no network call


def test_ogb_node_options(tmp_path: Path, fresh_cache: Path, guarded: list[str]) -> None:
    from torch_geometric.utils import is_undirected

    write_fake_arxiv(tmp_path / 'ogb' / 'ogbn_arxiv')
    directed = load_ogb_node('ogbn-arxiv', tmp_path, download=False)
    und = DATASETS.get('ogbn-arxiv').load(tmp_path, download=False, to_undirected=True)
    assert not is_undirected(directed.dataset.edge_index, num_nodes=60)
    assert is_undirected(und.dataset.edge_index, num_nodes=60)
    pairs = {tuple(e) for e in directed.dataset.edge_index.t().tolist()}
    both = {tuple(e) for e in und.dataset.edge_index.t().tolist()}
    assert both == pairs | {(v, u) for u, v in pairs}
    assert und.meta['to_undirected'] is True

    small = load_dataset('ogbn-arxiv', tmp_path, download=False, limit=30)
    d = small.dataset
    assert d.num_nodes == 30 and len(small) == 30 and d.x.shape == (30, 5)
    assert d.y.shape == (30,) and d.node_year.shape == (30, 1)
    assert torch.equal(d.x, directed.dataset.x[:30])
    keep = (directed.dataset.edge_index < 30).all(0)
    assert torch.equal(d.edge_index, directed.dataset.edge_index[:, keep])
    for s, idx in small.split_idx.items():
        assert torch.equal(idx, directed.split_idx[s][directed.split_idx[s] < 30])
    assert small.meta['limit'] == 30 and small.meta['full_num_nodes'] == 60


def test_ogbn_proteins_features_from_edges(tmp_path: Path, fresh_cache: Path,
                                           guarded: list[str]) -> None:
    from ogb.io.read_graph_raw import read_csv_graph_raw

    folder = tmp_path / 'ogb' / 'ogbn_proteins'
    parts = write_fake_proteins(folder)
    b = load_dataset('ogbn-proteins', tmp_path, download=False)
    assert (b.task_type, b.num_tasks, b.eval_metric) == ('binary classification', 112, 'rocauc')
    d = b.dataset
    ref = _quiet(read_csv_graph_raw, str(folder / 'raw'), add_inverse_edge=True,
                 additional_node_files=['node_species'])[0]
    assert np.array_equal(d.edge_index.numpy(), ref['edge_index'])  # add_inverse_edge=True
    assert np.array_equal(d.edge_attr.numpy(), ref['edge_feat'])
    assert np.array_equal(d.node_species.numpy(), ref['node_species'])
    # x: mean of each node's incident edge features (OGB's examples: adj_t.mean(dim=1))
    expected = np.zeros((40, 8), dtype=np.float64)
    for v in range(40):
        incident = ref['edge_feat'][ref['edge_index'][1] == v]
        if len(incident):
            expected[v] = incident.mean(0)
    assert d.x.dtype == torch.float32 and d.x.shape == (40, 8)
    assert np.allclose(d.x.numpy(), expected, atol=1e-6)
    labels = pd.read_csv(folder / 'raw' / 'node-label.csv.gz', header=None).to_numpy()
    assert d.y.dtype == torch.float32 and np.array_equal(d.y.numpy(), labels)
    _check_split_equals(b.split_idx, parts)
    assert b.meta['x'] == 'mean of incident edge features'


def test_ogbn_mag_paper_part_equals_ogb_hetero_reader(tmp_path: Path, fresh_cache: Path,
                                                      guarded: list[str]) -> None:
    from ogb.io.read_graph_raw import (
        read_csv_heterograph_raw,
        read_node_label_hetero,
        read_nodesplitidx_split_hetero,
    )

    folder = tmp_path / 'ogb' / 'ogbn_mag'
    parts = write_fake_mag(folder)
    b = load_dataset('ogbn-mag', tmp_path, download=False)
    ref = _quiet(read_csv_heterograph_raw, str(folder / 'raw'), add_inverse_edge=False,
                 additional_node_files=['node_year'], additional_edge_files=['edge_reltype'])[0]
    labels = read_node_label_hetero(str(folder / 'raw'))
    train, valid, test = read_nodesplitidx_split_hetero(str(folder / 'split' / 'time'))
    d = b.dataset
    assert d.num_nodes == ref['num_nodes_dict']['paper'] == 50
    assert np.array_equal(d.x.numpy(), ref['node_feat_dict']['paper'])
    assert np.array_equal(d.edge_index.numpy(),
                          ref['edge_index_dict'][('paper', 'cites', 'paper')])
    assert np.array_equal(d.node_year.numpy(), ref['node_year']['paper'])
    assert np.array_equal(d.y.numpy(), labels['paper'][:, 0])
    _check_split_equals(b.split_idx, {'train': train['paper'], 'valid': valid['paper'],
                                      'test': test['paper']})
    _check_split_equals(b.split_idx, parts)
    assert (b.task_type, b.num_tasks) == ('multiclass classification', 349)
    assert b.meta['homogeneous_part'] == 'paper___cites___paper'


def test_ogbn_papers100m_binary_layout(tmp_path: Path, fresh_cache: Path,
                                       guarded: list[str]) -> None:
    from ogb.io.read_graph_raw import read_binary_graph_raw

    folder = tmp_path / 'ogb' / 'ogbn_papers100M'
    parts, labels = write_fake_papers(folder)
    b = load_dataset('ogbn-papers100M', tmp_path, download=False)
    ref = _quiet(read_binary_graph_raw, str(folder / 'raw'))[0]
    d = b.dataset
    assert np.array_equal(d.x.numpy(), ref['node_feat'])
    assert np.array_equal(d.edge_index.numpy(), ref['edge_index'])
    assert np.array_equal(d.node_year.numpy(), ref['node_year'])
    missing = np.isnan(labels[:, 0])
    assert d.y.dtype == torch.long
    assert (d.y.numpy()[missing] == -1).all()
    assert np.array_equal(d.y.numpy()[~missing], labels[~missing, 0].astype(np.int64))
    _check_split_equals(b.split_idx, parts)
    assert b.num_tasks == 172


def test_ogb_node_absent_names_dirs_files_and_url(tmp_path: Path, fresh_cache: Path,
                                                  guarded: list[str]) -> None:
    with pytest.raises(DatasetNotFoundError, match='download=False') as info:
        load_dataset('ogbn-arxiv', tmp_path, download=False)
    assert guarded == []
    msg = str(info.value)
    assert str(tmp_path / 'ogb' / 'ogbn_arxiv') in msg and 'raw/node-label.csv.gz' in msg
    assert 'split/time/train.csv.gz' in msg and ogb_node_info('ogbn-arxiv')['url'] in msg
    mag = str(pytest.raises(DatasetNotFoundError, load_dataset, 'ogbn-mag', tmp_path,
                            download=False).value)
    assert 'raw/relations/paper___cites___paper/edge.csv.gz' in mag
    assert 'split/time/paper/train.csv.gz' in mag

    with pytest.raises(DatasetNotFoundError, match='URLError'):  # offline: one short try
        load_dataset('ogbn-arxiv', tmp_path)
    assert guarded == [ogb_node_info('ogbn-arxiv')['url']]
    assert not (tmp_path / 'ogb' / 'ogbn_arxiv').exists()


def test_ogb_node_large_archive_needs_explicit_download(tmp_path: Path, fresh_cache: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    class Huge(io.BytesIO):
        def __init__(self) -> None:
            super().__init__(b'')
            self.headers = {'Content-Length': str(60 * 2**30)}

    monkeypatch.setattr(urllib.request, 'urlopen', lambda url, timeout=None: Huge())
    with pytest.raises(DatasetNotFoundError, match='GiB allowed without download=True'):
        load_dataset('ogbn-papers100M', tmp_path)


# ---------------------------------------------------------------------------- Planetoid
@pytest.mark.data
def test_cora_from_real_root(data_root: Path, fresh_cache: Path, helpers,
                             guarded: list[str]) -> None:
    from torch_geometric.utils import is_undirected

    before = helpers.tree_state(data_root / 'planetoid')
    b = load_dataset('Cora', data_root, download=False)
    d = b.dataset
    assert (d.num_nodes, d.edge_index.size(1), d.x.size(1)) == (2708, 10556, 1433)
    assert len(b) == 2708 and b.level == 'node'
    assert d.x.dtype == torch.float32 and d.edge_index.dtype == torch.long
    assert d.y.dtype == torch.long and d.y.shape == (2708,)
    assert int(d.y.min()) == 0 and int(d.y.max()) == 6
    assert (b.task_type, b.num_tasks, b.eval_metric) == ('multiclass classification', 7, 'acc')
    assert {k: v.numel() for k, v in b.split_idx.items()} == {'train': 140, 'valid': 500,
                                                              'test': 1000}
    assert torch.equal(b.split_idx['train'], torch.arange(140))
    assert torch.equal(b.split_idx['valid'], torch.arange(140, 640))
    allidx = torch.cat(list(b.split_idx.values()))
    assert allidx.unique().numel() == 1640
    assert is_undirected(d.edge_index, num_nodes=2708)
    assert not (d.edge_index[0] == d.edge_index[1]).any()
    assert set(d.keys()) == {'x', 'edge_index', 'y', 'num_nodes'}
    assert b.meta['source'] == str(data_root / 'planetoid' / 'Cora' / 'raw')
    assert b.meta['split_seed'] is None and b.meta['num_edges'] == 10556
    again = load_dataset('Cora', data_root, download=False)
    assert again.meta['from_cache'] is True
    assert fresh_cache in Path(again.meta['cache_path']).parents
    assert torch.equal(again.dataset.edge_index, d.edge_index)
    assert helpers.tree_state(data_root / 'planetoid') == before
    assert not (data_root / 'planetoid' / 'Cora' / 'processed').exists()
    assert guarded == []


def test_planetoid_absent(tmp_path: Path, fresh_cache: Path, guarded: list[str]) -> None:
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset('CiteSeer', tmp_path, download=False)
    msg = str(info.value)
    assert str(tmp_path / 'planetoid' / 'CiteSeer' / 'raw') in msg and 'ind.citeseer.graph' in msg
    assert 'kimiyoung/planetoid' in msg and guarded == []


# ---------------------------------------------------------------------------- Amazon, Coauthor
def test_amazon_absent_names_expected_file(tmp_path: Path, fresh_cache: Path,
                                           guarded: list[str]) -> None:
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset('Amazon-Computers', tmp_path, download=False)
    msg = str(info.value)
    expected = tmp_path / 'amazon' / 'Computers' / 'raw' / 'amazon_electronics_computers.npz'
    assert str(expected) in msg
    assert 'https://github.com/shchur/gnn-benchmark/raw/master/data/npz/' in msg
    assert guarded == []
    with pytest.raises(DatasetNotFoundError, match='URLError'):
        load_dataset('Coauthor-Physics', tmp_path)
    url = 'https://github.com/shchur/gnn-benchmark/raw/master/data/npz/ms_academic_phy.npz'
    assert guarded == [url]


def test_amazon_npz_random_split(tmp_path: Path, fresh_cache: Path, helpers,
                                 guarded: list[str]) -> None:
    from torch_geometric.io import read_npz
    from torch_geometric.utils import is_undirected

    path = tmp_path / 'amazon' / 'Computers' / 'raw' / 'amazon_electronics_computers.npz'
    write_fake_npz(path)
    before = helpers.tree_state(tmp_path / 'amazon')
    b = load_dataset('Amazon-Computers', tmp_path, download=False)
    ref = read_npz(str(path))
    d = b.dataset
    assert d.num_nodes == 200 and torch.equal(d.x, ref.x) and d.x.dtype == torch.float32
    assert torch.equal(d.edge_index, ref.edge_index) and is_undirected(d.edge_index)
    assert torch.equal(d.y, ref.y) and d.y.dtype == torch.long
    assert (b.task_type, b.num_tasks, b.eval_metric) == ('multiclass classification',
                                                         int(ref.y.max()) + 1, 'acc')
    sizes = {k: v.numel() for k, v in b.split_idx.items()}
    assert sizes == {'train': 20, 'valid': 20, 'test': 160}
    allidx = torch.cat(list(b.split_idx.values()))
    assert torch.equal(allidx.sort().values, torch.arange(200))  # disjoint and complete
    assert b.meta['split_seed'] == 0 and b.meta['split'] == 'random 10/10/80 per node'
    assert b.meta['source'] == str(path)

    same = load_pyg_npz('Amazon-Computers', tmp_path, download=False, split_seed=0)
    assert same.meta['from_cache'] is True
    other = DATASETS.get('Amazon-Computers').load(tmp_path, download=False, split_seed=1)
    assert other.meta['split_seed'] == 1
    for s in b.split_idx:
        assert torch.equal(same.split_idx[s], b.split_idx[s])
    assert not torch.equal(other.split_idx['train'], b.split_idx['train'])
    assert helpers.tree_state(tmp_path / 'amazon') == before


# ---------------------------------------------------------------------------- registry
@pytest.mark.data
def test_available_datasets_reports_node_datasets(data_root: Path, tmp_path: Path,
                                                  fresh_cache: Path) -> None:
    found = available_datasets(data_root)
    assert found['Cora'] == data_root / 'planetoid' / 'Cora' / 'raw'
    assert found['ogbn-arxiv'] is False
    empty = available_datasets(tmp_path)
    for name in NODE_NAMES:
        assert empty[name] is False, name
    write_fake_arxiv(tmp_path / 'ogb' / 'ogbn_arxiv')
    assert available_datasets(tmp_path)['ogbn-arxiv'] == tmp_path / 'ogb' / 'ogbn_arxiv'


@pytest.mark.parametrize('name', NODE_NAMES)
def test_node_dataset_absent_raises_without_network(name: str, tmp_path: Path,
                                                    fresh_cache: Path,
                                                    guarded: list[str]) -> None:
    with pytest.raises(DatasetNotFoundError):
        load_dataset(name, tmp_path, download=False)
    assert guarded == [] and all(p == fresh_cache for p in tmp_path.iterdir())
