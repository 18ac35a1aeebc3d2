"""The node benchmark on the recipes: each dataset's configurations and published figures,
the committed Cora protocol unchanged, the selection on validation in the arm hashes, and the
report's warning when a method does not beat its random encoder."""
import argparse
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / 'benchmarks' / 'results'


@pytest.fixture(autouse=True)
def _repo_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO))


def _protocol(dataset, methods, select_every=0, seeds=3):
    from benchmarks.node_probe.config import protocol
    args = argparse.Namespace(dataset=dataset, epochs=None, seeds=seeds,
                              select_every=select_every)
    return protocol(args, methods)


@pytest.mark.parametrize('run', ['node-probe-cora', 'node-probe-cora-20'])
def test_cora_protocol_from_the_recipes_is_the_committed_one(run):
    """Without selection, the recipes give Cora exactly the committed protocol: its records
    stay current and a rerun redoes nothing."""
    from benchmarks.node_probe.config import run_hash
    committed = json.loads((RESULTS / run / 'protocol.json').read_text())
    proto = _protocol('Cora', committed['methods'], seeds=len(committed['seeds']))
    assert proto == committed and run_hash(proto) == run_hash(committed)


def test_selection_reruns_the_methods_only():
    from benchmarks.node_probe.config import arm_hash, arms_for
    plain = _protocol('Cora', ['graphmae', 'dgi'])
    selected = _protocol('Cora', ['graphmae', 'dgi'], select_every=10)
    assert selected['selection']['every'] == 10 and 'selection' not in plain
    for arm in arms_for(plain['methods'], plain['configs']):
        same = arm_hash(plain, arm) == arm_hash(selected, arm)
        assert same == arm.startswith('random-'), arm


def test_each_dataset_gets_its_own_configurations():
    cite = _protocol('citeseer', ['graphmae', 'grace', 'bgrl', 'dgi', 'edge_pred'])
    gm = cite['configs']['graphmae']
    assert cite['epochs']['graphmae'] == 300 and gm['options']['gamma'] == 1.0
    assert cite['architectures'][gm['arch']]['heads'] == 2 and gm['arch'] == 'gat2x512h2'
    assert cite['configs']['grace']['options']['temperature'] == 0.9
    assert cite['configs']['dgi']['arch'] == 'gcn1'  # DGI's Cora encoder, shared name
    # one random arm per distinct architecture, named by shape outside Cora's
    from benchmarks.node_probe.config import arms_for
    arms = arms_for(cite['methods'], cite['configs'])
    assert 'random-gat2x512h2' in arms and 'random-gcn1' in arms
    assert len(arms) == len(cite['methods']) + len({c['arch'] for c in cite['configs'].values()})


def _write_run(out, proto, scores):
    """A run folder with ``scores[arm]`` (one per seed) as its probe records."""
    from benchmarks.node_probe.config import arm_hash, arms_for
    out.mkdir(parents=True)
    (out / 'protocol.json').write_text(json.dumps(proto))
    lines = []
    for arm in arms_for(proto['methods'], proto['configs']):
        for seed, score in zip(proto['seeds'], scores[arm]):
            lines.append({'arm': arm, 'seed': seed, 'metric': 'acc', 'arm_hash':
                          arm_hash(proto, arm), 'test_at_best_valid': score,
                          'epochs': proto['epochs'].get(arm, 0), 'pretrain_seconds': 1.0,
                          **({'selection': {'best_epoch': 40 + seed}}
                             if arm in proto['methods'] and proto.get('selection') else {})})
    (out / 'records.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in lines))


def _rows(text):
    rows = {}
    for line in text.splitlines():
        if line.startswith('| ') and not line.startswith('| arm') and line.count('|') == 8:
            cells = [c.strip() for c in line.split('|')[1:-1]]
            rows[cells[0]] = cells
    return rows


@pytest.mark.parametrize('dataset,expected', [
    ('CiteSeer', {'graphmae': '73.4', 'dgi': '71.8', 'bgrl': '71.1', 'grace': ''}),
    ('Cora', {'graphmae': '84.2', 'dgi': '82.3', 'bgrl': '82.7', 'grace': '81.9'}),
    ('MyOwnGraph', {'graphmae': '', 'dgi': '', 'bgrl': '', 'grace': ''})])
def test_the_published_column_is_the_runs_datasets(tmp_path, dataset, expected):
    from benchmarks.node_probe.config import arms_for
    from benchmarks.node_probe.report import report
    proto = _protocol(dataset, list(expected), select_every=10)
    arms = arms_for(proto['methods'], proto['configs'])
    _write_run(tmp_path / 'run', proto, {a: [0.70, 0.71, 0.72] for a in arms})
    rows = _rows(report(tmp_path / 'run'))
    for method, figure in expected.items():
        assert rows[method][3] == figure, (dataset, method)
    for arm in arms:
        if arm.startswith('random-'):
            assert rows[arm][3] == ''


def test_the_report_warns_when_pretraining_does_not_beat_its_random_encoder(tmp_path):
    from benchmarks.node_probe.config import random_arm
    from benchmarks.node_probe.report import report
    proto = _protocol('CiteSeer', ['graphmae', 'dgi'], select_every=10)
    scores = {'graphmae': [0.577, 0.627, 0.60],  # below its random encoder
              random_arm('graphmae', proto['configs']): [0.628, 0.652, 0.64],
              'dgi': [0.713, 0.72, 0.71],  # well above its random encoder
              random_arm('dgi', proto['configs']): [0.64, 0.65, 0.645]}
    _write_run(tmp_path / 'run', proto, scores)
    text = report(tmp_path / 'run')
    warnings = [line for line in text.splitlines() if line.startswith('**Warning**')]
    assert len(warnings) == 1 and '(graphmae)' in warnings[0]
    assert 'random-gat2x512h2 (no pretraining)' in warnings[0]
    assert 'Pretraining epoch selected on validation' in text and 'graphmae 41' in text
    assert 'Configurations on CiteSeer: graphmae: THUDM/GraphMAE configs.yml' in text
