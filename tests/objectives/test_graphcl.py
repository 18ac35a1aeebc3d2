"""GraphCL: two augmented views, shared encoder, projection head, NT-Xent."""
import pytest
import torch
from torch_geometric.nn import global_mean_pool

from graphpfm.nn import build_encoder
from graphpfm.nn.losses import nt_xent
from graphpfm.objectives import build_objective
from graphpfm.transforms import DropNodes, Subgraph


def _make(**kw):
    torch.manual_seed(0)
    return build_objective('graphcl', build_encoder('gin', num_layers=2, hidden_channels=32),
                           **kw)


def test_views_follow_the_named_augmentations(mol_store):
    obj = _make(aug1='drop_nodes', aug2='subgraph', aug_ratio=0.3)
    b = mol_store.collate(range(len(mol_store)))
    v1, v2 = obj.prepare(b, torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(5)
    e1 = DropNodes(0.3)(b, g)
    e2 = Subgraph(0.3)(b, g)
    for got, exp in ((v1, e1), (v2, e2)):
        assert torch.equal(got.x, exp.x) and torch.equal(got.edge_index, exp.edge_index)
        assert torch.equal(got.batch, exp.batch)
    assert v1.num_graphs == v2.num_graphs == b.num_graphs
    assert v1.num_nodes < b.num_nodes


def test_loss_is_nt_xent_of_projected_mean_pooled_views(mol_store):
    obj = _make(temperature=0.2).train()
    b = mol_store.collate(range(len(mol_store)))
    views = obj.prepare(b, torch.Generator().manual_seed(1))
    out = obj.compute(views)

    def z(v):
        h = obj.encoder(v.x, v.edge_index, edge_attr=v.edge_attr, batch=v.batch)
        return obj.proj(global_mean_pool(h, v.batch, size=v.num_graphs))
    expected = nt_xent(z(views[0]), z(views[1]), 0.2, intra_view_negatives=False,
                       symmetric=False)
    assert float(out.loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-5)


def test_identity_views_give_the_lowest_loss_the_batch_allows(mol_store):
    # identical views: positives at cosine 1, so the loss is below that of augmented views
    b = mol_store.collate(range(len(mol_store)))
    same = _make(aug1='identity', aug2='identity').eval()
    aug = _make(aug1='drop_nodes', aug2='subgraph', aug_ratio=0.5).eval()
    g = torch.Generator().manual_seed(0)
    ls = float(same(b, g).loss.detach())
    la = float(aug(b, torch.Generator().manual_seed(0)).loss.detach())
    assert same(b, g).logs['pos_cos'] == pytest.approx(1.0, abs=1e-5)
    assert ls < la


def test_random_views_draw_per_batch_and_are_reproducible(mol_store):
    obj = _make(aug1='random', aug2='random')
    b = mol_store.collate(range(len(mol_store)))
    sizes = set()
    for seed in range(12):
        v1, _ = obj.prepare(b, torch.Generator().manual_seed(seed))
        w1, _ = obj.prepare(b, torch.Generator().manual_seed(seed))
        assert torch.equal(v1.x, w1.x) and torch.equal(v1.edge_index, w1.edge_index)
        sizes.add((v1.num_nodes == b.num_nodes, v1.num_edges == b.num_edges))
    assert len(sizes) > 1  # different augmentations were drawn


def test_input_batch_is_not_written(mol_store):
    b = mol_store.collate(range(len(mol_store)))
    before = {k: v.clone() for k, v in b.items() if torch.is_tensor(v)}
    _make(aug1='mask_features', aug2='perturb_edges')(b, torch.Generator().manual_seed(0))
    assert all(torch.equal(before[k], v) for k, v in b.items() if torch.is_tensor(v))


def test_bad_options(mol_store):
    with pytest.raises(ValueError, match=r"augmentation 'dropN' invalid; valid options: .*"
                                         r"drop_nodes.*random"):
        _make(aug1='dropN')
    with pytest.raises(ValueError, match='aug_ratio'):
        _make(aug_ratio=1.0)
    with pytest.raises(ValueError, match='temperature'):
        _make(temperature=0.0)
    with pytest.raises(ValueError, match='at least 2 graphs'):
        _make()(mol_store.collate([0]), torch.Generator().manual_seed(0))
