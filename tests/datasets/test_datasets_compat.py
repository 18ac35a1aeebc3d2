"""graphpfm.compat.ogb_compat: ogb's own PyG datasets on torch >= 2.6, never prompting."""
from __future__ import annotations

import builtins
import contextlib
import io
import shutil
from pathlib import Path

import pytest

from graphpfm.compat import ogb_compat


@pytest.fixture
def bace_copy(data_root: Path, tmp_path: Path, helpers) -> Path:
    """A writable copy of ogbg_molbace under tmp/ogbg_molbace; returns the OGB root (tmp)."""
    shutil.copytree(data_root / 'ogb' / 'ogbg_molbace', tmp_path / 'ogbg_molbace')
    helpers.make_writable(tmp_path)
    return tmp_path


@pytest.mark.data
def test_ogb_dataset_loads_under_compat(bace_copy: Path) -> None:
    from ogb.graphproppred import PygGraphPropPredDataset

    original = builtins.input
    with contextlib.redirect_stdout(io.StringIO()), ogb_compat():
        dataset = PygGraphPropPredDataset('ogbg-molbace', root=str(bace_copy))
    assert len(dataset) == 1513
    assert dataset[0].x.size(1) == 9
    assert builtins.input is original


@pytest.mark.data
def test_without_compat_torch_refuses_ogb_cache(bace_copy: Path) -> None:
    """The control: the failure ogb_compat exists for is real on this torch."""
    import pickle

    from ogb.graphproppred import PygGraphPropPredDataset

    with contextlib.redirect_stdout(io.StringIO()), pytest.raises(pickle.UnpicklingError,
                                                                  match='DataEdgeAttr'):
        PygGraphPropPredDataset('ogbg-molbace', root=str(bace_copy))


@pytest.mark.data
def test_prompt_raises_instead_of_blocking(bace_copy: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from ogb.graphproppred import PygGraphPropPredDataset

    (bace_copy / 'ogbg_molbace' / 'RELEASE_v1.txt').unlink()  # ogb now asks to re-download
    monkeypatch.setattr('sys.stdin', io.StringIO())  # even a closed/empty stdin is never read
    original = builtins.input
    with contextlib.redirect_stdout(io.StringIO()), pytest.raises(RuntimeError,
                                                                  match='refuses to prompt'):
        with ogb_compat():
            PygGraphPropPredDataset('ogbg-molbace', root=str(bace_copy))
    assert builtins.input is original
    assert (bace_copy / 'ogbg_molbace' / 'raw').is_dir()  # ogb deleted nothing
