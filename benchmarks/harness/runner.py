"""A process pool of benchmark jobs that writes each result as soon as it finishes.

Each job runs in a worker process with its own number of torch threads (``--jobs`` x
``--threads``). Workers are started with ``spawn`` (no copy of the parent's threads or torch
state) and as plain processes, not daemons, so that a job may start processes of its own
(the featuriser's). Results are appended to a JSON-lines file one by one, flushed, so a run
cut at any point keeps every finished record and the same command resumes it
(:func:`benchmarks.harness.records.completed`).
"""
from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

log = logging.getLogger('benchmarks.harness')

Task = dict[str, Any]
Record = dict[str, Any]


def threads_per_job(jobs: int, threads: int | None = None) -> int:
    """``threads`` if given, else the machine's cores shared evenly among ``jobs``."""
    return threads or max(1, (os.cpu_count() or 1) // max(1, jobs))


def init_worker(threads: int, root: str | None = None) -> None:
    """Set up a worker process: ``threads`` torch threads, freed memory kept for reuse (as the
    ``graphpfm`` command does), the data root, warnings only in its log."""
    import torch

    from graphpfm import tune_malloc
    tune_malloc()
    torch.set_num_threads(threads)
    if root:
        os.environ['GRAPHPFM_DATA'] = root
    logging.basicConfig(level=logging.WARNING)


def pool(jobs: int, ntasks: int, threads: int, root: str | None = None
         ) -> ProcessPoolExecutor:
    """A pool of ``min(jobs, ntasks)`` spawned workers set up by :func:`init_worker`."""
    return ProcessPoolExecutor(max(1, min(jobs, ntasks)), mp_context=mp.get_context('spawn'),
                               initializer=init_worker, initargs=(threads, root))


def unordered(executor: ProcessPoolExecutor, fn: Callable[[Task], Any], tasks: Sequence[Task]
              ) -> Iterator[Any]:
    """``fn(task)`` for every task, in completion order; the first failure is raised and the
    tasks not started are cancelled."""
    futures = [executor.submit(fn, t) for t in tasks]
    try:
        for fut in as_completed(futures):
            yield fut.result()
    finally:
        for fut in futures:
            fut.cancel()


def run_tasks(fn: Callable[[Task], Record], tasks: Sequence[Task], *, jobs: int = 1,
              threads: int | None = None, root: str | None = None,
              out: str | os.PathLike | None = None,
              describe: Callable[[Record], str] | None = None, progress: bool = False,
              desc: str = 'jobs') -> list[Record]:
    """Run ``fn`` on every task in a pool of ``jobs`` worker processes with ``threads`` torch
    threads each (:func:`threads_per_job`) and return the results in completion order.

    Args:
        fn (callable): a module-level function (workers import it by name) from a task to
            its record.
        tasks (sequence of dict): picklable tasks, in the order they should start.
        jobs (int, optional): worker processes. (default: :obj:`1`)
        threads (int, optional): torch threads per worker. (default: cores // jobs)
        root (str, optional): the data root, set as ``GRAPHPFM_DATA`` in the workers.
        out (path, optional): a JSON-lines file each record is appended to as it finishes.
        describe (callable, optional): a log line for each record.
        progress (bool, optional): show a progress bar. (default: :obj:`False`)
        desc (str, optional): the progress bar's label.
    """
    if not tasks:
        return []
    threads = threads_per_job(jobs, threads)
    results = []
    f = None
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        f = open(out, 'a')
    try:
        from tqdm.auto import tqdm
        with pool(jobs, len(tasks), threads, root) as executor, \
                tqdm(total=len(tasks), desc=desc, disable=not progress) as bar:
            for rec in unordered(executor, fn, tasks):
                if f is not None:
                    f.write(json.dumps(rec) + '\n')
                    f.flush()
                results.append(rec)
                bar.update(1)
                if describe is not None:
                    log.info('%s', describe(rec))
    finally:
        if f is not None:
            f.close()
    return results
