"""The data-parallel throughput benchmark: its pure helpers against hand values, and a tiny run
end to end (one process with 1 and 2 threads, two torchrun processes)."""
import json
import sys

import pytest

from benchmarks import ddp


def _rec(config, trial, graphs_per_s, objective='attr_masking'):
    procs, threads = ddp.parse_config(config)
    return {'objective': objective, 'config': config, 'processes': procs,
            'threads_per_process': threads, 'trial': trial, 'graphs_per_s': graphs_per_s,
            'epoch_graphs_per_s': graphs_per_s / 2}


def test_parse_config():
    assert ddp.parse_config('2x1') == (2, 1)
    assert ddp.parse_config('1X2') == (1, 2)
    for bad in ('2', '2x', 'ax1', '0x1', '1x0'):
        with pytest.raises(ValueError):
            ddp.parse_config(bad)


def test_steady_throughput_counts_full_batches_after_the_warm_up():
    # 10 graphs in batches of 3: 3 full batches and one of 1 (left out); the steps end at:
    times = [1.0, 2.0, 4.0, 7.0]
    assert ddp.steady_throughput(times, 10, 3, warmup=1) == (2, 6, 3.0)  # steps 2-3: 1 s to 4 s
    assert ddp.steady_throughput(times, 10, 3, warmup=2) == (1, 3, 2.0)
    with pytest.raises(ValueError, match='leave none to measure'):
        ddp.steady_throughput(times, 10, 3, warmup=3)
    with pytest.raises(ValueError, match='>= 1'):
        ddp.steady_throughput(times, 10, 3, warmup=0)
    with pytest.raises(RuntimeError, match='skipped'):
        ddp.steady_throughput(times[:2], 10, 3, warmup=1)


def test_summarize_medians_and_speedups_by_hand():
    records = [_rec('1x1', 0, 100.0), _rec('1x2', 0, 150.0), _rec('2x1', 0, 200.0),
               _rec('1x2', 1, 160.0), _rec('2x1', 1, 220.0), _rec('1x1', 1, 120.0),
               _rec('2x1', 2, 210.0), _rec('1x1', 2, 110.0), _rec('1x2', 2, 170.0),
               _rec('2x1', 0, 50.0, objective='other'), _rec('1x1', 0, 40.0, objective='other')]
    rows = ddp.summarize(records)
    assert [(r['objective'], r['config']) for r in rows] == [
        ('attr_masking', '1x1'), ('attr_masking', '1x2'), ('attr_masking', '2x1'),
        ('other', '2x1'), ('other', '1x1')]
    by = {(r['objective'], r['config']): r for r in rows}
    assert by['attr_masking', '1x1']['trials'] == [100.0, 120.0, 110.0]  # in trial order
    assert by['attr_masking', '1x1']['graphs_per_s'] == 110.0
    assert by['attr_masking', '1x2']['graphs_per_s'] == 160.0
    ddp_row = by['attr_masking', '2x1']
    assert ddp_row['graphs_per_s'] == 210.0 and ddp_row['epoch_graphs_per_s'] == 105.0
    assert ddp_row['speedup'] == pytest.approx({'1x1': 210 / 110, '1x2': 210 / 160})
    assert by['attr_masking', '1x2']['speedup'] == pytest.approx({'1x1': 160 / 110, '1x2': 1.0})
    assert by['other', '2x1']['speedup'] == pytest.approx({'1x1': 1.25})  # its own objective's
    table = ddp.format_table(rows).splitlines()
    assert table[0].endswith('| speed-up vs 1x1 | speed-up vs 1x2 |')
    assert table[4] == ('| attr_masking | 2x1 | 2 x 1 | 210.0 | 200, 220, 210 | 105.0 | '
                        '1.91x | 1.31x |')
    assert table[-1].endswith('| 1.00x | - |')  # 'other' has no 1x2 run


def test_launch_commands():
    assert ddp.launch_command(1, 2, ['--x']) == [sys.executable, '-m', 'benchmarks.ddp',
                                                 '--worker', '--threads', '2', '--x']
    cmd = ddp.launch_command(2, 1, ['--x'])
    assert cmd[-9:] == ['--standalone', '--nproc_per_node', '2', '-m', 'benchmarks.ddp',
                        '--worker', '--threads', '1', '--x']
    assert 'torchrun' in cmd[0] or cmd[1:3] == ['-m', 'torch.distributed.run']


def test_tiny_run_measures_every_configuration(data_root, tmp_path, capsys):
    out = tmp_path / 'ddp.jsonl'
    records = ddp.main(['--root', str(data_root), '--num-molecules', '512', '--batch-size', '64',
                        '--num-layers', '2', '--hidden-channels', '32', '--warmup-steps', '2',
                        '--trials', '1', '--timeout', '120', '--out', str(out)])
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines == records
    assert [r['config'] for r in lines] == ['1x1', '1x2', '2x1']
    for r in lines:
        procs, threads = ddp.parse_config(r['config'])
        assert r['world_size'] == r['processes'] == procs
        assert r['torch_threads'] == r['threads_per_process'] == threads
        assert r['backend'] == ('gloo' if procs > 1 else None)
        assert r['graphs_per_s'] > 0 and r['epoch_graphs_per_s'] > 0
        # 8 global batches of 64: 6 measured after 2 warm-up steps; every graph trained once
        assert (r['steps'], r['measured_steps'], r['measured_graphs']) == (8, 6, 384)
        assert r['graphs'] == r['epoch_graphs'] == 512 and r['per_rank_batch'] == 64 / procs
        assert r['objective'] == 'attr_masking' and r['encoder'] == 'gin 2x32'
        assert ('torchrun' in r['command'] or 'torch.distributed.run' in r['command']) == \
            (procs > 1)
        assert '--worker' in r['command'] and r['trial'] == 0
        assert r['versions']['torch'] and r['hardware']['cpu_count']
    printed = capsys.readouterr().out
    assert '| attr_masking | 2x1 | 2 x 1 |' in printed and 'speed-up vs 1x2' in printed
