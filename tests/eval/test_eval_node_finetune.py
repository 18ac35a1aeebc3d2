"""Node-level fine-tuning: test at the best validation epoch, full-batch and mini-batch."""
import json

import numpy as np
import pytest
import torch

from graphpfm.eval import Evaluator, FinetuneConfig, finetune
from graphpfm.tasks import node as node_module


class _Scripted:
    """An evaluator returning scripted scores: per epoch one valid, then one test call."""

    metric = 'acc'
    higher_is_better = True

    def __init__(self, valid, test):
        self.queue = [v for pair in zip(valid, test, strict=True) for v in pair]

    def eval(self, input_dict):
        assert set(input_dict) == {'y_true', 'y_pred'}
        assert input_dict['y_true'].shape == input_dict['y_pred'].shape
        return {'acc': self.queue.pop(0)}


def test_reports_test_at_best_validation_epoch(node_kit, tmp_path):
    bundle = node_kit.make_node_bundle()
    ev = _Scripted(valid=[0.1, 0.5, 0.3, 0.5], test=[0.9, 0.2, 0.8, 0.7])
    cfg = FinetuneConfig(epochs=4, seeds=(0,), node_batch_size=0)
    res = finetune(bundle, node_kit.make_gcn, cfg, log_path=tmp_path / 'log.jsonl', evaluator=ev)
    run = res.runs[0]
    assert run['best_epoch'] == 2 and run['best_valid'] == 0.5  # tie at 4 -> earlier epoch
    assert run['test_at_best_valid'] == 0.2
    assert run['curves']['test'] == [0.9, 0.2, 0.8, 0.7]
    lines = [json.loads(x) for x in (tmp_path / 'log.jsonl').read_text().splitlines()]
    assert [r['epoch'] for r in lines] == [1, 2, 3, 4] and lines[1]['valid'] == 0.5


@pytest.mark.parametrize('node_batch_size', [0, 8])
def test_full_and_mini_batch_learn(node_kit, node_batch_size):
    bundle = node_kit.make_node_bundle(n=120, signal=2.0)
    cfg = FinetuneConfig(epochs=10, lr=1e-2, seeds=(0, 1), node_batch_size=node_batch_size,
                         num_neighbors=[5, 5])
    res = finetune(bundle, node_kit.make_gcn, cfg)
    assert res.metric == 'acc' and res.seeds == [0, 1]
    assert all(r['node_batch_size'] == node_batch_size for r in res.runs)
    assert res.std == pytest.approx(np.std(res.test_scores, ddof=0))
    assert res.mean > 0.7
    assert all(len(r['curves']['valid']) == 10 for r in res.runs)


@pytest.mark.parametrize('mode', ['full', 'linear'])
def test_mini_batch_evaluation_equals_full_graph_evaluation(node_kit, monkeypatch, mode):
    bundle = node_kit.make_node_bundle(n=60, signal=2.0)
    cfg = FinetuneConfig(mode=mode, epochs=3, lr=1e-2, seeds=(0,), node_batch_size=8,
                         num_neighbors=[3, 3])
    whole = finetune(bundle, node_kit.make_gcn, cfg).runs[0]['curves']
    monkeypatch.setattr(node_module, 'FULL_BATCH_MAX_SIZE', 0)  # a "large" graph
    batched = finetune(bundle, node_kit.make_gcn, cfg).runs[0]['curves']
    assert batched['train_loss'] == pytest.approx(whole['train_loss'], abs=1e-5)
    assert batched['valid'] == pytest.approx(whole['valid'], abs=1e-9)


def test_mini_batches_use_training_nodes_only(node_kit, monkeypatch):
    bundle = node_kit.make_node_bundle(n=60)
    seen = []
    original = node_module.NeighborLoader.__iter__

    def spy(self):
        for batch in original(self):
            if self.shuffle:  # training batches (evaluation embeds valid/test in order)
                seen.append(batch.n_id[:batch.batch_size].clone())
            yield batch

    monkeypatch.setattr(node_module.NeighborLoader, '__iter__', spy)
    finetune(bundle, node_kit.make_gcn, FinetuneConfig(epochs=2, seeds=(0,), node_batch_size=6))
    train = bundle.split_idx['train'].tolist()
    assert sorted(torch.cat(seen).tolist()) == sorted(train * 2)


def test_linear_mode_leaves_the_encoder_untouched(node_kit):
    bundle = node_kit.make_node_bundle(n=60, signal=2.0)
    made = []

    def make(seed):
        enc = node_kit.make_gcn(seed)
        made.append((enc, {k: v.clone() for k, v in enc.state_dict().items()}))
        return enc

    for nbs in (0, 8):
        res = finetune(bundle, make, FinetuneConfig(mode='linear', epochs=5, lr=1e-2,
                                                    seeds=(0,), node_batch_size=nbs))
        assert np.isfinite(res.mean)
    for enc, before in made:
        for k, v in enc.state_dict().items():
            assert torch.equal(v, before[k]), k


def test_multitask_binary_nodes_rocauc(node_kit):
    bundle = node_kit.make_node_bundle(n=90, signal=2.0, binary_tasks=3)
    res = finetune(bundle, node_kit.make_gcn, FinetuneConfig(epochs=10, lr=1e-2, seeds=(0,)))
    assert res.metric == 'rocauc' and res.mean > 0.7


def test_ogbn_names_use_the_ogb_node_evaluator(node_kit):
    bundle = node_kit.make_node_bundle(name='ogbn-arxiv')
    assert Evaluator.from_bundle(bundle).is_ogb
    res = finetune(bundle, node_kit.make_gcn, FinetuneConfig(epochs=2, seeds=(0,)))
    assert res.metric == 'acc' and 0.0 <= res.mean <= 1.0


def test_node_finetune_rejects_bad_config(kit, node_kit):
    with pytest.raises(ValueError, match='node_batch_size'):
        FinetuneConfig(node_batch_size=-2)
    with pytest.raises(ValueError, match='num_neighbors'):
        FinetuneConfig(num_neighbors=[])
