"""NeighborLoader: pure-torch neighbour sampling in PyG's mini-batch format."""
from collections import Counter

import pytest
import torch
from torch_geometric.data import Data

from graphpfm.data.neighbor_loader import DENSE_FACTOR, NeighborLoader, sample_positions


def _graph(num_nodes=60, num_edges=400, seed=0, hub=True):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, num_nodes, (2, num_edges), generator=g)
    if hub:  # node 0 gets many in-edges (the rejection-sampling regime)
        src = torch.randint(1, num_nodes, (150,), generator=g)
        ei = torch.cat([ei, torch.stack([src, torch.zeros_like(src)])], 1)
    n = num_nodes
    return Data(x=torch.randn(n, 5, generator=g), y=torch.arange(n) % 3,
                edge_attr=torch.arange(ei.size(1)).float().view(-1, 1), edge_index=ei,
                num_nodes=n, name='toy')


def _in_degree(data):
    return torch.bincount(data.edge_index[1], minlength=data.num_nodes)


def _hops(batch):
    """Per hop: (target global ids, source global ids, edge ids)."""
    bounds = torch.tensor([0, *batch.num_sampled_edges]).cumsum(0)
    out = []
    for h in range(len(batch.num_sampled_edges)):
        ei = batch.edge_index[:, bounds[h]:bounds[h + 1]]
        out.append((batch.n_id[ei[1]], batch.n_id[ei[0]], batch.e_id[bounds[h]:bounds[h + 1]]))
    return out


def test_epoch_covers_every_seed_once_seeds_first():
    data = _graph()
    mask = torch.zeros(data.num_nodes, dtype=torch.bool)
    mask[::3] = True
    loader = NeighborLoader(data, [3, 2], batch_size=7, input_nodes=mask,
                            generator=torch.Generator().manual_seed(1))
    seeds = []
    batches = list(loader)
    assert len(batches) == len(loader) == -(-int(mask.sum()) // 7)
    for b in batches:
        seeds.append(b.n_id[:b.batch_size])
        assert torch.equal(b.n_id[:b.batch_size], mask.nonzero().view(-1)[b.input_id])
        assert b.n_id.unique().numel() == b.n_id.numel() == b.num_nodes
        assert sum(b.num_sampled_nodes) == b.num_nodes
    seeds = torch.cat(seeds)
    assert sorted(seeds.tolist()) == mask.nonzero().view(-1).tolist()
    # shuffled, not in index order
    assert seeds.tolist() != sorted(seeds.tolist())


def test_sampled_edges_are_real_and_attributes_follow_ids():
    data = _graph()
    for b in NeighborLoader(data, [4, 3, 2], batch_size=9,
                            generator=torch.Generator().manual_seed(0)):
        assert torch.equal(b.n_id[b.edge_index], data.edge_index[:, b.e_id])
        assert torch.equal(b.x, data.x[b.n_id]) and torch.equal(b.y, data.y[b.n_id])
        assert torch.equal(b.edge_attr, data.edge_attr[b.e_id])
        assert b.name == 'toy'
        assert b.e_id.unique().numel() == b.e_id.numel()


def test_at_most_k_in_neighbours_per_hop_exactly_min_k_deg():
    data = _graph()
    deg = _in_degree(data)
    ks = [2, 5, 1]
    assert int(deg.max()) > DENSE_FACTOR * max(ks)  # the hub exercises the sparse regime
    for b in NeighborLoader(data, ks, batch_size=8, input_nodes=torch.tensor([0, *range(5, 20)]),
                            generator=torch.Generator().manual_seed(2)):
        prev = b.n_id[:b.batch_size]
        start = b.batch_size
        for h, (dst, src, eid) in enumerate(_hops(b)):
            counts = Counter(dst.tolist())
            for v in prev.tolist():
                assert counts.get(v, 0) == min(ks[h], int(deg[v])), (h, v)
            assert set(counts) <= set(prev.tolist())
            # neighbours of the node are distinct edges
            assert eid.unique().numel() == eid.numel()
            new = b.n_id[start:start + b.num_sampled_nodes[h + 1]]
            start += new.numel()
            assert set(new.tolist()) == set(src.tolist()) - set(b.n_id[:start - new.numel()]
                                                                .tolist())
            prev = new


def _reference(data, seeds, num_hops):
    """Per-node breadth-first expansion with every in-neighbour: nodes per hop and edges."""
    seen = list(seeds)
    frontier = list(seeds)
    edges = set()
    hops = []
    ei = data.edge_index.t().tolist()
    for _ in range(num_hops):
        new = []
        for eid, (s, d) in enumerate(ei):
            if d in frontier:
                edges.add(eid)
                if s not in seen and s not in new:
                    new.append(s)
        seen += new
        hops.append(set(new))
        frontier = new
    return hops, edges


def test_full_neighbourhood_matches_per_node_reference():
    data = _graph(num_nodes=20, num_edges=50, hub=False)
    seeds = torch.tensor([3, 7, 11])
    loader = NeighborLoader(data, [-1, -1], batch_size=3, input_nodes=seeds, shuffle=False)
    b = next(iter(loader))
    hops, edges = _reference(data, seeds.tolist(), 2)
    assert b.n_id[:3].tolist() == [3, 7, 11]
    start = 3
    for h, ref in enumerate(hops):
        got = b.n_id[start:start + b.num_sampled_nodes[h + 1]]
        start += got.numel()
        assert set(got.tolist()) == ref and got.unique().numel() == got.numel()
    assert set(b.e_id.tolist()) == edges and b.e_id.numel() == len(edges)
    # k >= degree is the full neighbourhood too
    big = next(iter(NeighborLoader(data, [100, 100], batch_size=3, input_nodes=seeds,
                                   shuffle=False, generator=torch.Generator().manual_seed(0))))
    assert set(big.e_id.tolist()) == edges and torch.equal(big.n_id.sort()[0], b.n_id.sort()[0])


def test_same_generator_seed_same_batches():
    data = _graph()

    def batches(seed):
        loader = NeighborLoader(data, [3, 3], batch_size=10,
                                generator=torch.Generator().manual_seed(seed))
        return [b for _ in range(2) for b in loader]  # two epochs

    a, b, c = batches(5), batches(5), batches(6)
    for x, y in zip(a, b, strict=True):
        for key in ('n_id', 'e_id', 'edge_index', 'x'):
            assert torch.equal(x[key], y[key])
    assert not all(torch.equal(x.n_id, y.n_id) for x, y in zip(a, c, strict=True))
    # the second epoch differs from the first (the generator is consumed)
    half = len(a) // 2
    assert not all(torch.equal(x.n_id, y.n_id) for x, y in zip(a[:half], a[half:], strict=True))


@pytest.mark.parametrize('deg,k', [(10, 3), (4 * 3, 3), (100, 3), (7, 7), (5, 9)])
def test_sample_positions_uniform_without_replacement(deg, k):
    segments = 4000
    start = torch.arange(segments) * deg + 11
    degs = torch.full((segments,), deg)
    pos, seg = sample_positions(start, degs, k, generator=torch.Generator().manual_seed(0))
    per = torch.bincount(seg, minlength=segments)
    assert (per == min(k, deg)).all()
    assert pos.unique().numel() == pos.numel()  # distinct within (and across) segments
    offset = pos - start[seg]
    assert offset.min() >= 0 and offset.max() < deg
    freq = torch.bincount(offset, minlength=deg).double() / segments
    expected = min(k, deg) / deg
    sigma = (expected * (1 - expected) / segments) ** 0.5
    assert torch.allclose(freq, torch.full_like(freq, expected), atol=5 * sigma + 1e-12)


def test_sample_positions_with_replacement_and_edge_cases():
    start, degs = torch.tensor([0, 5, 5, 50]), torch.tensor([5, 0, 45, 1])
    g = torch.Generator().manual_seed(0)
    pos, seg = sample_positions(start, degs, 4, replace=True, generator=g)
    per = torch.bincount(seg, minlength=4)
    assert (per <= 4).all() and per[1] == 0 and per[3] == 1
    assert ((pos >= start[seg]) & (pos < start[seg] + degs[seg])).all()
    pos, seg = sample_positions(start, degs, 0)
    assert pos.numel() == 0
    pos, seg = sample_positions(start, degs, -1)
    assert pos.tolist() == list(range(51))


def test_replace_and_zero_neighbours_in_loader():
    data = _graph()
    for b in NeighborLoader(data, [3], batch_size=16, replace=True,
                            generator=torch.Generator().manual_seed(0)):
        assert torch.equal(b.n_id[b.edge_index], data.edge_index[:, b.e_id])
        assert torch.bincount(b.edge_index[1], minlength=b.num_nodes).max() <= 3
    b = next(iter(NeighborLoader(data, [0], batch_size=4, shuffle=False)))
    assert b.edge_index.shape == (2, 0) and b.num_nodes == 4


def test_drop_last_and_errors():
    data = _graph(num_nodes=10, num_edges=20, hub=False)
    loader = NeighborLoader(data, [2], batch_size=4, drop_last=True)
    assert len(loader) == 2 and sum(b.batch_size for b in loader) == 8
    with pytest.raises(ValueError, match='repeats'):
        NeighborLoader(data, [2], input_nodes=torch.tensor([1, 1]))
    with pytest.raises(ValueError, match='>= -1'):
        NeighborLoader(data, [-2])
    with pytest.raises(ValueError, match=r'\[0, 10\)'):
        NeighborLoader(data, [2], input_nodes=torch.tensor([10]))
    with pytest.raises(ValueError, match='mask'):
        NeighborLoader(data, [2], input_nodes=torch.ones(3, dtype=torch.bool))
