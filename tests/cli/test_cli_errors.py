"""Bad input on the command line: one line naming the input and what to do, exit status 2
for wrong options and 1 for bad data or files, no traceback (unless --debug)."""
import subprocess
import sys

import pytest
import torch


def _cli(*argv, cwd=None):
    return subprocess.run([sys.executable, '-m', 'graphpfm', *argv], capture_output=True,
                          text=True, cwd=cwd)


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp('bad')
    (d / 'garbage.pt').write_bytes(b'\x00\x01 not a checkpoint')
    (d / 'empty.pt').write_bytes(b'')
    torch.save({'weights': torch.zeros(2)}, d / 'foreign.pt')
    (d / 'list.yaml').write_text('- 1\n- 2\n')
    (d / 'broken.yaml').write_text('epochs: [1\n')
    (d / 'mols.smi').write_text('CCO\nCC\n')
    (d / 'notgz.smi.gz').write_text('CCO\n')
    return d


TRAIN = ['pretrain', '--dataset', 'mols.smi', '--no-progress', '--out', 'run']
CASES = [
    (TRAIN + ['--epochs', '0'], 2, 'epochs must be >= 1'),
    (TRAIN + ['--lr', 'inf'], 2, 'lr must be a finite number > 0'),
    (TRAIN + ['--grad-clip', '-1'], 2, 'grad_clip must be a finite number > 0'),
    (TRAIN + ['--seed', str(2 ** 70)], 2, 'seed must be in [0, 2**63)'),
    (TRAIN + ['--device', 'bogus'], 2, "device 'bogus' invalid; valid options here: cpu"),
    (TRAIN + ['--device', 'cuda:7'], 2, 'device'),
    (TRAIN + ['--config', 'missing.yaml'], 2, 'missing.yaml'),
    (TRAIN + ['--config', 'list.yaml'], 2, 'list.yaml'),
    (TRAIN + ['--config', 'broken.yaml'], 2, 'broken.yaml'),
    (['pretrain', '--dataset', 'no-such-dataset', '--no-progress', '--out', 'run'], 1,
     'no-such-dataset'),
    (['pretrain', '--dataset', 'notgz.smi.gz', '--no-progress', '--out', 'run'], 1,
     'notgz.smi.gz'),
    (['embed', '--checkpoint', 'missing.pt', '--input', 'mols.smi', '--output', 'e.npy'], 2,
     "checkpoint not found: 'missing.pt' is neither a file nor a shipped pretrained model"),
    (['embed', '--checkpoint', 'garbage.pt', '--input', 'mols.smi', '--output', 'e.npy'], 1,
     'garbage.pt is not a readable graphpfm checkpoint'),
    (['embed', '--checkpoint', 'empty.pt', '--input', 'mols.smi', '--output', 'e.npy'], 1,
     'empty.pt is not a readable graphpfm checkpoint'),
    (['embed', '--checkpoint', 'foreign.pt', '--input', 'mols.smi', '--output', 'e.npy'], 1,
     'foreign.pt is not a graphpfm checkpoint'),
    (['embed', '--checkpoint', 'garbage.pt', '--input', 'mols.smi', '--output', 'e.txt'], 2,
     '--output must end in'),
]


@pytest.mark.parametrize('argv,status,message', CASES,
                         ids=[' '.join(c[0][:1] + c[0][-2:]) for c in CASES])
def test_one_clear_line_and_the_right_status(files, argv, status, message):
    done = _cli(*argv, cwd=files)
    assert done.returncode == status, done.stderr
    assert 'Traceback' not in done.stderr, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert 'error: ' in last and message in last, done.stderr


def test_debug_shows_the_traceback(files):
    done = _cli('embed', '--checkpoint', 'garbage.pt', '--input', 'mols.smi', '--output',
                'e.npy', '--debug', cwd=files)
    assert done.returncode == 1 and 'Traceback' in done.stderr
    assert 'CheckpointError' in done.stderr
