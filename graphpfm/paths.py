"""Where data are read from and where caches are written."""
from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = 'GRAPHPFM_DATA'
CACHE_ENV = 'GRAPHPFM_CACHE'


def _user_cache_base() -> Path:
    xdg = os.environ.get('XDG_CACHE_HOME')
    return Path(xdg) if xdg else Path.home() / '.cache'


def data_root(root: str | os.PathLike | None = None) -> Path:
    r"""Resolve the data root: ``root`` if given, else ``$GRAPHPFM_DATA``, else a user cache dir.

    Args:
        root (str or Path, optional): explicit data root. (default: :obj:`None`)
    """
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    return _user_cache_base() / 'graphpfm' / 'data'


def cache_dir(sub: str | None = None) -> Path:
    r"""Directory for derived caches (never inside the data root, which may be read-only).

    ``$GRAPHPFM_CACHE`` if set, else ``~/.cache/graphpfm/cache``.
    """
    env = os.environ.get(CACHE_ENV)
    base = Path(env).expanduser() if env else _user_cache_base() / 'graphpfm' / 'cache'
    path = base / sub if sub else base
    path.mkdir(parents=True, exist_ok=True)
    return path


def remove_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Delete the temp files of :func:`atomic_write_bytes` for ``path`` left by processes that
    no longer run (a killed write); returns what was removed."""
    path = Path(path)
    removed = []
    for tmp in path.parent.glob(f'.{path.name}.tmp.*'):
        pid = tmp.name.rsplit('.', 1)[-1]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            tmp.unlink()
            removed.append(tmp)
        except FileNotFoundError:  # another process removed it first
            pass
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def atomic_write_bytes(path: str | os.PathLike, writer) -> Path:
    """Call ``writer(tmp_path)`` then rename the temp file onto ``path`` (atomic on POSIX)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    tmp = path.with_name(f'.{path.name}.tmp.{os.getpid()}')
    try:
        writer(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
