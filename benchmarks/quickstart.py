"""Time ``make quickstart`` as a new user meets it: a fresh clone, ``make install``, then the
quick start without a data root and with one, each with an empty cache.

    python -m benchmarks.quickstart --data-root ../shared/data \\
        --out benchmarks/results/quickstart.json

Each phase runs in the clone (a temporary folder, removed afterwards) with its own empty
``GRAPHPFM_CACHE``; without a data root, ``GRAPHPFM_DATA`` names an empty folder (the quick
start then fine-tunes on ``embedded-polar``, which needs nothing downloaded). The record holds
each phase's wall seconds and the quick start's table (``results.json``: per-arm test scores
and the paired verdict). ``make install`` uses pip's own cache as it finds it (say so where
its time is reported).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .harness.env import git_commit, hardware, timestamp

REPO = Path(__file__).resolve().parents[1]


def _phase(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> float:
    """Run ``cmd`` (its output into ``log``); its wall seconds. A failure is an error."""
    start = time.perf_counter()
    with log.open('w') as f:
        done = subprocess.run(cmd, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise SystemExit(f"error: {' '.join(cmd)} failed ({done.returncode}); see {log}")
    return round(time.perf_counter() - start, 1)


def _table(run: Path) -> dict[str, Any]:
    """The quick start's scores: mean, std and per-seed test scores per arm, and the verdict."""
    payload = json.loads((run / 'results.json').read_text())
    arms = {name: {'mean': r['mean'], 'std': r['std'],
                   'test': [x['test_at_best_valid'] for x in r['runs']]}
            for name, r in payload['results'].items()}
    return {'dataset': payload['dataset'], 'train_size': payload.get('train_size'),
            'arms': arms, 'comparison': payload.get('comparison')}


def measure(data_root: Path | None, work: Path) -> dict[str, Any]:
    """Clone, install and run the quick start (without, then with ``data_root``) in ``work``."""
    clone = work / 'graphpfm'
    subprocess.run(['git', 'clone', '-q', str(REPO), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ('GRAPHPFM_DATA', 'GRAPHPFM_CACHE')}
    record: dict[str, Any] = {'commit': git_commit(), 'hardware': hardware(None),
                              'install_s': _phase(['make', 'install'], clone, env,
                                                  work / 'install.log')}
    empty = work / 'empty-root'
    empty.mkdir()
    for label, root in (('no_data_root', empty), ('data_root', data_root)):
        if root is None:
            continue
        run_env = {**env, 'GRAPHPFM_DATA': str(Path(root).resolve()),
                   'GRAPHPFM_CACHE': str(work / f'cache-{label}')}
        seconds = _phase(['make', 'quickstart'], clone, run_env, work / f'{label}.log')
        record[label] = {'seconds': seconds, **_table(clone / 'runs' / 'quickstart')}
    record['finished'] = timestamp()
    return record


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data-root', default=None,
                   help='a data root holding ogbg-molbbbp, for the second run (default: none)')
    p.add_argument('--out', required=True, help='JSON record')
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix='graphpfm-quickstart-') as tmp:
        record = measure(Path(args.data_root) if args.data_root else None, Path(tmp))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=1) + '\n')
    sys.stdout.write(json.dumps(record, indent=1) + '\n')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
