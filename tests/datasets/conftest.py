"""Helpers for the dataset tests: tiny fake OGB datasets written in OGB's on-disk layout."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# small, varied molecules: rings, aromatics, charges, stereo, a single atom, two fragments
FAKE_SMILES = ['CCO', 'c1ccccc1O', 'C', 'C[C@@H](N)C(=O)O', '[Na+].[Cl-]', 'C1CC1C#N',
               'O=C(O)c1ccccc1OC(C)=O', 'CC(C)Cc1ccc(C(C)C(=O)O)cc1', 'N#N', 'c1ccncc1']


def write_fake_ogb(folder: Path, smiles: list[str] = FAKE_SMILES, num_tasks: int = 2,
                   seed: int = 0) -> np.ndarray:
    """Write ``smiles`` as an OGB graph-property dataset at ``folder`` (raw edges stored once,
    as OGB does); returns the labels written (NaN = missing)."""
    from ogb.utils import smiles2graph

    graphs = [smiles2graph(s) for s in smiles]
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=(len(smiles), num_tasks)).astype(np.float64)
    labels[rng.random(labels.shape) < 0.2] = np.nan
    raw = folder / 'raw'
    raw.mkdir(parents=True)

    def write(name: str, array: np.ndarray) -> None:
        pd.DataFrame(array).to_csv(raw / f'{name}.csv.gz', header=False, index=False)

    write('edge', np.concatenate([g['edge_index'][:, 0::2] for g in graphs], 1).T)
    write('edge-feat', np.concatenate([g['edge_feat'][0::2] for g in graphs], 0))
    write('node-feat', np.concatenate([g['node_feat'] for g in graphs], 0))
    write('num-node-list', np.array([[g['num_nodes']] for g in graphs]))
    write('num-edge-list', np.array([[g['edge_index'].shape[1] // 2] for g in graphs]))
    write('graph-label', labels)
    split = folder / 'split' / 'scaffold'
    split.mkdir(parents=True)
    n = len(smiles)
    parts = {'train': np.arange(0, n - 4), 'valid': np.arange(n - 4, n - 2),
             'test': np.arange(n - 2, n)}
    for name, idx in parts.items():
        pd.DataFrame(idx).to_csv(split / f'{name}.csv.gz', header=False, index=False)
    (folder / 'mapping').mkdir()
    pd.DataFrame({'smiles': smiles, 'mol_id': range(n)}).to_csv(
        folder / 'mapping' / 'mol.csv.gz', index=False)
    (folder / 'RELEASE_v1.txt').write_text('fake\n')
    return labels


def tree_state(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and mtime (to show a tree is untouched)."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            st = os.stat(os.path.join(dirpath, f))
            out[os.path.join(dirpath, f)] = (st.st_size, st.st_mtime_ns)
    return out


def make_writable(root: Path) -> None:
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            os.chmod(p, os.stat(p).st_mode | stat.S_IWUSR)
    os.chmod(root, os.stat(root).st_mode | stat.S_IWUSR)


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache dir of this test only (so 'first load' really is the first)."""
    path = tmp_path / 'cache'
    monkeypatch.setenv('GRAPHPFM_CACHE', str(path))
    return path


@pytest.fixture
def helpers():
    """The helpers above, for test modules (which must not import conftest)."""
    from types import SimpleNamespace
    return SimpleNamespace(write_fake_ogb=write_fake_ogb, fake_smiles=list(FAKE_SMILES),
                           tree_state=tree_state, make_writable=make_writable)
