"""The node linear-probe benchmark: a tiny run end to end, resumable, with its random arm."""
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(out, root, *extra):
    cmd = [sys.executable, '-m', 'benchmarks.node_probe', 'run', '--dataset', 'Cora',
           '--methods', 'dgi', '--seeds', '2', '--epochs', '2', '--root', str(root),
           '--out', str(out), *extra]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600,
                          env={**os.environ, 'PYTHONUNBUFFERED': '1'})


def test_tiny_node_probe_run(tmp_path, data_root):
    out = tmp_path / 'np'
    res = _run(out, data_root)
    assert res.returncode == 0, res.stderr[-3000:]
    recs = [json.loads(line) for line in (out / 'records.jsonl').read_text().splitlines()]
    assert sorted((r['arm'], r['seed']) for r in recs) == [
        ('dgi', 0), ('dgi', 1), ('random-gcn1', 0), ('random-gcn1', 1)]
    for r in recs:
        chosen = [s for s in r['scores'] if s['C'] == r['best_C']][0]
        assert chosen['valid'] == max(s['valid'] for s in r['scores'])  # C from validation
        assert r['test_at_best_valid'] == chosen['test']
        assert r['epochs'] == (2 if r['arm'] == 'dgi' else 0)
    assert '| dgi |' in res.stdout and '| random-gcn1 |' in res.stdout
    again = _run(out, data_root)
    assert again.returncode == 0 and '0 (arm, seed) runs to do' in again.stderr
    other = _run(out, data_root, '--epochs', '3')
    assert other.returncode != 0 and 'another protocol' in other.stderr
