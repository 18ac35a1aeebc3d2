"""Where data are read from and where caches are written."""
from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Iterator

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


def check_writable(folder: str | os.PathLike) -> None:
    """Create ``folder`` (and its parents) if needed and write and remove a file in it; an
    :class:`OSError` says why a run could not write there, before any work."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / f'.write-test.{os.getpid()}'
    probe.write_bytes(b'')
    probe.unlink()


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


#: files that mark a folder as a graphpfm run (only such a folder is ever replaced)
RUN_MARKERS = ('config.yaml', 'checkpoint.pt')


@contextlib.contextmanager
def staged_directory(out: str | os.PathLike, *, overwrite: bool = False,
                     resume: bool = False) -> Iterator[Path]:
    r"""A run's output folder, written safely: the run works in a staging folder beside
    ``out`` (``.<name>.partial``) that replaces ``out`` only when the run finishes, so a
    failing run never damages a finished one.

    A staging folder without a training state (``*.state.pt``: the run failed before training)
    is discarded. A finished run in ``out`` (a folder holding one of :data:`RUN_MARKERS`) is
    replaced only
    with ``overwrite`` (and only once the new run finishes); a non-empty folder that holds no
    run is never replaced. An unfinished run left in the staging folder is continued
    with ``resume`` (the caller resumes from what it holds), discarded with ``overwrite``,
    else refused. The staging folder is checked for writability before the run starts.
    Raises :class:`~graphpfm.errors.ConfigError` (or
    :class:`~graphpfm.errors.ResumeError`) saying what to do.
    """
    from .errors import ConfigError, ResumeError
    out = Path(out)
    staging = out.with_name(f'.{out.name}.partial')
    if out.exists() and not out.is_dir():
        raise ConfigError(f'output folder {out} is a file; choose a folder')
    finished = out.is_dir() and any(out.iterdir())
    if finished and not any((out / marker).exists() for marker in RUN_MARKERS):
        raise ConfigError(f'output folder {out} holds files but no graphpfm run (no '
                          f"{' or '.join(RUN_MARKERS)}); choose a new or empty folder")
    if resume and not staging.is_dir() and finished:
        raise ResumeError(f'the run in {out} finished; nothing to resume. Use another output '
                          'folder, or --overwrite to train again')
    if not resume:
        if finished and not overwrite:
            raise ConfigError(f'{out} already holds a finished run; --overwrite replaces it (the '
                              'old run stays until the new one finishes), or choose another '
                              'output folder')
        if staging.exists() and not any(staging.glob('*.state.pt')):
            shutil.rmtree(staging)  # a run that failed before training: nothing to resume
        if staging.exists():
            if not overwrite:
                raise ConfigError(f'an unfinished run is in {staging}: --resume continues it, '
                                  '--overwrite starts again')
            shutil.rmtree(staging)
    made_parent = not out.parent.exists()
    try:
        check_writable(staging)
    except OSError as err:
        raise ConfigError(f'cannot write the run to {out.parent} ({err.strerror or err}); choose '
                          'a writable output folder') from None
    try:
        yield staging
    except BaseException:
        if staging.is_dir() and not any(staging.iterdir()):  # failed before writing anything
            staging.rmdir()
            if made_parent and not any(out.parent.iterdir()):
                out.parent.rmdir()
        raise
    if finished:
        old = out.with_name(f'.{out.name}.old.{os.getpid()}')
        out.rename(old)
        staging.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        if out.is_dir():  # an empty folder
            out.rmdir()
        staging.rename(out)
