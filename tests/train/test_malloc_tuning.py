"""graphpfm.utils.tune_malloc: large blocks come from the heap and stay there after free, so a
training step does not fault its buffers in again (glibc's own counters, mallinfo2)."""
import subprocess
import sys

import pytest

SCRIPT = """
import ctypes, sys, torch
from graphpfm.utils import tune_malloc

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ('arena', 'ordblks', 'smblks', 'hblks', 'hblkhd',
               'usmblks', 'fsmblks', 'uordblks', 'fordblks', 'keepcost')]

libc = ctypes.CDLL('libc.so.6')
libc.mallinfo2.restype = MallInfo2
applied = tune_malloc() if sys.argv[1] == '1' else False
before = libc.mallinfo2()
t = torch.ones(5_000_000)  # 20 MB
held = libc.mallinfo2()
del t
after = libc.mallinfo2()
mb = 1 << 20
print(int(applied), (held.hblkhd - before.hblkhd) // mb, (held.arena - before.arena) // mb,
      (after.arena - before.arena) // mb)
"""


def _run(tuned: bool, env: dict | None = None) -> list[int]:
    out = subprocess.run([sys.executable, '-c', SCRIPT, '1' if tuned else '0'], check=True,
                         capture_output=True, text=True, env=env).stdout.split()
    return [int(v) for v in out]


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc mallopt is Linux-only')
def test_tune_malloc_keeps_large_blocks_on_the_heap():
    import os
    applied, mmapped, heap_held, heap_after_free = _run(True)
    assert applied == 1
    assert mmapped == 0 and heap_held >= 19  # the 20 MB block came from the heap (sbrk)...
    assert heap_after_free >= 19  # ... and stayed there after it was freed (not trimmed)
    # without the setting, glibc serves a fresh 20 MB block with mmap (threshold 128 KiB)
    # or, after its dynamic threshold moved, trims it back on free: either way it is lost
    applied, mmapped, heap_held, heap_after_free = _run(False)
    assert applied == 0
    assert mmapped >= 19 or heap_after_free < 19
    off = _run(True, env={**os.environ, 'GRAPHPFM_TUNE_MALLOC': '0'})
    assert off[0] == 0
