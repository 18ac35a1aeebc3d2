"""The quick-start benchmark's pieces: a phase's wall time or its failure, and the table it
reads from the quick start's results."""
import json
import sys

import pytest

from benchmarks.quickstart import _phase, _table


def test_a_phase_is_timed_and_a_failed_one_names_its_log(tmp_path):
    log = tmp_path / 'ok.log'
    seconds = _phase([sys.executable, '-c', 'print("hello")'], tmp_path, {}, log)
    assert seconds >= 0 and log.read_text() == 'hello\n'
    with pytest.raises(SystemExit, match=r'failed \(3\); see .*bad\.log'):
        _phase([sys.executable, '-c', 'import sys; sys.exit(3)'], tmp_path, {},
               tmp_path / 'bad.log')


def test_the_table_holds_each_arms_scores_and_the_verdict(tmp_path):
    def runs(scores):
        return [{'seed': i, 'test_at_best_valid': s} for i, s in enumerate(scores)]
    comparison = {'mean': 0.05, 'low': 0.01, 'high': 0.09, 'verdict': 'helped'}
    (tmp_path / 'results.json').write_text(json.dumps({
        'dataset': 'embedded-polar', 'train_size': 80, 'comparison': comparison,
        'results': {'pretrained': {'mean': 0.9, 'std': 0.1, 'runs': runs([0.8, 1.0])},
                    'scratch': {'mean': 0.85, 'std': 0.05, 'runs': runs([0.8, 0.9])}}}))
    table = _table(tmp_path)
    assert table == {'dataset': 'embedded-polar', 'train_size': 80, 'comparison': comparison,
                     'arms': {'pretrained': {'mean': 0.9, 'std': 0.1, 'test': [0.8, 1.0]},
                              'scratch': {'mean': 0.85, 'std': 0.05, 'test': [0.8, 0.9]}}}
