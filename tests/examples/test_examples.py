"""Every example script runs end to end with tiny settings, through the public API only."""
import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / 'examples'


def _run(script, *args, cwd):
    env = {**os.environ, 'PYTHONUNBUFFERED': '1'}
    res = subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout


@pytest.mark.parametrize('script', sorted(p.name for p in EXAMPLES.glob('*.py')))
def test_examples_use_only_the_public_api(script):
    tree = ast.parse((EXAMPLES / script).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith('graphpfm'):
            pytest.fail(f'{script} imports from {node.module}; use `import graphpfm`')
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == 'graphpfm':
            import graphpfm
            assert node.attr in graphpfm.__all__, f'{script} uses graphpfm.{node.attr}'


def test_pretrain_then_finetune_examples(tmp_path, data_root):
    out = _run('pretrain_attr_masking.py', '--dataset', 'embedded', '--limit', '200',
               '--num-layers', '2', '--hidden-channels', '16', '--epochs', '2',
               '--device', 'cpu', '--out', str(tmp_path / 'pre'), cwd=tmp_path)
    assert 'epoch   2' in out and (tmp_path / 'pre' / 'checkpoint.pt').is_file()
    out = _run('finetune_molecules.py', '--checkpoint', str(tmp_path / 'pre' / 'checkpoint.pt'),
               '--dataset', 'ogbg-molbace', '--root', str(data_root), '--epochs', '1',
               '--seeds', '1', '--out', str(tmp_path / 'ft'), cwd=tmp_path)
    assert 'pretrained' in out and 'scratch' in out
    assert (tmp_path / 'ft' / 'pretrained.jsonl').is_file()


def test_pretrain_context_pred_example(tmp_path, data_root):
    out = _run('pretrain_context_pred.py', '--dataset', 'embedded', '--limit', '200',
               '--num-layers', '2', '--hidden-channels', '16', '--epochs', '2',
               '--batch-size', '64', '--device', 'cpu', '--out', str(tmp_path / 'pre'),
               cwd=tmp_path)
    assert 'epoch   2' in out and 'pair accuracy' in out
    assert (tmp_path / 'pre' / 'checkpoint.pt').is_file()


def test_pretrain_graphmae_example_then_finetune(tmp_path, data_root):
    out = _run('pretrain_graphmae.py', '--dataset', 'embedded', '--limit', '200',
               '--num-layers', '2', '--hidden-channels', '16', '--epochs', '2',
               '--replace-rate', '0.1', '--device', 'cpu', '--out', str(tmp_path / 'pre'),
               '--finetune', 'ogbg-molbace', '--root', str(data_root), '--finetune-epochs', '1',
               '--seeds', '1', cwd=tmp_path)
    assert 'epoch   2' in out and 'masked-atom accuracy' in out
    assert (tmp_path / 'pre' / 'checkpoint.pt').is_file()
    assert 'pretrained' in out and 'scratch' in out
    assert (tmp_path / 'pre' / 'finetune' / 'pretrained.jsonl').is_file()


@pytest.mark.parametrize('objective', ['graphcl', 'simgrace'])
def test_pretrain_graphcl_example(objective, tmp_path):
    out = _run('pretrain_graphcl.py', '--objective', objective, '--dataset', 'embedded',
               '--limit', '200', '--num-layers', '2', '--hidden-channels', '16', '--epochs', '2',
               '--aug1', 'random', '--batch-size', '64', '--device', 'cpu',
               '--out', str(tmp_path / 'pre'), cwd=tmp_path)
    assert 'epoch   2' in out and 'positive cosine' in out
    assert (tmp_path / 'pre' / 'checkpoint.pt').is_file()


@pytest.mark.parametrize('objective', ['grace', 'graphmae'])
def test_node_pretrain_probe_cora_example(objective, tmp_path, data_root):
    out = _run('node_pretrain_probe_cora.py', '--objective', objective, '--root', str(data_root),
               '--hidden-channels', '16', '--epochs', '2', '--seeds', '2', '--device', 'cpu',
               '--out', str(tmp_path / 'run'), cwd=tmp_path)
    assert 'epoch   2' in out and 'nodes/s' in out
    assert f'{objective} (pretrained)' in out and 'random encoder' in out
    assert (tmp_path / 'run' / 'checkpoint.pt').is_file()


@pytest.mark.parametrize('extra', [[], ['--sampled-inference', '--objective', 'bgrl']])
def test_node_minibatch_large_graph_example(extra, tmp_path):
    out = _run('node_minibatch_large_graph.py', '--num-nodes', '1500', '--num-features', '16',
               '--hidden-channels', '16', '--node-batch-size', '256', '--num-neighbors', '5,5',
               '--probe-nodes', '600', '--train-fraction', '0.2', '--seeds', '1',
               '--device', 'cpu', '--out', str(tmp_path / 'run'), *extra, cwd=tmp_path)
    assert 'stochastic block model: 1500 nodes' in out and 'epoch   1' in out
    assert 'random encoder' in out and '(pretrained)' in out
    assert ('sampled inference' in out) == bool(extra)
