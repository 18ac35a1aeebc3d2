"""Refactoring guard: fixed-seed results that must not change when code moves.

For every registered objective (and two combinations), the loss of each of the first three
optimizer steps of :class:`~graphpfm.train.Trainer` on a fixed small dataset; for one graph
and one node dataset, a fixed-seed fine-tuning score and a linear probe score. The expected
values live in ``tests/numerics_unchanged.json`` as exact float32 values, computed with one
thread (deterministic whatever the machine's load); a change that
alters numbers on purpose rewrites them with ``GRAPHPFM_UPDATE_NUMERICS=1 pytest
tests/test_numerics_unchanged.py`` and says why in its commit.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from graphpfm import FinetuneConfig, TrainConfig, Trainer, finetune, load_dataset, probe
from graphpfm.datasets import attach_targets
from graphpfm.nn import build_encoder
from graphpfm.objectives import OBJECTIVES, build_objective

EXPECTED = Path(__file__).with_name('numerics_unchanged.json')
UPDATE = os.environ.get('GRAPHPFM_UPDATE_NUMERICS') == '1'
#: small options of objectives that need them
OPTIONS = {'supervised': {'num_tasks': 2}, 'grace': {'proj_channels': 16},
           'bgrl': {'predictor_channels': 16, 'total_steps': 3}}
COMBINATIONS = ['attr_masking+context_pred', 'attr_masking+descriptor_pred']


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: with several, the split of a reduction (and so its last bits) may
    follow the load of the machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _expected() -> dict:
    return json.loads(EXPECTED.read_text()) if EXPECTED.is_file() else {}


#: the objectives whose traces are recorded (an objective registered later is guarded once its
#: trace is recorded; recording every registered one is what an update does)
NAMES = (OBJECTIVES.names() + COMBINATIONS if UPDATE else
         [k.split('/', 1)[1] for k in _expected() if k.startswith('loss/')])


def test_recorded_objectives_are_still_registered():
    for name in NAMES:
        for part in name.split('+'):
            assert part in OBJECTIVES, f"objective '{part}' has a recorded trace but is gone"


def _check(key: str, values: list[float]) -> None:
    values = [float(torch.tensor(v, dtype=torch.float32)) for v in values]
    if UPDATE:
        data = _expected()
        data[key] = values
        EXPECTED.write_text(json.dumps(data, indent=1, sort_keys=True) + '\n')
        return
    expected = _expected()
    assert key in expected, (f'no recorded values for {key}; record them with '
                             'GRAPHPFM_UPDATE_NUMERICS=1')
    assert values == expected[key]


def _graph_store(mol_store, small_smiles):
    n = mol_store.num_nodes.float()
    mol_store.y = torch.stack([(n > n.median()).float(), (n % 2 == 0).float()], dim=1)
    return attach_targets(mol_store, small_smiles, num_workers=0, progress=False)


@pytest.mark.parametrize('name', NAMES)
def test_three_step_loss_trace(name, mol_store, small_smiles, community_graph, tmp_path):
    molecular = '+' in name or 'ogb_atom' in OBJECTIVES.get(name).input_kinds
    torch.manual_seed(0)
    if molecular:
        data = _graph_store(mol_store, small_smiles)
        enc = build_encoder('gin', num_layers=2, hidden_channels=16)
        cfg = TrainConfig(epochs=1, batch_size=6, seed=0, log_every=1, progress=False,
                          device='cpu')
    else:
        data = community_graph()
        enc = build_encoder('gcn', num_layers=2, hidden_channels=16, in_channels=16)
        cfg = TrainConfig(epochs=3, seed=0, progress=False, device='cpu', log_every=1)
    obj = build_objective(name, enc, **OPTIONS.get(name, {}))
    history = Trainer(obj, cfg, checkpoint_path=tmp_path / 'c.pt').fit(data)
    trace = [v for h in history for v in h.get('step_loss', [h['loss']])][:3]
    assert len(trace) == 3
    _check(f'loss/{name}', trace)


@pytest.mark.data
def test_graph_finetune_score(data_root):
    bace = load_dataset('ogbg-molbace', root=data_root, progress=False)
    cfg = FinetuneConfig(epochs=2, batch_size=64, seeds=(0,), device='cpu')
    res = finetune(bace, lambda seed: build_encoder('gin', num_layers=2, hidden_channels=16,
                                                    dropout=0.5), cfg)
    run = res.runs[0]
    _check('finetune/ogbg-molbace', [run['best_valid'], run['test_at_best_valid']])


@pytest.mark.data
def test_node_probe_score(data_root):
    cora = load_dataset('Cora', root=data_root, progress=False)

    def make(seed: int):
        torch.manual_seed(seed)
        return build_encoder('gcn', num_layers=2, hidden_channels=32,
                             in_channels=cora.dataset.num_features)
    res = probe(cora, make, seeds=(0,))
    _check('probe/Cora', [res.runs[0]['best_valid'], res.runs[0]['test_at_best_valid']])


@pytest.mark.data
def test_graph_linear_finetune_and_probe_scores(data_root):
    bace = load_dataset('ogbg-molbace', root=data_root, progress=False)

    def make(seed: int):
        return build_encoder('gin', num_layers=2, hidden_channels=16)
    cfg = FinetuneConfig(mode='linear', epochs=2, batch_size=64, seeds=(1,), device='cpu')
    run = finetune(bace, make, cfg).runs[0]
    res = probe(bace, make, seeds=(0,))
    _check('finetune-linear/ogbg-molbace', [run['best_valid'], run['test_at_best_valid'],
                                            *run['curves']['train_loss']])
    _check('probe/ogbg-molbace', [res.runs[0]['best_valid'], res.runs[0]['test_at_best_valid']])


@pytest.mark.data
@pytest.mark.parametrize('mode,node_batch_size', [('full', 0), ('full', 512), ('linear', 0),
                                                  ('linear', 512)])
def test_node_finetune_score(data_root, mode, node_batch_size):
    cora = load_dataset('Cora', root=data_root, progress=False)
    cfg = FinetuneConfig(mode=mode, epochs=3, lr=1e-2, seeds=(0,), device='cpu',
                         node_batch_size=node_batch_size, dropout=0.5)
    res = finetune(cora, lambda seed: build_encoder(
        'gcn', num_layers=2, hidden_channels=32, in_channels=cora.dataset.num_features), cfg)
    run = res.runs[0]
    _check(f'finetune-{mode}-{node_batch_size}/Cora',
           [run['best_valid'], run['test_at_best_valid'], *run['curves']['train_loss']])
