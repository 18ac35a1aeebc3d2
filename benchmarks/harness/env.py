"""Where a result was measured: git commit, package versions, hardware, CPU time.

The one place the benchmarks look these up; every record that carries them gets them here.
"""
from __future__ import annotations

import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

#: the repository root (git commands run there)
REPO = Path(__file__).resolve().parents[2]

#: the packages a result depends on, in the order records list them
PACKAGES = ('graphpfm', 'torch', 'torch_geometric', 'ogb', 'rdkit', 'numpy')


def git_commit() -> str | None:
    """The checked-out commit, with ``-dirty`` appended when tracked files differ from it;
    :obj:`None` outside a git checkout."""
    def git(*args: str) -> str:
        return subprocess.run(['git', *args], capture_output=True, text=True, check=False,
                              cwd=REPO, timeout=10).stdout.strip()
    try:
        head = git('rev-parse', 'HEAD')
        dirty = git('status', '--porcelain', '--untracked-files=no')
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ('-dirty' if dirty else '') or None


def versions() -> dict[str, str]:
    """Python's version and those of :data:`PACKAGES` (``'not installed'`` for an absent
    optional one)."""
    import importlib.metadata as md
    out = {'python': platform.python_version()}
    for pkg in PACKAGES:
        try:
            out[pkg] = md.version(pkg.replace('_', '-') if pkg == 'torch_geometric' else pkg)
        except md.PackageNotFoundError:
            try:  # e.g. graphpfm from a source tree on sys.path
                mod = __import__(pkg)
            except ImportError:
                out[pkg] = 'not installed'
                continue
            out[pkg] = str(getattr(mod, '__version__', 'unknown'))
    return out


def cpu_model() -> str | None:
    """The CPU's model name from ``/proc/cpuinfo`` (``platform.processor()`` elsewhere)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def hardware(threads: int | None = None, *, detail: bool = False) -> dict[str, Any]:
    """The machine: architecture, ``platform.processor()``, logical CPUs, the torch threads of
    the job (when given) and the CUDA device (when one is visible); with ``detail``, also the
    CPU model and the CPUs this process may use."""
    hw: dict[str, Any] = {'machine': platform.machine(),
                          'processor': platform.processor() or None,
                          'cpu_count': os.cpu_count()}
    if threads is not None:
        hw['torch_threads'] = threads
    if detail:
        hw['cpu_model'] = cpu_model()
        hw['usable_cpus'] = (len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity')
                             else None)
    import torch
    if torch.cuda.is_available():
        hw['cuda'] = torch.cuda.get_device_name(0)
    return hw


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (e.g. featurisation workers)."""
    import resource
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + c.ru_utime + c.ru_stime


def timestamp() -> str:
    """Local time as ``2026-12-05T21:56:13+0000``."""
    return time.strftime('%Y-%m-%dT%H:%M:%S%z')
