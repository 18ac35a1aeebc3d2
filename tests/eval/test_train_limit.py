"""Fine-tuning and probing on a random subset of the training labels (``train_limit``)."""
import numpy as np
import pytest
import torch

from graphpfm.errors import ConfigError
from graphpfm.eval import FinetuneConfig, ProbeConfig, finetune, probe


def test_limit_train_draws_a_fixed_subset_of_the_training_split(kit):
    bundle = kit.make_bundle(kit.binary_labels(40), n_valid=6, n_test=8)  # 26 training graphs
    before = {k: v.clone() for k, v in bundle.split_idx.items()}
    small = bundle.limit_train(10)
    train = small.split_idx['train']
    assert train.numel() == 10 and train.unique().numel() == 10
    assert set(train.tolist()) <= set(before['train'].tolist())
    assert torch.equal(train, train.sort().values)
    assert small.meta['train_limit'] == 10 and 'train_limit' not in bundle.meta
    for split in ('valid', 'test'):  # kept whole
        assert torch.equal(small.split_idx[split], before[split])
    for split, idx in bundle.split_idx.items():  # the input is untouched
        assert torch.equal(idx, before[split])
    # the same subset for every call (arms and seeds compared on it see the same labels);
    # another generator seed draws another one
    assert torch.equal(bundle.limit_train(10).split_idx['train'], train)
    assert torch.equal(bundle.limit_train(np.int64(10)).split_idx['train'], train)
    assert not torch.equal(bundle.limit_train(10, seed=1).split_idx['train'], train)
    # no limit, or one at least the split's size: the bundle itself
    assert bundle.limit_train(None) is bundle and bundle.limit_train(26) is bundle
    assert bundle.limit_train(1000) is bundle
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ConfigError, match='positive number of samples'):
            bundle.limit_train(bad)


def test_finetune_with_a_train_limit_is_finetuning_on_the_subset(kit):
    bundle = kit.make_bundle(kit.binary_labels(40))
    cfg = dict(epochs=2, seeds=(0, 1), batch_size=4)
    limited = finetune(bundle, kit.make_tiny, FinetuneConfig(train_limit=8, **cfg))
    subset = finetune(bundle.limit_train(8), kit.make_tiny, FinetuneConfig(**cfg))
    full = finetune(bundle, kit.make_tiny, FinetuneConfig(**cfg))
    assert limited.runs == subset.runs
    assert limited.runs[0]['curves']['train_loss'] != full.runs[0]['curves']['train_loss']
    assert limited.config['train_limit'] == 8


def test_probe_with_a_train_limit_is_probing_on_the_subset(node_kit):
    bundle = node_kit.make_node_bundle(n=90)  # 30 training nodes
    limited = probe(bundle, node_kit.make_gcn, config=ProbeConfig(seeds=(0, 1), train_limit=9))
    subset = probe(bundle.limit_train(9), node_kit.make_gcn, config=ProbeConfig(seeds=(0, 1)))
    full = probe(bundle, node_kit.make_gcn, config=ProbeConfig(seeds=(0, 1)))
    assert limited.runs == subset.runs
    assert [r['scores'] for r in limited.runs] != [r['scores'] for r in full.runs]


def test_train_limit_must_be_a_positive_count():
    for bad in (0, -1, 1.5, float('nan'), '10', True):
        with pytest.raises(ConfigError, match='train_limit must be a positive number'):
            FinetuneConfig(train_limit=bad)
        with pytest.raises(ConfigError, match='train_limit must be a positive number'):
            ProbeConfig(train_limit=bad)
