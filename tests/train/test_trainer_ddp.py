"""Data-parallel training: 2 gloo processes give the parameters of one process with the same
global batch; only rank 0 writes."""
import os

import pytest
import torch
from ddp_harness import spawn_gloo

SMILES = ['CCO', 'c1ccccc1O', 'CC(=O)Nc1ccc(O)cc1', 'C1CCCCC1N', 'O=C(O)c1ccccc1OC(C)=O',
          'CN1C=NC2=C1C(=O)N(C(=O)N2C)C', 'CC(C)Cc1ccc(cc1)C(C)C(=O)O', 'CCCCN',
          'ClC(Cl)Cl', 'OC[C@H]1OC(O)[C@H](O)[C@@H](O)[C@@H]1O', 'c1ccc2ccccc2c1', 'CCN(CC)CC',
          'FC(F)(F)c1ccccc1', 'CC(=O)OC1=CC=CC=C1C(=O)O', 'N#Cc1ccccc1', 'CCCCCCCCCCCCCCCC(=O)O']


def _store():
    from ogb.utils import smiles2graph

    from graphpfm.data import GraphStore
    store = GraphStore.from_graphs([smiles2graph(s) for s in SMILES])
    n = store.num_nodes.float()
    store.y = torch.stack([(n > n.median()).float(), (n % 2 == 0).float()], dim=1)
    return store


def _train(out_dir, tag):
    """The same run in any process: supervised (mean BCE, no missing labels) on a GCN without
    batch norm, so the per-rank mean losses average to the global one."""
    from graphpfm.nn import build_encoder
    from graphpfm.objectives import build_objective
    from graphpfm.train import TrainConfig, Trainer
    torch.manual_seed(0)
    enc = build_encoder('gcn', num_layers=2, hidden_channels=16, norm=None)
    obj = build_objective('supervised', enc, num_tasks=2)
    cfg = TrainConfig(epochs=2, batch_size=8, lr=1e-2, seed=3, device='cpu', progress=False)
    trainer = Trainer(obj, cfg, log_path=os.path.join(out_dir, f'{tag}.jsonl'),
                      checkpoint_path=os.path.join(out_dir, f'{tag}.pt'))
    hist = trainer.fit(_store())
    return obj, hist, trainer


def _worker(rank, out_dir):
    obj, hist, trainer = _train(out_dir, 'ddp')
    assert (trainer.rank, trainer.world_size) == (rank, 2)
    torch.save({k: v.detach().clone() for k, v in obj.state_dict().items()},
               os.path.join(out_dir, f'params-{rank}.pt'))
    torch.save(hist, os.path.join(out_dir, f'hist-{rank}.pt'))


def test_two_gloo_ranks_equal_one_process_with_the_global_batch(tmp_path):
    spawn_gloo(_worker, str(tmp_path))
    single, hist, _ = _train(str(tmp_path), 'single')
    for rank in (0, 1):
        params = torch.load(tmp_path / f'params-{rank}.pt', weights_only=True)
        for k, v in single.state_dict().items():
            # tolerance: float32 reduction order (gradient all-reduce of two halves)
            assert torch.allclose(params[k], v, atol=1e-5, rtol=1e-4), (rank, k)
    ddp_hist = torch.load(tmp_path / 'hist-0.pt', weights_only=False)
    assert [h['graphs'] for h in ddp_hist] == [h['graphs'] for h in hist] == [16, 16]
    assert ddp_hist[-1]['loss'] == pytest.approx(hist[-1]['loss'], rel=1e-4)
    # rank 0 alone wrote the log and the checkpoint (one file each, shared path)
    assert (tmp_path / 'ddp.pt').is_file() and (tmp_path / 'ddp.jsonl').is_file()
    assert len((tmp_path / 'ddp.jsonl').read_text().splitlines()) == 2


def test_sharded_batches_add_up_to_the_single_process_batches():
    from graphpfm.tasks import graph_batches
    data = list(range(20))

    def order(world, rank):
        loader = graph_batches(data, 6, torch.Generator().manual_seed(1), world_size=world,
                               rank=rank)
        return [list(loader.batch_sampler) for _ in range(2)]  # two epochs
    single = order(1, 0)
    assert [len(b) for b in single[0]] == [6, 6, 6, 2]
    assert single[0] != single[1]  # a new order every epoch
    for epoch in range(2):
        shards = [order(2, r)[epoch] for r in range(2)]
        assert [a + b for a, b in zip(*shards, strict=True)] == single[epoch]
    with pytest.raises(ValueError, match='at least one item per rank'):
        graph_batches(data, 1, torch.Generator(), world_size=2, rank=0)


ONE_ATOM = ['C', 'CCO', 'C', 'CCN', 'c1ccccc1', 'C', 'CC(=O)O', 'N']  # 'C' and 'N': one atom


def _skip_worker(rank, out_dir):
    """Batches of one molecule per rank, some of them one atom: a rank whose share has fewer
    than two nodes must not skip alone (the other would wait in the gradient all-reduce; a
    short gloo timeout turns that hang into an error)."""
    from datetime import timedelta

    from ogb.utils import smiles2graph

    from graphpfm.data import GraphStore
    from graphpfm.nn import build_encoder
    from graphpfm.objectives import build_objective
    from graphpfm.train import TrainConfig, Trainer
    torch.distributed.init_process_group('gloo', timeout=timedelta(seconds=60))
    store = GraphStore.from_graphs([smiles2graph(s) for s in ONE_ATOM])
    store.y = (store.num_nodes > 2).float().view(-1, 1)
    torch.manual_seed(0)
    obj = build_objective('supervised', build_encoder('gcn', num_layers=1, hidden_channels=8,
                                                      norm=None), num_tasks=1)
    trainer = Trainer(obj, TrainConfig(epochs=3, batch_size=2, seed=5, device='cpu',
                                       progress=False))
    hist = trainer.fit(store)
    assert trainer._model is obj  # the DDP wrapper is not kept after fit
    torch.save({'hist': [h['graphs'] for h in hist],
                'params': {k: v.detach().clone() for k, v in obj.state_dict().items()}},
               os.path.join(out_dir, f'skip-{rank}.pt'))


def test_ranks_skip_a_global_batch_together(tmp_path):
    from ogb.utils import smiles2graph

    from graphpfm.data import GraphStore
    from graphpfm.nn import build_encoder
    from graphpfm.objectives import build_objective
    from graphpfm.train import TrainConfig, Trainer
    spawn_gloo(_skip_worker, str(tmp_path))
    got = [torch.load(tmp_path / f'skip-{r}.pt', weights_only=True) for r in (0, 1)]
    # the expected graphs per epoch: the global batches (drawn by the loader of one process
    # with the same seed) in which neither rank's molecule has fewer than two atoms
    store = GraphStore.from_graphs([smiles2graph(s) for s in ONE_ATOM])
    obj = build_objective('supervised', build_encoder('gcn', num_layers=1, hidden_channels=8),
                          num_tasks=1)
    loader = Trainer(obj, TrainConfig(batch_size=2, seed=5)).make_loader(store)
    expected = [sum(2 for b in loader if int((b.ptr[1:] - b.ptr[:-1]).min()) >= 2)
                for _ in range(3)]
    assert 0 < sum(expected) < 3 * len(ONE_ATOM)  # the case arises and is not everything
    assert got[0]['hist'] == got[1]['hist'] == expected
    for k, v in got[0]['params'].items():
        assert torch.equal(v, got[1]['params'][k]), k
