r"""Worker processes for chunked work with a deadline per item.

:class:`ChunkWorkers` runs ``fn(chunk)`` in worker processes, as :class:`multiprocessing.Pool`
does, but each worker has a pipe of its own, so that one can be killed without harming the
others. A chunk function says which item it is on with :func:`item_started` and
:func:`item_finished` (no-ops outside a worker); a worker that stays on one item longer than
``item_timeout`` seconds (a C++ call that never returns to Python) is killed, and a worker
that dies on an item (a crash inside RDKit) is replaced: that item's result comes from
``on_lost`` and the rest of its chunk is run again.
"""
from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection as mpc
import signal
import time
from collections import deque
from typing import Any, Callable, Sequence

log = logging.getLogger(__name__)

#: seconds between two checks of the workers' deadlines
POLL_S = 0.05
#: times one chunk is run again after its worker died between items, before it is an error
MAX_RETRIES = 1

# (shared progress array, this worker's slot): set in worker processes only
_progress: tuple[Any, int] | None = None


def item_started(position: int) -> None:
    """Mark the start of item ``position`` of the current chunk (in a worker)."""
    if _progress is not None:
        array, slot = _progress
        array[2 * slot + 1] = time.monotonic()
        array[2 * slot] = position


def item_finished() -> None:
    """Mark the end of the current item (in a worker)."""
    if _progress is not None:
        array, slot = _progress
        array[2 * slot] = -1


def _worker_main(conn: Any, progress: Any, slot: int) -> None:
    """Run the chunks that arrive on ``conn`` until it is closed or sends :obj:`None`."""
    global _progress
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    _progress = (progress, slot)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        fn, chunk = task
        try:
            out: tuple[str, Any] = ('ok', fn(chunk))
        except Exception as exc:
            out = ('error', exc)
        progress[2 * slot] = -1
        try:
            conn.send(out)
        except (EOFError, OSError):
            return
        except Exception as exc:  # a result or an error that does not pickle
            conn.send(('error', RuntimeError(f'{type(exc).__name__}: {exc}')))


class ChunkWorkers:
    r"""A pool of ``workers`` processes that run chunk functions with a deadline per item.

    Args:
        workers (int): number of processes.
        context (multiprocessing context, optional): how to start them. (default: the
            default context)
    """

    def __init__(self, workers: int, context: Any = None) -> None:
        if workers < 1:
            raise ValueError(f'workers must be >= 1, got {workers}')
        self.context = context or multiprocessing.get_context()
        self._array = self.context.RawArray('d', 2 * workers)
        self._procs: list[Any] = [None] * workers
        self._conns: list[Any] = [None] * workers
        for slot in range(workers):
            self._start(slot)

    def _start(self, slot: int) -> None:
        self._array[2 * slot] = -1
        parent, child = self.context.Pipe()
        proc = self.context.Process(target=_worker_main, args=(child, self._array, slot),
                                    daemon=True, name=f'graphpfm-worker-{slot}')
        proc.start()
        child.close()
        self._procs[slot], self._conns[slot] = proc, parent

    def _stop(self, slot: int) -> int | None:
        """Kill the worker in ``slot`` (if still alive; another starts when needed); returns
        its exit code."""
        proc = self._procs[slot]
        proc.kill()
        proc.join()
        self._conns[slot].close()
        self._procs[slot] = self._conns[slot] = None
        return proc.exitcode

    def run(self, fn: Callable[[list[Any]], Any], chunks: Sequence[tuple[int, list[Any]]], *,
            item_timeout: float | None = None,
            on_lost: Callable[[Any, int | None], Any] | None = None,
            on_done: Callable[[int], Any] | None = None) -> list[tuple[int, Any]]:
        r"""Run ``fn`` on every chunk.

        Args:
            fn (callable): ``fn(items) -> result``, picklable; it may report its items with
                :func:`item_started` and :func:`item_finished`.
            chunks (list of (int, list)): ``(start, items)`` pairs.
            item_timeout (float, optional): seconds one item may take before its worker is
                killed. (default: :obj:`None`: no deadline)
            on_lost (callable, optional): ``on_lost(item, exit_code) -> result`` of a
                one-item chunk whose worker was killed (``exit_code`` :obj:`None`: for
                overrunning ``item_timeout``) or died on it; without it, or when the worker
                died between items, the chunk is run again once, then it is an error.
                (default: :obj:`None`)
            on_done (callable, optional): called with the number of items of each finished
                result (a progress bar's ``update``). (default: :obj:`None`)

        Returns:
            ``(start, result)`` pairs sorted by start; a chunk with a lost item gives several
            results that together cover it.

        Raises:
            RuntimeError: a worker died twice on the same chunk between items.
            Exception: whatever ``fn`` raised, in the first chunk that failed.
        """
        queue = deque((start, list(items), 0) for start, items in chunks if len(items))
        busy: dict[int, tuple[int, list[Any], int]] = {}
        done: list[tuple[int, Any]] = []

        def finish(start: int, count: int, result: Any) -> None:
            done.append((start, result))
            if on_done is not None:
                on_done(count)

        def lose(slot: int, timed_out: bool) -> None:
            start, items, retries = busy.pop(slot)
            pos = int(self._array[2 * slot])
            code = self._stop(slot)
            if 0 <= pos < len(items) and on_lost is not None:
                cause = (f'ran past the deadline of {item_timeout:g} s' if timed_out
                         else f'died (exit code {code})')
                log.warning('a worker %s on item %d; it was replaced', cause, start + pos)
                finish(start + pos, 1, on_lost(items[pos], None if timed_out else code))
                for sub in ((start + pos + 1, items[pos + 1:]), (start, items[:pos])):
                    if sub[1]:
                        queue.appendleft((*sub, retries))
            elif retries < MAX_RETRIES:
                log.warning('worker died (exit code %s) on items %d-%d; running them again',
                            code, start, start + len(items) - 1)
                queue.appendleft((start, items, retries + 1))
            else:
                raise RuntimeError(f'a worker process died (exit code {code}) twice on items '
                                   f'{start}-{start + len(items) - 1}')

        try:
            self._loop(fn, queue, busy, finish, lose, item_timeout)
        except BaseException:  # workers still on this run's chunks must not answer the next
            for slot in busy:
                self._stop(slot)
            raise
        return sorted(done, key=lambda pair: pair[0])

    def _loop(self, fn: Callable[[list[Any]], Any], queue: deque, busy: dict,
              finish: Callable[..., None], lose: Callable[..., None],
              item_timeout: float | None) -> None:
        while queue or busy:
            for slot in range(len(self._procs)):
                if queue and slot not in busy:
                    if self._procs[slot] is None:
                        self._start(slot)
                    task = queue.popleft()
                    self._array[2 * slot] = -1
                    try:
                        self._conns[slot].send((fn, task[1]))
                    except (EOFError, OSError):  # it died while idle
                        queue.appendleft(task)
                        self._stop(slot)
                        continue
                    busy[slot] = task
            if not busy:  # every send failed: start workers again and retry
                continue
            waiting = {}
            for slot in busy:
                waiting[self._conns[slot]] = slot
                waiting[self._procs[slot].sentinel] = slot
            ready = mpc.wait(list(waiting), timeout=POLL_S if item_timeout else None)
            for obj in ready:
                slot = waiting[obj]
                if slot not in busy:  # its pipe and its sentinel were both ready
                    continue
                conn = self._conns[slot]
                try:
                    message = conn.recv() if obj is conn or conn.poll() else None
                except (EOFError, OSError):
                    message = None
                if message is None:
                    lose(slot, timed_out=False)
                    continue
                status, value = message
                if status == 'error':
                    raise value
                start, items, _ = busy.pop(slot)
                finish(start, len(items), value)
            if item_timeout is not None:
                now = time.monotonic()
                for slot in list(busy):
                    pos, since = self._array[2 * slot], self._array[2 * slot + 1]
                    if pos >= 0 and now - since > item_timeout and \
                            self._array[2 * slot] == pos:
                        lose(slot, timed_out=True)

    def close(self) -> None:
        """Stop every worker."""
        for slot, proc in enumerate(self._procs):
            if proc is not None:
                self._stop(slot)

    def __enter__(self) -> ChunkWorkers:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
