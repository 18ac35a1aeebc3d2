"""On-disk caches of processed datasets: plain tensors, keyed by the inputs they came from."""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import torch

from ..data.store import GraphStore
from ..paths import atomic_write_bytes, cache_dir

log = logging.getLogger(__name__)

CACHE_FORMAT_VERSION = 1


def file_fingerprint(path: str | os.PathLike) -> dict[str, Any]:
    """Name, size and SHA-256 of the contents of ``path``: what a cache built from the file is
    keyed by. A changed file gets another key; a copied, moved or re-synced one (new path or
    modification time, same bytes) keeps its caches. The digest is remembered per (path,
    size, inode, modification and change times) under ``cache_dir('fingerprints')``, so an
    unchanged file is read once."""
    path = Path(path).resolve()
    st = path.stat()
    stamp = {'path': str(path), 'size': st.st_size, 'inode': st.st_ino,
             'mtime_ns': st.st_mtime_ns, 'ctime_ns': st.st_ctime_ns}
    memo = cache_dir('fingerprints') / (
        hashlib.sha256(str(path).encode()).hexdigest()[:32] + '.json')
    try:
        known = json.loads(memo.read_text())
        if {k: known.get(k) for k in stamp} == stamp:
            return {'name': path.name, 'size': st.st_size, 'sha256': known['sha256']}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass  # no memo, or an unreadable one: hash the file
    digest = file_sha256(path)
    try:
        atomic_write_bytes(memo, lambda tmp: Path(tmp).write_text(
            json.dumps({**stamp, 'sha256': digest})))
    except OSError as err:  # a read-only cache: hash again next time
        log.debug('could not remember the fingerprint of %s: %s', path, err)
    return {'name': path.name, 'size': st.st_size, 'sha256': digest}


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """The SHA-256 of the contents of ``path`` (hex)."""
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def cache_file(sub: str, stem: str, key: Any) -> Path:
    """The cache file for ``key`` (any JSON-serialisable value) under ``cache_dir(sub)``."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()
    safe_stem = ''.join(c if c.isalnum() or c in '-_.' else '_' for c in stem)[:80]
    return cache_dir(sub) / f'{safe_stem}-{digest[:20]}.pt'


def save_cached(path: Path, store: GraphStore, **tensors: Any) -> None:
    """Save ``store`` plus extra plain values (tensors, dicts of tensors) atomically."""
    state = {'cache_format_version': CACHE_FORMAT_VERSION, 'store': store.state_dict(),
             'extra': tensors}
    atomic_write_bytes(path, lambda tmp: torch.save(state, tmp))


def load_cached(path: Path, mmap: bool = True) -> tuple[GraphStore, dict[str, Any]] | None:
    """Load a cache written by :func:`save_cached` (``weights_only=True``; memory-mapped
    with ``mmap``, see :meth:`GraphStore.load`); :obj:`None` if the file is absent or
    unreadable (it is then rebuilt)."""
    if not path.is_file():
        return None
    try:
        state = torch.load(path, weights_only=True, map_location='cpu', mmap=mmap)
        if state.get('cache_format_version') != CACHE_FORMAT_VERSION:
            raise ValueError(f"cache format {state.get('cache_format_version')} is not "
                             f'{CACHE_FORMAT_VERSION}')
        store = GraphStore.from_state_dict(state['store'])
    except Exception as exc:  # a stale or truncated cache is rebuilt, never fatal
        log.warning('ignoring unreadable cache %s (%s); rebuilding it', path, exc)
        return None
    return store, state.get('extra', {})


def save_tensors(path: Path, tensors: dict[str, Any], **extra: Any) -> None:
    """Save a dict of plain values (tensors, numbers, strings) atomically, loadable with
    ``weights_only=True`` (for single-graph node datasets)."""
    state = {'cache_format_version': CACHE_FORMAT_VERSION, 'tensors': tensors, 'extra': extra}
    atomic_write_bytes(path, lambda tmp: torch.save(state, tmp))


def load_tensors(path: Path) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Load a cache written by :func:`save_tensors` as ``(tensors, extra)``; :obj:`None` if the
    file is absent or unreadable (it is then rebuilt)."""
    if not path.is_file():
        return None
    try:
        state = torch.load(path, weights_only=True, map_location='cpu')
        if state.get('cache_format_version') != CACHE_FORMAT_VERSION:
            raise ValueError(f"cache format {state.get('cache_format_version')} is not "
                             f'{CACHE_FORMAT_VERSION}')
        tensors = state['tensors']
    except Exception as exc:  # a stale or truncated cache is rebuilt, never fatal
        log.warning('ignoring unreadable cache %s (%s); rebuilding it', path, exc)
        return None
    return tensors, state.get('extra', {})
