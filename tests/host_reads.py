"""Count the library's reads of tensor values back to the host, for the sync-free logging tests.

On a GPU, ``float(t)``, ``int(t)``, ``bool(t)``, ``t.item()``, ``t.tolist()`` and
``t.numpy()`` wait for the device (a synchronisation, a graph break under ``torch.compile``).
On the CPU they cost nothing, so the tests count the calls instead: :func:`host_reads`
patches those methods of :class:`torch.Tensor` and records every call made directly from
the library's own code (``graphpfm/``), with the file and line that made it. Reads inside
PyTorch or PyG themselves, and synchronisations that make no Python call (boolean-mask
indexing, ``nonzero``), are not counted.
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Iterator

import torch

PACKAGE = Path(__file__).resolve().parents[1] / 'graphpfm'
METHODS = ('item', 'tolist', 'numpy', '__float__', '__int__', '__bool__', '__index__')


@contextlib.contextmanager
def host_reads() -> Iterator[list[tuple[str, str, int]]]:
    """Within the block, every read listed in :data:`METHODS` made by a line of
    ``graphpfm/`` is appended to the yielded list as ``(method, path, line)``, the path
    relative to the repository root."""
    reads: list[tuple[str, str, int]] = []
    saved = {m: torch.Tensor.__dict__.get(m) for m in METHODS}

    def wrap(name: str, method):
        def read(self, *args, **kwargs):
            caller = sys._getframe(1)
            path = Path(caller.f_code.co_filename).resolve()
            if path.is_relative_to(PACKAGE):
                reads.append((name, str(path.relative_to(PACKAGE.parent)), caller.f_lineno))
            return method(self, *args, **kwargs)
        return read

    for m in METHODS:
        setattr(torch.Tensor, m, wrap(m, getattr(torch.Tensor, m)))
    try:
        yield reads
    finally:
        for m, original in saved.items():
            if original is None:
                delattr(torch.Tensor, m)
            else:
                setattr(torch.Tensor, m, original)
