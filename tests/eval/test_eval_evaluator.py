import numpy as np
import pytest
import torch
from ogb.graphproppred import Evaluator as OGBEvaluator
from sklearn.metrics import average_precision_score, mean_absolute_error, roc_auc_score

from graphpfm.datasets.bundle import DatasetBundle
from graphpfm.eval import Evaluator, higher_is_better, single_class_tasks


def test_matches_ogb_bbbp_and_sklearn():
    rng = np.random.default_rng(0)
    ours, ogb = Evaluator('ogbg-molbbbp'), OGBEvaluator('ogbg-molbbbp')
    custom = Evaluator('my-set', metric='rocauc', num_tasks=1)
    for _ in range(5):
        y_true = rng.integers(0, 2, size=(50, 1)).astype(float)
        y_pred = rng.normal(size=(50, 1))
        d = {'y_true': y_true, 'y_pred': y_pred}
        ref = ogb.eval(d)['rocauc']
        assert ours.eval(d)['rocauc'] == ref
        assert custom.eval(d)['rocauc'] == pytest.approx(ref)
        assert ref == pytest.approx(roc_auc_score(y_true[:, 0], y_pred[:, 0]))
    # torch tensors are accepted too
    t = {'y_true': torch.tensor(y_true), 'y_pred': torch.tensor(y_pred)}
    assert ours.eval(t)['rocauc'] == pytest.approx(ref)


def test_multitask_nan_and_skipped_tasks_match_ogb():
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 2, size=(40, 4)).astype(float)
    y_true[rng.random((40, 4)) < 0.3] = np.nan
    y_true[:, 2] = np.where(np.isnan(y_true[:, 2]), np.nan, 1.0)  # single class
    y_pred = rng.normal(size=(40, 4))
    d = {'y_true': y_true, 'y_pred': y_pred}
    ev = Evaluator('custom', metric='rocauc', num_tasks=4)
    assert ev.skipped_tasks(y_true) == [2]
    assert single_class_tasks(y_true) == [2]
    kept = [t for t in range(4) if t != 2]
    manual = np.mean([roc_auc_score(y_true[~np.isnan(y_true[:, t]), t],
                                    y_pred[~np.isnan(y_true[:, t]), t]) for t in kept])
    assert ev.eval(d)['rocauc'] == pytest.approx(manual)
    # same as the routine inside OGB's evaluator
    assert ev.eval(d)['rocauc'] == pytest.approx(OGBEvaluator('ogbg-molbbbp')._eval_rocauc(
        y_true, y_pred)['rocauc'])
    ap = Evaluator('custom', metric='ap').eval(d)['ap']
    assert ap == pytest.approx(np.mean([average_precision_score(
        y_true[~np.isnan(y_true[:, t]), t], y_pred[~np.isnan(y_true[:, t]), t]) for t in kept]))


def test_regression_metrics():
    rng = np.random.default_rng(2)
    y_true, y_pred = rng.normal(size=(30, 1)), rng.normal(size=(30, 1))
    d = {'y_true': y_true, 'y_pred': y_pred}
    assert Evaluator('ogbg-molesol').eval(d)['rmse'] == pytest.approx(
        OGBEvaluator('ogbg-molesol').eval(d)['rmse'])
    assert Evaluator('x', metric='rmse').eval(d)['rmse'] == pytest.approx(
        float(np.sqrt(np.mean((y_true - y_pred) ** 2))))
    assert Evaluator('x', metric='mae').eval(d)['mae'] == pytest.approx(
        mean_absolute_error(y_true, y_pred))


def test_direction_and_errors():
    assert higher_is_better('rocauc') and higher_is_better('ap') and higher_is_better('acc')
    assert not higher_is_better('rmse') and not higher_is_better('mae')
    with pytest.raises(ValueError, match='rocauc, ap, rmse, mae, acc'):
        higher_is_better('f1')
    with pytest.raises(ValueError, match='valid options'):
        Evaluator('not-ogb')
    with pytest.raises(ValueError, match='disagrees'):
        Evaluator('ogbg-molbbbp', metric='rmse')
    ev = Evaluator('x', metric='rocauc', num_tasks=2)
    with pytest.raises(RuntimeError, match='Number of tasks'):
        ev.eval({'y_true': np.zeros((3, 1)), 'y_pred': np.zeros((3, 1))})
    with pytest.raises(RuntimeError, match='Shape'):
        ev.eval({'y_true': np.zeros((3, 2)), 'y_pred': np.zeros((4, 2))})


def test_from_bundle():
    ogb_bundle = DatasetBundle(name='ogbg-molbbbp', dataset=None, task_type='binary classification',
                               num_tasks=1, eval_metric='rocauc')
    assert Evaluator.from_bundle(ogb_bundle).is_ogb
    own = DatasetBundle(name='lipo-csv', dataset=None, task_type='regression', num_tasks=3,
                        eval_metric='mae')
    ev = Evaluator.from_bundle(own)
    assert not ev.is_ogb and ev.metric == 'mae' and ev.num_tasks == 3
