"""Shared fixtures: the real data root, an isolated cache dir, tiny molecules."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _find_data_root() -> Path | None:
    env = os.environ.get('GRAPHPFM_DATA')
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / 'shared' / 'data')
    for c in candidates:
        if (c / 'ogb').is_dir():
            return c.resolve()
    return None


@pytest.fixture(scope='session')
def data_root() -> Path:
    """The real datasets (``$GRAPHPFM_DATA`` or ``../shared/data``).

    Under ``CI=true`` a missing data root is a failure, never a skip.
    """
    root = _find_data_root()
    if root is None:
        msg = ('real datasets not found: set GRAPHPFM_DATA or place them at '
               f'{REPO.parent / "shared" / "data"}')
        if os.environ.get('CI', '').lower() in ('1', 'true', 'yes'):
            pytest.fail(msg)
        pytest.skip(msg)
    return root


@pytest.fixture(autouse=True, scope='session')
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Caches go to a per-session temp dir, never into the user's home or the data root."""
    os.environ['GRAPHPFM_CACHE'] = str(tmp_path_factory.mktemp('graphpfm-cache'))
