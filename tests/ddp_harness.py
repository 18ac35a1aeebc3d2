"""Run a function in several gloo ranks on this machine, for the data-parallel tests.

Each rank gets the environment ``torchrun`` would give it (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, a free local port), one thread, and meets the others at a barrier before the
process group is destroyed (a rank left alone once hung in ``destroy_process_group`` in CI).
The library's code under test initialises the process group from that environment.
"""
from __future__ import annotations

import os
import socket
from typing import Any, Callable

import torch
import torch.multiprocessing as mp


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _entry(rank: int, world: int, port: int, fn: Callable[..., None],
           args: tuple[Any, ...]) -> None:
    os.environ.update({'MASTER_ADDR': '127.0.0.1', 'MASTER_PORT': str(port),
                       'RANK': str(rank), 'WORLD_SIZE': str(world), 'LOCAL_RANK': str(rank)})
    torch.set_num_threads(1)
    fn(rank, *args)
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()


def spawn_gloo(fn: Callable[..., None], *args: Any, world: int = 2) -> None:
    """Call ``fn(rank, *args)`` in ``world`` spawned processes (``fn`` must be a module-level
    function, and must have initialised the process group by the time it returns)."""
    mp.spawn(_entry, args=(world, _free_port(), fn, args), nprocs=world, join=True)
