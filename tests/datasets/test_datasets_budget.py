"""The time budget of one molecule in SMILES featurisation: a molecule over it is an invalid
record with its reason, and its neighbours are featurised as usual, in this process and in
worker processes (a molecule stuck where SIGALRM cannot reach, or one that crashes its
worker, included)."""
from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from ogb.utils import smiles2graph

import graphpfm.datasets.smiles as sm
from graphpfm.datasets import featurize_smiles, load_smiles_file
from graphpfm.datasets.cache import cache_file, file_fingerprint
from graphpfm.errors import ConfigError

# marked molecules (valid SMILES, so only the patched featuriser makes them special)
SLOW = 'CCCCCCCCO'       # sleeps, interruptible by SIGALRM
STUCK = 'CCCCCCCCN'      # sleeps with SIGALRM blocked: a C++ call that never returns
CRASH = 'CCCCCCCCS'      # kills its process: a crash inside RDKit
OVER = 'featurisation took longer than the budget of 0.5 s'
needs_fork = pytest.mark.skipif(multiprocessing.get_start_method() != 'fork',
                                reason='the patched featuriser reaches workers by fork')


@pytest.fixture
def marked(monkeypatch: pytest.MonkeyPatch) -> None:
    real = sm._smiles_to_graph

    def featurise(smiles: str):
        if smiles == SLOW:
            time.sleep(30)
        elif smiles == STUCK:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
            time.sleep(30)
        elif smiles == CRASH:
            os._exit(3)
        return real(smiles)
    monkeypatch.setattr(sm, '_smiles_to_graph', featurise)


def assert_graphs(store, smiles: list[str]) -> None:
    assert len(store) == len(smiles)
    for i, smi in enumerate(smiles):
        g, d = smiles2graph(smi), store[i]
        assert np.array_equal(d.x.numpy(), g['node_feat']), smi
        assert np.array_equal(d.edge_index.numpy(), g['edge_index']), smi


def test_over_budget_molecule_is_invalid_in_process(marked: None) -> None:
    smiles = ['CCO', 'c1ccccc1O', SLOW, 'CC(=O)O', 'not a smiles']
    handler = signal.getsignal(signal.SIGALRM)
    start = time.perf_counter()
    store = featurize_smiles(smiles, num_workers=0, progress=False, max_seconds=0.5)
    assert time.perf_counter() - start < 5  # interrupted, not slept for 30 s
    assert store.invalid == [(2, OVER), (4, 'whitespace inside the SMILES')]
    assert store.source_index.tolist() == [0, 1, 3]
    assert_graphs(store, ['CCO', 'c1ccccc1O', 'CC(=O)O'])
    # the signal state is as it was
    assert signal.getsignal(signal.SIGALRM) is handler
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


@needs_fork
def test_over_budget_stuck_and_crashing_molecules_in_workers(marked: None) -> None:
    smiles = ['CCO', SLOW, 'c1ccccc1O', 'CCN', STUCK, 'CC(=O)O', 'C1CC1', CRASH, 'N#N']
    start = time.perf_counter()
    store = featurize_smiles(smiles, num_workers=2, chunk_size=3, progress=False,
                             max_seconds=0.5)
    assert time.perf_counter() - start < 9  # budget + kill grace, not 30 s
    assert store.invalid == [(1, OVER), (4, OVER),
                             (7, 'featurisation crashed its worker process (exit code 3)')]
    assert store.source_index.tolist() == [0, 2, 3, 5, 6, 8]
    assert_graphs(store, ['CCO', 'c1ccccc1O', 'CCN', 'CC(=O)O', 'C1CC1', 'N#N'])
    assert store.meta['num_invalid'] == 3 and store.meta['count'] == len(smiles)


def test_budget_is_judged_after_the_fact_where_sigalrm_is_unavailable(monkeypatch) -> None:
    real = sm._smiles_to_graph

    def slow(smiles: str):
        if smiles == SLOW:
            time.sleep(0.6)
        return real(smiles)
    monkeypatch.setattr(sm, '_smiles_to_graph', slow)
    out = {}
    # not the main thread: no SIGALRM, the molecule runs to its end and is then judged
    thread = threading.Thread(target=lambda: out.update(store=featurize_smiles(
        ['CCO', SLOW, 'CCN'], num_workers=0, progress=False, max_seconds=0.3)))
    thread.start()
    thread.join(10)
    store = out['store']
    assert store.invalid == [(1, 'featurisation took longer than the budget of 0.3 s')]
    assert store.source_index.tolist() == [0, 2]


def test_no_budget_and_invalid_budgets(monkeypatch) -> None:
    real = sm._smiles_to_graph
    monkeypatch.setattr(sm, '_smiles_to_graph',
                        lambda s: (time.sleep(0.3), real(s))[1] if s == SLOW else real(s))
    store = featurize_smiles(['CCO', SLOW], num_workers=0, progress=False, max_seconds=None)
    assert store.source_index.tolist() == [0, 1] and store.invalid == []
    for bad in (0, -1.0, float('nan')):
        with pytest.raises(ConfigError, match='max_seconds'):
            featurize_smiles(['CCO'], num_workers=0, progress=False, max_seconds=bad)


def test_default_budget_keeps_the_cache_key(tmp_path: Path, fresh_cache: Path) -> None:
    path = tmp_path / 'mols.smi'
    path.write_text('CCO\nc1ccccc1\n')
    store = load_smiles_file(path, num_workers=0, progress=False)
    key = {'file': file_fingerprint(path), 'limit': None, 'featurizer': sm.featurizer_info()}
    assert store.meta['cache_path'] == str(cache_file('smiles', path.name, key))
    other = load_smiles_file(path, num_workers=0, progress=False, max_seconds=2.5)
    assert other.meta['cache_path'] != store.meta['cache_path']
    assert not other.meta['from_cache']
