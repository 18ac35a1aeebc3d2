"""The node benchmark: a tiny run end to end, resumable, with its random arm."""
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
    # each method against the random encoder of its architecture, paired by seed
    assert '| vs its random encoder | Cora linear probe | Cora fine-tune |' in rep.stdout
    paired = [line for line in rep.stdout.splitlines() if line.startswith('| dgi |')][1]
    assert paired.count('[') == 2  # two pairs: an interval per column
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
    lines = {}  # the first table's row of each arm
    for line in res.stdout.splitlines():
        if line.startswith('| '):
            lines.setdefault(line.split('|')[1].strip(), line)
    assert lines['attr_masking'].split('|')[4].strip() == ''  # no published figure
    assert lines['edge_pred'].split('|')[4].strip() == ''


def test_finetune_accepts_checkpoints_that_carry_only_their_run_hash(tmp_path, data_root):
    """A checkpoint holding only the protocol hash of its run (no arm hash) is the encoder of
    the current probe record carrying that hash; with another hash it is refused as stale."""
    import torch
    out = tmp_path / 'np'
    assert _run(out, data_root, '--seeds', '1').returncode == 0
    ckpt = out / 'encoders' / 'dgi-seed0.pt'
    state = torch.load(ckpt, weights_only=True)

    def run_hash_only(h):
        state['extra'] = {'protocol_hash': h}
        torch.save(state, ckpt)
        lines = [json.loads(x) for x in (out / 'records.jsonl').read_text().splitlines()]
        for r in lines:
            if r['arm'] == 'dgi':
                r['protocol_hash'] = 'probe-run'
        (out / 'records.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in lines))

    run_hash_only('another-run')
    stale = _finetune(out, data_root)
    assert stale.returncode != 0 and 'another probe protocol' in stale.stderr
    run_hash_only('probe-run')
    ok = _finetune(out, data_root)
    assert ok.returncode == 0, ok.stderr[-3000:]
    assert '(dgi, 0)' in ok.stderr or 'dgi seed 0: fine-tuned' in ok.stderr


def test_last_best_takes_the_later_tie(monkeypatch):
    """GraphMAE keeps epoch e whenever valid[e] >= best: the last of equal maxima."""
    monkeypatch.syspath_prepend(str(REPO))
    from benchmarks.node_probe import last_best
    assert last_best([0.5, 0.7, 0.7, 0.6]) == 2
    assert last_best([0.3, 0.2, 0.3]) == 2
    assert last_best([0.9, 0.1, 0.2]) == 0
    assert last_best([0.4]) == 0


def test_torch_probe_on_crafted_embeddings(monkeypatch):
    """GraphMAE's probe: separable embeddings are learnt exactly; the early-stopping score
    is the test accuracy of the last best validation epoch; the global RNG and the input
    are left as they were; the same seed gives the same curves."""
    import torch
    monkeypatch.syspath_prepend(str(REPO))
    from benchmarks.node_probe import last_best, torch_probe
    y = torch.arange(60) % 3
    z = torch.nn.functional.one_hot(y, 3).float() * 2 - 1
    split = {'train': torch.arange(0, 12), 'valid': torch.arange(12, 36),
             'test': torch.arange(36, 60)}
    z_before, rng = z.clone(), torch.random.get_rng_state()
    res = torch_probe(z, y, split, seed=0, lr=0.05, weight_decay=0.0, epochs=50)
    assert torch.equal(z, z_before) and torch.equal(torch.random.get_rng_state(), rng)
    assert len(res['curves']['valid']) == len(res['curves']['test']) == 50
    assert res['final_test'] == 1.0 and res['curves']['test'][-1] == 1.0
    best = last_best(res['curves']['valid'])
    assert res['best_epoch'] == best == 49  # separable: valid reaches 1.0 and stays there
    assert res['early_stopping_test'] == res['curves']['test'][best]
    # noisy validation labels: the selected epoch still follows validation only
    y_noisy = y.clone()
    y_noisy[12:36] = torch.randint(0, 3, (24,), generator=torch.Generator().manual_seed(1))
    a = torch_probe(z, y_noisy, split, seed=3, lr=0.05, weight_decay=0.0, epochs=30)
    b = torch_probe(z, y_noisy, split, seed=3, lr=0.05, weight_decay=0.0, epochs=30)
    assert a == b
    best = last_best(a['curves']['valid'])
    assert a['best_epoch'] == best and a['best_valid'] == max(a['curves']['valid'])
    assert a['early_stopping_test'] == a['curves']['test'][best]
    assert all(v * 24 == round(v * 24) for v in a['curves']['valid'])  # exact fractions


def test_torch_probe_command_beside_the_probe(tmp_path, data_root):
    """`torch-probe` scores every (arm, seed) of a run: the saved encoders and the random
    arm rebuilt with the weights the run probed (checked: the run's probe score again, else an
    error), with a table beside the run's own probe; a missing encoder is named."""
    import numpy as np
    out = tmp_path / 'np'
    assert _run(out, data_root).returncode == 0
    cmd = [sys.executable, '-m', 'benchmarks.node_probe', 'torch-probe', '--out', str(out),
           '--epochs', '20', '--root', str(data_root), '--threads', '1']
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    recs = [json.loads(line) for line in (out / 'torch_probe.jsonl').read_text().splitlines()]
    assert sorted((r['arm'], r['seed']) for r in recs) == [
        ('dgi', 0), ('dgi', 1), ('random-gcn1', 0), ('random-gcn1', 1)]
    probe = {(r['arm'], r['seed']): r for r in map(
        json.loads, (out / 'records.jsonl').read_text().splitlines())}
    for r in recs:
        assert r['recipe'] == {'lr': 1e-2, 'weight_decay': 1e-4, 'epochs': 20}
        assert len(r['curves']['test']) == 20
        assert r['early_stopping_test'] == r['curves']['test'][r['best_epoch']]
        assert r['arm_hash'] == probe[(r['arm'], r['seed'])]['arm_hash']
    row = next(line for line in res.stdout.splitlines() if line.startswith('| random-gcn1 |'))
    mine = np.array([probe[('random-gcn1', s)]['test_at_best_valid'] for s in (0, 1)]) * 100
    es = np.array([r['early_stopping_test'] for r in recs if r['arm'] == 'random-gcn1']) * 100
    assert row.startswith(f'| random-gcn1 | {mine.mean():.1f} ± {mine.std():.1f} | '
                          f'{es.mean():.1f} ± {es.std():.1f} |')
    # the report carries that table; its summary (the results page's form) does not
    from benchmarks.node_probe.report import report
    full, short = report(out), report(out, summary=True)
    assert "GraphMAE's own probe" in full and "GraphMAE's own probe" not in short
    assert short == full[:len(short)] and short.count('| random-gcn1 |') == 1
    # a random arm that would not rebuild as the run built it is refused
    lines = (out / 'records.jsonl').read_text().splitlines()
    tampered = [json.loads(x) for x in lines]
    for r in tampered:
        if (r['arm'], r['seed']) == ('random-gcn1', 0):
            r['test_at_best_valid'] += 0.001
    (out / 'records.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in tampered))
    bad = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert bad.returncode != 0 and 'does not reproduce' in bad.stderr
    (out / 'records.jsonl').write_text(''.join(x + '\n' for x in lines))
    (out / 'encoders' / 'dgi-seed1.pt').unlink()
    missing = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert missing.returncode != 0 and 'dgi-seed1.pt' in missing.stderr
