"""Learning-rate schedules of the Trainer: cosine decay per optimizer step, linear warm-up."""
import math

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

from graphpfm import TrainConfig, Trainer, build_encoder, build_objective
from graphpfm.train.trainer import lr_factor


def test_lr_factor_by_hand():
    # cosine over 10 steps: 1, (1 + cos(pi/10)) / 2, ..., the last step (1 + cos(0.9 pi)) / 2
    assert lr_factor(0, 10) == 1.0
    assert lr_factor(1, 10) == pytest.approx((1 + math.cos(math.pi / 10)) / 2)
    assert lr_factor(5, 10) == pytest.approx(0.5)
    assert lr_factor(9, 10) == pytest.approx((1 + math.cos(0.9 * math.pi)) / 2)
    # warm-up of 4 steps: 1/4, 2/4, 3/4, 4/4, then cosine over the 6 steps left
    assert [lr_factor(s, 10, 4) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert lr_factor(4, 10, 4) == 1.0
    assert lr_factor(7, 10, 4) == pytest.approx(0.5)
    # warm-up alone, then constant
    assert [lr_factor(s, 10, 2, None) for s in (0, 1, 2, 9)] == [0.5, 1.0, 1.0, 1.0]


def _graph():
    g = torch.Generator().manual_seed(0)
    n = 40
    upper = torch.triu(torch.rand(n, n, generator=g) < 0.1, diagonal=1)
    return Data(x=torch.randn(n, 8, generator=g),
                edge_index=to_undirected(upper.nonzero().t(), num_nodes=n), num_nodes=n)


def test_trainer_follows_the_schedule():
    """Full batch: one step per epoch, so epoch e (1-based) runs at lr * factor(e - 1)."""
    enc = build_encoder('gcn', num_layers=1, hidden_channels=8, in_channels=8, norm=None)
    cfg = TrainConfig(epochs=6, lr=0.01, lr_schedule='cosine', warmup_epochs=2,
                      progress=False, node_batch_size=0, device='cpu')
    history = Trainer(build_objective('dgi', enc), cfg).fit(_graph())
    got = [h['lr'] for h in history]
    want = [0.01 * lr_factor(e, 6, 2) for e in range(6)]
    assert got == pytest.approx(want)
    assert got[:2] == pytest.approx([0.005, 0.01]) and got[-1] < 0.002
    # without a schedule the rate is constant and not logged
    plain = Trainer(build_objective('dgi', build_encoder('gcn', num_layers=1, hidden_channels=8,
                                                         in_channels=8, norm=None)),
                    TrainConfig(epochs=2, progress=False, node_batch_size=0,
                                device='cpu')).fit(_graph())
    assert 'lr' not in plain[0]


def test_schedule_options_are_checked():
    with pytest.raises(ValueError, match="valid options: None, cosine"):
        TrainConfig(lr_schedule='step')
    with pytest.raises(ValueError, match='warmup_epochs'):
        TrainConfig(epochs=3, warmup_epochs=3)


def test_cli_flags_reach_the_run(tmp_path, data_root):
    from graphpfm.cli import run
    ckpt = run(['pretrain', '--dataset', 'Cora', '--root', str(data_root), '--encoder', 'gcn',
                '--objective', 'dgi', '--epochs', '3', '--lr-schedule', 'cosine',
                '--warmup-epochs', '1', '--num-layers', '1', '--hidden-channels', '8',
                '--no-progress', '--device', 'cpu', '--out', str(tmp_path)])
    raw = torch.load(ckpt, weights_only=True)
    train = raw['config']  # the resolved command-line options
    assert train['lr_schedule'] == 'cosine' and train['warmup_epochs'] == 1
    assert [h['lr'] for h in raw['history']] == pytest.approx(
        [1e-3 * lr_factor(e, 3, 1) for e in range(3)])
