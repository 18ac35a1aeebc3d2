import math

import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import Batch, Data

from graphpfm.nn import build_encoder
from graphpfm.nn.losses import nt_xent
from graphpfm.objectives import GRACE, build_objective
from graphpfm.transforms.node_views import drop_edges, mask_feature_columns, node_view


def _grace(**kw):
    torch.manual_seed(0)
    enc = build_encoder('gcn', num_layers=2, hidden_channels=16, in_channels=16)
    return build_objective('grace', enc, proj_channels=16, **kw)


def _grace_loss_loop(u, v, tau):
    """GRACE's formula, one anchor at a time: the positive in the denominator, the anchor's
    similarity to itself left out, both directions averaged."""
    def theta(a, b):
        return float(F.cosine_similarity(a, b, dim=0))

    def ell(a, b, i):
        n = a.size(0)
        pos = math.exp(theta(a[i], b[i]) / tau)
        between = sum(math.exp(theta(a[i], b[k]) / tau) for k in range(n))
        refl = sum(math.exp(theta(a[i], a[k]) / tau) for k in range(n) if k != i)
        return -math.log(pos / (between + refl))
    n = u.size(0)
    return sum(0.5 * (ell(u, v, i) + ell(v, u, i)) for i in range(n)) / n


def test_nt_xent_is_grace_loss_on_hand_made_embeddings():
    u = torch.tensor([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.5, 1.0]])
    v = torch.tensor([[0.9, 0.1, 0.0], [0.2, 1.0, 0.3], [1.0, 0.8, -0.2], [0.1, 0.0, 2.0]])
    for tau in (0.4, 1.0):
        expected = _grace_loss_loop(u, v, tau)
        got = nt_xent(u, v, tau, intra_view_negatives=True, symmetric=True)
        assert float(got) == pytest.approx(expected, rel=1e-5)


def test_grace_loss_falls_as_positives_close_in():
    torch.manual_seed(0)
    u = torch.randn(4, 3)
    noise = torch.randn(4, 3)
    losses = [float(nt_xent(u, u + s * noise, 0.4)) for s in (2.0, 1.0, 0.3, 0.0)]
    assert losses == sorted(losses, reverse=True) and losses[0] > losses[-1]


def test_objective_loss_is_nt_xent_of_projected_views(float_graph):
    obj = _grace().eval()
    views = obj.prepare(float_graph, torch.Generator().manual_seed(0))
    out = obj.compute(views)
    z1 = obj.proj(obj.encode(views[0]))
    z2 = obj.proj(obj.encode(views[1]))
    assert torch.allclose(out.loss, nt_xent(z1, z2, 0.4, intra_view_negatives=True,
                                            symmetric=True))
    assert set(out.logs) == {'nt_xent', 'pos_cos'}


def test_minibatch_loss_uses_the_seed_nodes_only(float_graph):
    obj = _grace().eval()
    k = 7
    mb = float_graph.clone()
    mb.batch_size = k
    views = obj.prepare(mb, torch.Generator().manual_seed(1))
    loss = obj.compute(views).loss
    h1, h2 = obj.encode(views[0]), obj.encode(views[1])  # whole views: seeds see neighbours
    expected = nt_xent(obj.proj(h1[:k]), obj.proj(h2[:k]), 0.4)
    assert torch.allclose(loss, expected)
    full = nt_xent(obj.proj(h1), obj.proj(h2), 0.4)
    assert not torch.allclose(loss, full)


def test_defaults_follow_grace_cora_config(float_graph):
    enc = build_encoder('gcn', num_layers=2, hidden_channels=16, in_channels=16)
    obj = GRACE(enc)
    assert obj.kwargs == {'temperature': 0.4, 'pe1': 0.2, 'pe2': 0.4, 'pf1': 0.3, 'pf2': 0.4,
                          'proj_channels': 128}
    assert obj.level == 'node' and obj.input_kinds == ('float',)
    assert isinstance(obj.proj[1], torch.nn.ELU)
    assert obj.proj[0].out_features == 128 and obj.proj[2].out_features == enc.out_channels
    assert obj.config() == {'name': 'grace', 'kwargs': obj.kwargs}


def test_rejects_molecular_encoder_and_bad_options():
    with pytest.raises(ValueError, match='float'):
        build_objective('grace', build_encoder('gin', num_layers=1, hidden_channels=8))
    enc = build_encoder('gcn', num_layers=1, hidden_channels=8, in_channels=4)
    with pytest.raises(ValueError, match='pe2'):
        build_objective('grace', enc, pe2=1.0)
    with pytest.raises(ValueError, match='temperature'):
        build_objective('grace', enc, temperature=0.0)


# --- views -------------------------------------------------------------------------------

def test_edge_drop_fraction_close_to_rate(community_graph):
    data = community_graph(num_nodes=400, p_in=0.1, p_out=0.01)
    e = data.num_edges
    for rate in (0.2, 0.4):
        kept = drop_edges(data, rate, torch.Generator().manual_seed(0)).num_edges
        assert abs((1 - kept / e) - rate) < 4 * math.sqrt(rate * (1 - rate) / e)


def test_dropped_edges_are_a_subset_and_edge_attributes_follow(community_graph):
    data = community_graph()
    data.edge_attr = torch.arange(data.num_edges, dtype=torch.float).view(-1, 1)
    out = drop_edges(data, 0.5, torch.Generator().manual_seed(0))
    kept = out.edge_attr.view(-1).long()
    assert torch.equal(out.edge_index, data.edge_index[:, kept])
    assert torch.equal(kept, kept.sort().values)  # order kept
    assert out.x is data.x


def test_masked_feature_columns_are_the_same_for_all_nodes(community_graph):
    data = community_graph(num_features=64)
    data.x = data.x.abs() + 1.0  # no zero before masking
    out = mask_feature_columns(data, 0.4, torch.Generator().manual_seed(0))
    zero = out.x == 0
    cols = zero.all(dim=0)
    assert torch.equal(zero, cols.expand_as(zero))  # a column is masked for all nodes or none
    assert 0 < int(cols.sum()) < 64
    assert torch.equal(out.x[:, ~cols], data.x[:, ~cols])
    assert out.edge_index is data.edge_index


def test_views_leave_the_input_unchanged_and_follow_the_seed(float_graph):
    before = {k: v.clone() for k, v in float_graph.to_dict().items() if torch.is_tensor(v)}
    a = node_view(float_graph, 0.3, 0.3, torch.Generator().manual_seed(5))
    b = node_view(float_graph, 0.3, 0.3, torch.Generator().manual_seed(5))
    c = node_view(float_graph, 0.3, 0.3, torch.Generator().manual_seed(6))
    for k, v in before.items():
        assert torch.equal(float_graph[k], v), k
    assert torch.equal(a.x, b.x) and torch.equal(a.edge_index, b.edge_index)
    assert not (torch.equal(a.x, c.x) and torch.equal(a.edge_index, c.edge_index))
    obj = _grace()
    v1, v2 = obj.prepare(float_graph, torch.Generator().manual_seed(3))
    w1, w2 = obj.prepare(float_graph, torch.Generator().manual_seed(3))
    assert torch.equal(v1.edge_index, w1.edge_index) and torch.equal(v2.x, w2.x)


def test_views_of_a_batch_keep_slices(community_graph):
    graphs = [community_graph(num_nodes=n, seed=n) for n in (10, 14)]
    batch = Batch.from_data_list(graphs)
    out = drop_edges(batch, 0.5, torch.Generator().manual_seed(0))
    parts = out.to_data_list()
    assert [p.num_nodes for p in parts] == [10, 14]
    assert sum(p.num_edges for p in parts) == out.num_edges
    for p in parts:
        assert p.edge_index.max() < p.num_nodes


def test_zero_rates_give_the_input_back():
    data = Data(x=torch.randn(5, 3), edge_index=torch.tensor([[0, 1], [1, 0]]))
    out = node_view(data, 0.0, 0.0, torch.Generator().manual_seed(0))
    assert torch.equal(out.x, data.x) and torch.equal(out.edge_index, data.edge_index)
