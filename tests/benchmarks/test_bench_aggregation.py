"""The aggregation benchmark: both paths timed on the same prepared batches, every MolGINConv
of an objective switched together (GraphMAE's decoder layer too), a row per objective."""
import json
import statistics

import pytest
import torch

from benchmarks import aggregation
from graphpfm.nn import build_encoder
from graphpfm.objectives import build_objective


def test_switch_reaches_every_mol_gin_layer():
    obj = build_objective('graphmae', build_encoder('gin', num_layers=2, hidden_channels=8))
    assert aggregation.set_sparse(obj, False) == 3  # two encoder layers and the decoder
    assert not any(getattr(m, 'sparse_aggregation', False) for m in obj.modules())
    aggregation.set_sparse(obj, True)
    assert all(m.sparse_aggregation for m in obj.modules() if hasattr(m, 'sparse_aggregation'))


def test_tiny_run_end_to_end(data_root, tmp_path):
    threads = torch.get_num_threads()
    out = tmp_path / 'agg.jsonl'
    try:
        rows = aggregation.main(['--root', str(data_root), '--num-molecules', '64',
                                 '--batch-size', '32', '--num-layers', '2',
                                 '--hidden-channels', '16', '--trials', '2', '--threads', '1',
                                 '--objectives', 'attr_masking,supervised', '--out', str(out)])
    finally:
        torch.set_num_threads(threads)
    assert [r['objective'] for r in rows] == ['attr_masking']  # supervised needs labels
    row = json.loads(out.read_text())
    assert row['mol_gin_convs'] == 2 and row['graphs'] == 64 and row['threads'] == 1
    assert len(row['trials']['sparse']) == len(row['trials']['mp']) == 2
    med = {k: statistics.median(t[0] for t in v) for k, v in row['trials'].items()}
    assert row['cpu_ratio'] == pytest.approx(med['sparse'] / med['mp'], abs=2e-3)
