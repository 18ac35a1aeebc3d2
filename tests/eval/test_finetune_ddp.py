"""Data-parallel fine-tuning under torchrun: 2 gloo ranks give the curves and the model of one
process with the same global batch; only rank 0 writes the log."""
import json
import os

import torch
from ddp_harness import spawn_gloo


def _bundle():
    """A tiny labelled graph dataset: 24 molecules, 2 binary tasks, no missing labels."""
    from ogb.utils import smiles2graph

    from graphpfm.data import GraphStore
    from graphpfm.datasets import DatasetBundle
    smiles = ['CCO', 'c1ccccc1O', 'CC(=O)Nc1ccc(O)cc1', 'C1CCCCC1N', 'O=C(O)c1ccccc1OC(C)=O',
              'CN1C=NC2=C1C(=O)N(C(=O)N2C)C', 'CC(C)Cc1ccc(cc1)C(C)C(=O)O', 'CCCCN',
              'ClC(Cl)Cl', 'c1ccc2ccccc2c1', 'CCN(CC)CC', 'FC(F)(F)c1ccccc1',
              'CC(=O)OC1=CC=CC=C1C(=O)O', 'N#Cc1ccccc1', 'CCCCCCCCCCCCCCCC(=O)O', 'CCOCC',
              'c1ccncc1', 'CC(C)O', 'OCCO', 'CC#N', 'C1CCOC1', 'CCCl', 'c1ccsc1', 'CCS']
    store = GraphStore.from_graphs([smiles2graph(s) for s in smiles])
    i = torch.arange(24)
    store.y = torch.stack([i % 2, (i // 2) % 2], dim=1).float()  # both classes in every split
    split = {'train': torch.arange(16), 'valid': torch.arange(16, 20),
             'test': torch.arange(20, 24)}
    return DatasetBundle(name='tiny', dataset=store, split_idx=split, num_tasks=2,
                         task_type='binary classification', eval_metric='rocauc')


def _finetune(log_path):
    """GCN without batch norm, no dropout: per-rank mean losses average to the global one."""
    from graphpfm.eval import FinetuneConfig, finetune
    from graphpfm.nn import build_encoder
    cfg = FinetuneConfig(epochs=3, batch_size=8, lr=1e-2, seeds=[0, 1], dropout=0.0,
                         device='cpu', progress=False)
    models = {}

    def make(seed):
        models[seed] = build_encoder('gcn', num_layers=2, hidden_channels=16, norm=None)
        return models[seed]

    result = finetune(_bundle(), make, cfg, log_path=log_path)
    return result, models


def _worker(rank, out_dir):
    result, models = _finetune(os.path.join(out_dir, 'ddp.jsonl'))
    torch.save({'runs': [{k: v for k, v in r.items() if k != 'curves'} | {
        'valid_curve': r['curves']['valid'], 'loss_curve': r['curves']['train_loss']}
        for r in result.runs],
        'params': {s: {k: v.detach().clone() for k, v in m.state_dict().items()}
                   for s, m in models.items()}},
        os.path.join(out_dir, f'rank-{rank}.pt'))


def test_two_gloo_ranks_equal_one_process(tmp_path):
    spawn_gloo(_worker, str(tmp_path))
    single, models = _finetune(str(tmp_path / 'single.jsonl'))
    for rank in (0, 1):
        got = torch.load(tmp_path / f'rank-{rank}.pt', weights_only=False)
        for seed, m in models.items():
            for k, v in m.state_dict().items():
                # float32 reduction order (the gradient all-reduce of two halves)
                assert torch.allclose(got['params'][seed][k], v, atol=1e-5, rtol=1e-4), (rank, k)
        for run, want in zip(got['runs'], single.runs):
            assert run['seed'] == want['seed']
            torch.testing.assert_close(run['valid_curve'], want['curves']['valid'],
                                       atol=1e-6, rtol=0)
            torch.testing.assert_close(run['loss_curve'], want['curves']['train_loss'],
                                       atol=1e-5, rtol=1e-4)
            assert run['best_epoch'] == want['best_epoch']
    # rank 0 alone wrote the per-epoch log: 2 seeds x 3 epochs
    lines = [json.loads(x) for x in (tmp_path / 'ddp.jsonl').read_text().splitlines()]
    assert [(r['seed'], r['epoch']) for r in lines] == [(s, e) for s in (0, 1)
                                                       for e in (1, 2, 3)]


def test_shard_batches_replay_the_single_process_order_every_epoch():
    """Two ranks' shards of BatchSampler(RandomSampler(g)) add up to the batches of one process
    with the same generator seed, epoch after epoch (RandomSampler draws from the generator
    twice per epoch; a sampler that drew once would drift from the second epoch on)."""
    from torch.utils.data import BatchSampler, RandomSampler

    from graphpfm.data import ShardBatches

    def batches(seed):
        return BatchSampler(RandomSampler(range(20), generator=torch.Generator().manual_seed(seed)),
                            6, drop_last=False)

    single = batches(5)
    shards = [ShardBatches(batches(5), 2, r) for r in (0, 1)]
    for _ in range(3):  # epochs
        want = list(single)
        got = list(zip(*(list(s) for s in shards)))
        assert [a + b for a, b in got] == [w for w in want if len(w) >= 2]
        assert len(shards[0]) == len(want) == 4
    assert list(ShardBatches([[1, 2, 3], [4]], 2, 1)) == [[3]]  # [4] is dropped
    import pytest
    with pytest.raises(ValueError, match='rank must be in'):
        ShardBatches([[1]], 2, 2)


ONE_ATOM = ['C', 'CCO', 'C', 'CCN', 'c1ccccc1', 'C', 'CC(=O)O', 'N',  # train: 'C', 'N' one atom
            'CCO', 'O', 'CCCC', 'C',  # valid
            'CCN', 'N', 'CCCl', 'O']  # test


def _one_atom_bundle(train_size):
    from ogb.utils import smiles2graph

    from graphpfm.data import GraphStore
    from graphpfm.datasets import DatasetBundle
    store = GraphStore.from_graphs([smiles2graph(s) for s in ONE_ATOM])
    store.y = (store.num_nodes > 2).float().view(-1, 1)
    split = {'train': torch.arange(train_size), 'valid': torch.arange(8, 12),
             'test': torch.arange(12, 16)}
    return DatasetBundle(name='tiny', dataset=store, split_idx=split, num_tasks=1,
                         task_type='binary classification', eval_metric='rocauc')


class _Messages(list):
    def write(self, record):  # a logging.Handler-compatible sink
        self.append(record.getMessage())


def _finetune_skipping(bundle):
    """GIN with batch norm (a batch of one node fails in training mode), 3 epochs, batch 2;
    returns (the encoder, the skip messages logged)."""
    import logging

    from graphpfm.eval import FinetuneConfig, finetune
    from graphpfm.nn import build_encoder
    messages = _Messages()
    handler = logging.Handler()
    handler.emit = messages.write
    log = logging.getLogger('graphpfm.eval.finetune')
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    cfg = FinetuneConfig(epochs=3, batch_size=2, lr=1e-2, seeds=[0], dropout=0.0,
                         device='cpu', progress=False)
    encoders = []

    def make(seed):
        encoders.append(build_encoder('gin', num_layers=2, hidden_channels=8))
        return encoders[-1]

    try:
        finetune(bundle, make, cfg)
    finally:
        log.removeHandler(handler)
    return encoders[0], [m for m in messages if 'skipped' in m]


def _skip_worker(rank, out_dir):
    """One molecule per rank per step, some of one atom: a rank whose share has one node must
    not skip alone (the other would wait in the gradient all-reduce; the short gloo timeout
    turns that hang into an error), nor train on it (batch norm fails)."""
    from datetime import timedelta
    torch.distributed.init_process_group('gloo', timeout=timedelta(seconds=60))
    encoder, skipped = _finetune_skipping(_one_atom_bundle(8))
    # parameters only: batch-norm running statistics are per rank under DDP
    torch.save({'params': {k: v.detach().clone() for k, v in encoder.named_parameters()},
                'skipped': skipped}, os.path.join(out_dir, f'skip-{rank}.pt'))


def test_ranks_skip_one_node_shares_together(tmp_path):
    spawn_gloo(_skip_worker, str(tmp_path))
    got = [torch.load(tmp_path / f'skip-{r}.pt', weights_only=True) for r in (0, 1)]
    assert got[0]['skipped'] == got[1]['skipped'] and len(got[0]['skipped']) == 1
    assert got[0]['params'] and all(torch.equal(v, got[1]['params'][k])
                                    for k, v in got[0]['params'].items())


def test_single_process_skips_a_lone_one_atom_batch():
    """Train = 5 molecules, batch 2: the last batch of every epoch holds one molecule; with
    every training molecule of one atom, batch norm would fail on it. Skipped: once per epoch,
    said in the log."""
    bundle = _one_atom_bundle(8)
    bundle.split_idx['train'] = torch.tensor([0, 2, 5, 7, 0])  # 'C', 'C', 'C', 'N', 'C'
    _, skipped = _finetune_skipping(bundle)
    assert skipped == ['seed 0: skipped 3 training batches of fewer than two nodes (batch norm '
                       'needs two)']
