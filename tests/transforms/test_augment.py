"""GraphCL augmentations on whole batches: exact counts, induced subgraphs, connectivity,
undirectedness, pooling, purity (input untouched) and seeding, on real molecules and on
hand-made float-feature graphs."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from torch_geometric.data import Batch, Data
from torch_geometric.nn import global_add_pool, global_mean_pool

from graphpfm.data.ogb_features import atom_mask_token, bond_feature_dims
from graphpfm.transforms import (
    AUGMENTATIONS,
    Compose,
    DropNodes,
    Identity,
    MaskFeatures,
    PerturbEdges,
    RandomChoice,
    Subgraph,
    build_augmentation,
    single_bond_features,
)

NAMES = ['identity', 'drop_nodes', 'perturb_edges', 'mask_features', 'subgraph']
RANDOM_NAMES = NAMES[1:]


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def tensors(data: Data) -> dict[str, torch.Tensor]:
    return {k: v for k, v in data.items() if isinstance(v, torch.Tensor)}


def with_ids(b: Batch) -> Batch:
    """A copy of ``b`` with a node-level ``node_id`` (original node index) attribute."""
    out = b.clone()
    out.node_id = torch.arange(b.num_nodes)
    return out


def check_valid(out: Data, num_graphs: int) -> None:
    """The batch invariants every augmentation must keep."""
    n = out.num_nodes
    assert out.num_graphs == num_graphs
    assert out.batch.numel() == n == out.x.size(0)
    assert bool((out.batch[1:] >= out.batch[:-1]).all())
    counts = torch.bincount(out.batch, minlength=num_graphs)
    assert counts.numel() == num_graphs and bool((counts >= 1).all())
    assert torch.equal(out.ptr, torch.cat([torch.zeros(1, dtype=torch.long), counts.cumsum(0)]))
    ei = out.edge_index
    assert ei.dtype == torch.long
    if ei.numel():
        assert int(ei.min()) >= 0 and int(ei.max()) < n
        assert torch.equal(out.batch[ei[0]], out.batch[ei[1]])
        assert bool((out.batch[ei[0]][1:] >= out.batch[ei[0]][:-1]).all())  # grouped by graph
    if 'edge_attr' in out:
        assert out.edge_attr.size(0) == ei.size(1)
    pooled = global_mean_pool(torch.ones(n, 1), out.batch, size=num_graphs)
    assert torch.allclose(pooled, torch.ones(num_graphs, 1))


def edge_keys(ei: torch.Tensor, n: int) -> torch.Tensor:
    return ei[0] * n + ei[1]


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    """These batches are small: intra-op threads only add synchronisation, which costs a lot
    on a busy machine (Subgraph's ~25 rounds went from 20 ms to 1 s on 2 shared cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope='module')
def bbbp_store(data_root):
    from graphpfm.datasets import load_dataset
    return load_dataset('ogbg-molbbbp', root=data_root, progress=False).dataset


@pytest.fixture
def bbbp(bbbp_store) -> Batch:
    """200 real molecules (some salts: several connected components)."""
    return bbbp_store.collate(range(200))


@pytest.fixture
def mol_batch(mol_store) -> Batch:
    return mol_store.collate(range(len(mol_store)))


def _undirected(pairs: list[tuple[int, int]]) -> torch.Tensor:
    both = [(a, b) for a, b in pairs] + [(b, a) for a, b in pairs]
    return torch.tensor(sorted(both), dtype=torch.long).t().reshape(2, -1)


@pytest.fixture
def float_graphs() -> list[Data]:
    """Path of 5, 4-cycle, one node, one edge, triangle + separate edge (two components)."""
    shapes = [(5, [(0, 1), (1, 2), (2, 3), (3, 4)]), (4, [(0, 1), (1, 2), (2, 3), (3, 0)]),
              (1, []), (2, [(0, 1)]), (5, [(0, 1), (1, 2), (2, 0), (3, 4)])]
    g = gen(0)
    graphs = []
    for i, (n, pairs) in enumerate(shapes):
        ei = _undirected(pairs)
        graphs.append(Data(x=torch.randn(n, 3, generator=g), edge_index=ei,
                           edge_attr=torch.rand(ei.size(1), 2, generator=g) + 1,
                           y=torch.tensor([[float(i)]]), num_nodes=n))
    return graphs


@pytest.fixture
def float_batch(float_graphs) -> Batch:
    return Batch.from_data_list(float_graphs)


# ---------------------------------------------------------------------------- contract
@pytest.mark.parametrize('name', NAMES)
@pytest.mark.parametrize('which', ['bbbp', 'mol_batch', 'float_batch'])
def test_valid_batch_input_untouched_and_seeded(name, which, request, mol_store):
    b = request.getfixturevalue(which)
    before = {k: v.clone() for k, v in tensors(b).items()}
    store_x = mol_store.x.clone()
    aug = build_augmentation(name)
    out = aug(b, gen(1))
    assert out is not b
    check_valid(out, b.num_graphs)
    if 'y' in b:
        assert torch.equal(out.y, b.y)
    assert tensors(b).keys() == before.keys()
    for k, v in before.items():
        assert torch.equal(tensors(b)[k], v), k
    assert torch.equal(mol_store.x, store_x)
    # same seed -> identical view; another seed -> another view
    again = aug(b, gen(1))
    assert tensors(out).keys() == tensors(again).keys()
    for k, v in tensors(out).items():
        assert torch.equal(v, tensors(again)[k]), k
    if name != 'identity':
        other = aug(b, gen(2))
        assert any(v.shape != tensors(other)[k].shape or not torch.equal(v, tensors(other)[k])
                   for k, v in tensors(out).items())


def test_registry_names_reprs_and_unknown_name():
    assert AUGMENTATIONS.names() == sorted(NAMES)
    for name in NAMES:
        aug = build_augmentation(name)
        assert repr(aug).startswith(type(aug).__name__ + '(')
    assert repr(build_augmentation('perturb_edges', rate=0.3, add=False)) == \
        'PerturbEdges(rate=0.3, add=False)'
    with pytest.raises(KeyError, match='Valid options: drop_nodes, identity, mask_features'):
        build_augmentation('drop_edges')


@pytest.mark.parametrize('cls', [DropNodes, PerturbEdges, MaskFeatures, Subgraph])
@pytest.mark.parametrize('rate', [-0.1, 1.0, 1.5])
def test_bad_rate(cls, rate):
    with pytest.raises(ValueError, match=r'rate must be in \[0, 1\)'):
        cls(rate=rate)


def test_to_data_list_after_node_and_edge_changes(float_graphs, float_batch):
    """Batches made by ``from_data_list`` keep their per-graph bookkeeping."""
    for aug in [DropNodes(0.4), Subgraph(0.4), PerturbEdges(0.5)]:
        out = aug(float_batch, gen(3))
        parts = out.to_data_list()
        assert len(parts) == len(float_graphs)
        for i, d in enumerate(parts):
            lo, hi = int(out.ptr[i]), int(out.ptr[i + 1])
            assert torch.equal(d.x, out.x[lo:hi])
            sel = out.batch[out.edge_index[0]] == i
            assert torch.equal(d.edge_index, out.edge_index[:, sel] - lo)
            assert torch.equal(d.edge_attr, out.edge_attr[sel])
            assert torch.equal(d.y, float_graphs[i].y)


def test_single_graph_data(mol_store):
    data = mol_store[4]
    out = DropNodes(0.5)(data, gen(0))
    assert isinstance(out, Data) and 'batch' not in out
    assert out.num_nodes == data.num_nodes - round(0.5 * data.num_nodes)
    assert int(out.edge_index.max()) < out.num_nodes


# ---------------------------------------------------------------------------- node removal
@pytest.mark.parametrize('rate', [0.0, 0.2, 0.5, 0.9])
def test_drop_nodes_exact_counts(bbbp, mol_batch, float_batch, rate):
    for b in (bbbp, mol_batch, float_batch):
        out = DropNodes(rate)(b, gen(4))
        n = torch.bincount(b.batch, minlength=b.num_graphs)
        expected = n - torch.minimum(torch.round(n.double() * rate).long(), n - 1)
        assert torch.equal(torch.bincount(out.batch, minlength=b.num_graphs), expected)
        if rate == 0.0:
            assert torch.equal(out.x, b.x) and torch.equal(out.edge_index, b.edge_index)


@pytest.mark.parametrize('aug', [DropNodes(0.3), Subgraph(0.3)], ids=repr)
@pytest.mark.parametrize('which', ['bbbp', 'float_batch'])
def test_node_removal_is_the_induced_subgraph(aug, which, request):
    b = with_ids(request.getfixturevalue(which))
    n = b.num_nodes
    out = aug(b, gen(5))
    ids = out.node_id
    assert bool((ids[1:] > ids[:-1]).all())  # compact relabelling, original order
    assert torch.equal(out.x, b.x[ids]) and torch.equal(out.batch, b.batch[ids])
    kept = torch.zeros(n, dtype=torch.bool)
    kept[ids] = True
    src, dst = b.edge_index
    induced = kept[src] & kept[dst]
    # exactly the original edges between kept nodes, in order, with their own attributes
    assert torch.equal(ids[out.edge_index], b.edge_index[:, induced])
    assert torch.equal(out.edge_attr, b.edge_attr[induced])


def test_dropped_nodes_contribute_nothing_to_pooling(bbbp):
    b = bbbp.clone()
    b.h = torch.rand(b.num_nodes, 2, generator=gen(6), dtype=torch.float64) + 0.5
    b.node_id = torch.arange(b.num_nodes)
    out = DropNodes(0.25)(b, gen(7))
    G = b.num_graphs
    kept = torch.zeros(b.num_nodes, dtype=torch.bool)
    kept[out.node_id] = True
    want_sum = torch.zeros(G, 2, dtype=torch.float64).index_add_(0, b.batch[kept], b.h[kept])
    assert torch.allclose(global_add_pool(out.h, out.batch, size=G), want_sum)
    want_mean = want_sum / torch.bincount(b.batch[kept], minlength=G).unsqueeze(1)
    assert torch.allclose(global_mean_pool(out.h, out.batch, size=G), want_mean)
    full = global_add_pool(b.h, b.batch, size=G)
    lost = torch.bincount(b.batch[~kept], minlength=G) > 0
    assert bool(lost.any())
    assert bool(((full - want_sum)[lost] > 0.4).all())  # every dropped node had h >= 0.5


# ---------------------------------------------------------------------------- subgraph
def _components(ei: torch.Tensor, n: int) -> np.ndarray:
    adj = coo_matrix((np.ones(ei.size(1)), (ei[0].numpy(), ei[1].numpy())), shape=(n, n))
    return connected_components(adj, directed=False)[1]


def test_subgraph_connected_sized_and_beyond_one_hop(bbbp):
    b = with_ids(bbbp)
    G, n_all = b.num_graphs, b.num_nodes
    rate = 0.2
    out = Subgraph(rate)(b, gen(8))
    # one connected component per graph
    labels = _components(out.edge_index, out.num_nodes)
    assert len(np.unique(labels)) == G
    n = torch.bincount(b.batch, minlength=G)
    target = n - torch.minimum(torch.round(n.double() * rate).long(), n - 1)
    got = torch.bincount(out.batch, minlength=G)
    assert bool((got <= target).all())
    # a graph short of its target kept a whole component of the original molecule
    orig_labels = torch.from_numpy(_components(b.edge_index, n_all))
    comp_size = torch.bincount(orig_labels)
    short = (got < target).nonzero().view(-1)
    first_node = out.node_id[out.ptr[short]]
    assert torch.equal(comp_size[orig_labels[first_node]], got[short])
    assert short.numel() < G // 4
    # the kept set is larger than any one-hop star: growth went beyond the seed's neighbours
    deg = torch.bincount(b.edge_index[0], minlength=n_all)
    max_deg = torch.zeros(G, dtype=torch.long).scatter_reduce(0, b.batch, deg, 'amax')
    assert int((got > max_deg + 1).sum()) > G // 2


def test_subgraph_on_a_path_is_a_contiguous_stretch(float_batch):
    b = with_ids(float_batch)
    seen = set()
    for seed in range(40):
        out = Subgraph(0.4)(b, gen(seed))
        path = out.node_id[out.batch == 0]  # path 0-1-2-3-4 keeps 3 nodes
        assert path.numel() == 3 and int(path[-1] - path[0]) == 2
        seen.add(tuple(path.tolist()))
        # triangle (nodes 0-2) + edge (3-4): whole triangle's part or the whole edge
        two = out.node_id[out.batch == 4] - int(b.ptr[4])
        assert two.tolist() in ([0, 1, 2], [3, 4])
    assert seen == {(0, 1, 2), (1, 2, 3), (2, 3, 4)}


# ---------------------------------------------------------------------------- edges
def _pairs(ei: torch.Tensor, n: int) -> set[int]:
    lo, hi = torch.minimum(ei[0], ei[1]), torch.maximum(ei[0], ei[1])
    return set((lo * n + hi).tolist())


@pytest.mark.parametrize('add', [True, False])
def test_perturb_edges_molecules(bbbp, add):
    b = bbbp
    n, G = b.num_nodes, b.num_graphs
    rate = 0.2
    out = PerturbEdges(rate, add=add)(b, gen(9))
    assert torch.equal(out.x, b.x) and torch.equal(out.batch, b.batch)
    src, dst = out.edge_index
    assert not bool((src == dst).any())
    # undirected: every edge has its reverse, with the same attributes
    key = edge_keys(out.edge_index, n)
    rev = dst * n + src
    order = torch.argsort(key)
    pos = torch.searchsorted(key[order], rev)
    assert torch.equal(key[order][pos], rev)
    assert torch.equal(out.edge_attr[order][pos], out.edge_attr)
    assert key.unique().numel() == key.numel()
    # kept edges carry their original attributes; new edges are single bonds
    okey = edge_keys(b.edge_index, n)
    oorder = torch.argsort(okey)
    opos = torch.searchsorted(okey[oorder], key).clamp(max=okey.numel() - 1)
    is_old = okey[oorder][opos] == key
    assert torch.equal(out.edge_attr[is_old], b.edge_attr[oorder][opos[is_old]])
    assert bool((out.edge_attr[~is_old] == single_bond_features()).all())
    assert single_bond_features().tolist() == [0, 0, 0]
    assert bool((out.edge_attr < torch.tensor(bond_feature_dims())).all())
    # exactly round(rate * m) bonds dropped per graph; about as many added
    m = torch.bincount(b.batch[b.edge_index[0]], minlength=G) // 2
    dropped = torch.round(m.double() * rate).long()
    kept_per_graph = torch.bincount(out.batch[src[is_old]], minlength=G) // 2
    assert torch.equal(kept_per_graph, m - dropped)
    added = torch.bincount(out.batch[src[~is_old]], minlength=G) // 2
    if add:
        assert bool((added <= dropped).all())
        assert int(added.sum()) >= 0.95 * int(dropped.sum())
    else:
        assert int(added.sum()) == 0


def test_perturb_edges_float_features(float_batch):
    b = float_batch
    n = b.num_nodes
    out = PerturbEdges(0.5)(b, gen(10))
    check_valid(out, b.num_graphs)
    old = edge_keys(b.edge_index, n)
    new = ~torch.isin(edge_keys(out.edge_index, n), old)
    assert bool(new.any())
    assert bool((out.edge_attr[new] == 0).all()) and bool((out.edge_attr[~new] > 0).all())
    assert _pairs(out.edge_index, n) == set(_pairs(out.edge_index.flip(0), n))
    # the single node gets no edge, the complete 2-node graph gets no new one
    assert not bool((out.batch[out.edge_index[0]] == 2).any())
    assert not bool(new[out.batch[out.edge_index[0]] == 3].any())
    # without edge_attr, edges alone
    plain = Batch(x=b.x, edge_index=b.edge_index, batch=b.batch, ptr=b.ptr)
    out2 = PerturbEdges(0.5)(plain, gen(10))
    assert 'edge_attr' not in out2
    assert torch.equal(out2.edge_index, out.edge_index)


# ---------------------------------------------------------------------------- features
def test_mask_features_token_on_molecules(bbbp):
    b = bbbp
    out = MaskFeatures(0.2)(b, gen(11))
    masked = (out.x != b.x).any(1)
    n = torch.bincount(b.batch, minlength=b.num_graphs)
    expected = torch.round(n.double() * 0.2).long().clamp(min=1)
    assert torch.equal(torch.bincount(b.batch[masked], minlength=b.num_graphs), expected)
    assert bool((out.x[masked] == atom_mask_token()).all())
    assert torch.equal(out.edge_index, b.edge_index) and torch.equal(out.edge_attr, b.edge_attr)


@pytest.mark.parametrize('mode', ['zeros', 'noise'])
def test_mask_features_float(float_batch, mode):
    b = float_batch
    x_before = b.x.clone()
    out = MaskFeatures(0.5, mode=mode)(b, gen(12))
    assert torch.equal(b.x, x_before)
    changed = (out.x != b.x).any(1)
    n = torch.bincount(b.batch, minlength=b.num_graphs)
    expected = torch.round(n.double() * 0.5).long().clamp(min=1)
    assert torch.equal(torch.bincount(b.batch[changed], minlength=b.num_graphs), expected)
    if mode == 'zeros':
        assert bool((out.x[changed] == 0).all())
    assert out.x.dtype == b.x.dtype
    assert torch.equal(MaskFeatures(0.0, mode=mode)(b, gen(12)).x, b.x)


def test_mask_features_mode_errors(float_batch, mol_batch):
    with pytest.raises(ValueError, match="Valid options: token, zeros, noise"):
        MaskFeatures(mode='blank')
    with pytest.raises(ValueError, match="mode='token' needs categorical"):
        MaskFeatures(mode='token')(float_batch, gen(0))
    with pytest.raises(ValueError, match="mode='noise' needs float"):
        MaskFeatures(mode='noise')(mol_batch, gen(0))


# ---------------------------------------------------------------------------- combinators
def test_identity_and_compose(mol_batch):
    b = mol_batch
    same = Identity()(b)
    assert same is not b and same.x is b.x
    chain = Compose([DropNodes(0.3), MaskFeatures(0.3)])
    g = gen(13)
    expected = MaskFeatures(0.3)(DropNodes(0.3)(b, g), g)
    got = chain(b, gen(13))
    for k, v in tensors(expected).items():
        assert torch.equal(v, tensors(got)[k])
    assert torch.equal(Compose([])(b).x, b.x)
    assert repr(chain) == 'Compose([DropNodes(rate=0.3), MaskFeatures(rate=0.3, mode=None)])'


def test_random_choice_reproducible_and_covering(mol_batch):
    augs = [build_augmentation(name) for name in RANDOM_NAMES]
    choice = RandomChoice(augs)
    picks = {choice.sample(gen(s)) for s in range(100)}
    assert picks == set(range(len(augs)))
    for s in range(8):
        g = gen(s)
        want = augs[choice.sample(g)](mol_batch, g)
        got = choice(mol_batch, gen(s))
        assert tensors(want).keys() == tensors(got).keys()
        assert all(torch.equal(v, tensors(got)[k]) for k, v in tensors(want).items())
    only_last = RandomChoice(augs, weights=[0, 0, 0, 1])
    assert {only_last.sample(gen(s)) for s in range(20)} == {3}
    with pytest.raises(ValueError, match='at least one'):
        RandomChoice([])
    with pytest.raises(ValueError, match='2 weights for 4'):
        RandomChoice(augs, weights=[1, 1])
    with pytest.raises(ValueError, match='non-negative'):
        RandomChoice(augs, weights=[1, -1, 1, 1])
