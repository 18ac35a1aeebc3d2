"""The FLOP benchmark: its FLOP count by hand, its op categories, a tiny run end to end, and
its handling of torch.compile (a working backend and a failing one)."""
import json

import pytest
import torch

from benchmarks import flops

TINY = ['--batch-size', '32', '--batches', '2', '--num-layers', '2', '--hidden-channels', '16',
        '--steps', '2', '--profile-steps', '1', '--reference-size', '256', '--threads', '1']


@pytest.fixture
def run(data_root, tmp_path):
    """``main(argv)`` on the tiny configuration; the process's thread count is restored."""
    threads = torch.get_num_threads()

    def _run(*extra):
        out = tmp_path / 'flops.jsonl'
        try:
            rows = flops.main(['--root', str(data_root), *TINY, '--out', str(out), *extra])
        finally:
            torch.set_num_threads(threads)
        return rows, [json.loads(line) for line in out.read_text().splitlines()]
    return _run


def test_flop_count_of_a_linear_layer_matches_hand_computation():
    m, k, n = 7, 5, 3
    lin = torch.nn.Linear(k, n)
    x = torch.randn(m, k, requires_grad=True)
    counted = flops.count_flops(lambda: lin(x).sum())
    assert counted['forward'] == 2 * m * n * k  # addmm; the bias add is not counted
    assert counted['backward'] == 2 * (2 * m * n * k)  # grad of the input and of the weight
    assert counted['total'] == 6 * m * n * k
    assert counted['by_op'] == {'aten.addmm': 2 * m * n * k, 'aten.mm': 4 * m * n * k}
    assert lin.weight.grad is not None  # the backward really ran


def test_matmul_replay_reproduces_layouts_and_flops():
    lin = torch.nn.Linear(5, 3)
    x = torch.randn(7, 5, requires_grad=True)
    with flops.MatmulRecorder() as rec:
        lin(x).sum().backward()
    assert sorted(f.overloadpacket.__name__ for f, _, _ in rec.calls) == ['addmm', 'mm', 'mm']
    addmm = next(a for f, a, _ in rec.calls if f.overloadpacket is torch.ops.aten.addmm)
    assert addmm[2] == flops.TensorSpec((5, 3), (1, 5), torch.float32)  # the weight, transposed
    calls = flops.materialize_calls(rec.calls)
    assert calls[0][1][2].stride() == (1, 5)
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as fc:
        for f, a, k in calls:
            f(*a, **k)
    assert fc.get_total_flops() == 6 * 7 * 5 * 3
    assert flops.time_calls(calls, 2) > 0


def test_categories():
    cat = flops.categorize
    assert cat('aten::addmm') == cat('aten::linear') == 'matmul'
    assert cat('aten::index_select') == cat('aten::_embedding_bag') == 'gather'
    assert cat('aten::scatter_add_') == cat('aten::index_add_') == 'scatter'
    assert cat('aten::_embedding_bag_dense_backward') == 'scatter'
    assert cat('aten::native_batch_norm_backward') == 'normalisation'
    assert cat('aten::threshold_backward') == cat('aten::_log_softmax_backward_data') == \
        'elementwise'
    assert cat('aten::select_backward') == cat('aten::cat') == 'copies/alloc'
    assert cat('aten::view') == 'views'
    assert cat('autograd::engine::evaluate_function: AddmmBackward0') == 'autograd engine'
    assert cat('aten::some_new_op') == 'other'


def test_tiny_run_writes_a_complete_row(run, capsys):
    rows, written = run()
    assert len(rows) == len(written) == 1
    r = written[0]
    for key in ('objective', 'encoder', 'batch_size', 'threads', 'flops_per_step', 'step_ms',
                'gflops_per_s', 'matmul_ms', 'matmul_gflops_per_s', 'step_over_matmul',
                'reference_gflops_per_s', 'categories', 'python_overhead', 'top_ops',
                'profiled_step_ms', 'versions', 'command'):
        assert key in r, key
    assert (r['objective'], r['encoder'], r['batch_size'], r['threads']) == \
        ('attr_masking', 'gin 2x16', 32, 1)
    assert r['flops_per_step'] == r['forward_flops'] + r['backward_flops'] > 0
    assert r['matmul_flops_per_step'] == r['flops_per_step']  # a GIN has matmuls only
    for key in ('step_ms', 'gflops_per_s', 'matmul_gflops_per_s', 'reference_gflops_per_s'):
        assert r[key] > 0, key
    assert set(r['categories']) == set(flops.CATEGORIES)
    assert r['categories']['matmul']['ms'] > 0 and r['categories']['scatter']['ms'] > 0
    total = sum(c['pct'] for c in r['categories'].values())
    assert 0 < total <= 100.5  # rounded per category
    assert total + r['python_overhead']['pct'] == pytest.approx(100, abs=1)
    assert 1 <= len(r['top_ops']) <= 10
    assert all(o['category'] in flops.CATEGORIES for o in r['top_ops'])
    assert r['versions']['torch'] == torch.__version__ and 'torch_geometric' in r['versions']
    assert r['command'].startswith('python -m benchmarks.flops --root ')
    assert 'compile' not in r
    assert '| attr_masking |' in capsys.readouterr().out


def test_compile_results_and_errors_are_recorded(run, capsys):
    # the eager backend traces with dynamo (no code generation): fast enough for a test
    rows, _ = run('--compile', '--compile-backend', 'eager')
    c = rows[0]['compile']
    assert c['ok'] and c['target'] == 'compute' and c['backend'] == 'eager'
    assert c['step_ms'] > 0 and c['compile_s'] > 0 and c['speedup'] > 0
    assert c['eager_step_ms'] == rows[0]['step_ms']
    # a backend that fails: both targets tried, both errors recorded, the row still written
    rows, written = run('--compile', '--compile-backend', 'no_such_backend')
    c = written[-1]['compile']
    assert not c['ok'] and c['target'] is None
    assert set(c['errors']) == {'compute', 'encoder'}
    assert all('no_such_backend' in e for e in c['errors'].values())
    assert written[-1]['step_ms'] > 0
    assert '| attr_masking | failed (compute: ' in capsys.readouterr().out
