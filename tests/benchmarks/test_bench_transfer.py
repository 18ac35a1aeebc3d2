"""The transfer benchmark runner: report on synthetic records, protocol checks, a tiny run."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def transfer():
    spec = importlib.util.spec_from_file_location('bench_transfer',
                                                  REPO / 'benchmarks' / 'transfer.py')
    mod = importlib.util.module_from_spec(spec)
    sys.modules['bench_transfer'] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    yield mod
    sys.modules.pop('bench_transfer', None)


def _write_run(out, records, seeds=(0, 1), objectives=('attr_masking',),
               datasets=('ogbg-molbbbp', 'ogbg-molbace')):
    out.mkdir(parents=True, exist_ok=True)
    (out / 'protocol.json').write_text(json.dumps({
        'objectives': list(objectives), 'seeds': list(seeds),
        'present_datasets': list(datasets)}))
    with (out / 'records.jsonl').open('w') as f:
        for arm, dataset, seed, test in records:
            f.write(json.dumps({'arm': arm, 'dataset': dataset, 'seed': seed, 'metric': 'rocauc',
                                'test_at_best_valid': test}) + '\n')


def test_report_values_match_hand_computation(transfer, tmp_path):
    recs = [('scratch', 'ogbg-molbbbp', 0, 0.60), ('scratch', 'ogbg-molbbbp', 1, 0.70),
            ('scratch', 'ogbg-molbace', 0, 0.80), ('scratch', 'ogbg-molbace', 1, 0.80),
            ('attr_masking', 'ogbg-molbbbp', 0, 0.65), ('attr_masking', 'ogbg-molbbbp', 1, 0.65),
            ('attr_masking', 'ogbg-molbace', 0, 0.70), ('attr_masking', 'ogbg-molbace', 1, 0.74)]
    _write_run(tmp_path, recs)
    table = transfer.report(tmp_path).splitlines()
    assert table[0] == '| arm | ogbg-molbbbp (rocauc) | ogbg-molbace (rocauc) | average |'
    # mean and population std (ddof=0) in percent; average of the dataset means
    assert table[2] == '| scratch | 65.0 ± 5.0 | 80.0 ± 0.0 | 72.5 |'
    assert table[3] == '| attr_masking | 65.0 ± 0.0 | 72.0 ± 2.0 | 68.5 |'


def test_figure_is_a_png_and_refuses_partial_records(transfer, tmp_path):
    recs = [('scratch', 'ogbg-molbbbp', 0, 0.60), ('scratch', 'ogbg-molbbbp', 1, 0.70),
            ('attr_masking', 'ogbg-molbbbp', 0, 0.65), ('attr_masking', 'ogbg-molbbbp', 1, 0.66)]
    _write_run(tmp_path, recs, datasets=('ogbg-molbbbp',))
    png = transfer.figure(tmp_path, tmp_path / 'fig.png')
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' and png.stat().st_size > 5000
    _write_run(tmp_path, recs[:3], datasets=('ogbg-molbbbp',))
    with pytest.raises(SystemExit, match='records missing'):
        transfer.figure(tmp_path, tmp_path / 'fig2.png')
    assert not (tmp_path / 'fig2.png').exists()


def test_report_fails_loudly_on_a_missing_seed(transfer, tmp_path):
    recs = [('scratch', 'ogbg-molbbbp', 0, 0.6), ('scratch', 'ogbg-molbbbp', 1, 0.7),
            ('attr_masking', 'ogbg-molbbbp', 0, 0.65)]
    _write_run(tmp_path, recs, datasets=('ogbg-molbbbp',))
    with pytest.raises(SystemExit, match=r'1 of 4 records missing .*attr_masking/ogbg-molbbbp/'
                                         r'seed 1'):
        transfer.report(tmp_path)
    partial = transfer.report(tmp_path, partial=True).splitlines()
    assert partial[3] == '| attr_masking | 65.0 ± 0.0 (1/2 seeds) | — |'


def test_report_rejects_a_cut_line(transfer, tmp_path):
    _write_run(tmp_path, [('scratch', 'ogbg-molbbbp', 0, 0.6)], seeds=(0,),
               datasets=('ogbg-molbbbp',), objectives=())
    with (tmp_path / 'records.jsonl').open('a') as f:
        f.write('{"arm": "scr')
    with pytest.raises(SystemExit, match='unreadable record'):
        transfer.report(tmp_path)


def test_protocol_hash_separates_arms_and_recipes(transfer):
    p = transfer.Protocol(objectives=['attr_masking', 'supervised'], datasets=['ogbg-molbace'],
                          seeds=[0])
    q = transfer.Protocol(objectives=['attr_masking'], datasets=['ogbg-molbace'], seeds=[0],
                          finetune_epochs=31)
    h = transfer.protocol_hash
    assert h(p.finetune_key('scratch')) != h(p.finetune_key('attr_masking'))
    assert h(p.finetune_key('attr_masking')) != h(q.finetune_key('attr_masking'))
    # supervised pretraining excludes the downstream datasets: part of its key
    assert p.pretrain_key('supervised')['exclude'] == ['ogbg-molbace']
    assert p.pretrain_key('attr_masking')['limit'] == 100_000


def _run(out, *extra):
    cmd = [sys.executable, '-m', 'benchmarks.transfer', 'run', '--objectives', 'attr_masking',
           '--datasets', 'ogbg-molbace,ogbg-molmuv', '--seeds', '1', '--corpus-limit', '64',
           '--pretrain-epochs', '1', '--finetune-epochs', '2', '--num-layers', '2',
           '--hidden-channels', '16', '--finetune-batch-size', '256', '--out', str(out),
           '--threads', '1', '--no-progress', *extra]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False, timeout=600,
                          env={**os.environ, 'PYTHONUNBUFFERED': '1'})


def test_tiny_run_end_to_end_resumes_and_refuses_mixed_protocols(tmp_path, data_root):
    out = tmp_path / 'run'
    res = _run(out, '--root', str(data_root))
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'ogbg-molmuv is absent under the data root: skipped (not faked)' in res.stderr
    records = [json.loads(line) for line in (out / 'records.jsonl').read_text().splitlines()]
    assert sorted(r['arm'] for r in records) == ['attr_masking', 'scratch']
    for r in records:
        assert r['dataset'] == 'ogbg-molbace' and r['seed'] == 0
        assert len(r['curves']['valid']) == 2
        best = r['best_epoch'] - 1
        assert r['test_at_best_valid'] == r['curves']['test'][best]
        assert r['best_valid'] == max(r['curves']['valid'])
        assert {'torch', 'graphpfm'} <= set(r['versions']) and r['hardware']['cpu_count']
    assert (out / 'pretrain' / 'attr_masking' / 'checkpoint.pt').is_file()
    card = json.loads((out / 'pretrain' / 'attr_masking' / 'model_card.json').read_text())
    assert card['objective']['name'] == 'attr_masking'
    assert card['corpus']['num_graphs'] == 64 and card['training']['epochs'] == 1
    assert set(card['overlap_with_downstream']['ogbg-molbace']) == {'train', 'valid', 'test'}
    assert '| ogbg-molbace |' in (out / 'pretrain' / 'attr_masking' / 'model_card.md').read_text()
    assert '| scratch |' in res.stdout and '| attr_masking |' in res.stdout
    # same flags again: nothing left to do, same records
    again = _run(out, '--root', str(data_root))
    assert again.returncode == 0, again.stderr[-3000:]
    assert 'fine-tuning: 0 of 2 runs to do' in again.stderr
    assert len((out / 'records.jsonl').read_text().splitlines()) == 2
    # another recipe in the same --out is refused
    other = _run(out, '--root', str(data_root), '--finetune-batch-size', '128')
    assert other.returncode != 0 and 'another protocol' in other.stderr


def test_corpus_overlap_counts_every_split(transfer, data_root):
    # the first 12 molecules of BACE as a "corpus": each is in exactly one BACE split
    import torch

    from graphpfm.datasets.ogb_graph import find_ogb_dir, read_split
    got = transfer.corpus_overlap('ogbg-molbace', 12, ['ogbg-molbace'], str(data_root))
    split = read_split(find_ogb_dir('ogbg-molbace', data_root) / 'split' / 'scaffold')
    expected = {s: int((idx < 12).sum()) for s, idx in split.items()}
    assert got['ogbg-molbace'] == expected and sum(expected.values()) == 12
    assert isinstance(split['train'], torch.Tensor)


def test_profiles_list_every_registered_graph_objective(transfer):
    from graphpfm.objectives import OBJECTIVES
    registered = {n for n in OBJECTIVES.names() if OBJECTIVES.get(n).level == 'graph'}
    assert set(transfer.graph_objectives()) == registered
    for name in ('quick', 'full'):
        objectives = transfer.PROFILES[name]['objectives']
        # explicit lists (a recorded protocol must not change when an objective is
        # registered): this test is what keeps them complete
        assert isinstance(objectives, list) and set(objectives) == registered, name
    assert transfer.PROFILES['full']['datasets'] == list(transfer.MOLECULE_BENCHMARK)


def test_quick_profile_fits_its_budget_by_the_calibration(transfer):
    # the five molecule datasets present on the calibration machine
    here = ['ogbg-molbbbp', 'ogbg-molbace', 'ogbg-moltox21', 'ogbg-moltoxcast', 'ogbg-molhiv']
    proto = transfer.replace(transfer.Protocol(**transfer.PROFILES['quick']), datasets=here)
    assert len(proto.seeds) >= 3
    sizes = {d: transfer.MOLECULE_SIZES[d][1] for d in here}
    e = transfer.estimate(proto, sizes, jobs=2)
    assert e['total_wall_s'] <= 75 * 60
    assert set(e['pretrain_cpu_s']) == set(proto.objectives)
    assert set(e['finetune_cpu_s']) == set(here)
    table = transfer.format_estimate(e, proto)
    assert '| pretrain graphmae |' in table and '| fine-tune ogbg-molhiv' in table


def test_estimate_arithmetic_on_a_hand_made_calibration(transfer):
    costs = {'pretrain_ms': {'attr_masking': 2.0, 'supervised': 1.0}, 'supervised_setup_s': 5.0,
             'finetune_ms': {'default': 1.0, 'b': 3.0}, 'finetune_setup_s': 0.5}
    proto = transfer.Protocol(objectives=['attr_masking', 'supervised'], datasets=['a', 'b'],
                              seeds=[0, 1], corpus_limit=1000, pretrain_epochs=3,
                              supervised_epochs=2, finetune_epochs=4)
    e = transfer.estimate(proto, {'a': 100, 'b': 10}, jobs=2, costs=costs)
    assert e['pretrain_cpu_s'] == {'attr_masking': 1000 * 3 * 2e-3,
                                   'supervised': transfer.SUPERVISED_GRAPHS * 2 * 1e-3 + 5.0}
    run_a, run_b = 4 * 100 * 1e-3 + 0.5, 4 * 10 * 3e-3 + 0.5
    assert e['finetune_run_s'] == pytest.approx({'a': run_a, 'b': run_b})
    # 3 arms (scratch + 2) x 2 seeds per dataset
    assert e['finetune_cpu_s'] == pytest.approx({'a': 6 * run_a, 'b': 6 * run_b})
    assert e['wall_s']['pretrain'] == max(e['pretrain_cpu_s'].values())
    assert e['wall_s']['finetune'] == pytest.approx(6 * (run_a + run_b) / 2)
    assert transfer._makespan([3, 1, 1, 1], 2) == 3
    assert transfer._makespan([1, 1, 1], 1) == 3


def test_skipped_tasks_table_reports_counts_and_refuses_disagreement(transfer, tmp_path):
    base = {'metric': 'rocauc', 'test_at_best_valid': 0.6, 'num_tasks': 12}
    recs = [{**base, 'arm': 'scratch', 'dataset': 'ogbg-moltox21', 'seed': s,
             'skipped_tasks': {'valid': [3], 'test': [3, 7]}} for s in (0, 1)]
    table = transfer.skipped_tasks_table(recs, ['ogbg-moltox21'])
    assert '| ogbg-moltox21 | 12 | 1 | 2 |' in table
    # a record written before records carried the task count takes it from a later one
    old = [{**recs[0], 'num_tasks': None}, recs[1]]
    assert '| ogbg-moltox21 | 12 | 1 | 2 |' in transfer.skipped_tasks_table(old, ['ogbg-moltox21'])
    recs[1]['skipped_tasks'] = {'valid': [], 'test': [3, 7]}
    with pytest.raises(SystemExit, match='disagree'):
        transfer.skipped_tasks_table(recs, ['ogbg-moltox21'])
    assert transfer.skipped_tasks_table([{**base, 'arm': 'scratch', 'dataset': 'x', 'seed': 0}],
                                        ['x']) == ''


def test_single_class_tasks_are_the_ones_ogb_leaves_out(data_root):
    # ToxCast's scaffold valid/test splits hold tasks with a single observed class: the tasks
    # graphpfm reports as skipped are exactly those OGB's Evaluator averages without
    import numpy as np
    from ogb.graphproppred import Evaluator as OGBEvaluator
    from sklearn.metrics import roc_auc_score

    from graphpfm.datasets import load_dataset
    from graphpfm.eval import Evaluator
    bundle = load_dataset('ogbg-moltoxcast', root=str(data_root), progress=False)
    ours, ogb = Evaluator.from_bundle(bundle), OGBEvaluator('ogbg-moltoxcast')
    rng = np.random.default_rng(0)
    for split in ('valid', 'test'):
        y = bundle.dataset.y[bundle.split_idx[split]].numpy().astype(float)
        skipped = ours.skipped_tasks(y)
        assert 0 < len(skipped) < y.shape[1]
        pred = rng.normal(size=y.shape)
        kept = [t for t in range(y.shape[1]) if t not in skipped]
        manual = np.mean([roc_auc_score(y[~np.isnan(y[:, t]), t], pred[~np.isnan(y[:, t]), t])
                          for t in kept])
        assert ogb.eval({'y_true': y, 'y_pred': pred})['rocauc'] == pytest.approx(manual)
        assert ours.eval({'y_true': y, 'y_pred': pred})['rocauc'] == pytest.approx(manual)


def test_quick_profile_smoke_run_records_report_timing_and_figure(tmp_path, data_root):
    # the quick profile end to end, scaled down: 64 molecules, 1 epoch each way, GIN 2 x 16,
    # 2 seeds, one small dataset
    out = tmp_path / 'quick'
    cmd = [sys.executable, '-m', 'benchmarks.transfer', 'run', '--profile', 'quick',
           '--objectives', 'attr_masking', '--datasets', 'ogbg-molbace', '--seeds', '2',
           '--corpus-limit', '64', '--pretrain-epochs', '1', '--finetune-epochs', '1',
           '--num-layers', '2', '--hidden-channels', '16', '--finetune-batch-size', '256',
           '--root', str(data_root), '--out', str(out), '--threads', '1', '--no-progress']
    env = {**os.environ, 'PYTHONUNBUFFERED': '1'}
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False,
                         timeout=600, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    proto = json.loads((out / 'protocol.json').read_text())
    assert proto['objectives'] == ['attr_masking'] and proto['seeds'] == [0, 1]
    assert (proto['num_layers'], proto['hidden_channels']) == (2, 16)
    records = [json.loads(line) for line in (out / 'records.jsonl').read_text().splitlines()]
    assert sorted((r['arm'], r['seed']) for r in records) == [
        ('attr_masking', 0), ('attr_masking', 1), ('scratch', 0), ('scratch', 1)]
    for r in records:
        assert r['split_sizes'] == {'train': 1210, 'valid': 151, 'test': 152}
        assert r['num_tasks'] == 1 and r['skipped_tasks'] == {'valid': [], 'test': []}
        assert r['cpu_s'] > 0 and r['wall_s'] > 0 and r['best_epoch'] == 1
    pre = json.loads((out / 'pretrain' / 'attr_masking' / 'protocol.json').read_text())
    assert pre['cpu_s'] > 0 and pre['wall_s'] > 0
    # report: the table from the records, the skipped-task counts, timing, the figure
    png = tmp_path / 'quick.png'
    rep = subprocess.run([sys.executable, '-m', 'benchmarks.transfer', 'report', '--out',
                          str(out), '--timing', '--root', str(data_root), '--figure', str(png),
                          '--loss-figure', str(tmp_path / 'loss.png')],
                         cwd=REPO, capture_output=True, text=True, check=False, timeout=300,
                         env=env)
    assert rep.returncode == 0, rep.stderr[-3000:]
    import numpy as np
    for arm in ('scratch', 'attr_masking'):
        vals = np.array([r['test_at_best_valid'] for r in records if r['arm'] == arm]) * 100
        cell = f'{vals.mean():.1f} ± {vals.std():.1f}'
        assert f'| {arm} | {cell} | {vals.mean():.1f} |' in rep.stdout
    assert '| ogbg-molbace | 1 | 0 | 0 |' in rep.stdout
    assert '| pretrain attr_masking | 64 |' in rep.stdout
    assert '| fine-tune ogbg-molbace (4 runs,' in rep.stdout
    assert 'Estimated `full` on this machine' in rep.stdout
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    # pretraining logged its within-epoch losses (one window: 64 molecules, one step)
    log = json.loads((out / 'pretrain' / 'attr_masking' / 'train_log.jsonl').read_text())
    assert log['step_loss'] == [log['loss']]
    assert (tmp_path / 'loss.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_loss_curves_place_windows_within_epochs(transfer, tmp_path):
    a = tmp_path / 'pretrain' / 'graphcl'
    b = tmp_path / 'pretrain' / 'attr_masking_plus_context_pred'
    a.mkdir(parents=True)
    b.mkdir(parents=True)
    (a / 'train_log.jsonl').write_text('\n'.join(json.dumps(r) for r in [
        {'epoch': 1, 'loss': 2.0, 'step_loss': [3.0, 1.0]},
        {'epoch': 2, 'loss': 0.5, 'step_loss': [0.6, 0.5, 0.4, 0.5]}]) + '\n')
    (b / 'train_log.jsonl').write_text(json.dumps({'epoch': 1, 'loss': 1.5}) + '\n')
    curves = transfer.loss_curves(tmp_path)
    assert curves['graphcl'] == ([0.5, 1.0, 1.25, 1.5, 1.75, 2.0], [3.0, 1.0, 0.6, 0.5, 0.4, 0.5])
    assert curves['attr_masking+context_pred'] == ([1.0], [1.5])  # per-epoch fallback
    png = transfer.loss_figure(tmp_path, tmp_path / 'f' / 'loss.png')
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    with pytest.raises(SystemExit, match='no pretraining logs'):
        transfer.loss_figure(tmp_path / 'empty', tmp_path / 'x.png')


def test_calibrate_measures_per_graph_costs(transfer, tmp_path, data_root):
    out = tmp_path / 'calibration.jsonl'
    assert transfer.main(['calibrate', '--sizes', '2x8', '--objectives', 'attr_masking',
                          '--molecules', '32', '--datasets', 'ogbg-molbace',
                          '--exclude', 'ogbg-molbace', '--root', str(data_root),
                          '--out', str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r['phase'] for r in rows] == ['reference', 'pretrain', 'load', 'finetune',
                                          'reference']
    pre, fine = rows[1], rows[3]
    assert pre['size'] == '2x8' and pre['graphs'] == 32 and pre['cpu_per_graph_ms'] > 0
    assert fine['train_graphs'] == 1210 and fine['eval_graphs'] == 303
    assert fine['cpu_s_2_epochs'] > 0 and fine['cpu_per_train_graph_epoch_ms'] != 0
    assert rows[0]['cpu_slowdown'] > 0 and rows[0]['threads'] == 1


def test_phase_timing_prefers_the_runs_that_recorded_cpu_seconds():
    from benchmarks.transfer import timed_runs
    mixed = [{'wall_s': 900.0}, {'wall_s': 500.0, 'cpu_s': 240.0},
             {'wall_s': 410.0, 'cpu_s': 230.0}]
    runs, key = timed_runs(mixed)
    assert key == 'cpu_s' and [r['cpu_s'] for r in runs] == [240.0, 230.0]
    runs, key = timed_runs(mixed[:1])  # older records: wall time is all there is
    assert key == 'wall_s' and runs == mixed[:1]


def test_report_and_figure_of_a_subset_of_arms(transfer, tmp_path):
    # arms added later (issue 4's) have no records yet: the finished arms still get their table
    recs = [('scratch', 'ogbg-molbbbp', 0, 0.60), ('scratch', 'ogbg-molbbbp', 1, 0.70),
            ('attr_masking', 'ogbg-molbbbp', 0, 0.65), ('attr_masking', 'ogbg-molbbbp', 1, 0.67)]
    _write_run(tmp_path, recs, datasets=('ogbg-molbbbp',),
               objectives=('attr_masking', 'graphcl'))
    with pytest.raises(SystemExit, match='records missing'):
        transfer.report(tmp_path)
    table = transfer.report(tmp_path, arms=['attr_masking', 'scratch']).splitlines()
    assert table[2:] == ['| scratch | 65.0 ± 5.0 | 65.0 |', '| attr_masking | 66.0 ± 1.0 | 66.0 |']
    assert transfer.figure(tmp_path, tmp_path / 'f.png', arms=['scratch', 'attr_masking'])
    with pytest.raises(SystemExit, match='valid: scratch, attr_masking, graphcl'):
        transfer.report(tmp_path, arms=['scratch', 'infomax'])
