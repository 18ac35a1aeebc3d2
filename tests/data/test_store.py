import os

import torch
from ogb.utils import smiles2graph
from torch_geometric.data import Batch

from graphpfm.data import GraphLoader, GraphStore, compact, smallest_int_dtype


def test_collate_equals_pyg_from_data_list(mol_store):
    idx = [3, 0, 15, 7, 7]
    ours = mol_store.collate(idx)
    ref = Batch.from_data_list([mol_store[i] for i in idx])
    for key in ('x', 'edge_index', 'edge_attr', 'batch', 'ptr'):
        assert torch.equal(ours[key], ref[key]), key
    assert ours.num_graphs == 5
    assert ours.x.dtype == torch.long and ours.edge_index.dtype == torch.long


def test_items_equal_smiles2graph(mol_store, small_smiles):
    for i, s in enumerate(small_smiles):
        g = smiles2graph(s)
        d = mol_store[i]
        assert torch.equal(d.x, torch.from_numpy(g['node_feat']))
        assert torch.equal(d.edge_index, torch.from_numpy(g['edge_index']))
        assert torch.equal(d.edge_attr, torch.from_numpy(g['edge_feat']))
        assert d.num_nodes == g['num_nodes']


def test_collate_never_aliases_store(mol_store):
    before = mol_store.x.clone()
    b = mol_store.collate([0, 1])
    b.x.fill_(7)
    b.edge_attr.fill_(1)
    assert torch.equal(mol_store.x, before)


def test_compact_dtypes():
    assert smallest_int_dtype(torch.tensor([0, 255])) == torch.uint8
    assert smallest_int_dtype(torch.tensor([-1, 5])) == torch.int16
    assert smallest_int_dtype(torch.tensor([0, 70000])) == torch.int32
    assert compact(torch.tensor([1.5])).dtype == torch.float32


def test_store_uses_small_dtypes(mol_store):
    assert mol_store.x.dtype == torch.uint8
    assert mol_store.edge_index.dtype == torch.uint8  # local indices of small molecules


def test_index_select_and_roundtrip(mol_store, tmp_path):
    sub = mol_store.index_select([4, 2])
    assert len(sub) == 2
    assert torch.equal(sub[0].x, mol_store[4].x)
    assert torch.equal(sub[1].edge_index, mol_store[2].edge_index)
    mol_store.save(tmp_path / 's.pt')
    raw = torch.load(tmp_path / 's.pt', weights_only=True)
    again = GraphStore.from_state_dict(raw)
    assert torch.equal(again.x, mol_store.x) and torch.equal(again.edge_ptr, mol_store.edge_ptr)


def test_loader_on_subset_covers_every_graph_once(mol_store):
    sub = torch.utils.data.Subset(mol_store, list(range(3, 14)))
    loader = GraphLoader(sub, batch_size=4, shuffle=True,
                         generator=torch.Generator().manual_seed(0))
    seen = []
    for b in loader:
        assert isinstance(b, Batch)
        seen.append(b.num_graphs)
    assert sum(seen) == 11 and seen[:2] == [4, 4]


def test_bad_offsets_rejected():
    import pytest
    with pytest.raises(ValueError, match='node_ptr'):
        GraphStore(torch.zeros(3, 9, dtype=torch.long), torch.zeros(2, 0, dtype=torch.long),
                   torch.tensor([0, 2]), torch.tensor([0, 0]))


def _rss_bytes() -> int:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def test_load_memory_maps_the_tensors(tmp_path):
    # 200,000 graphs of 10 atoms: x alone is 18 MB; a mapped load reads almost none of it
    n, g = 10, 200_000
    x = torch.randint(0, 100, (n * g, 9), dtype=torch.uint8)
    ei = torch.tensor([[0, 1], [1, 0]], dtype=torch.uint8).repeat(1, g)
    node_ptr = torch.arange(0, n * g + 1, n)
    edge_ptr = torch.arange(0, 2 * g + 1, 2)
    store = GraphStore(x, ei, node_ptr, edge_ptr, None, None, {})
    store.save(tmp_path / 's.pt')
    del store, x
    before = _rss_bytes()
    loaded = GraphStore.load(tmp_path / 's.pt')
    grown = _rss_bytes() - before
    assert grown < 4_000_000, f'loading took {grown} bytes of resident memory'
    b = loaded.collate([0, 199_999])
    assert b.num_graphs == 2 and b.x.shape == (2 * n, 9)
    eager = GraphStore.load(tmp_path / 's.pt', mmap=False)
    assert torch.equal(eager.x, loaded.x) and _rss_bytes() - before > 18_000_000


def _with_graph_attrs(store):
    g = torch.Generator().manual_seed(0)
    n = len(store)
    bits = torch.rand(n, 11, generator=g) < 0.3
    packed = torch.from_numpy(__import__('numpy').packbits(bits.numpy(), axis=1))
    half = torch.randn(n, 4, generator=g).half()
    store.set_graph_attrs({'bits': packed, 'half': half, 'ok': torch.arange(n) % 3 > 0},
                          {'bits': 11})
    return store, bits, half


def test_graph_attrs_are_decoded_and_gathered_like_pyg(mol_store):
    store, bits, half = _with_graph_attrs(mol_store)
    idx = [3, 0, 15, 7, 7]
    ours = store.collate(idx)
    ref = Batch.from_data_list([store[i] for i in idx])
    assert torch.equal(ours.bits, bits[idx].float())  # unpacked, first 11 bits only
    assert ours.half.dtype == torch.float32 and torch.equal(ours.half, half[idx].float())
    assert ours.ok.dtype == torch.bool and torch.equal(ours.ok, (torch.tensor(idx) % 3) > 0)
    for key in ('bits', 'half', 'ok'):
        assert torch.equal(ours[key], ref[key]), key
    ours.half.fill_(7)  # a batch never aliases the store
    assert torch.equal(store.graph_attrs['half'], half)


def test_graph_attrs_survive_index_select_and_a_save(mol_store, tmp_path):
    store, bits, half = _with_graph_attrs(mol_store)
    sub = store.index_select([5, 2])
    assert torch.equal(sub.collate([0, 1]).bits, bits[[5, 2]].float())
    store.save(tmp_path / 's.pt')
    back = GraphStore.load(tmp_path / 's.pt')
    assert back.bit_widths == {'bits': 11}
    assert torch.equal(back.collate(range(len(back))).half, half.float())


def test_bad_graph_attrs_are_refused(mol_store):
    import pytest
    n = len(mol_store)
    with pytest.raises(ValueError, match='rows for'):
        mol_store.set_graph_attrs({'a': torch.zeros(n + 1)})
    with pytest.raises(ValueError, match='reserved'):
        mol_store.set_graph_attrs({'y': torch.zeros(n)})
    with pytest.raises(ValueError, match=r'uint8 \[num_graphs, 2\]'):
        mol_store.set_graph_attrs({'b': torch.zeros(n, 1, dtype=torch.uint8)}, {'b': 9})
    with pytest.raises(ValueError, match='not among'):
        mol_store.set_graph_attrs({'a': torch.zeros(n)}, {'c': 3})


def test_a_single_graph_runs_through_the_molecule_encoder():
    from ogb.utils import smiles2graph

    from graphpfm.nn import build_encoder
    store = GraphStore.from_graphs([smiles2graph(s) for s in ('CCO', 'c1ccccc1', 'CC(=O)N')])
    enc = build_encoder('gin', num_layers=2, hidden_channels=8).eval()
    for i in range(len(store)):
        g = store[i]
        assert g.edge_index.is_contiguous()
        h = enc(g.x, g.edge_index, edge_attr=g.edge_attr)
        assert h.shape == (g.num_nodes, 8)
