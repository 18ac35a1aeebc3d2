"""Vectorised substructure/context extraction: exact sets, networkx agreement, collation."""
import networkx as nx
import pytest
import torch
from ogb.utils import smiles2graph
from torch_geometric.utils import to_networkx

from graphpfm.data import GraphStore
from graphpfm.transforms.context import ExtractSubstructContext, hop_distance, sample_centers

# cyclobutane with a propyl tail: ring 0-1-2-3-0, tail 3-4-5-6
RING_TAIL = 'C1CCC1CCC'


def _edges(edge_index):
    return {tuple(e) for e in edge_index.t().tolist()}


def _undirected(pairs):
    return {(a, b) for a, b in pairs} | {(b, a) for a, b in pairs}


def test_ring_with_tail_exact_sets():
    store = GraphStore.from_graphs([smiles2graph(RING_TAIL)])
    data = store[0]
    assert _edges(data.edge_index) == _undirected([(0, 1), (1, 2), (2, 3), (3, 0), (3, 4),
                                                   (4, 5), (5, 6)])
    out = ExtractSubstructContext(k=2, r1=1, r2=4)(data, center=torch.tensor([0]))
    # distances from atom 0: 0:0, 1:1, 3:1, 2:2, 4:2, 5:3, 6:4
    assert out.num_kept == 1 and out.num_skipped == 0
    sub, ctx = out.substruct, out.context
    # substructure: d <= 2 -> atoms 0, 1, 2, 3, 4 (relabelled in order: identity here)
    assert torch.equal(sub.x, data.x[[0, 1, 2, 3, 4]])
    assert _edges(sub.edge_index) == _undirected([(0, 1), (1, 2), (2, 3), (3, 0), (3, 4)])
    assert sub.center_index.tolist() == [0] and sub.batch.tolist() == [0] * 5
    # context: 1 < d <= 4 -> atoms 2, 4, 5, 6 -> new ids 0, 1, 2, 3; atom 2 is isolated there
    assert torch.equal(ctx.x, data.x[[2, 4, 5, 6]])
    assert _edges(ctx.edge_index) == _undirected([(1, 2), (2, 3)])
    # anchors: 1 < d <= 2 -> atoms 2 and 4 -> context ids 0 and 1
    assert ctx.anchor_index.tolist() == [0, 1] and ctx.anchor_batch.tolist() == [0, 0]
    # induced edges keep their bond features
    ea = {tuple(e): a for e, a in zip(data.edge_index.t().tolist(), data.edge_attr.tolist())}
    old = torch.tensor([2, 4, 5, 6])
    for (u, v), a in zip(ctx.edge_index.t().tolist(), ctx.edge_attr.tolist()):
        assert ea[(int(old[u]), int(old[v]))] == a


def test_same_molecule_second_in_a_batch_is_shifted():
    store = GraphStore.from_graphs([smiles2graph(s) for s in ('CCO', RING_TAIL)])
    b = store.collate([0, 1])
    out = ExtractSubstructContext(k=2, r1=1, r2=4)(b, center=torch.tensor([1, 3]))
    # 'CCO' centred on its middle atom has no atom at distance 2: skipped
    assert out.graph_index.tolist() == [1] and out.num_skipped == 1
    assert out.substruct.center_index.tolist() == [0]
    assert out.context.anchor_index.tolist() == [0, 1]
    assert _edges(out.context.edge_index) == _undirected([(1, 2), (2, 3)])


def test_hop_distance_chain_and_unreachable():
    ei = torch.tensor([[0, 1, 1, 2, 3, 4], [1, 0, 2, 1, 4, 3]])
    d = hop_distance(ei, torch.tensor([0]), num_nodes=6, max_hops=3)
    assert d.tolist() == [0, 1, 2, 4, 4, 4]  # 4 = max_hops + 1: far or unreachable


def test_sample_centers_inside_each_graph():
    batch_vec = torch.tensor([0, 0, 0, 2, 2, 3])
    for seed in range(20):
        c = sample_centers(batch_vec, 4, torch.Generator().manual_seed(seed))
        assert c[1] == -1 and 0 <= c[0] <= 2 and 3 <= c[2] <= 4 and c[3] == 5


def test_rejects_bad_radii():
    with pytest.raises(ValueError, match='r1'):
        ExtractSubstructContext(k=2, r1=2, r2=5)
    with pytest.raises(ValueError, match='r2'):
        ExtractSubstructContext(k=2, r1=1, r2=1)


def _nx_reference(data, center, k, r1, r2):
    """Per-graph extraction with networkx, as the reference code does it."""
    g = to_networkx(data, to_undirected=True)
    ball = nx.single_source_shortest_path_length
    sub = set(ball(g, center, cutoff=k))
    ctx = set(ball(g, center, cutoff=r2)) - set(ball(g, center, cutoff=r1))
    return sub, ctx, sub & ctx


def _split(out, j):
    """Graph ``j``'s substructure and context from the batched result, in local indices."""
    res = {}
    for name, part in (('sub', out.substruct), ('ctx', out.context)):
        nodes = (part.batch == j).nonzero().view(-1)
        first = int(nodes[0])
        emask = part.batch[part.edge_index[0]] == j
        res[name] = (part.x[nodes], part.edge_index[:, emask] - first, part.edge_attr[emask])
        res[name + '_first'] = first
    res['center'] = int(out.substruct.center_index[j]) - res['sub_first']
    amask = out.context.anchor_batch == j
    res['anchors'] = (out.context.anchor_index[amask] - res['ctx_first']).tolist()
    return res


@pytest.mark.parametrize('k,r1,r2', [(5, 4, 7), (2, 1, 4), (3, 0, 2)])
def test_matches_networkx_on_real_molecules(data_root, k, r1, r2):
    from graphpfm.datasets import load_dataset
    store = load_dataset('ogbg-molbbbp', root=data_root, progress=False).dataset
    idx = torch.arange(200)
    b = store.collate(idx)
    out = ExtractSubstructContext(k, r1, r2)(b, torch.Generator().manual_seed(k))
    kept = set(out.graph_index.tolist())
    ptr = b.ptr
    n_skipped = 0
    for i in range(200):
        data = store[i]
        c = int(out.center[i] - ptr[i])
        assert 0 <= c < data.num_nodes
        sub, ctx, anchors = _nx_reference(data, c, k, r1, r2)
        if not anchors:
            assert i not in kept
            n_skipped += 1
            continue
        j = out.graph_index.tolist().index(i)
        nodes_sub = (out.substruct.batch == j).nonzero().view(-1)
        nodes_ctx = (out.context.batch == j).nonzero().view(-1)
        # kept nodes are in input order, so the k-th kept node is the k-th smallest id
        assert torch.equal(out.substruct.x[nodes_sub], data.x[sorted(sub)])
        assert torch.equal(out.context.x[nodes_ctx], data.x[sorted(ctx)])
        parts = _split(out, j)
        assert [sorted(ctx)[a] for a in parts['anchors']] == sorted(anchors)
        assert sorted(sub)[parts['center']] == c
        for name, nodes in (('sub', sorted(sub)), ('ctx', sorted(ctx))):
            old = torch.tensor(nodes)
            got = _edges(old[parts[name][1]]) if parts[name][1].numel() else set()
            want = {(u, v) for u, v in _edges(data.edge_index) if u in nodes and v in nodes}
            assert got == want
    assert out.num_skipped == n_skipped


def test_collate_then_extract_equals_extract_per_graph(mol_store):
    t = ExtractSubstructContext(k=2, r1=1, r2=4)
    b = mol_store.collate(range(len(mol_store)))
    out = t(b, torch.Generator().manual_seed(0))
    assert out.num_kept >= 10
    for j, i in enumerate(out.graph_index.tolist()):
        alone = t(mol_store[i], center=(out.center[i] - b.ptr[i]).view(1))
        assert alone.num_kept == 1
        parts = _split(out, j)
        one = _split(alone, 0)
        for name in ('sub', 'ctx'):
            for got, want in zip(parts[name], one[name]):
                assert torch.equal(got, want), (i, name)
        assert parts['center'] == one['center'] and parts['anchors'] == one['anchors']
    # graphs dropped from the batch are dropped alone too
    for i in set(range(len(mol_store))) - set(out.graph_index.tolist()):
        alone = t(mol_store[i], center=(out.center[i] - b.ptr[i]).view(1))
        assert alone.num_kept == 0 and alone.substruct.num_nodes == 0


def test_input_batch_unchanged(mol_store):
    b = mol_store.collate(range(len(mol_store)))
    before = {k: v.clone() for k, v in b.to_dict().items() if isinstance(v, torch.Tensor)}
    ExtractSubstructContext(k=2, r1=1, r2=4)(b, torch.Generator().manual_seed(0))
    for k, v in before.items():
        assert torch.equal(b[k], v), k


def test_too_small_molecules_are_skipped():
    store = GraphStore.from_graphs([smiles2graph(s) for s in ('C', 'CC', 'CCCCCCCCCC')])
    b = store.collate([0, 1, 2])
    out = ExtractSubstructContext(k=5, r1=4, r2=7)(b, center=torch.tensor([0, 1, 3]))
    # the decane centred on atom 0 has atoms at distance 5..7
    assert out.graph_index.tolist() == [2] and out.num_skipped == 2
    assert out.context.x.size(0) == 3 and out.context.anchor_index.tolist() == [0]
