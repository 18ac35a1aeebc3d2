"""Worker processes with a deadline per item (:class:`ChunkWorkers`): errors reach the
caller, and a worker that dies between items is replaced and its chunk run again once."""
from __future__ import annotations

import functools
import multiprocessing
import os

import pytest

import graphpfm.datasets.smiles as sm
import graphpfm.datasets.workers as workers
from graphpfm.datasets.workers import ChunkWorkers

pytestmark = pytest.mark.skipif(multiprocessing.get_start_method() != 'fork',
                                reason='the patched featuriser reaches workers by fork')


def test_results_cover_every_chunk_in_order() -> None:
    smiles = ['CCO', 'c1ccccc1', 'CCN', 'xx', 'N#N']
    fn = functools.partial(sm._featurize_chunk, max_seconds=None)
    chunks = [(0, smiles[:2]), (2, smiles[2:4]), (4, smiles[4:])]
    with ChunkWorkers(2) as pool:
        done = pool.run(fn, chunks)
    assert [s for s, _ in done] == [0, 2, 4]
    assert [r['kept'].tolist() for _, r in done] == [[0, 1], [0], [0]]
    assert done[1][1]['invalid'] == [(1, 'SMILES syntax error')]


def test_an_error_in_a_worker_reaches_the_caller(monkeypatch) -> None:
    def failing(smiles: str):
        raise KeyError(f'cannot featurise {smiles}')
    monkeypatch.setattr(sm, '_smiles_to_graph', failing)
    with ChunkWorkers(2) as pool, pytest.raises(KeyError, match='cannot featurise CCO'):
        pool.run(sm._featurize_chunk, [(0, ['CCO'])])


def test_a_worker_dying_between_items_is_retried_once_then_an_error(monkeypatch) -> None:
    deaths = multiprocessing.get_context().Value('i', 0)
    real = sm._smiles_to_graph

    def dying(smiles: str):
        if smiles == 'CCN':
            with deaths.get_lock():
                deaths.value += 1
            os._exit(5)
        return real(smiles)
    monkeypatch.setattr(sm, '_smiles_to_graph', dying)
    monkeypatch.setattr(workers, 'item_started', lambda position: None)  # position unknown
    with ChunkWorkers(2) as pool:
        with pytest.raises(RuntimeError, match=r'died \(exit code 5\) twice on items 0-2'):
            pool.run(sm._featurize_chunk, [(0, ['CCO', 'CCN', 'CCC'])])
        assert deaths.value == 2
        # the pool still works afterwards
        (start, res), = pool.run(sm._featurize_chunk, [(0, ['CCO'])])
        assert res['kept'].tolist() == [0]
