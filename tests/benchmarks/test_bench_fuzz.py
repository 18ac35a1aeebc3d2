"""The fuzz benchmark end to end on a few strings: its record, and a hang it must report."""
from __future__ import annotations

import json
import multiprocessing
import time
from pathlib import Path

import pytest

import graphpfm.datasets.smiles as sm
from benchmarks import fuzz

SLOW = 'CCCCCCCCO'


@pytest.mark.skipif(multiprocessing.get_start_method() != 'fork',
                    reason='the patched featuriser reaches workers by fork')
def test_fuzz_records_rows_crashes_and_hangs(tmp_path: Path, monkeypatch, capsys) -> None:
    cases = [*fuzz.fuzz_cases(20, 0), ('real', SLOW)]
    monkeypatch.setattr(fuzz, 'fuzz_cases', lambda count, seed: cases[:count])
    real = sm._smiles_to_graph
    monkeypatch.setattr(sm, '_smiles_to_graph',
                        lambda s: (time.sleep(30), real(s))[1] if s == SLOW else real(s))
    out = tmp_path / 'fuzz.json'
    code = fuzz.main(['--count', '21', '--workers', '2', '--max-seconds', '0.3',
                      '--out', str(out)])
    result = json.loads(out.read_text())
    assert code == 0 and result['crashes'] == 0 and result['rows_match']
    assert result['hangs'] == 1  # the slow string alone, stopped by its worker's deadline
    assert result['slowest'][0]['smiles'] == SLOW and result['slowest'][0]['seconds'] is None
    for name in ('in_process', 'workers', '.csv', '.raw.csv', '.smi'):
        p = result['passes'][name]
        assert p['crash'] is None and p['records'] == p['inputs'], name
        assert p['over_budget'] == 1, name
    assert result['passes']['.csv']['differ'] == 0 and result['passes']['.smi']['differ'] == 0
    assert result['command'].endswith('--out ' + str(out)) and result['commit']
    assert '| in_process | 21 |' in capsys.readouterr().out
    # the benchmark quietens graphpfm's logger while it runs, and only then
    import logging
    assert logging.getLogger('graphpfm').level == logging.NOTSET
