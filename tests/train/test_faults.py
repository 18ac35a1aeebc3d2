"""No silent damage: options checked at construction, runs that cannot learn stopped, diverged
weights never saved nor loaded, unreadable checkpoints named, killed writes cleaned up."""
import os
import subprocess
import sys

import pytest
import torch

from graphpfm.errors import CheckpointError, ConfigError, DataError
from graphpfm.nn import build_encoder
from graphpfm.objectives import build_objective
from graphpfm.paths import atomic_write_bytes, remove_stale_temps
from graphpfm.train import TrainConfig, Trainer, load_encoder, save_checkpoint


@pytest.mark.parametrize('options,message', [
    ({'epochs': 0}, 'epochs must be >= 1'),
    ({'lr': float('inf')}, 'lr must be a finite number > 0'),
    ({'lr': 0.0}, 'lr must be a finite number > 0'),
    ({'grad_clip': -1.0}, 'grad_clip must be a finite number > 0'),
    ({'seed': 2 ** 70}, r'seed must be in \[0, 2\*\*63\)'),
    ({'epochs': True}, 'epochs must be int'),
    ({'batch_size': 2.5}, 'batch_size must be int'),
    ({'amp': 'fp8'}, "amp 'fp8' invalid; valid options"),
    ({'weight_decay': -1.0}, 'weight_decay must be'),
    ({'max_skipped_frac': 1.5}, 'max_skipped_frac must be in'),
])
def test_bad_options_are_refused_with_their_range(options, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**options)


def _run(store, objective, tmp_path, **options):
    torch.manual_seed(0)
    obj = build_objective(objective, build_encoder('gin', num_layers=2, hidden_channels=16))
    cfg = TrainConfig(**{'epochs': 1, 'batch_size': 4, 'device': 'cpu', 'progress': False,
                         **options})
    return Trainer(obj, cfg, checkpoint_path=tmp_path / 'ckpt.pt').fit(store)


def test_an_objective_that_cannot_learn_from_the_data_stops_the_run(tmp_path):
    from ogb.utils import smiles2graph

    from graphpfm.data import GraphStore
    atoms = GraphStore.from_graphs([smiles2graph(s) for s in ['C', 'N', 'O', 'S'] * 4])
    with pytest.raises(DataError, match="objective 'edge_pred' could not learn from"):
        _run(atoms, 'edge_pred', tmp_path)
    with pytest.raises(DataError, match="objective 'context_pred'"):
        _run(atoms, 'context_pred', tmp_path)
    assert not (tmp_path / 'ckpt.pt').exists()


def test_diverged_weights_are_never_saved(mol_store, tmp_path):
    torch.manual_seed(0)
    obj = build_objective('attr_masking', build_encoder('gin', num_layers=2, hidden_channels=16))
    tr = Trainer(obj, TrainConfig(epochs=1, batch_size=16, device='cpu', progress=False),
                 checkpoint_path=tmp_path / 'ckpt.pt')
    tr.on_step_end = None
    original = obj.on_step_end

    def poison():  # the optimizer step turned a weight into inf (the loss was still finite)
        original()
        with torch.no_grad():
            next(obj.encoder.parameters()).view(-1)[0] = float('inf')
    obj.on_step_end = poison
    with pytest.raises(FloatingPointError, match='non-finite weights'):
        tr.fit(mol_store)
    assert not (tmp_path / 'ckpt.pt').exists()


def test_a_checkpoint_with_non_finite_weights_is_refused(tmp_path):
    enc = build_encoder('gin', num_layers=2, hidden_channels=16)
    with torch.no_grad():
        next(enc.parameters()).fill_(float('nan'))
    save_checkpoint(tmp_path / 'nan.pt', enc)
    with pytest.raises(CheckpointError, match='non-finite encoder weights'):
        load_encoder(tmp_path / 'nan.pt')


@pytest.mark.parametrize('content', [b'', b'\x00\xff random bytes', b'PK\x03\x04truncated'])
def test_unreadable_checkpoints_name_the_file(tmp_path, content):
    path = tmp_path / 'bad.pt'
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match='bad.pt is not a readable graphpfm checkpoint'):
        load_encoder(path)


def test_a_foreign_pickle_is_refused_without_running_it(tmp_path):
    import pickle
    path = tmp_path / 'pickled.pt'
    path.write_bytes(pickle.dumps({'encoder': object()}))
    with pytest.raises(CheckpointError, match='pickled.pt'):
        load_encoder(path)


def test_a_weight_shape_mismatch_names_the_checkpoint(tmp_path):
    enc = build_encoder('gin', num_layers=2, hidden_channels=16)
    save_checkpoint(tmp_path / 'c.pt', enc)
    ckpt = torch.load(tmp_path / 'c.pt', weights_only=True)
    ckpt['encoder']['kwargs']['hidden_channels'] = 32
    torch.save(ckpt, tmp_path / 'c.pt')
    with pytest.raises(CheckpointError, match='do not fit the gin encoder'):
        load_encoder(tmp_path / 'c.pt')


def test_temp_files_of_killed_writes_are_removed(tmp_path):
    target = tmp_path / 'ckpt.pt'
    dead = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f'.ckpt.pt.tmp.{dead}'
    stale.write_bytes(b'half a checkpoint')
    live = tmp_path / f'.ckpt.pt.tmp.{os.getppid()}'  # a running process's write stays
    live.write_bytes(b'in progress')
    atomic_write_bytes(target, lambda tmp: tmp.write_bytes(b'done'))
    assert target.read_bytes() == b'done'
    assert not stale.exists() and live.exists()
    assert remove_stale_temps(target) == []
