"""Errors raised by the dataset loaders."""
from __future__ import annotations


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are absent from every place searched (and could not be downloaded).

    The message names the exact directory and files expected and how to place them
    (``$GRAPHPFM_DATA``, ``root=`` or ``--root``).
    """
