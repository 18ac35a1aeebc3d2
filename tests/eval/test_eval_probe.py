"""Linear probe: C chosen on validation only, embeddings, OGB node evaluator, probe over seeds."""
import numpy as np
import pytest
import torch
from ogb.nodeproppred import Evaluator as OGBNodeEvaluator

from graphpfm.eval import Evaluator, ProbeConfig, embed_nodes, format_table, linear_probe, probe
from graphpfm.eval.probe import infer_task_type
from graphpfm.nn import build_encoder


def _crafted():
    """Validation favours strong regularisation, test favours weak regularisation.

    Train: 14 nodes of class 0 at x=-1, 6 of class 1 at x=+1 (separable, class 0 the
    majority). Valid: class 0 at x=+1; test: class 1 at x=+1. A heavily regularised model
    predicts the majority class 0 everywhere (valid acc 1, test acc 0); a weakly regularised
    one follows x (valid acc 0, test acc 1).
    """
    g = torch.Generator().manual_seed(0)
    x = torch.cat([torch.full((14, 1), -1.0), torch.full((6, 1), 1.0),
                   torch.full((10, 1), 1.0), torch.full((10, 1), 1.0)])
    x = torch.cat([x + 0.05 * torch.randn(40, 1, generator=g), torch.randn(40, 1, generator=g)],
                  1)
    y = torch.cat([torch.zeros(14), torch.ones(6), torch.zeros(10), torch.ones(10)]).long()
    split = {'train': torch.arange(20), 'valid': torch.arange(20, 30),
             'test': torch.arange(30, 40)}
    return x, y, split


def test_probe_chooses_C_on_validation_only():
    x, y, split = _crafted()
    res = linear_probe(x, y, split, Cs=(100.0, 1e-4))
    by_c = {r['C']: r for r in res.scores}
    assert [r['C'] for r in res.scores] == [1e-4, 100.0]  # ascending
    assert by_c[1e-4]['valid'] == 1.0 and by_c[1e-4]['test'] == 0.0
    assert by_c[100.0]['valid'] == 0.0 and by_c[100.0]['test'] == 1.0
    assert res.best_C == 1e-4 and res.best_valid == 1.0
    assert res.test_at_best_valid == 0.0  # reported although the other C tests better
    assert res.metric == 'acc' and res.task_type == 'multiclass classification'


def test_ties_go_to_the_smaller_C():
    x, y, split = _crafted()
    split = {'train': split['train'], 'valid': split['train'], 'test': split['train']}
    res = linear_probe(x, y, split, Cs=(10.0, 1.0, 100.0))
    assert all(r['valid'] == 1.0 for r in res.scores)
    assert res.best_C == 1.0


def test_matches_sklearn_at_the_chosen_C():
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    g = torch.Generator().manual_seed(1)
    y = torch.arange(60) % 3
    x = torch.randn(60, 4, generator=g) + torch.nn.functional.one_hot(y, 4).float()
    split = {'train': torch.arange(30), 'valid': torch.arange(30, 45),
             'test': torch.arange(45, 60)}
    res = linear_probe(x, y, split, Cs=(0.01, 1.0), seed=0)
    xs = x.double().numpy()
    sc = StandardScaler().fit(xs[:30])
    for row in res.scores:
        clf = LogisticRegression(C=row['C'], max_iter=1000, random_state=0).fit(
            sc.transform(xs[:30]), y[:30].numpy())
        acc = (clf.predict(sc.transform(xs[45:])) == y[45:].numpy()).mean()
        assert row['test'] == pytest.approx(acc)
    raw = linear_probe(x, y, split, Cs=(1.0,), standardize=False)
    clf = LogisticRegression(C=1.0, max_iter=1000, random_state=0).fit(xs[:30], y[:30].numpy())
    assert raw.test_at_best_valid == pytest.approx(
        (clf.predict(xs[45:]) == y[45:].numpy()).mean())


def test_multitask_binary_rocauc_with_missing_labels():
    g = torch.Generator().manual_seed(2)
    y = (torch.rand(80, 3, generator=g) < 0.5).float()
    x = torch.cat([2 * y - 1, torch.randn(80, 2, generator=g)], 1) + 0.3 * torch.randn(
        80, 5, generator=g)
    y[::7, 1] = float('nan')
    split = {'train': torch.arange(40), 'valid': torch.arange(40, 60),
             'test': torch.arange(60, 80)}
    assert infer_task_type(y) == 'binary classification'
    res = linear_probe(x, y, split, Cs=(0.1, 1.0))
    assert res.metric == 'rocauc' and res.test_at_best_valid > 0.95


def test_regression_uses_ridge_and_lower_is_better():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(60, 3, generator=g)
    y = (x @ torch.tensor([1.0, -2.0, 0.5])).view(-1, 1) + 0.01 * torch.randn(60, 1, generator=g)
    split = {'train': torch.arange(30), 'valid': torch.arange(30, 45),
             'test': torch.arange(45, 60)}
    res = linear_probe(x, y, split, Cs=(1e-4, 1e4))
    assert res.metric == 'rmse' and not res.higher_is_better
    assert res.best_C == 1e4 and res.test_at_best_valid < 0.1


def test_bad_arguments_list_valid_options():
    x, y, split = _crafted()
    with pytest.raises(ValueError, match='valid options'):
        linear_probe(x, y, split, task_type='ranking')
    with pytest.raises(ValueError, match='> 0'):
        linear_probe(x, y, split, Cs=(0.0,))
    with pytest.raises(ValueError, match="lacks 'test'"):
        linear_probe(x, y, {'train': split['train'], 'valid': split['valid']})


def test_node_evaluator_matches_ogb():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 40, (50, 1))
    y_pred = rng.integers(0, 40, (50, 1))
    ours = Evaluator('ogbn-arxiv')
    assert ours.is_ogb and ours.metric == 'acc'
    ref = OGBNodeEvaluator('ogbn-arxiv').eval({'y_true': y_true, 'y_pred': y_pred})['acc']
    assert ours.eval({'y_true': y_true, 'y_pred': y_pred}) == {'acc': ref}
    prot = Evaluator('ogbn-proteins')
    yt = rng.integers(0, 2, (30, 112))
    yp = rng.random((30, 112))
    assert prot.eval({'y_true': yt, 'y_pred': yp})['rocauc'] == pytest.approx(
        OGBNodeEvaluator('ogbn-proteins').eval({'y_true': yt, 'y_pred': yp})['rocauc'])
    generic = Evaluator('Cora', metric='acc')
    assert not generic.is_ogb
    assert generic.eval({'y_true': y_true, 'y_pred': y_true}) == {'acc': 1.0}
    with pytest.raises(ValueError, match='valid options'):
        Evaluator('Cora')
    with pytest.raises(ValueError, match='disagrees'):
        Evaluator('ogbn-arxiv', metric='rocauc')


@pytest.mark.parametrize('name', ['gcn', 'sage', 'gat'])
def test_mini_batch_embeddings_equal_full_batch(name, node_kit):
    data = node_kit.make_node_bundle(n=60).dataset
    torch.manual_seed(0)
    enc = build_encoder(name, num_layers=2, hidden_channels=8, in_channels=8)
    enc.train()
    full = embed_nodes(enc, data, 'cpu')
    assert enc.training  # mode restored
    mini = embed_nodes(enc, data, 'cpu', batch_size=7)
    assert torch.allclose(full, mini, atol=1e-5)
    nodes = torch.tensor([5, 0, 59, 17])
    assert torch.allclose(embed_nodes(enc, data, 'cpu', batch_size=3, nodes=nodes), full[nodes],
                          atol=1e-5)
    assert torch.equal(embed_nodes(enc, data, 'cpu', nodes=nodes), full[nodes])


def test_probe_over_seeds_node_level(node_kit):
    bundle = node_kit.make_node_bundle(n=90, signal=3.0)
    res = probe(bundle, node_kit.make_gcn, seeds=(0, 1, 2),
                config=ProbeConfig(Cs=(0.01, 1.0), device='cpu'))
    assert res.seeds == [0, 1, 2] and res.metric == 'acc'
    assert res.std == pytest.approx(np.std(res.test_scores, ddof=0))
    assert all(r['best_C'] in (0.01, 1.0) and len(r['scores']) == 2 for r in res.runs)
    assert res.mean > 0.6  # a random GCN keeps enough of the class signal
    table = format_table({'random': res})
    assert 'test acc' in table and '0,1,2' in table
    assert res.to_dict()['std_ddof'] == 0


def test_probe_uses_validation_and_seeds_change_random_encoders(node_kit):
    bundle = node_kit.make_node_bundle(n=90, signal=0.5)
    res = probe(bundle, node_kit.make_gcn, seeds=(0, 1), config=ProbeConfig(device='cpu'))
    for run in res.runs:
        valid = [s['valid'] for s in run['scores']]
        assert run['best_valid'] == max(valid)
        assert run['best_C'] == run['scores'][valid.index(max(valid))]['C']
    assert res.runs[0]['scores'] != res.runs[1]['scores']


def test_probe_multitask_binary_nodes(node_kit):
    bundle = node_kit.make_node_bundle(n=90, signal=3.0, binary_tasks=2)
    res = probe(bundle, node_kit.make_gcn, seeds=(0,), config=ProbeConfig(Cs=(1.0,),
                                                                            device='cpu'))
    assert res.metric == 'rocauc' and res.mean > 0.7


def test_probe_graph_level_mean_pooled(kit):
    bundle = kit.make_bundle(kit.binary_labels(40, tasks=2), n_valid=10, n_test=10)
    res = probe(bundle, kit.make_tiny, seeds=(0, 1),
                config=ProbeConfig(Cs=(0.1, 1.0), device='cpu', batch_size=16))
    assert res.metric == 'rocauc' and len(res.runs) == 2
    assert all(0.0 <= r['test_at_best_valid'] <= 1.0 for r in res.runs)


def test_probe_rejects_unlabelled(node_kit):
    bundle = node_kit.make_node_bundle()
    bundle.split_idx = None
    with pytest.raises(ValueError, match='unlabelled'):
        probe(bundle, node_kit.make_gcn, seeds=(0,))


def test_sampled_inference_is_deterministic_and_full_when_k_covers_degrees(node_kit):
    data = node_kit.make_node_bundle(n=60).dataset
    torch.manual_seed(0)
    enc = build_encoder('sage', num_layers=2, hidden_channels=8, in_channels=8)
    a = embed_nodes(enc, data, 'cpu', batch_size=16, num_neighbors=[3, 3])
    b = embed_nodes(enc, data, 'cpu', batch_size=16, num_neighbors=[3, 3])
    assert torch.equal(a, b)
    big = embed_nodes(enc, data, 'cpu', batch_size=16, num_neighbors=[1000, 1000])
    assert torch.allclose(big, embed_nodes(enc, data, 'cpu'), atol=1e-5)  # SAGE: L hops exact
    with pytest.raises(ValueError, match='batch_size'):
        embed_nodes(enc, data, 'cpu', num_neighbors=[3, 3])
    with pytest.raises(ValueError, match='batch_size'):
        ProbeConfig(num_neighbors=[3])


def test_probe_mini_batch_inference_matches_full_batch(node_kit):
    bundle = node_kit.make_node_bundle(n=90, signal=1.0)
    cfg = dict(Cs=(0.1, 1.0), device='cpu', seeds=(0, 1))
    full = probe(bundle, node_kit.make_gcn, config=ProbeConfig(**cfg))
    mini = probe(bundle, node_kit.make_gcn, config=ProbeConfig(batch_size=16, **cfg))
    for a, b in zip(full.runs, mini.runs, strict=True):
        assert a['best_C'] == b['best_C']
        assert a['test_at_best_valid'] == pytest.approx(b['test_at_best_valid'], abs=0.02)
