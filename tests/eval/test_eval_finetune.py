import importlib
import json
import math

import pytest
import torch

from graphpfm.errors import ConfigError
from graphpfm.eval import (
    FinetuneConfig,
    FinetuneResult,
    ProbeConfig,
    build_optimizer,
    finetune,
    select_best_epoch,
)
from graphpfm.nn.heads import GraphPredictor

# the package attribute `finetune` is the function; fetch the module itself
finetune_module = importlib.import_module('graphpfm.eval.finetune')
graph_task_module = importlib.import_module('graphpfm.tasks.graph')


# ---------------------------------------------------------------- selection
def test_select_best_epoch_crafted_curves():
    assert select_best_epoch([0.5, 0.7, 0.7, 0.6], higher_is_better=True) == 1  # tie -> earlier
    assert select_best_epoch([1.0, 0.8, 0.8, 0.9], higher_is_better=False) == 1  # rmse
    assert select_best_epoch([0.3, 0.2], higher_is_better=True) == 0
    assert select_best_epoch([0.3, 0.2], higher_is_better=False) == 1
    assert select_best_epoch([float('nan'), 0.1, 0.4], higher_is_better=True) == 2
    assert select_best_epoch([0.9], higher_is_better=False) == 0
    with pytest.raises(ValueError):
        select_best_epoch([], higher_is_better=True)
    with pytest.raises(ValueError):
        select_best_epoch([float('nan')], higher_is_better=True)


class ScriptedEvaluator:
    """Returns preset scores per split (told apart by their sizes), epoch after epoch."""

    def __init__(self, metric, higher, sizes, scores):
        self.metric, self.higher_is_better = metric, higher
        self.split_of_size = {v: k for k, v in sizes.items()}
        self.scores = scores
        self.calls = {k: 0 for k in sizes}

    def eval(self, d):
        split = self.split_of_size[len(d['y_true'])]
        i = self.calls[split] % len(self.scores[split])
        self.calls[split] += 1
        return {self.metric: self.scores[split][i]}


@pytest.mark.parametrize('metric,higher,valid,test,expected', [
    ('rocauc', True, [0.60, 0.80, 0.70], [0.90, 0.55, 0.95], (2, 0.80, 0.55)),
    ('rmse', False, [1.20, 0.90, 0.90], [0.50, 1.10, 0.40], (2, 0.90, 1.10)),
])
def test_reports_test_at_best_valid_not_best_test(kit, tmp_path, metric, higher, valid, test,
                                                  expected):
    task = 'binary classification' if higher else 'regression'
    bundle = kit.make_bundle(kit.binary_labels(), task_type=task, eval_metric=metric)
    ev = ScriptedEvaluator(metric, higher, {'valid': 6, 'test': 8},
                           {'valid': valid, 'test': test})
    cfg = FinetuneConfig(epochs=3, seeds=(0, 1), batch_size=8)
    log = tmp_path / 'log.jsonl'
    res = finetune(bundle, kit.make_tiny, cfg, log_path=log, evaluator=ev)
    best_epoch, best_valid, test_at_best = expected
    for run in res.runs:
        assert run['best_epoch'] == best_epoch
        assert run['best_valid'] == best_valid
        assert run['test_at_best_valid'] == test_at_best
        assert run['curves']['test'] == test and run['curves']['epoch'] == [1, 2, 3]
    assert res.mean == test_at_best and res.std == 0.0
    assert res.mean != (max(test) if higher else min(test))
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(records) == 6
    assert [(r['seed'], r['epoch']) for r in records] == [(s, e) for s in (0, 1) for e in (1, 2, 3)]
    assert [r['test'] for r in records[:3]] == test


# ---------------------------------------------------------------- modes
@pytest.fixture
def spy(monkeypatch):
    """Records every GraphPredictor that finetune builds."""
    models = []

    class Spy(GraphPredictor):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            models.append(self)

    monkeypatch.setattr(graph_task_module, 'GraphPredictor', Spy)
    return models


def _snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_linear_mode_freezes_encoder_and_its_batchnorm(kit, spy):
    bundle = kit.make_bundle(kit.binary_labels())
    cfg = FinetuneConfig(mode='linear', epochs=2, seeds=(0,), batch_size=8, lr=1e-2)
    torch.manual_seed(0)
    reference = kit.TinyEncoder(8)
    encoder_before = _snapshot(reference)

    def make(seed):
        enc = kit.TinyEncoder(8)
        enc.load_state_dict(encoder_before)
        return enc

    finetune(bundle, make, cfg)
    model = spy[0]
    after = model.encoder.state_dict()
    assert after.keys() == encoder_before.keys()
    for k, v in encoder_before.items():  # weights and running_mean/var/num_batches_tracked
        assert torch.equal(after[k], v), k
    assert all(not p.requires_grad for p in model.encoder.parameters())
    opt = build_optimizer(GraphPredictor(kit.TinyEncoder(8), 2), cfg)
    assert [g['name'] for g in opt.param_groups] == ['head']
    assert sum(p.numel() for g in opt.param_groups for p in g['params']) == 8 * 2 + 2


def test_linear_mode_head_changes(kit, spy, monkeypatch):
    bundle = kit.make_bundle(kit.binary_labels())
    cfg = FinetuneConfig(mode='linear', epochs=2, seeds=(0,), batch_size=8, lr=1e-2)
    heads_at_start = []
    original_build = finetune_module.build_optimizer

    def build(model, config):
        heads_at_start.append(model.head.weight.detach().clone())
        return original_build(model, config)

    monkeypatch.setattr(finetune_module, 'build_optimizer', build)
    finetune(bundle, kit.make_tiny, cfg)
    assert not torch.equal(spy[0].head.weight, heads_at_start[0])


def test_full_mode_trains_encoder_with_two_learning_rates(kit, spy):
    bundle = kit.make_bundle(kit.binary_labels())
    cfg = FinetuneConfig(mode='full', epochs=2, seeds=(0,), batch_size=8, lr=1e-2,
                         encoder_lr=1e-3)
    created = []

    def make(seed):
        enc = kit.TinyEncoder(8)
        created.append(_snapshot(enc))
        return enc

    finetune(bundle, make, cfg)
    after = spy[0].encoder.state_dict()
    assert not torch.equal(after['emb.weight'], created[0]['emb.weight'])
    assert not torch.equal(after['norm.running_mean'], created[0]['norm.running_mean'])

    model = GraphPredictor(kit.TinyEncoder(8), 2)
    opt = build_optimizer(model, cfg)
    groups = {g['name']: g for g in opt.param_groups}
    assert groups['encoder']['lr'] == 1e-3 and groups['head']['lr'] == 1e-2
    assert {id(p) for p in groups['encoder']['params']} == {id(p) for p in
                                                            model.encoder.parameters()}
    assert {id(p) for p in groups['head']['params']} == {id(p) for p in model.head.parameters()}
    default = build_optimizer(model, FinetuneConfig(lr=3e-3))
    assert [g['lr'] for g in default.param_groups] == [3e-3, 3e-3]  # encoder_lr defaults to lr


# ---------------------------------------------------------------- reproducibility
def test_same_seed_same_results_and_seed_matters(kit):
    bundle = kit.make_bundle(kit.binary_labels())
    cfg = FinetuneConfig(epochs=2, seeds=(0, 1), batch_size=8, dropout=0.2)

    def make(seed):  # random init drawn after finetune seeds everything
        return kit.TinyEncoder(8)

    a, b = finetune(bundle, make, cfg), finetune(bundle, make, cfg)
    assert a.runs == b.runs
    assert a.runs[0]['curves']['train_loss'] != a.runs[1]['curves']['train_loss']


# ---------------------------------------------------------------- other task types, config
def test_regression_and_multiclass_run(kit):
    y = torch.linspace(-1, 1, 30).view(-1, 1).repeat(1, 2)
    y[3, 1] = float('nan')
    res = finetune(kit.make_bundle(y, task_type='regression', eval_metric='rmse'), kit.make_tiny,
                   FinetuneConfig(epochs=1, seeds=(0,), batch_size=16))
    assert res.metric == 'rmse' and not res.higher_is_better and math.isfinite(res.mean)

    y = (torch.arange(30) % 3).float().view(-1, 1)
    res = finetune(kit.make_bundle(y, task_type='multiclass classification', eval_metric='acc'),
                   kit.make_tiny, FinetuneConfig(epochs=1, seeds=(0,), batch_size=16))
    assert 0.0 <= res.mean <= 1.0


def test_config_validation_and_summary():
    with pytest.raises(ConfigError, match='full, linear'):
        FinetuneConfig(mode='probe')
    with pytest.raises(ConfigError, match='mean, sum, max'):
        FinetuneConfig(pool='attention')
    with pytest.raises(ConfigError, match='epochs must be >= 1, got 0'):
        FinetuneConfig(epochs=0)
    with pytest.raises(ConfigError, match='node_batch_size must be None'):
        FinetuneConfig(node_batch_size=-1)
    with pytest.raises(ConfigError, match='max_iter must be >= 1'):
        ProbeConfig(max_iter=0)
    with pytest.raises(ConfigError, match='Cs must be positive numbers'):
        ProbeConfig(Cs=(1.0, -1.0))
    assert FinetuneConfig(seeds=[3, 4]).seeds == (3, 4)
    res = FinetuneResult('rocauc', True, runs=[
        {'seed': s, 'best_epoch': 1, 'best_valid': v, 'test_at_best_valid': t, 'curves': {}}
        for s, v, t in [(0, 0.8, 0.70), (1, 0.9, 0.72), (2, 0.7, 0.74)]])
    assert res.mean == pytest.approx(0.72)
    assert res.std == pytest.approx(math.sqrt((0.02 ** 2 * 2) / 3))  # ddof=0
    assert res.summary() == '0.720 ± 0.016'
    assert res.valid_mean == pytest.approx(0.8)
    assert json.loads(json.dumps(res.to_dict()))['std_ddof'] == 0
