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
           '--no-progress', *extra]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600,
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
