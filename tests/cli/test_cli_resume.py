"""`graphpfm pretrain` killed with SIGKILL (mid-epoch, during a state save) and resumed with
`--resume` ends bit-identical to the uninterrupted run; a failing run leaves a finished run
byte-identical."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}  # reductions: one split


def _pretrain(data_root, out, *extra):
    return [sys.executable, '-m', 'graphpfm', 'pretrain', '--dataset', 'ogbg-molbace',
            '--limit', '96', '--root', str(data_root), '--num-layers', '2',
            '--hidden-channels', '16', '--dropout', '0.1', '--epochs', '3', '--batch-size',
            '8', '--lr-schedule', 'cosine', '--save-state-every', '1', '--no-progress',
            '--device', 'cpu', '--out', str(out), *extra]


def _weights(run: Path) -> dict:
    return torch.load(run / 'checkpoint.pt', weights_only=True)['encoder_state_dict']


def _kill_when(cmd, ready, timeout=300.0) -> None:
    """Start ``cmd`` and SIGKILL it as soon as ``ready()`` holds."""
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start = time.monotonic()
    try:
        while not ready():
            if proc.poll() is not None:
                pytest.fail(f'the run ended (exit {proc.returncode}) before the kill point')
            if time.monotonic() - start > timeout:
                pytest.fail('the kill point never came')
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()


@pytest.mark.data
def test_killed_and_resumed_pretraining_is_bit_identical(data_root, tmp_path):
    subprocess.run(_pretrain(data_root, tmp_path / 'full'), env=ENV, check=True,
                   capture_output=True)
    expected = _weights(tmp_path / 'full')

    def staging(name):
        return tmp_path / f'.{name}.partial'

    def saves(name, n):  # the n-th training state is on disk (12 steps per epoch)
        def ready():
            log = staging(name) / 'checkpoint.state.pt'
            return log.is_file() and len(list(staging(name).glob('*.tmp.*'))) == 0 and \
                os.stat(log).st_mtime_ns != saves.last.get(name) and _count(name) >= n
        return ready
    saves.last = {}
    counts: dict[str, int] = {}

    def _count(name):
        st = staging(name) / 'checkpoint.state.pt'
        mtime = os.stat(st).st_mtime_ns
        if saves.last.get(name) != mtime:
            saves.last[name] = mtime
            counts[name] = counts.get(name, 0) + 1
        return counts[name]

    def during_save(name):  # a state being written (its temp file exists)
        return lambda: any(staging(name).glob('.checkpoint.state.pt.tmp.*'))

    points = {'mid-epoch': saves('mid', 5), 'during-save': during_save('save')}
    names = {'mid-epoch': 'mid', 'during-save': 'save'}
    for point, ready in points.items():
        name = names[point]
        _kill_when(_pretrain(data_root, tmp_path / name), ready)
        assert not (tmp_path / name).exists()  # an unfinished run never takes --out
        done = subprocess.run(_pretrain(data_root, tmp_path / name, '--resume'), env=ENV,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        got = _weights(tmp_path / name)
        assert got.keys() == expected.keys()
        for k, v in expected.items():
            assert torch.equal(got[k], v), (point, k)
        assert not staging(name).exists() and not list(tmp_path.glob(f'.{name}*'))


@pytest.mark.data
def test_a_failing_run_leaves_the_finished_run_untouched(data_root, tmp_path):
    out = tmp_path / 'run'
    subprocess.run(_pretrain(data_root, out), env=ENV, check=True, capture_output=True)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    again = subprocess.run(_pretrain(data_root, out), env=ENV, capture_output=True, text=True)
    assert again.returncode != 0 and 'already holds a finished run' in again.stderr
    resumed = subprocess.run(_pretrain(data_root, out, '--resume'), env=ENV,
                             capture_output=True, text=True)
    assert resumed.returncode != 0 and 'finished; nothing to resume' in resumed.stderr
    failing = subprocess.run(_pretrain(data_root, out, '--overwrite', '--lr', '1e30'), env=ENV,
                             capture_output=True, text=True)
    assert failing.returncode != 0 and 'non-finite' in failing.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # the failed run waits in its staging folder: resuming it with other options is refused
    retry = subprocess.run(_pretrain(data_root, out, '--resume'), env=ENV,
                           capture_output=True, text=True)
    assert retry.returncode != 0 and 'train.lr: 1e+30 -> 0.001' in retry.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
