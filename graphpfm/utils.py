"""Small shared helpers: seeding, device resolution."""
from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``'auto'``/None -> CUDA when available else CPU; anything else is validated."""
    from .errors import ConfigError
    if device is None or device == 'auto':
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    here = 'cpu, auto' + (', cuda, cuda:N' if torch.cuda.is_available() else '')
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"device '{device}' invalid; valid options here: {here}") from None
    if dev.type == 'cuda' and not torch.cuda.is_available():
        raise ConfigError(f"device '{device}' requested but CUDA is not available; "
                          f'valid options here: {here}')
    if dev.type == 'cuda' and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ConfigError(f"device '{device}' does not exist: {torch.cuda.device_count()} "
                          'CUDA device(s) here')
    if dev.type not in ('cpu', 'cuda', 'mps'):
        raise ConfigError(f"device '{device}' is not supported; valid options here: {here}")
    return dev


#: glibc's mallopt parameter numbers (malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3


def tune_malloc(mmap_threshold: int = 32 << 20, trim_threshold: int = 256 << 20,
                top_pad: int = 256 << 20) -> bool:
    """Make glibc's allocator keep freed memory for reuse instead of returning it to the
    kernel after every step (a process-wide setting, for application entry points such as the
    ``graphpfm`` command and the benchmarks; the library never calls it on import).

    A training step allocates and frees the same large tensors (message buffers, similarity
    matrices) every time. With glibc's defaults, blocks above a dynamic threshold are served
    by ``mmap`` and given back on free, so every step pays zero-filled page faults again: on
    Cora with GRACE a quarter of the CPU time was system time (``/usr/bin/time``: 4.96 s sys of
    22.3 s, 2.2 M minor faults). Raising the mmap threshold (to its 64-bit maximum, 32 MiB by
    default), the trim threshold and the top pad removes most of it (1.5 s sys, 0.55 M faults
    with the same values set through ``MALLOC_*_`` environment variables before start). Peak
    resident memory grows by at most about ``trim_threshold``.

    Setting ``GRAPHPFM_TUNE_MALLOC=0`` turns it off. Returns whether the setting was applied
    (``False`` off Linux/glibc, or when turned off).
    """
    import ctypes
    import ctypes.util
    import os
    import sys
    if os.environ.get('GRAPHPFM_TUNE_MALLOC', '1') == '0' or not sys.platform.startswith('linux'):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = [mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold)),
          mallopt(_M_TRIM_THRESHOLD, int(trim_threshold)),
          mallopt(_M_TOP_PAD, int(top_pad))]
    return all(v == 1 for v in ok)


def versions() -> str:
    """graphpfm's version, its main dependencies' and the device it would use, one per line
    (``graphpfm --version``; paste it into a bug report)."""
    import importlib.metadata as md

    from .version import __version__
    lines = [f'graphpfm {__version__}']
    for name in ('torch', 'torch_geometric', 'ogb', 'rdkit', 'scikit-learn'):
        try:
            lines.append(f'{name} {md.version(name)}')
        except md.PackageNotFoundError:
            lines.append(f'{name} not installed')
    if torch.cuda.is_available():
        device = f'cuda ({torch.cuda.get_device_name(0)}, {torch.cuda.device_count()} GPU(s))'
    else:
        device = f'cpu ({torch.get_num_threads()} threads; no CUDA device)'
    lines.append(f'device {device}')
    return '\n'.join(lines)
