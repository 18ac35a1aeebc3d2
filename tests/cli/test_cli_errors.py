"""Bad input on the command line: one line naming the input and what to do, exit status 2
for wrong options and 1 for bad data or files, no traceback (unless --debug).

The cases are the catalogue of ``benchmarks/bad_inputs.py``; each is forked from a process
that has imported graphpfm (the command line as ``python -m graphpfm`` runs it, without the
import per case), and one also runs as ``python -m graphpfm`` itself."""
import subprocess
import sys

import pytest

from benchmarks.bad_inputs import CASES, Runner, prepare, unmet


@pytest.fixture(scope='module')
def runner(tmp_path_factory):
    work = tmp_path_factory.mktemp('bad-work')
    files = prepare(tmp_path_factory.mktemp('bad-files'), work / 'cache')
    with Runner(files, work, preload=True) as r:
        yield r


def test_case_ids_are_unique():
    assert len({c.id for c in CASES}) == len(CASES)


#: the cases this machine can pose (a read-only folder is writable for root; a CUDA case
#: needs a machine without CUDA): the others are left out here, not skipped
RUNNABLE = [c for c in CASES if not unmet(c)]


@pytest.mark.parametrize('case', RUNNABLE, ids=[c.id for c in RUNNABLE])
def test_one_clear_line_and_the_right_status(runner, case):
    done = runner(case)
    assert done['status'] == case.status, done['stderr']
    assert not done['traceback'], done['stderr']
    assert done['message_ok'], done['stderr']


def test_a_case_as_python_m_graphpfm(runner):
    case = next(c for c in CASES if c.id == 'embed-garbage-checkpoint')
    done = Runner(runner.files, runner.work / 'real')(case)
    assert done['as_expected'], done['stderr']


def test_debug_shows_the_traceback(runner):
    done = subprocess.run([sys.executable, '-m', 'graphpfm', 'embed', '--checkpoint',
                           'garbage.pt', '--input', 'mols.smi', '--output', 'e.npy', '--debug'],
                          capture_output=True, text=True, cwd=runner.files, env=runner.env)
    assert done.returncode == 1 and 'Traceback' in done.stderr
    assert 'CheckpointError' in done.stderr
