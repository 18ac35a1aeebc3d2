"""Context prediction: loss by hand, skipped molecules, modes, options."""
import math

import pytest
import torch
import torch.nn.functional as F
from ogb.utils import smiles2graph

from graphpfm.data import GraphStore
from graphpfm.nn import build_encoder
from graphpfm.objectives import build_objective
from graphpfm.objectives.context_pred import pair_bce_loss


def _make(num_layers=2, **kwargs):
    torch.manual_seed(0)
    enc = build_encoder('gin', num_layers=num_layers, hidden_channels=16)
    return build_objective('context_pred', enc, **kwargs)


def test_defaults_follow_the_encoder():
    obj = _make(num_layers=5)
    assert obj.kwargs == {'k': 5, 'r1': 4, 'r2': 7, 'context_layers': 3, 'mode': 'cbow',
                          'neg_samples': 1}
    assert obj.context_encoder.num_layers == 3
    assert obj.context_encoder.out_channels == obj.encoder.out_channels
    # the checkpointed encoder is the substructure GNN alone
    enc_params = {id(p) for p in obj.encoder.parameters()}
    assert not enc_params & {id(p) for p in obj.context_encoder.parameters()}


def test_bad_options_list_valid_values():
    with pytest.raises(ValueError, match='cbow, skipgram'):
        _make(mode='cbow2')
    with pytest.raises(ValueError, match='r1'):
        _make(r1=2)
    with pytest.raises(ValueError, match='neg_samples'):
        _make(neg_samples=0)


def test_pair_bce_loss_analytic_and_sign():
    zero = torch.zeros(3)
    assert math.isclose(float(pair_bce_loss(zero, zero[:2], 2.0)), 3 * math.log(2), rel_tol=1e-6)
    sub = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    ctx = torch.tensor([[0.2, 0.8], [0.9, 0.1]])  # each context closer to the other graph

    def loss(c):
        pos = (sub * c).sum(-1)
        neg = (sub * c[[1, 0]]).sum(-1)
        return float(pair_bce_loss(pos, neg))
    closer = ctx + 0.5 * (sub - ctx)  # move every positive context towards its substructure
    assert loss(closer) < loss(ctx)
    assert loss(sub) < loss(closer)


def _by_hand(obj, pair, shifts, mode):
    """The reference's loss with a loop over graphs (eval mode: encoders are per-graph)."""
    sub, ctx = pair.substruct, pair.context
    hs = obj.encoder(sub.x, sub.edge_index, edge_attr=sub.edge_attr, batch=sub.batch)
    hc = obj.context_encoder(ctx.x, ctx.edge_index, edge_attr=ctx.edge_attr, batch=ctx.batch)
    g = pair.num_kept
    s_rep = [hs[int(sub.center_index[j])] for j in range(g)]
    anchors = [hc[ctx.anchor_index[ctx.anchor_batch == j]] for j in range(g)]
    pos, neg = [], []
    if mode == 'cbow':
        c_rep = [a.mean(0) for a in anchors]
        pos = [s_rep[j] @ c_rep[j] for j in range(g)]
        neg = [s_rep[j] @ c_rep[(j + s) % g] for s in shifts for j in range(g)]
    else:
        pos = [s_rep[j] @ a for j in range(g) for a in anchors[j]]
        neg = [s_rep[(j + s) % g] @ a for s in shifts for j in range(g) for a in anchors[j]]
    pos, neg = torch.stack(pos), torch.stack(neg)
    return (F.binary_cross_entropy_with_logits(pos, torch.ones_like(pos))
            + len(shifts) * F.binary_cross_entropy_with_logits(neg, torch.zeros_like(neg)))


@pytest.mark.parametrize('mode', ['cbow', 'skipgram'])
@pytest.mark.parametrize('neg_samples', [1, 3])
def test_loss_equals_per_graph_computation(mol_store, mode, neg_samples):
    obj = _make(mode=mode, neg_samples=neg_samples).eval()
    b = mol_store.collate(range(len(mol_store)))
    pair = obj.prepare(b, torch.Generator().manual_seed(0))
    out = obj.compute(pair)
    want = _by_hand(obj, pair, list(range(1, neg_samples + 1)), mode)
    assert torch.allclose(out.loss, want, atol=1e-5)
    assert math.isclose(out.logs['pos_loss'] + neg_samples * out.logs['neg_loss'],
                        float(out.loss.detach()), rel_tol=1e-5)
    assert 0 <= out.logs['pos_acc'] <= 1 and 0 <= out.logs['neg_acc'] <= 1


def test_small_molecules_are_skipped_and_counted():
    smiles = ['C', 'CC', 'CCCCCCCCCCCC', 'CCCCCCCCCCCCCC', 'CC(C)CCCCCCC(C)C']
    store = GraphStore.from_graphs([smiles2graph(s) for s in smiles])
    obj = _make(num_layers=5).train()
    b = store.collate(range(len(store)))
    pair = obj.prepare(b, torch.Generator().manual_seed(0))
    assert {0, 1}.isdisjoint(pair.graph_index.tolist())
    out = obj.compute(pair)
    assert out.logs['skipped'] == pair.num_skipped >= 2
    assert out.logs['skipped_frac'] == pair.num_skipped / 5
    out.loss.backward()


def test_all_skipped_gives_a_zero_loss():
    store = GraphStore.from_graphs([smiles2graph(s) for s in ('C', 'CC', 'CCO')])
    obj = _make(num_layers=5).train()
    out = obj(store.collate([0, 1, 2]), torch.Generator().manual_seed(0))
    assert float(out.loss.detach()) == 0.0 and out.logs['skipped'] == 3.0
    out.loss.backward()


def test_a_molecule_is_never_its_own_negative(mol_store):
    obj = _make(neg_samples=4).eval()
    b = mol_store.collate([2, 4])  # two kept molecules: shifts 1 and 3 only
    pair = obj.prepare(b, torch.Generator().manual_seed(0))
    assert pair.num_kept == 2
    out = obj.compute(pair)
    assert torch.allclose(out.loss, _by_hand(obj, pair, [1, 3], 'cbow'), atol=1e-5)
