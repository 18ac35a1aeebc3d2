"""Fetch and unpack a dataset archive without prompting."""
from __future__ import annotations

import logging
import shutil
import tempfile
import urllib.request
import zipfile
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
#: Largest archive fetched without an explicit ``download=True`` (``ogb.utils.url.decide_download``
#: asks the user above 1 GB; we never ask, we refuse and say how to allow it).
AUTO_DOWNLOAD_MAX_BYTES = 1 << 30


class DownloadTooLargeError(OSError):
    """The server announced a file larger than the ``max_bytes`` the caller allowed."""


def _copy_response(url: str, dest: Path, timeout: float, max_bytes: int | None) -> None:
    log.info('downloading %s', url)
    with urllib.request.urlopen(url, timeout=timeout) as response:
        headers = getattr(response, 'headers', None)
        size = headers.get('Content-Length') if headers is not None else None
        if max_bytes is not None and size is not None and int(size) > max_bytes:
            raise DownloadTooLargeError(f'{url} is {int(size) / 2**30:.1f} GiB, more than the '
                                        f'{max_bytes / 2**30:.1f} GiB allowed without '
                                        'download=True')
        with open(dest, 'wb') as f:
            shutil.copyfileobj(response, f, length=1 << 20)


def download_file(url: str, dest: str | Path, timeout: float = DEFAULT_TIMEOUT,
                  max_bytes: int | None = None) -> Path:
    r"""Download ``url`` to the file ``dest`` atomically (temp file, then rename). Never prompts.

    Network errors propagate (:class:`urllib.error.URLError`, :class:`OSError`); the caller
    turns them into a :class:`~graphpfm.datasets.DatasetNotFoundError`.

    Args:
        url (str): file address.
        dest (str or Path): target file (its folder is created).
        timeout (float, optional): seconds to wait for the server. (default: :obj:`10.0`)
        max_bytes (int, optional): refuse files the server announces as larger
            (:class:`DownloadTooLargeError`). (default: :obj:`None`)
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f'.{dest.name}.download')
    try:
        _copy_response(url, tmp, timeout, max_bytes)
        tmp.replace(dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest


def download_zip(url: str, workdir: str | Path, timeout: float = DEFAULT_TIMEOUT,
                 max_bytes: int | None = None) -> Path:
    r"""Download the zip archive at ``url`` and extract it into a fresh folder under ``workdir``.

    Never prompts. Network and archive errors propagate (:class:`urllib.error.URLError`,
    :class:`OSError`, :class:`zipfile.BadZipFile`); the caller turns them into a
    :class:`~graphpfm.datasets.DatasetNotFoundError`.

    Args:
        url (str): archive address.
        workdir (str or Path): writable folder that receives the extraction folder.
        timeout (float, optional): seconds to wait for the server. (default: :obj:`10.0`)
        max_bytes (int, optional): refuse archives the server announces as larger
            (:class:`DownloadTooLargeError`). (default: :obj:`None`)

    Returns:
        The folder holding the extracted files (the caller moves what it needs out of it).
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix='.download-', dir=workdir))
    archive = out / 'archive.zip'
    try:
        _copy_response(url, archive, timeout, max_bytes)
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(out)
        archive.unlink()
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    return out
