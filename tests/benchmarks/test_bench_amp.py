"""The mixed-precision benchmark's loop mode: the registered graph-level objectives resolved
at run time, a record per objective with both precisions' trials, and ratios that are the
medians' ratios (no figure is checked: timings are not tested)."""
import json
import statistics

import pytest
import torch

from benchmarks import amp
from benchmarks.transfer import graph_objectives
from graphpfm.objectives import OBJECTIVES

TINY = ['--loop', '--num-molecules', '64', '--batch-size', '32', '--num-layers', '2',
        '--hidden-channels', '16', '--trials', '2', '--model-steps', '2', '--threads', '1']


def test_all_means_every_registered_graph_level_objective():
    names = graph_objectives()
    assert names == [n for n in OBJECTIVES.names() if OBJECTIVES.get(n).level == 'graph']
    assert {'attr_masking', 'context_pred', 'motif_pred', 'supervised'} <= set(names)
    assert not {'grace', 'bgrl', 'dgi'} & set(names)  # node-level objectives left out


def test_tiny_loop_run_end_to_end(data_root, tmp_path):
    """Targets for motif_pred and the labelled corpus for supervised are loaded as needed; the
profile splits a step into its groups."""
    threads = torch.get_num_threads()
    out = tmp_path / 'amp.jsonl'
    try:
        rows = amp.main(['--root', str(data_root), *TINY, '--objectives',
                         'attr_masking,motif_pred,supervised', '--profile-steps', '1',
                         '--out', str(out)])
    finally:
        torch.set_num_threads(threads)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r['objective'] for r in records] == [r['objective'] for r in rows] == \
        ['attr_masking', 'motif_pred', 'supervised']
    assert [r['dataset'] for r in records] == ['moses', 'moses', 'ogbg-moltoxcast']
    for r in records:
        assert r['graphs'] == 64 and r['steps_per_epoch'] == 2 and r['threads'] == 1
        loop, model = r['trials']['loop_ms'], r['trials']['model_ms']
        assert set(loop) == set(model) == {'None', 'bf16'}
        assert all(len(v) == 2 and min(v) > 0 for v in [*loop.values(), *model.values()])
        assert r['loop_ratio'] == pytest.approx(
            statistics.median(loop['None']) / statistics.median(loop['bf16']), rel=1e-2)
        assert r['model_ratio'] == pytest.approx(
            statistics.median(model['None']) / statistics.median(model['bf16']), rel=1e-2)
        for groups in r['profile_ms_per_step'].values():  # every group, adding up to the step
            assert list(groups) == [*amp.PROFILE_GROUPS, 'step']
            assert min(groups.values()) >= 0 and groups['matmul'] > 0 and groups['data path'] > 0
            assert sum(groups[g] for g in amp.PROFILE_GROUPS) >= groups['step'] - 0.1


def test_unknown_and_node_level_objectives_are_refused_with_the_valid_ones():
    with pytest.raises(SystemExit, match="objective.s. nope, grace; valid options: all, attr_"):
        amp.main([*TINY, '--objectives', 'attr_masking,nope,grace'])
