"""Edge prediction: negatives are non-bonds of their own molecule, seeded by the generator."""
import pytest
import torch
import torch.nn.functional as F

from graphpfm.nn import build_encoder
from graphpfm.objectives import build_objective
from graphpfm.transforms.negative_edges import (
    num_non_edges,
    sample_negative_edges,
    undirected_pairs,
)


def _obj(**kw):
    torch.manual_seed(0)
    return build_objective('edge_pred', build_encoder('gin', num_layers=2, hidden_channels=16),
                           **kw)


def _pairs(index, num_nodes):
    return {(min(a, b), max(a, b)) for a, b in index.t().tolist()} if num_nodes else set()


def test_negatives_are_non_edges_of_their_own_graph(mol_store):
    b = mol_store.collate(range(len(mol_store)))
    p = _obj().prepare(b, torch.Generator().manual_seed(0))
    label = p.edge_label.bool()
    pos, neg = p.edge_label_index[:, label], p.edge_label_index[:, ~label]
    bonds = _pairs(b.edge_index, b.num_nodes)
    assert _pairs(pos, b.num_nodes) == bonds and pos.size(1) == len(bonds)  # one per bond
    assert (neg[0] < neg[1]).all()
    assert not (_pairs(neg, b.num_nodes) & bonds)
    assert torch.equal(b.batch[neg[0]], b.batch[neg[1]])
    # as many negatives as bonds, except in molecules with no non-bond (C#N: 2 atoms, 1 bond)
    full = num_non_edges(pos, b.ptr) == 0
    expected = int((~full[b.batch[pos[0]]]).sum())
    assert neg.size(1) == expected and full.sum() == 1
    # each molecule gets as many negatives as it has bonds
    assert torch.equal(torch.bincount(b.batch[neg[0]], minlength=b.num_graphs)[~full],
                       torch.bincount(b.batch[pos[0]], minlength=b.num_graphs)[~full])


def test_reproducible_from_the_generator_only(mol_store):
    b = mol_store.collate(range(len(mol_store)))
    obj = _obj()
    a = obj.prepare(b, torch.Generator().manual_seed(3)).edge_label_index
    torch.manual_seed(123)  # the global state plays no part
    c = obj.prepare(b, torch.Generator().manual_seed(3)).edge_label_index
    d = obj.prepare(b, torch.Generator().manual_seed(4)).edge_label_index
    assert torch.equal(a, c) and not torch.equal(a, d)


def test_neg_ratio_scales_the_negatives(mol_store):
    b = mol_store.collate(range(len(mol_store)))
    for ratio, factor in ((2.0, 2), (0.5, 0.5)):
        p = _obj(neg_ratio=ratio).prepare(b, torch.Generator().manual_seed(0))
        num_pos = int(p.edge_label.sum())
        assert abs((p.edge_label == 0).sum() - factor * num_pos) <= factor * 2 + 1
    with pytest.raises(ValueError, match='neg_ratio'):
        _obj(neg_ratio=0.0)


def test_sampler_on_hand_made_graphs():
    # graph 0: triangle (no non-edge); graph 1: path 3-4-5 (one non-edge: 3-5); graph 2: one atom
    edge_index = torch.tensor([[0, 1, 1, 2, 2, 0, 3, 4, 4, 5], [1, 0, 2, 1, 0, 2, 4, 3, 5, 4]])
    ptr = torch.tensor([0, 3, 6, 7])
    pairs = undirected_pairs(edge_index, 7)
    assert pairs.tolist() == [[0, 0, 1, 3, 4], [1, 2, 2, 4, 5]]
    assert num_non_edges(pairs, ptr).tolist() == [0, 1, 0]
    neg = sample_negative_edges(pairs, ptr, torch.ones(50, dtype=torch.long),
                                torch.Generator().manual_seed(0))
    assert neg.size(1) == 50 and (neg == torch.tensor([[3], [5]])).all()


def test_loss_is_bce_of_dot_products(mol_store):
    obj = _obj().eval()
    b = mol_store.collate(range(len(mol_store)))
    p = obj.prepare(b, torch.Generator().manual_seed(0))
    h = obj.embed(b)
    s = (h[p.edge_label_index[0]] * h[p.edge_label_index[1]]).sum(-1)
    pos, neg = s[p.edge_label == 1], s[p.edge_label == 0]
    want = -F.logsigmoid(pos).mean() - F.logsigmoid(-neg).mean()
    out = obj.compute(p)
    assert torch.allclose(out.loss, want, atol=1e-5)
    assert set(out.logs) == {'acc', 'auc', 'skipped_frac'} and 0 <= out.logs['auc'] <= 1
    assert out.logs['skipped_frac'] == 0.0
