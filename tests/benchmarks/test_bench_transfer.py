"""The transfer benchmark: report on synthetic records, protocol checks, a tiny run."""
import argparse
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def transfer():
    import benchmarks.transfer
    return benchmarks.transfer


def _write_run(out, records, seeds=(0, 1), objectives=('attr_masking',),
               datasets=('ogbg-molbbbp', 'ogbg-molbace'), rmse=()):
    """A fake run: ROC-AUC records (higher is better), RMSE ones for the datasets in ``rmse``;
    each record's best validation score is its test score + 0.1."""
    out.mkdir(parents=True, exist_ok=True)
    (out / 'protocol.json').write_text(json.dumps({
        'objectives': list(objectives), 'seeds': list(seeds),
        'present_datasets': list(datasets)}))
    with (out / 'records.jsonl').open('w') as f:
        for arm, dataset, seed, test in records:
            metric = 'rmse' if dataset in rmse else 'rocauc'
            f.write(json.dumps({'arm': arm, 'dataset': dataset, 'seed': seed, 'metric': metric,
                                'higher_is_better': metric != 'rmse',
                                'test_at_best_valid': test,
                                'best_valid': round(test + 0.1, 6)}) + '\n')


@pytest.fixture
def toy_objective():
    """A graph-level objective registered for one test only (then taken out of the registry)."""
    from graphpfm.objectives import OBJECTIVES, Objective, ObjectiveOutput
    name = 'toy_bench_transfer'

    class ToyObjective(Objective):
        def compute(self, prepared):
            return ObjectiveOutput(loss=self.encode(prepared).pow(2).mean())

    OBJECTIVES.register(name)(ToyObjective)
    yield name
    OBJECTIVES.unregister(name)


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


def test_profiles_resolve_all_to_the_registered_graph_objectives(transfer):
    from graphpfm.objectives import OBJECTIVES
    registered = sorted(n for n in OBJECTIVES.names() if OBJECTIVES.get(n).level == 'graph')
    assert transfer.graph_objectives() == registered
    for name in ('quick', 'full'):
        assert transfer.PROFILES[name]['objectives'] == 'all', name
        proto = transfer.Protocol(**transfer.PROFILES[name])
        # the resolved list is what protocol.json records (asdict of the protocol)
        assert proto.objectives == registered
        assert dataclasses.asdict(proto)['objectives'] == registered
    # a profile may keep its own list: small names the eight objectives it measured
    small = transfer.Protocol(**transfer.PROFILES['small'])
    assert len(small.objectives) == 8 and set(small.objectives) <= set(registered)
    assert transfer.PROFILES['full']['datasets'] == list(transfer.MOLECULE_BENCHMARK)
    # --objectives: 'all', or a comma list taken as given
    assert transfer.resolve_objectives('all') == registered
    assert transfer.resolve_objectives('graphcl,attr_masking') == ['graphcl', 'attr_masking']
    assert transfer.resolve_objectives(['attr_masking+context_pred']) == [
        'attr_masking+context_pred']
    with pytest.raises(SystemExit, match="give either 'all' or a comma list"):
        transfer.resolve_objectives('all,graphcl')


def test_profiles_give_every_dataset_the_same_seeds_and_epochs(transfer):
    # one list of seeds and one count of epochs for the whole profile: no dataset gets fewer
    for name, profile in transfer.PROFILES.items():
        proto = transfer.Protocol(**profile)
        assert proto.seeds and all(isinstance(s, int) for s in proto.seeds), name
        for key in ('finetune_epochs', 'pretrain_epochs', 'supervised_epochs'):
            assert isinstance(getattr(proto, key), int), (name, key)
        # nothing keyed by dataset (a per-dataset override would be a dict)
        assert not any(isinstance(v, dict) for v in profile.values()), name


def test_quick_profile_estimate_covers_every_arm_and_dataset(transfer):
    # the five molecule datasets present on the calibration machine; the estimate is advice
    # printed by `plan`, so no time budget is asserted
    here = ['ogbg-molbbbp', 'ogbg-molbace', 'ogbg-moltox21', 'ogbg-moltoxcast', 'ogbg-molhiv']
    proto = dataclasses.replace(transfer.Protocol(**transfer.PROFILES['quick']), datasets=here)
    assert proto.seeds == [0, 1, 2] and proto.finetune_epochs == 8
    sizes = {d: transfer.MOLECULE_SIZES[d][1] for d in here}
    e = transfer.estimate(proto, sizes, jobs=2)
    assert set(e['pretrain_cpu_s']) == set(proto.objectives) == set(transfer.graph_objectives())
    assert set(e['finetune_cpu_s']) == set(here)
    assert e['total_wall_s'] == pytest.approx(sum(e['wall_s'].values()))
    arms = len(proto.objectives) + 1
    assert e['finetune_cpu_s'] == pytest.approx(
        {d: arms * 3 * e['finetune_run_s'][d] for d in here})
    table = transfer.format_estimate(e, proto)
    assert '| pretrain graphmae |' in table and '| fine-tune ogbg-molhiv' in table


def test_estimate_falls_back_to_the_mean_rate_for_an_uncalibrated_objective(transfer, caplog):
    costs = {'pretrain_ms': {'attr_masking': 2.0, 'supervised': 1.0}, 'supervised_setup_s': 5.0,
             'finetune_ms': {'default': 1.0}, 'finetune_setup_s': 0.5}
    proto = transfer.Protocol(objectives=['attr_masking', 'motif_pred',
                                          'attr_masking+motif_pred'],
                              datasets=['a'], seeds=[0], corpus_limit=1000, pretrain_epochs=3)
    with caplog.at_level('WARNING', logger='benchmarks.transfer'):
        e = transfer.estimate(proto, {'a': 100}, jobs=2, costs=costs)
    # the mean of the two calibrated rates: 1.5 ms per molecule
    assert e['pretrain_cpu_s'] == pytest.approx({'attr_masking': 1000 * 3 * 2e-3,
                                                 'motif_pred': 1000 * 3 * 1.5e-3,
                                                 'attr_masking+motif_pred': 1000 * 3 * 3.5e-3})
    assert e['uncalibrated'] == ['motif_pred', 'attr_masking+motif_pred']
    assert 'no calibrated pretraining cost of motif_pred for gin 5x300' in caplog.text
    table = transfer.format_estimate(e, proto)
    assert '| pretrain motif_pred (uncalibrated: mean rate) |' in table
    assert '| pretrain attr_masking |' in table
    assert transfer.pretrain_rate(costs, 'supervised') == (1.0, [])


def test_a_newly_registered_objective_joins_the_all_profiles(transfer, toy_objective,
                                                            data_root, caplog, capsys):
    # registering a graph-level objective must break nothing: profiles over 'all' take it in,
    # `plan` accepts it, the estimate gives it the mean calibrated rate
    assert toy_objective in transfer.graph_objectives()
    for name in ('quick', 'full'):
        assert toy_objective in transfer.Protocol(**transfer.PROFILES[name]).objectives
    assert toy_objective not in transfer.Protocol(**transfer.PROFILES['small']).objectives
    from benchmarks.transfer.cli import protocol_args
    parser = argparse.ArgumentParser()
    protocol_args(parser)
    proto = transfer.resolve_protocol(parser.parse_args(['--profile', 'quick']))
    assert proto.objectives == transfer.graph_objectives()
    arms, present = transfer.plan(proto, str(data_root))
    assert arms == ['scratch', *transfer.graph_objectives()] and present
    with caplog.at_level('WARNING', logger='benchmarks.transfer'):
        e = transfer.estimate(proto, transfer.train_sizes(present, str(data_root)), jobs=2)
    rates = transfer.COSTS['3x64']['pretrain_ms']
    mean = sum(rates.values()) / len(rates)
    assert e['pretrain_cpu_s'][toy_objective] == pytest.approx(50_000 * 4 * mean / 1e3)
    # the toy, and any other registered objective the calibration does not know yet
    assert toy_objective in e['uncalibrated']
    assert e['uncalibrated'] == [o for o in proto.objectives if o not in rates]
    assert f'no calibrated pretraining cost of {toy_objective}' in caplog.text
    # the `plan` command end to end, on the arms of the registry as it is now
    assert transfer.main(['plan', '--profile', 'quick', '--root', str(data_root)]) == 0
    out = capsys.readouterr().out
    assert f'| pretrain {toy_objective} (uncalibrated: mean rate) |' in out
    assert '| **total** |' in out


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
    assert transfer.makespan([3, 1, 1, 1], 2) == 3
    assert transfer.makespan([1, 1, 1], 1) == 3


def test_skipped_tasks_table_reports_counts_and_refuses_disagreement(transfer, tmp_path):
    base = {'metric': 'rocauc', 'test_at_best_valid': 0.6, 'num_tasks': 12}
    recs = [{**base, 'arm': 'scratch', 'dataset': 'ogbg-moltox21', 'seed': s,
             'skipped_tasks': {'valid': [3], 'test': [3, 7]}} for s in (0, 1)]
    table = transfer.skipped_tasks_table(recs, ['ogbg-moltox21'])
    assert '| ogbg-moltox21 | 12 | 1 | 2 |' in table
    # a record without the task count takes it from another record of the dataset
    old = [{**recs[0], 'num_tasks': None}, recs[1]]
    assert '| ogbg-moltox21 | 12 | 1 | 2 |' in transfer.skipped_tasks_table(old, ['ogbg-moltox21'])
    recs[1]['skipped_tasks'] = {'valid': [], 'test': [3, 7]}
    with pytest.raises(SystemExit, match='disagree'):
        transfer.skipped_tasks_table(recs, ['ogbg-moltox21'])
    assert transfer.skipped_tasks_table([{**base, 'arm': 'scratch', 'dataset': 'x', 'seed': 0}],
                                        ['x']) == ''
    # datasets that leave nothing out are named after the table, not given rows
    none = {**base, 'arm': 'scratch', 'dataset': 'ogbg-molbbbp', 'seed': 0, 'num_tasks': 1,
            'skipped_tasks': {'valid': [], 'test': []}}
    table = transfer.skipped_tasks_table([none, *recs[:1]], ['ogbg-molbbbp', 'ogbg-moltox21'])
    assert '| ogbg-molbbbp |' not in table and table.endswith('None left out in ogbg-molbbbp.')
    assert transfer.skipped_tasks_table([none], ['ogbg-molbbbp']).endswith('does): none.')


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
    assert "(a single class in the split, as OGB's Evaluator does): none." in rep.stdout
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
    runs, key = timed_runs(mixed[:1])  # no record has CPU seconds: wall time it is
    assert key == 'wall_s' and runs == mixed[:1]


def test_report_and_figure_of_a_subset_of_arms(transfer, tmp_path):
    # arms added to a run later have no records yet: the finished arms still get their table
    recs = [('scratch', 'ogbg-molbbbp', 0, 0.60), ('scratch', 'ogbg-molbbbp', 1, 0.70),
            ('attr_masking', 'ogbg-molbbbp', 0, 0.65), ('attr_masking', 'ogbg-molbbbp', 1, 0.67)]
    _write_run(tmp_path, recs, datasets=('ogbg-molbbbp',),
               objectives=('attr_masking', 'graphcl'))
    with pytest.raises(SystemExit, match='records missing'):
        transfer.report(tmp_path)
    table = transfer.report(tmp_path, arms=['attr_masking', 'scratch']).splitlines()
    assert table[2:4] == ['| scratch | 65.0 ± 5.0 | 65.0 |',
                          '| attr_masking | 66.0 ± 1.0 | 66.0 |']
    # the paired table has the selected pretrained arm only
    assert [line.split(' |')[0] for line in table[5:]] == [
        '| vs scratch', '|---|---|---|', '| attr_masking', '', table[-1]]
    assert transfer.figure(tmp_path, tmp_path / 'f.png', arms=['scratch', 'attr_masking'])
    with pytest.raises(SystemExit, match='valid: scratch, attr_masking, graphcl'):
        transfer.report(tmp_path, arms=['scratch', 'infomax'])


#: crafted scores of three arms over three seeds; bbbp: ROC-AUC (higher is better), esol: RMSE
#: (lower is better, so the difference is scratch - arm)
CRAFTED = {('scratch', 'ogbg-molbbbp'): (0.60, 0.62, 0.64),
           ('scratch', 'ogbg-molesol'): (1.20, 1.10, 1.30),
           # bbbp d = (.10, .09, .11); esol d = (.20, .15, .25): both clearly positive
           ('attr_masking', 'ogbg-molbbbp'): (0.70, 0.71, 0.75),
           ('attr_masking', 'ogbg-molesol'): (1.00, 0.95, 1.05),
           # bbbp d = (.05, -.02, 0): not significant; esol d = (-.15, -.10, -.15): worse
           ('graphcl', 'ogbg-molbbbp'): (0.65, 0.60, 0.64),
           ('graphcl', 'ogbg-molesol'): (1.35, 1.20, 1.45)}


def _write_crafted(out, drop_last=False):
    """A run of :data:`CRAFTED` (without its last record if ``drop_last``)."""
    recs = [(arm, d, s, v) for (arm, d), vals in CRAFTED.items() for s, v in enumerate(vals)]
    _write_run(out, recs[:-1] if drop_last else recs, seeds=(0, 1, 2),
               objectives=('attr_masking', 'graphcl'),
               datasets=('ogbg-molbbbp', 'ogbg-molesol'), rmse=('ogbg-molesol',))


def test_report_paired_differences_to_scratch(transfer, tmp_path):
    _write_crafted(tmp_path)
    table = transfer.report(tmp_path).splitlines()
    assert table[0] == '| arm | ogbg-molbbbp (rocauc) | ogbg-molesol (rmse) | average |'
    assert table[5] == ''
    assert table[6] == '| vs scratch | ogbg-molbbbp (rocauc) | ogbg-molesol (rmse) | average |'
    # t(0.975, 2) = 4.3027: bbbp sd 1.0 point -> half-width 2.48; esol sd 5.0 -> 12.42;
    # average per seed (.15, .12, .18), sd 3.0 -> 7.45
    assert table[8] == ('| attr_masking | **+10.0 [+7.5, +12.5]** | **+20.0 [+7.6, +32.4]** | '
                        '**+15.0 [+7.5, +22.5]** |')
    # bbbp sd 3.61 -> 8.96; esol sd 2.89 -> 7.17; average (-.05, -.06, -.075) sd 1.26 -> 3.13
    assert table[9] == ('| graphcl | +1.0 [-8.0, +10.0] | **-13.3 [-20.5, -6.2]** | '
                        '**-6.2 [-9.3, -3.0]** |')
    assert table[10] == ''
    assert 'scratch - arm where lower is better (rmse here)' in table[11]
    assert '**bold**: the interval excludes 0' in table[11]
    assert "95% confidence interval, Student's t with n - 1 degrees of freedom" in table[11]


def test_report_paired_differences_count_the_pairs(transfer, tmp_path):
    # only seeds both arms hold are paired; fewer than two pairs: no interval
    recs = [('scratch', 'ogbg-molbbbp', 0, 0.60), ('scratch', 'ogbg-molbbbp', 1, 0.70),
            ('scratch', 'ogbg-molbbbp', 2, 0.65), ('scratch', 'ogbg-molbace', 0, 0.80),
            ('attr_masking', 'ogbg-molbbbp', 0, 0.64), ('attr_masking', 'ogbg-molbbbp', 2, 0.70),
            ('attr_masking', 'ogbg-molbace', 0, 0.90), ('attr_masking', 'ogbg-molbace', 1, 0.90)]
    _write_run(tmp_path, recs, seeds=(0, 1, 2))
    with pytest.raises(SystemExit, match='records missing'):
        transfer.report(tmp_path)
    table = transfer.report(tmp_path, partial=True).splitlines()
    # bbbp: seeds 0 and 2 (d = .04, .05); bace: seed 0 only; average: seed 0 only
    assert table[7] == ('| attr_masking | +4.5 [-1.9, +10.9] (2/3 pairs) | '
                        '+10.0 (1 pair: no interval) | +7.0 (1 pair: no interval) |')
    _write_run(tmp_path, [r for r in recs if r[:2] != ('scratch', 'ogbg-molbace')],
               seeds=(0, 1, 2))
    table = transfer.report(tmp_path, partial=True).splitlines()
    assert table[7].endswith('| — (no pairs) | — (no pairs) |')


def test_a_given_checkpoint_is_fine_tuned_as_an_arm_beside_scratch(tmp_path, data_root):
    """``pretrained:<file or shipped name>`` arms skip pretraining, are identified by their
    bytes, and must have the protocol's architecture (scratch is their twin)."""
    import torch

    from graphpfm.nn import build_encoder
    from graphpfm.train import save_checkpoint
    torch.manual_seed(0)
    ckpt = tmp_path / 'given.pt'
    save_checkpoint(ckpt, build_encoder('gin', num_layers=2, hidden_channels=16))
    out = tmp_path / 'run'
    res = _run(out, '--root', str(data_root), '--objectives', f'pretrained:{ckpt}')
    assert res.returncode == 0, res.stderr[-3000:]
    records = [json.loads(line) for line in (out / 'records.jsonl').read_text().splitlines()]
    assert sorted(r['arm'] for r in records) == [f'pretrained:{ckpt}', 'scratch']
    given = next(r for r in records if r['arm'] != 'scratch')
    assert given['checkpoint'] == str(ckpt) and not (out / 'pretrain').exists()
    import hashlib
    assert given['protocol']['pretrain'] == {
        'checkpoint': hashlib.sha256(ckpt.read_bytes()).hexdigest()}
    wide = tmp_path / 'wide.pt'
    save_checkpoint(wide, build_encoder('gin', num_layers=2, hidden_channels=32))
    res = _run(tmp_path / 'other', '--root', str(data_root), '--objectives', f'pretrained:{wide}')
    assert res.returncode != 0 and "'hidden_channels': 32" in res.stderr
    res = _run(tmp_path / 'none', '--root', str(data_root), '--objectives', 'pretrained:nope')
    assert res.returncode != 0 and 'neither a file nor a shipped pretrained model' in res.stderr


def test_pretrain_amp_enters_the_pretraining_key_only_when_set(transfer):
    base = transfer.Protocol(objectives=['motif_pred'], datasets=['ogbg-molbace'], seeds=[0])
    bf16 = dataclasses.replace(base, pretrain_amp='bf16')
    h = transfer.protocol_hash
    # float32 keys carry no amp entry, so runs recorded before the setting keep their hashes
    assert 'amp' not in base.pretrain_key('motif_pred')
    assert bf16.pretrain_key('motif_pred')['amp'] == 'bf16'
    assert h(base.finetune_key('motif_pred')) != h(bf16.finetune_key('motif_pred'))
    # scratch does not pretrain: its records serve both
    assert h(base.finetune_key('scratch')) == h(bf16.finetune_key('scratch'))
    # the flag reaches the protocol
    args = argparse.Namespace(profile='property', objectives='motif_pred', datasets=None,
                              seeds=None, corpus_limit=None, pretrain_epochs=None,
                              finetune_epochs=None, supervised_epochs=None, num_layers=None,
                              hidden_channels=None, finetune_batch_size=None,
                              pretrain_batch_size=None, pretrain_amp='bf16')
    from benchmarks.transfer.cli import resolve_protocol
    assert resolve_protocol(args).pretrain_amp == 'bf16'


def test_compare_pairs_one_arm_across_two_runs(transfer, tmp_path):
    a, b = tmp_path / 'bf16', tmp_path / 'fp32'
    bbbp, bace = 'ogbg-molbbbp', 'ogbg-molbace'
    # run a: d(bbbp) = (+.02, +.04, +.03), d(bace) = (-.01, .00, +.01); run b holds a dataset
    # and a seed that a lacks: left out of the comparison
    _write_run(a, [('motif_pred', bbbp, s, v) for s, v in enumerate((0.62, 0.64, 0.63))]
               + [('motif_pred', bace, s, v) for s, v in enumerate((0.79, 0.80, 0.81))],
               seeds=(0, 1, 2), objectives=('motif_pred',), datasets=(bbbp, bace))
    _write_run(b, [('motif_pred', bbbp, s, 0.60) for s in range(4)]
               + [('motif_pred', bace, s, 0.80) for s in range(4)]
               + [('motif_pred', 'ogbg-moltox21', s, 0.70) for s in range(4)],
               seeds=(0, 1, 2, 3), objectives=('motif_pred',),
               datasets=(bbbp, 'ogbg-moltox21', bace))
    for out, amp in ((a, 'bf16'), (b, None)):
        proto = json.loads((out / 'protocol.json').read_text())
        (out / 'protocol.json').write_text(json.dumps({**proto, 'pretrain_amp': amp}))
    table = transfer.compare(a, b, 'motif_pred').splitlines()
    assert table[0] == '| arm | ogbg-molbbbp (rocauc) | ogbg-molbace (rocauc) | average |'
    assert table[2] == '| motif_pred (bf16) | 63.0 ± 0.8 | 80.0 ± 0.8 | 71.5 |'
    assert table[3] == '| motif_pred (fp32) | 60.0 ± 0.0 | 80.0 ± 0.0 | 70.0 |'
    # t(0.975, 2) = 4.3027; bbbp sd 1.0 point -> 2.48; bace sd 1.0 -> 2.48; average per seed
    # (.005, .02, .02): mean 1.5, sd 0.866 -> 2.15
    assert table[7] == ('| motif_pred (bf16) | **+3.0 [+0.5, +5.5]** | +0.0 [-2.5, +2.5] | '
                        '+1.5 [-0.7, +3.7] |')
    assert table[-1] == ('Protocol settings that differ (baseline -> run): '
                         'pretrain_amp: None -> bf16.')
    with pytest.raises(SystemExit, match='arm graphmae is not in'):
        transfer.compare(a, b, 'graphmae')


def test_summary_gives_each_arm_its_average_and_paired_difference(transfer, tmp_path):
    _write_crafted(tmp_path)
    table = transfer.summary(tmp_path).splitlines()
    assert table[0] == ('| arm | average score | vs scratch, average over 2 datasets | '
                        'datasets better / worse |')
    # averages of the dataset means, in points: scratch (62 + 120) / 2; the paired averages
    # are the last column of report()'s second table (hand-checked there)
    assert table[2] == '| scratch | 91.0 | | |'
    assert table[3] == '| attr_masking | 86.0 | **+15.0 [+7.5, +22.5]** | bbbp, esol / - |'
    assert table[4] == '| graphcl | 98.2 | **-6.2 [-9.3, -3.0]** | - / esol |'
    # choosing between arms reads validation scores: here each is its test score + 10 points,
    # so every average moves by 10 and every paired difference stays
    valid = transfer.summary(tmp_path, split='valid').splitlines()
    assert valid[0].startswith('| arm | average valid score |')
    assert valid[2] == '| scratch | 101.0 | | |'
    assert valid[3] == '| attr_masking | 96.0 | **+15.0 [+7.5, +22.5]** | bbbp, esol / - |'
    assert transfer.report(tmp_path, split='valid').splitlines()[0] == (
        '| arm | ogbg-molbbbp (valid rocauc) | ogbg-molesol (valid rmse) | average |')
    with pytest.raises(SystemExit, match="unknown split 'train'; valid: test, valid"):
        transfer.summary(tmp_path, split='train')
    _write_crafted(tmp_path, drop_last=True)
    with pytest.raises(SystemExit, match='records missing'):
        transfer.summary(tmp_path)
