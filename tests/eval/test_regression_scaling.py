"""Regression fine-tuning trains on standardised targets and scores in the original units."""
import numpy as np
import pytest
import torch

from graphpfm.eval import FinetuneConfig, finetune
from graphpfm.tasks import Task


def _regression_bundle(kit, offset=500.0, spread=40.0, n=40):
    """Targets far from 0 (``offset``) that follow the molecule's size."""
    store_sizes = kit.make_bundle(torch.zeros(n, 1)).dataset.num_nodes.float()
    y = offset + spread * (store_sizes - store_sizes.mean()) / store_sizes.std()
    y = torch.stack([y, torch.full_like(y, 3.0)], dim=1)  # a constant second target
    y[1, 0] = float('nan')  # a missing label
    return kit.make_bundle(y, task_type='regression', eval_metric='rmse', n_valid=8,
                           n_test=8)


def test_target_scale_is_the_training_split_statistics(kit):
    bundle = _regression_bundle(kit)
    mean, std = Task.from_bundle(bundle).target_scale()
    y = bundle.dataset.y[bundle.split_idx['train']].double().numpy()
    assert mean[0].item() == pytest.approx(np.nanmean(y[:, 0]), rel=1e-6)
    assert std[0].item() == pytest.approx(np.nanstd(y[:, 0]), rel=1e-5)
    assert mean[1].item() == 3.0 and std[1].item() == 1.0  # constant: std 1, no division by 0
    assert Task.from_bundle(kit.make_bundle(kit.binary_labels())).target_scale() is None


def test_standardised_targets_fit_where_raw_ones_cannot(kit):
    bundle = _regression_bundle(kit)
    cfg = dict(epochs=15, lr=1e-2, batch_size=8, seeds=(0,), device='cpu')
    scaled = finetune(bundle, kit.make_tiny, FinetuneConfig(**cfg))
    raw = finetune(bundle, kit.make_tiny, FinetuneConfig(**cfg, standardize_targets=False))
    valid = bundle.dataset.y[bundle.split_idx['valid'], 0]
    spread = valid.std().item()
    # scores are RMSEs in the original units (averaged over the two targets)
    assert raw.runs[0]['best_valid'] > 100.0  # still far from 500 after 15 epochs
    assert scaled.runs[0]['best_valid'] < spread  # at least as good as predicting the mean
    assert not scaled.higher_is_better


def test_node_regression_is_standardised_too(node_kit):
    bundle = node_kit.make_node_bundle(n=60)
    data = bundle.dataset.clone()
    data.y = (1000.0 + 10.0 * data.x[:, :1]).float()
    from graphpfm.datasets import DatasetBundle
    reg = DatasetBundle(name='toy-regression', dataset=data, split_idx=bundle.split_idx,
                        level='node', task_type='regression', num_tasks=1, eval_metric='mae')
    cfg = dict(epochs=20, lr=1e-2, seeds=(0,), device='cpu')
    scaled = finetune(reg, node_kit.make_gcn, FinetuneConfig(**cfg))
    raw = finetune(reg, node_kit.make_gcn, FinetuneConfig(**cfg, standardize_targets=False))
    assert scaled.runs[0]['best_valid'] < 20.0 < raw.runs[0]['best_valid']
