import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from ogb.utils import smiles2graph

from graphpfm.data.store import GraphStore
from graphpfm.datasets.bundle import DatasetBundle
from graphpfm.eval import FinetuneConfig, compare, finetune, format_table, select_best_epoch


def test_compare_same_seeds_and_table(kit, tmp_path):
    bundle = kit.make_bundle(kit.binary_labels())
    torch.manual_seed(123)
    pretrained_state = kit.TinyEncoder(8).state_dict()
    seen = {'pretrained': [], 'scratch': []}

    def make_pretrained(seed):
        seen['pretrained'].append(seed)
        enc = kit.TinyEncoder(8)
        enc.load_state_dict(pretrained_state)
        return enc

    def make_scratch(seed):
        seen['scratch'].append(seed)
        return kit.TinyEncoder(8)

    cfg = FinetuneConfig(epochs=1, seeds=(0, 1), batch_size=16)
    results = compare(bundle, make_pretrained, make_scratch, cfg, log_dir=tmp_path)
    assert list(results) == ['pretrained', 'scratch']
    assert seen == {'pretrained': [0, 1], 'scratch': [0, 1]}
    assert results['pretrained'].seeds == results['scratch'].seeds == [0, 1]
    assert results['pretrained'].runs != results['scratch'].runs
    for name in results:
        assert len((tmp_path / f'{name}.jsonl').read_text().splitlines()) == 2

    table = format_table(results)
    lines = table.splitlines()
    assert len(lines) == 4
    assert 'test rocauc ↑' in lines[0] and 'valid rocauc' in lines[0] and 'seeds' in lines[0]
    assert lines[2].startswith('| pretrained') and results['pretrained'].summary() in lines[2]
    assert '0,1' in lines[3]
    with pytest.raises(ValueError, match='does not match'):
        format_table(results, metric='rmse')


def _bbbp_bundle(data_root, n_per_class=30):
    df = pd.read_csv(data_root / 'ogb' / 'ogbg_molbbbp' / 'mapping' / 'mol.csv.gz')
    pos = df[df['p_np'] == 1].head(n_per_class)
    neg = df[df['p_np'] == 0].head(n_per_class)
    rows = pd.concat([pos, neg]).sort_index()  # mixed classes in every split below
    rows = rows.iloc[np.random.default_rng(0).permutation(len(rows))]
    graphs = [smiles2graph(s) for s in rows['smiles']]
    y = torch.tensor(rows['p_np'].to_numpy(), dtype=torch.float).view(-1, 1)
    store = GraphStore.from_graphs(graphs, y=y)
    idx = torch.arange(len(graphs))
    split_idx = {'train': idx[:40], 'valid': idx[40:50], 'test': idx[50:]}
    return DatasetBundle(name='ogbg-molbbbp', dataset=store, split_idx=split_idx,
                         task_type='binary classification', num_tasks=1, eval_metric='rocauc')


@pytest.mark.data
def test_end_to_end_on_real_bbbp_molecules(data_root, tmp_path):
    from graphpfm.nn.encoders import build_encoder

    bundle = _bbbp_bundle(data_root)
    for split in ('valid', 'test'):
        assert bundle.dataset.y[bundle.split_idx[split]].unique().numel() == 2
    cfg = FinetuneConfig(epochs=2, seeds=(0, 1), batch_size=16)
    log = tmp_path / 'bbbp.jsonl'
    res = finetune(bundle, lambda seed: build_encoder('gin', num_layers=2, hidden_channels=32),
                   cfg, log_path=log)
    assert res.metric == 'rocauc' and res.higher_is_better and res.skipped_tasks == {
        'valid': [], 'test': []}
    assert math.isfinite(res.mean) and math.isfinite(res.std) and 0 <= res.mean <= 1
    for run in res.runs:
        c = run['curves']
        best = select_best_epoch(c['valid'], higher_is_better=True)
        assert run['best_epoch'] == c['epoch'][best]
        assert run['test_at_best_valid'] == c['test'][best]
        assert all(math.isfinite(v) for v in c['train_loss'] + c['valid'] + c['test'])
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(records) == len(cfg.seeds) * cfg.epochs
    assert {r['seed'] for r in records} == {0, 1}
    assert format_table({'gin': res}).count('\n') == 2
