"""The shared benchmark harness: records keyed by protocol hashes, resumption, the runner, the
tables, and the hashes of the records committed under benchmarks/results."""
import dataclasses
import json
import logging
from pathlib import Path

import pytest

from benchmarks.harness import records as rec
from benchmarks.harness.report import (
    paired_difference,
    paired_difference_table,
    score_table,
    write_section,
)
from benchmarks.harness.runner import run_tasks

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / 'benchmarks' / 'results'


def test_protocol_hash_ignores_key_order_and_sees_every_value():
    a = {'epochs': 8, 'lr': 1e-3, 'pretrain': {'objective': 'attr_masking', 'limit': 50_000}}
    b = {'pretrain': {'limit': 50_000, 'objective': 'attr_masking'}, 'lr': 1e-3, 'epochs': 8}
    assert rec.protocol_hash(a) == rec.protocol_hash(b)
    assert len(rec.protocol_hash(a)) == 16 and int(rec.protocol_hash(a), 16) >= 0
    changed = {**a, 'pretrain': {**a['pretrain'], 'limit': 50_001}}
    assert rec.protocol_hash(changed) != rec.protocol_hash(a)
    assert rec.protocol_hash({**a, 'epochs': 9}) != rec.protocol_hash(a)


def test_a_protocol_change_gives_a_new_hash():
    from benchmarks.transfer import Protocol
    p = Protocol(objectives=['attr_masking'], datasets=['ogbg-molbace'], seeds=[0])
    for change in ({'finetune_epochs': 31}, {'pretrain_epochs': 3}, {'hidden_channels': 64},
                   {'objective_options': {'attr_masking': {'mask_rate': 0.2}}}):
        q = dataclasses.replace(p, **change)
        assert rec.protocol_hash(q.finetune_key('attr_masking')) != rec.protocol_hash(
            p.finetune_key('attr_masking')), change
    # seeds and the other arms are not part of an arm's key: adding them keeps its records
    q = dataclasses.replace(p, seeds=[0, 1, 2], objectives=['attr_masking', 'graphcl'])
    assert q.finetune_key('attr_masking') == p.finetune_key('attr_masking')


def test_completed_keeps_the_records_of_this_protocol():
    records = [{'arm': 'scratch', 'seed': 0, 'hash': 'h0'},
               {'arm': 'scratch', 'seed': 1, 'hash': 'h0'},
               {'arm': 'graphcl', 'seed': 0, 'hash': 'h1'}]
    want = {'scratch': 'h0', 'graphcl': 'h1'}
    done = rec.completed(records, ('arm', 'seed'), lambda r: want.get(r['arm']))
    assert done == {('scratch', 0), ('scratch', 1), ('graphcl', 0)}
    assert rec.completed(records, ('arm', 'seed')) == done  # no protocol: every record


def test_records_of_another_protocol_are_refused_with_a_clear_message():
    records = [{'arm': 'scratch', 'seed': 0, 'hash': 'h0'},
               {'arm': 'graphcl', 'seed': 0, 'hash': 'old'}]
    want = {'scratch': 'h0', 'graphcl': 'h1'}
    with pytest.raises(SystemExit, match=r"run/records.jsonl holds a record \(arm graphcl, seed "
                                         r'0\) made under another protocol \(hash old, this '
                                         r'run: h1\); use a new --out'):
        rec.completed(records, ('arm', 'seed'), lambda r: want.get(r['arm']),
                      path='run/records.jsonl')
    # a record of an arm this run does not have is refused too
    with pytest.raises(SystemExit, match='another protocol'):
        rec.completed(records, ('arm', 'seed'), lambda r: {'scratch': 'h0'}.get(r['arm']))


def test_rerun_mode_leaves_other_configurations_out(caplog):
    records = [{'arm': 'dgi', 'seed': 0, 'arm_hash': 'old'},
               {'arm': 'dgi', 'seed': 1, 'arm_hash': 'new'},
               {'arm': 'grace', 'seed': 0, 'arm_hash': 'g'}]  # not in this run: ignored
    with caplog.at_level(logging.WARNING, logger='benchmarks.harness'):
        done = rec.completed(records, ('arm', 'seed'), lambda r: {'dgi': 'new'}.get(r['arm']),
                             field='arm_hash', other='rerun')
    assert done == {('dgi', 1)}
    assert '1 record(s)' in caplog.text
    with pytest.raises(ValueError, match="'refuse' or 'rerun'"):
        rec.completed(records, ('arm',), lambda r: 'x', other='skip')


def test_read_records_names_a_cut_line(tmp_path):
    path = tmp_path / 'records.jsonl'
    assert rec.read_records(path) == []
    rec.append_jsonl(path, [{'a': 1}, {'a': 2}])
    with path.open('a') as f:
        f.write('\n{"a": ')
    with pytest.raises(SystemExit, match=r'records.jsonl:4: unreadable record'):
        rec.read_records(path)
    rec.write_jsonl(path, [{'a': 3}])
    assert rec.read_records(path) == [{'a': 3}]


def test_runner_appends_every_result_and_a_resumed_run_skips_what_is_done(tmp_path):
    # dict(task) is the job: each record is its task
    path = tmp_path / 'records.jsonl'
    tasks = [{'arm': a, 'seed': s, 'hash': 'h'} for a in ('scratch', 'graphcl') for s in (0, 1)]
    got = run_tasks(dict, tasks[:3], jobs=1, threads=1, out=path)
    assert got == tasks[:3] and rec.read_records(path) == tasks[:3]  # one job: in order
    done = rec.completed(rec.read_records(path), ('arm', 'seed'), lambda r: 'h', path=path)
    todo = [t for t in tasks if (t['arm'], t['seed']) not in done]
    assert todo == tasks[3:]
    assert run_tasks(dict, todo, jobs=1, threads=1, out=path) == tasks[3:]
    assert rec.read_records(path) == tasks  # nothing run twice
    assert run_tasks(dict, [], out=path) == []


def test_transfer_refuses_another_protocol_in_the_same_out(tmp_path):
    from benchmarks.transfer import Protocol
    from benchmarks.transfer.cli import _write_state
    p = Protocol(objectives=['attr_masking'], datasets=['ogbg-molbace'], seeds=[0])
    _write_state(tmp_path, p, ['ogbg-molbace'])
    # arms may be added: the state lists both
    _write_state(tmp_path, dataclasses.replace(p, objectives=['graphcl']), ['ogbg-molbace'])
    state = json.loads((tmp_path / 'protocol.json').read_text())
    assert state['objectives'] == ['attr_masking', 'graphcl']
    with pytest.raises(SystemExit, match=r'another protocol \(finetune_epochs, seeds differ'):
        _write_state(tmp_path, dataclasses.replace(p, finetune_epochs=3, seeds=[0, 1]),
                     ['ogbg-molbace'])


def _protocol(out):
    from benchmarks.transfer import Protocol
    state = json.loads((out / 'protocol.json').read_text())
    fields = {f.name for f in dataclasses.fields(Protocol)}
    return Protocol(**{**{k: v for k, v in state.items() if k in fields},
                       'datasets': state['present_datasets']})


@pytest.mark.parametrize('run', ['transfer-quick', 'transfer-small'])
def test_committed_transfer_records_keep_their_protocol_hashes(run):
    """Resuming a committed run needs the hash of each record's protocol, recomputed from
    ``protocol.json`` by the code of today, to equal the hash the record carries."""
    out = RESULTS / run
    proto = _protocol(out)
    records = rec.read_records(out / 'records.jsonl')
    assert records
    for r in records:
        key = proto.finetune_key(r['arm'])
        assert key == r['protocol'], (r['arm'], r['dataset'], r['seed'])
        assert rec.protocol_hash(key) == rec.protocol_hash(r['protocol']) == r['hash']
    # and the values themselves, so that a change of the hash function shows here too
    hashes = {r['arm']: r['hash'] for r in records}
    assert hashes['scratch'] == {'transfer-quick': '93d37a8ee28a17f8',
                                 'transfer-small': '0152baeeb20f9879'}[run]
    assert hashes['attr_masking'] == {'transfer-quick': '222db03a7434a107',
                                      'transfer-small': '0ca59f1811a34997'}[run]
    done = rec.completed(records, ('arm', 'dataset', 'seed'),
                         lambda r: rec.protocol_hash(proto.finetune_key(r['arm'])))
    assert len(done) == len(proto.seeds) * len(proto.datasets) * (len(proto.objectives) + 1)


def test_committed_node_records_keep_their_hashes():
    from benchmarks.node_probe.config import arm_hash, arms_for, finetune_protocol, run_hash
    out = RESULTS / 'node-probe-cora'
    probe = json.loads((out / 'protocol.json').read_text())
    current = {a: arm_hash(probe, a) for a in arms_for(probe['methods'])}
    assert current['dgi'] == '49bf95c42b0f6a06' and current['random-gcn1'] == 'a3bbca61f056f5c6'
    done = rec.completed(rec.read_records(out / 'records.jsonl'), ('arm', 'seed'),
                         lambda r: current.get(r['arm']), field='arm_hash', other='rerun')
    assert done == {(a, s) for a in current for s in probe['seeds']}
    state = json.loads((out / 'finetune_protocol.json').read_text())
    recipe = finetune_protocol(probe, state['recipe'])
    assert run_hash(recipe) == state['hash'] == 'af7c78190698c1f5'
    fine = rec.read_records(out / 'finetune.jsonl')
    assert fine and all(r['protocol_hash'] == state['hash'] for r in fine)


def test_score_table_marks_incomplete_rows():
    scores = {('scratch', 'a'): {0: 0.6, 1: 0.7}, ('scratch', 'b'): {0: 0.8, 1: 0.8},
              ('x', 'a'): {0: 0.65}, ('x', 'b'): {0: 0.7, 1: 0.74}}
    table = score_table(scores, ['scratch', 'x'], ['a', 'b'], [0, 1],
                        labels={'a': 'a (rocauc)'}).splitlines()
    assert table[0] == '| arm | a (rocauc) | b | average |'
    assert table[2] == '| scratch | 65.0 ± 5.0 | 80.0 ± 0.0 | 72.5 |'
    assert table[3] == '| x | 65.0 ± 0.0 (1/2 seeds) | 72.0 ± 2.0 | — |'


def test_paired_difference_table_with_a_baseline_per_arm():
    # each method against the random encoder of its own architecture
    scores = {('dgi', 'probe'): {0: 0.82, 1: 0.83}, ('random-gcn1', 'probe'): {0: 0.72, 1: 0.74},
              ('grace', 'probe'): {0: 0.80, 1: 0.79}, ('random-gcn2', 'probe'): {0: 0.62, 1: 0.61}}
    base = {'dgi': 'random-gcn1', 'grace': 'random-gcn2'}
    table = paired_difference_table(scores, ['dgi', 'grace'], ['probe'], [0, 1], base.get,
                                    name='its random encoder', average=False).splitlines()
    assert table[0] == '| vs its random encoder | probe |'
    # dgi: d = (.10, .09), t(0.975, 1) = 12.706, half-width 12.706 x 0.5 = 6.35 points
    assert table[2] == '| dgi | **+9.5 [+3.1, +15.9]** |'
    assert table[3] == '| grace | **+18.0 [+18.0, +18.0]** |'
    assert 'Paired difference to its random encoder over the same seeds' in table[-1]
    assert 'Average' not in table[-1]


def test_write_section_replaces_only_its_markers(tmp_path):
    readme = tmp_path / 'README.md'
    readme.write_text('# t\n<!-- report: a -->\nold\n<!-- /report: a -->\nkept\n'
                      '<!-- report: b -->\n<!-- /report: b -->\n')
    write_section(readme, 'a', '| new |\n')
    write_section(readme, 'b', 'b table')
    assert readme.read_text() == ('# t\n<!-- report: a -->\n| new |\n<!-- /report: a -->\n'
                                  'kept\n<!-- report: b -->\nb table\n<!-- /report: b -->\n')
    with pytest.raises(SystemExit, match="no section 'c'.*its sections: a, b"):
        write_section(readme, 'c', 'x')


def test_every_readme_section_a_command_names_is_marked():
    import re
    text = (REPO / 'benchmarks' / 'README.md').read_text()
    named = set(re.findall(r'--readme-section ([\w-]+)', text)) - {'NAME'}
    assert named
    for name in named:
        assert f'<!-- report: {name} -->' in text and f'<!-- /report: {name} -->' in text, name


def test_paired_difference_matches_scipy():
    from scipy import stats
    a = [0.712, 0.695, 0.731, 0.702, 0.688, 0.744, 0.701]
    b = [0.690, 0.701, 0.705, 0.680, 0.684, 0.712, 0.699]
    for confidence in (0.95, 0.9, 0.99):
        mean, lo, hi, n = paired_difference(a, b, confidence)
        ci = stats.ttest_rel(a, b).confidence_interval(confidence)
        assert n == 7
        assert (lo, hi) == pytest.approx((ci.low, ci.high), rel=1e-12)
        d = [x - y for x, y in zip(a, b)]
        assert mean == pytest.approx(sum(d) / 7, rel=1e-12)
        assert (lo, hi) == pytest.approx(stats.t.interval(
            confidence, 6, loc=mean, scale=stats.sem(d)), rel=1e-12)
    # the order of the arms flips the sign, nothing else
    mean, lo, hi, _ = paired_difference(b, a)
    ci = stats.ttest_rel(a, b).confidence_interval()
    assert (mean, lo, hi) == pytest.approx((-(ci.low + ci.high) / 2, -ci.high, -ci.low))


def test_paired_difference_by_hand_on_three_numbers():
    import math
    # d = (1, 2, 6): mean 3, sample variance (4 + 1 + 9) / 2 = 7, standard error sqrt(7 / 3);
    # t with 2 degrees of freedom at 0.975 is 4.3027 (tables)
    mean, lo, hi, n = paired_difference([1.5, 3.0, 6.0], [0.5, 1.0, 0.0])
    half = 4.302653 * math.sqrt(7 / 3)
    assert (mean, n) == (3.0, 3)
    assert (lo, hi) == pytest.approx((3 - half, 3 + half), rel=1e-6)
    assert (round(lo, 3), round(hi, 3)) == (-3.572, 9.572)
    # one pair: a mean, no interval; none: nothing
    one = paired_difference([0.7], [0.6])
    assert one[0] == pytest.approx(0.1) and math.isnan(one[1]) and math.isnan(one[2])
    assert one[3] == 1
    assert all(math.isnan(v) for v in paired_difference([], [])[:3])
    with pytest.raises(ValueError, match='got 2 and 1'):
        paired_difference([0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match='between 0 and 1, got 95'):
        paired_difference([0.1, 0.2], [0.1, 0.3], confidence=95)


