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
           '--out', str(out), '--threads', '1', *extra]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False, timeout=600,
                          env={**os.environ, 'PYTHONUNBUFFERED': '1'})


def test_tiny_node_probe_run(tmp_path, data_root):
    out = tmp_path / 'np'
    res = _run(out, data_root, '--first', 'dgi')  # one job: runs in order, --first's first
    assert res.returncode == 0, res.stderr[-3000:]
    recs = [json.loads(line) for line in (out / 'records.jsonl').read_text().splitlines()]
    assert [(r['arm'], r['seed']) for r in recs] == [
        ('dgi', 0), ('dgi', 1), ('random-gcn1', 0), ('random-gcn1', 1)]
    for r in recs:
        chosen = next(s for s in r['scores'] if s['C'] == r['best_C'])
        assert chosen['valid'] == max(s['valid'] for s in r['scores'])  # C from validation
        assert r['test_at_best_valid'] == chosen['test']
        assert r['epochs'] == (2 if r['arm'] == 'dgi' else 0)
    assert '| dgi |' in res.stdout and '| random-gcn1 |' in res.stdout
    again = _run(out, data_root)
    assert again.returncode == 0 and '0 (arm, seed) runs to do' in again.stderr
    # another configuration of one method reruns that method only; its old records stay in
    # the file, out of the table
    other = _run(out, data_root, '--epochs', '3')
    assert other.returncode == 0, other.stderr[-3000:]
    assert '2 (arm, seed) runs to do' in other.stderr and '2 record(s)' in other.stderr
    recs = [json.loads(line) for line in (out / 'records.jsonl').read_text().splitlines()]
    assert [(r['arm'], r['epochs']) for r in recs[4:]] == [('dgi', 3), ('dgi', 3)]
    assert '| dgi |' in other.stdout and '| 3 |' in other.stdout


def _finetune(out, root, *extra):
    cmd = [sys.executable, '-m', 'benchmarks.node_probe', 'finetune', '--out', str(out),
           '--epochs', '3', '--root', str(root), '--threads', '1', *extra]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False, timeout=600,
                          env={**os.environ, 'PYTHONUNBUFFERED': '1'})


def test_finetune_column_beside_the_probe(tmp_path, data_root):
    out = tmp_path / 'np'
    # fine-tuning needs the probe run's encoders: a clear error before it
    early = _finetune(out, data_root)
    assert early.returncode != 0 and 'node_probe run' in early.stderr
    assert _run(out, data_root).returncode == 0
    (out / 'encoders' / 'dgi-seed1.pt').rename(tmp_path / 'kept.pt')
    missing = _finetune(out, data_root)
    assert missing.returncode != 0 and 'dgi-seed1.pt' in missing.stderr
    assert 'missing' in missing.stderr and not (out / 'finetune.jsonl').exists()
    (tmp_path / 'kept.pt').rename(out / 'encoders' / 'dgi-seed1.pt')

    res = _finetune(out, data_root)
    assert res.returncode == 0, res.stderr[-3000:]
    recs = [json.loads(line) for line in (out / 'finetune.jsonl').read_text().splitlines()]
    assert sorted((r['arm'], r['seed'], r['pretrained']) for r in recs) == [
        ('dgi', 0, True), ('dgi', 1, True), ('random-gcn1', 0, False), ('random-gcn1', 1, False)]
    proto = json.loads((out / 'finetune_protocol.json').read_text())
    assert proto['recipe']['epochs'] == 3 and proto['recipe']['weight_decay'] == 5e-4
    for r in recs:
        assert len(r['curves']['valid']) == 3
        best = r['curves']['valid'].index(max(r['curves']['valid']))  # first best: ties earlier
        assert r['best_epoch'] == best + 1
        assert r['test_at_best_valid'] == r['curves']['test'][best]
        assert r['protocol_hash'] == proto['hash']
        assert r['git_commit'] and r['hardware']['cpu_count'] and r['cpu_s'] > 0
        assert r['checkpoint'] == (str(out / 'encoders' / f"dgi-seed{r['seed']}.pt")
                                   if r['pretrained'] else None)
    # the probe's protocol and records are untouched by fine-tuning
    probe = json.loads((out / 'protocol.json').read_text())
    assert 'recipe' not in probe and len((out / 'records.jsonl').read_text().splitlines()) == 4
    for r in map(json.loads, (out / 'records.jsonl').read_text().splitlines()):
        assert r['git_commit'] and r['hardware']['torch_threads'] == r['threads']
        assert r['cpu_s'] > 0

    import numpy as np
    rep = subprocess.run([sys.executable, '-m', 'benchmarks.node_probe', 'report', '--out',
                          str(out)], cwd=REPO, capture_output=True, text=True, check=False,
                         timeout=300)
    assert rep.returncode == 0, rep.stderr[-2000:]
    assert 'linear probe (test acc, %) | Cora fine-tune (test acc, %)' in rep.stdout
    ft = np.array([r['test_at_best_valid'] for r in recs if r['arm'] == 'dgi']) * 100
    row = next(line for line in rep.stdout.splitlines() if line.startswith('| dgi |'))
    assert f'| {ft.mean():.1f} ± {ft.std():.1f} | 82.3 |' in row and '2/2, 2/2' in row
    again = _finetune(out, data_root)
    assert again.returncode == 0 and '0 (arm, seed) fine-tunings to do' in again.stderr
    other = _finetune(out, data_root, '--lr', '0.05')
    assert other.returncode != 0 and 'another recipe' in other.stderr


def test_sweep_variants_compared_on_validation(tmp_path, data_root):
    """Two variants of DGI on one seed: each record carries its overridden configuration,
    the table shows validation only (test on request), and a rerun does nothing."""
    out = tmp_path / 'sw'
    cmd = [sys.executable, '-m', 'benchmarks.node_probe', 'sweep', '--method', 'dgi',
           '--variant', 'epochs=2', '--variant', 'epochs=2,lr=0.01,arch.hidden_channels=16',
           '--seeds', '0', '--root', str(data_root), '--threads', '1', '--out', str(out)]
    env = {**os.environ, 'PYTHONUNBUFFERED': '1'}
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    recs = [json.loads(line) for line in (out / 'sweep.jsonl').read_text().splitlines()]
    by = {r['variant']: r for r in recs}
    assert set(by) == {'epochs=2', 'epochs=2,lr=0.01,arch.hidden_channels=16'}
    small = by['epochs=2,lr=0.01,arch.hidden_channels=16']
    assert small['config']['lr'] == 0.01 and small['architecture']['hidden_channels'] == 16
    assert by['epochs=2']['config']['lr'] == 1e-3 and small['epochs'] == 2
    assert by['epochs=2']['variant_hash'] != small['variant_hash']
    assert 'valid (mean ± std)' in res.stdout and 'test' not in res.stdout.split('\n')[0]
    again = subprocess.run(cmd + ['--show-test'], cwd=REPO, capture_output=True, text=True,
                           timeout=600, env=env)
    assert '0 (variant, seed) runs to do' in again.stderr and '| test |' in again.stdout
    bad = subprocess.run(cmd[:6] + ['--variant', 'lrr=1', '--out', str(out)], cwd=REPO,
                         capture_output=True, text=True, timeout=600, env=env)
    assert bad.returncode != 0 and "unknown variant key 'lrr'" in bad.stderr


def test_parse_variant_reads_json_values(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO))
    from benchmarks.node_probe import parse_variant
    assert parse_variant('lr=5e-4,lr_schedule=cosine,options.predictor_norm=true') == {
        'lr': 5e-4, 'lr_schedule': 'cosine', 'options.predictor_norm': True}
    assert parse_variant('') == {}


def test_molecular_objectives_run_at_node_level(tmp_path, data_root):
    """attr_masking and edge_pred take the node graph too: pretrained, saved and probed
    beside their architecture's random encoder; no published figure is printed for them."""
    out = tmp_path / 'np'
    res = _run(out, data_root, '--methods', 'attr_masking,edge_pred', '--seeds', '1')
    assert res.returncode == 0, res.stderr[-3000:]
    recs = {r['arm']: r for r in map(json.loads, (out / 'records.jsonl').read_text().splitlines())}
    assert sorted(recs) == ['attr_masking', 'edge_pred', 'random-gcn2', 'random-gcn2-bn']
    for arm in ('attr_masking', 'edge_pred'):
        assert recs[arm]['epochs'] == 2 and len(recs[arm]['loss_curve']) == 2
        assert all(v == v and v > 0 for v in recs[arm]['loss_curve'])  # finite, positive
        assert (out / 'encoders' / f'{arm}-seed0.pt').is_file()
    lines = {line.split('|')[1].strip(): line for line in res.stdout.splitlines()
             if line.startswith('| ')}
    assert lines['attr_masking'].split('|')[4].strip() == ''  # no published figure
    assert lines['edge_pred'].split('|')[4].strip() == ''


def test_finetune_accepts_checkpoints_saved_before_arm_hashes(tmp_path, data_root):
    """A checkpoint holding only the protocol hash of its run is the encoder of the current
    probe record carrying that hash; with another hash it is refused as stale."""
    import torch
    out = tmp_path / 'np'
    assert _run(out, data_root, '--seeds', '1').returncode == 0
    ckpt = out / 'encoders' / 'dgi-seed0.pt'
    state = torch.load(ckpt, weights_only=True)

    def legacy(h):
        state['extra'] = {'protocol_hash': h}
        torch.save(state, ckpt)
        lines = [json.loads(x) for x in (out / 'records.jsonl').read_text().splitlines()]
        for r in lines:
            if r['arm'] == 'dgi':
                r['protocol_hash'] = 'older-run'
        (out / 'records.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in lines))

    legacy('another-run')
    stale = _finetune(out, data_root)
    assert stale.returncode != 0 and 'another probe protocol' in stale.stderr
    legacy('older-run')
    ok = _finetune(out, data_root)
    assert ok.returncode == 0, ok.stderr[-3000:]
    assert '(dgi, 0)' in ok.stderr or 'dgi seed 0: fine-tuned' in ok.stderr
