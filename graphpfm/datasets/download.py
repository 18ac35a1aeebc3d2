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


def download_zip(url: str, workdir: str | Path, timeout: float = DEFAULT_TIMEOUT) -> Path:
    r"""Download the zip archive at ``url`` and extract it into a fresh folder under ``workdir``.

    Never prompts. Network and archive errors propagate (:class:`urllib.error.URLError`,
    :class:`OSError`, :class:`zipfile.BadZipFile`); the caller turns them into a
    :class:`~graphpfm.datasets.DatasetNotFoundError`.

    Args:
        url (str): archive address.
        workdir (str or Path): writable folder that receives the extraction folder.
        timeout (float, optional): seconds to wait for the server. (default: :obj:`10.0`)

    Returns:
        The folder holding the extracted files (the caller moves what it needs out of it).
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix='.download-', dir=workdir))
    archive = out / 'archive.zip'
    try:
        log.info('downloading %s', url)
        with urllib.request.urlopen(url, timeout=timeout) as response, open(archive, 'wb') as f:
            shutil.copyfileobj(response, f, length=1 << 20)
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(out)
        archive.unlink()
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    return out
