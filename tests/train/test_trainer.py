import json

import pytest
import torch

from graphpfm.nn import build_encoder
from graphpfm.objectives import ObjectiveOutput, build_objective
from graphpfm.train import TrainConfig, Trainer, load_checkpoint, load_encoder, save_checkpoint
from graphpfm.train.checkpoint import check_plain


def _trainer(tmp_path, seed=0, epochs=3):
    torch.manual_seed(seed)
    obj = build_objective('attr_masking', build_encoder('gin', num_layers=2, hidden_channels=32))
    cfg = TrainConfig(epochs=epochs, batch_size=5, lr=3e-3, seed=seed, device='cpu',
                      progress=False)
    return Trainer(obj, cfg, log_path=tmp_path / 'log.jsonl',
                   checkpoint_path=tmp_path / 'ckpt.pt', provenance={'corpus': 'test', 'size': 16})


def test_fit_writes_log_and_checkpoint(mol_store, tmp_path):
    tr = _trainer(tmp_path)
    hist = tr.fit(mol_store)
    lines = [json.loads(x) for x in (tmp_path / 'log.jsonl').read_text().splitlines()]
    assert [r['epoch'] for r in lines] == [1, 2, 3]
    assert all(r['graphs'] == 16 for r in lines)
    assert lines == json.loads(json.dumps(hist))
    ck = torch.load(tmp_path / 'ckpt.pt', weights_only=True)
    assert ck['encoder']['name'] == 'gin' and ck['objective']['name'] == 'attr_masking'
    assert ck['data'] == {'corpus': 'test', 'size': 16}
    assert len(ck['history']) == 3 and 'torch' in ck['versions']
    assert not list(tmp_path.glob('.*tmp*'))  # atomic write left no temp file


def test_seed_reproduces_training(mol_store, tmp_path):
    a = _trainer(tmp_path / 'a', seed=4).fit(mol_store)
    b = _trainer(tmp_path / 'b', seed=4).fit(mol_store)
    assert [r['loss'] for r in a] == [r['loss'] for r in b]
    ea = load_encoder(tmp_path / 'a' / 'ckpt.pt')
    eb = load_encoder(tmp_path / 'b' / 'ckpt.pt')
    for (k, v), (_, w) in zip(ea.state_dict().items(), eb.state_dict().items()):
        assert torch.equal(v, w), k


def test_checkpoint_reproduces_embeddings_exactly(mol_store, tmp_path):
    tr = _trainer(tmp_path, epochs=1)
    tr.fit(mol_store)
    enc = load_encoder(tmp_path / 'ckpt.pt').eval()
    tr.objective.eval()
    b = mol_store.collate(range(16))
    assert torch.equal(enc(b.x, b.edge_index, edge_attr=b.edge_attr, batch=b.batch),
                       tr.objective.embed(b))


def test_load_encoder_override_dropout(mol_store, tmp_path):
    enc = build_encoder('gin', num_layers=2, hidden_channels=8)
    save_checkpoint(tmp_path / 'c.pt', enc)
    again = load_encoder(tmp_path / 'c.pt', dropout=0.5)
    assert again.dropout == 0.5


def test_checkpoint_rejects_non_plain_values(tmp_path):
    enc = build_encoder('gin', num_layers=1, hidden_channels=8)
    with pytest.raises(TypeError, match='not a plain value'):
        save_checkpoint(tmp_path / 'c.pt', enc, config={'bad': object()})
    with pytest.raises(TypeError):
        check_plain({1: 2})


def test_load_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / 'missing.pt')
    torch.save({'format_version': 99, 'encoder': {}}, tmp_path / 'future.pt')
    with pytest.raises(ValueError, match='format 99'):
        load_checkpoint(tmp_path / 'future.pt')


def test_trainer_config_validation():
    with pytest.raises(ValueError):
        TrainConfig(epochs=0)


def test_log_every_records_window_means_of_the_step_losses(mol_store, tmp_path):
    """16 graphs in batches of 5, 5, 5, 1: per-step losses (log_every=1) average, weighted by
    graphs, to the epoch loss; windows of 3 steps are the weighted means of those steps."""
    def run(log_every, sub):
        torch.manual_seed(2)
        obj = build_objective('attr_masking', build_encoder('gin', num_layers=2,
                                                            hidden_channels=32))
        cfg = TrainConfig(epochs=2, batch_size=5, lr=3e-3, seed=2, device='cpu',
                          progress=False, log_every=log_every)
        return Trainer(obj, cfg, log_path=tmp_path / sub / 'log.jsonl').fit(mol_store)
    steps, windows, none = run(1, 'a'), run(3, 'b'), run(0, 'c')
    sizes = torch.tensor([5.0, 5.0, 5.0, 1.0])
    for s, w, n in zip(steps, windows, none):
        per_step = torch.tensor(s['step_loss'], dtype=torch.float64)
        assert len(per_step) == 4 and 'step_loss' not in n
        assert float((per_step * sizes).sum() / 16) == pytest.approx(s['loss'], rel=1e-9)
        assert w['step_loss'] == pytest.approx(
            [float((per_step[:3] * sizes[:3]).sum() / 15), float(per_step[3])], rel=1e-9)
        assert s['loss'] == w['loss'] == n['loss']  # logging changes nothing
    logged = [json.loads(x) for x in (tmp_path / 'b' / 'log.jsonl').read_text().splitlines()]
    assert logged[0]['step_loss'] == windows[0]['step_loss']
    with pytest.raises(ValueError, match='log_every'):
        TrainConfig(log_every=-1)


def _recording(obj, steps):
    """Wrap ``obj.forward`` to append each step's ``(graphs, loss, logs)`` as floats."""
    forward = obj.forward

    def record(batch, generator=None):
        out = forward(batch, generator)
        steps.append((batch.num_graphs, float(out.loss.detach()),
                      {k: float(v) for k, v in out.logs.items()}))
        return out
    obj.forward = record
    return obj


@pytest.mark.parametrize('name,options', [('attr_masking', {'mask_edges': True}),
                                          ('context_pred', {})])
def test_epoch_records_are_weighted_means_of_the_step_values(name, options, mol_store,
                                                             tmp_path):
    """The loss and every log of an epoch record, summed on the device and read once, equal
    the graph-weighted means of the per-step values (16 graphs: steps of 5, 5, 5, 1)."""
    torch.manual_seed(0)
    steps = []
    obj = _recording(build_objective(name, build_encoder('gin', num_layers=2,
                                                         hidden_channels=32), **options), steps)
    cfg = TrainConfig(epochs=2, batch_size=5, lr=3e-3, seed=0, device='cpu', progress=False)
    hist = Trainer(obj, cfg).fit(mol_store)
    assert len(steps) == 8
    for epoch, record in zip((0, 1), hist):
        mine = steps[4 * epoch:4 * epoch + 4]
        total = sum(n for n, _, _ in mine)
        assert record['graphs'] == total == 16
        assert record['loss'] == pytest.approx(sum(n * loss for n, loss, _ in mine) / total,
                                               rel=1e-6)
        keys = {k for _, _, logs in mine for k in logs}
        assert keys and keys <= set(record)
        for k in keys:  # a log missing from a step adds nothing to that step
            want = sum(n * logs.get(k, 0.0) for n, _, logs in mine) / total
            assert isinstance(record[k], float)
            assert record[k] == pytest.approx(want, rel=1e-6, abs=1e-12), k


def test_an_epoch_reads_its_sums_back_once(mol_store, tmp_path, monkeypatch):
    """With the per-step finiteness check off (the accelerator path), an epoch of 4 steps
    reads tensor values back to the host once (its sums, at the end); the objective never
    does; a full ``log_every`` window adds one read at its end (the last, shorter window is
    read with the sums)."""
    from host_reads import host_reads
    for log_every, per_epoch in ((0, 1), (3, 2)):  # windows: steps 1-3 (a read), step 4
        torch.manual_seed(0)
        obj = build_objective('attr_masking', build_encoder('gin', num_layers=2,
                                                            hidden_channels=32))
        cfg = TrainConfig(epochs=2, batch_size=5, seed=0, device='cpu', progress=False,
                          log_every=log_every)
        tr = Trainer(obj, cfg)
        tr.check_each_step = False
        with host_reads() as reads:
            tr.fit(mol_store)
        assert [r for r in reads if r[1].startswith('graphpfm/objectives/')] == []
        loop = [r for r in reads if r[1] == 'graphpfm/train/loop.py']
        assert len(loop) == 2 * per_epoch, loop


def _nan_at(obj, call):
    """Make the ``call``-th forward pass (1-based) return a NaN loss."""
    forward, calls = obj.forward, [0]

    def nan_at(batch, generator=None):
        out = forward(batch, generator)
        calls[0] += 1
        return ObjectiveOutput(out.loss * float('nan'), out.logs) if calls[0] == call else out
    obj.forward = nan_at
    return obj


@pytest.mark.parametrize('check_each_step,sync_every,match', [
    (None, 20, 'non-finite loss nan at epoch 2, step 2'),   # the CPU default: every step
    (False, 20, 'non-finite loss at epoch 2$'),             # accelerators: the epoch's sum
    (False, 1, 'at epoch 2, within its first 2 steps'),     # ... or the periodic read-back
])
def test_non_finite_loss_raises_naming_the_epoch(check_each_step, sync_every, match, mol_store,
                                                 tmp_path, monkeypatch):
    import graphpfm.train.loop as loop_module
    monkeypatch.setattr(loop_module, 'SYNC_EVERY', sync_every)
    tr = _trainer(tmp_path)
    _nan_at(tr.objective, 6)  # epoch 2 (4 steps an epoch), its step 2
    tr.check_each_step = check_each_step
    with pytest.raises(FloatingPointError, match=match):
        tr.fit(mol_store)
    assert [r['epoch'] for r in tr.history] == [1]
    assert not (tmp_path / 'ckpt.pt').exists()
