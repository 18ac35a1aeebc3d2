"""The command line's validation selection (pretrain --validate-every) and its warning when a
pretrained encoder does no better than a random one (probe --compare-random); Cora, tiny."""
import json

import pytest
import torch

from graphpfm.cli import run
from graphpfm.nn import build_encoder
from graphpfm.train import load_checkpoint, save_checkpoint

TINY = ['--num-layers', '1', '--hidden-channels', '16', '--no-progress', '--device', 'cpu']


def test_pretrain_selects_its_epoch_on_validation(tmp_path, data_root, capsys):
    ckpt = run(['pretrain', '--dataset', 'Cora', '--root', str(data_root), '--encoder', 'gcn',
                '--objective', 'dgi', '--epochs', '3', '--validate-every', '2',
                '--out', str(tmp_path / 'pre'), *TINY])
    sel = load_checkpoint(ckpt)['extra']['validation_selection']
    assert [e for e, _ in sel['scores']] == [2, 3] and sel['restored'] is True
    assert sel['best_epoch'] in (2, 3) and sel['metric'] == 'acc'
    assert f"selected on validation: epoch {sel['best_epoch']} of 3" in capsys.readouterr().out
    log = [json.loads(x) for x in (tmp_path / 'pre' / 'train_log.jsonl').read_text()
           .splitlines()]
    assert 'valid_probe' not in log[0] and 'valid_probe' in log[1]


def test_validate_every_needs_a_labelled_node_dataset(tmp_path, data_root):
    with pytest.raises(SystemExit, match='validate-every selects on a labelled node'):
        run(['pretrain', '--dataset', 'embedded', '--limit', '64', '--objective',
             'attr_masking', '--epochs', '1', '--validate-every', '1', '--num-layers', '1',
             '--hidden-channels', '8', '--no-progress', '--device', 'cpu',
             '--out', str(tmp_path / 'mol')])


def test_probe_warns_when_a_random_encoder_does_as_well(tmp_path, data_root, capsys):
    """A 'pretrained' encoder whose weights are all zero embeds every node alike: the probe
    must say that pretraining did not help, by the stated rule, and record it."""
    enc = build_encoder('gcn', num_layers=1, hidden_channels=16, in_channels=1433, norm=None)
    with torch.no_grad():
        for p in enc.parameters():
            p.zero_()
    save_checkpoint(tmp_path / 'zero.pt', enc)
    payload = run(['probe', '--checkpoint', str(tmp_path / 'zero.pt'), '--dataset', 'Cora',
                   '--root', str(data_root), '--seeds', '3', '--compare-random', '--cs', '1',
                   '--out', str(tmp_path / 'probe'), '--no-progress', '--device', 'cpu'])
    out = capsys.readouterr().out
    assert 'WARNING' in out and 'a randomly initialised encoder' in out
    assert 'interval lies above 0' in out  # the rule is stated
    comparison = payload['comparison']
    assert comparison['verdict'] in ('hurt', 'unclear') and comparison['mean'] < 0
    saved = json.loads((tmp_path / 'probe' / 'results.json').read_text())
    assert saved['comparison']['verdict'] == comparison['verdict']
