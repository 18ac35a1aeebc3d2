"""Resuming a training run: an interrupted run continued from its saved state ends
bit-identical to the uninterrupted one; resuming with other options, or a finished run, is
refused."""
import json

import pytest
import torch

from graphpfm.errors import ResumeError
from graphpfm.nn import build_encoder
from graphpfm.objectives import build_objective
from graphpfm.train import TrainConfig, Trainer


class Interrupt(Exception):
    pass


def _trainer(path, objective='attr_masking', init_seed=0, callbacks=(), provenance=None,
             **cfg):
    torch.manual_seed(init_seed)  # a resumed run must not depend on its own initialisation
    enc = build_encoder('gin', num_layers=2, hidden_channels=16, dropout=0.2)
    obj = build_objective(objective, enc)
    options = dict(epochs=3, batch_size=4, lr=3e-3, seed=7, device='cpu', progress=False,
                   save_state_every=1, lr_schedule='cosine', warmup_epochs=1, log_every=2)
    options.update(cfg)
    return Trainer(obj, TrainConfig(**options), log_path=path / 'log.jsonl',
                   checkpoint_path=path / 'ckpt.pt', callbacks=callbacks, provenance=provenance)


def _interrupt_at(trainer, call):
    """Make the ``call``-th forward pass (1-based) raise, as a kill would stop the run."""
    forward = trainer.objective.forward
    calls = [0]

    def wrapped(*args, **kwargs):
        calls[0] += 1
        if calls[0] == call:
            raise Interrupt
        return forward(*args, **kwargs)
    trainer.objective.forward = wrapped


def _weights(trainer):
    return {k: v.clone() for k, v in trainer.objective.state_dict().items()}


@pytest.mark.parametrize('objective', ['attr_masking', 'graphcl', 'graphmae'])
def test_interrupted_and_resumed_run_is_bit_identical(mol_store, tmp_path, objective):
    full = _trainer(tmp_path / 'full', objective)
    history = full.fit(mol_store)
    expected = _weights(full)
    steps_per_epoch = 4  # 16 molecules in batches of 4
    for stop in (2, steps_per_epoch, steps_per_epoch + 1, 2 * steps_per_epoch + 3):
        run = tmp_path / f'stop{stop}'
        first = _trainer(run, objective)
        _interrupt_at(first, stop)
        with pytest.raises(Interrupt):
            first.fit(mol_store)
        resumed = _trainer(run, objective, init_seed=123)
        got = resumed.fit(mol_store, resume=True)
        for k, v in expected.items():
            assert torch.equal(resumed.objective.state_dict()[k], v), (stop, k)
        strip = [{k: v for k, v in r.items() if k not in ('seconds', 'graphs_per_s')}
                 for r in got]
        assert strip == [{k: v for k, v in r.items() if k not in ('seconds', 'graphs_per_s')}
                         for r in history], stop
        lines = [json.loads(x) for x in (run / 'log.jsonl').read_text().splitlines()]
        assert [r['epoch'] for r in lines] == [1, 2, 3]


def test_resuming_without_a_state_starts_from_the_beginning(mol_store, tmp_path):
    a = _trainer(tmp_path / 'a')
    a.fit(mol_store)
    b = _trainer(tmp_path / 'b')
    b.fit(mol_store, resume=True)
    for k, v in _weights(a).items():
        assert torch.equal(b.objective.state_dict()[k], v)


def test_a_finished_run_is_not_restarted(mol_store, tmp_path):
    _trainer(tmp_path).fit(mol_store)
    checkpoint = (tmp_path / 'ckpt.pt').read_bytes()
    with pytest.raises(ResumeError, match='finished'):
        _trainer(tmp_path).fit(mol_store, resume=True)
    assert (tmp_path / 'ckpt.pt').read_bytes() == checkpoint


def test_resuming_with_other_options_lists_the_differences(mol_store, tmp_path):
    first = _trainer(tmp_path)
    _interrupt_at(first, 4)
    with pytest.raises(Interrupt):
        first.fit(mol_store)
    with pytest.raises(ResumeError, match=r'train\.lr: 0\.003 -> 0\.01.*train\.seed: 7 -> 8'):
        _trainer(tmp_path, lr=1e-2, seed=8).fit(mol_store, resume=True)
    with pytest.raises(ResumeError, match='objective'):
        _trainer(tmp_path, objective='graphcl').fit(mol_store, resume=True)
    # options that do not touch the numbers may change
    _trainer(tmp_path, save_state_every=0, progress=False).fit(mol_store, resume=True)


def test_the_data_cache_may_change_between_the_run_and_its_resumption(mol_store, tmp_path):
    first = _trainer(tmp_path, provenance={'corpus': 'mols', 'cache_path': '/a/mols.pt',
                                           'from_cache': False})
    _interrupt_at(first, 4)
    with pytest.raises(Interrupt):
        first.fit(mol_store)
    moved = {'corpus': 'mols', 'cache_path': '/b/mols.pt', 'from_cache': True}
    with pytest.raises(ResumeError, match=r"differ in: data\.corpus: 'mols' -> 'other'$"):
        _trainer(tmp_path, provenance={**moved, 'corpus': 'other'}).fit(mol_store,
                                                                         resume=True)
    assert len(_trainer(tmp_path, provenance=moved).fit(mol_store, resume=True)) == 3


def test_an_unreadable_state_names_the_file(mol_store, tmp_path):
    (tmp_path / 'ckpt.state.pt').write_bytes(b'\x00not a state')
    with pytest.raises(ResumeError, match='ckpt.state.pt'):
        _trainer(tmp_path).fit(mol_store, resume=True)


def test_node_level_runs_resume_from_the_last_epoch_end(community_graph, tmp_path):
    def trainer(init_seed=0):
        torch.manual_seed(init_seed)
        enc = build_encoder('gcn', num_layers=2, hidden_channels=16, in_channels=16)
        cfg = TrainConfig(epochs=4, seed=3, device='cpu', progress=False, node_batch_size=10)
        return Trainer(build_objective('bgrl', enc, predictor_channels=16, total_steps=16), cfg,
                       checkpoint_path=tmp_path / 'run' / 'ckpt.pt')
    data = community_graph()
    full = trainer()
    full.fit(data)
    expected = _weights(full)
    first = trainer()
    _interrupt_at(first, 2 * 4 + 2)  # 40 nodes in batches of 10: during epoch 3
    with pytest.raises(Interrupt):
        first.fit(data)
    resumed = trainer(init_seed=5)
    resumed.fit(data, resume=True)
    for k, v in expected.items():
        assert torch.equal(resumed.objective.state_dict()[k], v), k


class Recorder:
    """A callback with state: counts epochs and remembers the lowest loss."""

    def __init__(self):
        self.epochs, self.best = 0, float('inf')

    def on_epoch_end(self, trainer, epoch, record):
        self.epochs += 1
        self.best = min(self.best, record['loss'])
        record['best_so_far'] = self.best

    def on_fit_end(self, trainer):
        self.ended = True

    def checkpoint_extra(self):
        return {'best_loss': self.best}

    def state_dict(self):
        return {'epochs': self.epochs, 'best': self.best}

    def load_state_dict(self, state):
        self.epochs, self.best = state['epochs'], state['best']


def test_callbacks_see_every_epoch_and_resume_with_the_run(mol_store, tmp_path):
    full_cb = Recorder()
    full = _trainer(tmp_path / 'full', callbacks=[full_cb])
    history = full.fit(mol_store)
    assert full_cb.epochs == 3 and full_cb.ended
    assert [r['best_so_far'] for r in history] == [min(r['loss'] for r in history[:i + 1])
                                                   for i in range(3)]
    ckpt = torch.load(tmp_path / 'full' / 'ckpt.pt', weights_only=True)
    assert ckpt['extra'] == {'best_loss': full_cb.best}
    first = _trainer(tmp_path / 'run', callbacks=[Recorder()])
    _interrupt_at(first, 6)  # in epoch 2
    with pytest.raises(Interrupt):
        first.fit(mol_store)
    cb = Recorder()
    _trainer(tmp_path / 'run', callbacks=[cb]).fit(mol_store, resume=True)
    assert (cb.epochs, cb.best) == (3, full_cb.best)
