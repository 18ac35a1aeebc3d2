"""Caches are keyed by the contents of the files they come from, not by their timestamps."""
import hashlib
import os
import shutil
from pathlib import Path

from graphpfm.datasets import cache as cache_mod
from graphpfm.datasets.cache import file_fingerprint
from graphpfm.datasets.smiles import load_smiles_file


def test_fingerprint_is_the_contents_and_is_remembered(tmp_path: Path, fresh_cache: Path,
                                                       monkeypatch) -> None:
    path = tmp_path / 'a.smi'
    path.write_bytes(b'CCO\nc1ccccc1\n')
    fp = file_fingerprint(path)
    assert fp == {'name': 'a.smi', 'size': 13,
                  'sha256': hashlib.sha256(b'CCO\nc1ccccc1\n').hexdigest()}
    reads = []
    real = cache_mod.file_sha256
    monkeypatch.setattr(cache_mod, 'file_sha256', lambda p, **k: reads.append(p) or real(p))
    assert file_fingerprint(path) == fp and reads == []  # remembered: not read again
    os.utime(path, ns=(1, 1))  # touched (a copy, a re-sync): read once more, same key
    assert file_fingerprint(path) == fp and len(reads) == 1
    # same size, other bytes, the old modification time put back: the change time differs
    path.write_bytes(b'CCO\nc1ccccc2\n')
    os.utime(path, ns=(1, 1))
    assert file_fingerprint(path) == {
        'name': 'a.smi', 'size': 13, 'sha256': hashlib.sha256(b'CCO\nc1ccccc2\n').hexdigest()}


def test_a_copied_corpus_reuses_its_cache(tmp_path: Path, fresh_cache: Path) -> None:
    first = tmp_path / 'one' / 'mols.smi'
    first.parent.mkdir()
    first.write_text('CCO\nc1ccccc1\nnot_smiles\n')
    a = load_smiles_file(first, num_workers=0, progress=False)
    assert not a.meta['from_cache']
    copy = tmp_path / 'two' / 'mols.smi'
    copy.parent.mkdir()
    shutil.copy(first, copy)  # a new path and a new modification time
    os.utime(copy, ns=(10**18, 10**18))
    b = load_smiles_file(copy, num_workers=0, progress=False)
    assert b.meta['from_cache'] and b.meta['cache_path'] == a.meta['cache_path']
    assert b.meta['source'] == str(copy.resolve())  # where it was read from this time
    assert b.invalid == a.invalid and len(b) == len(a) == 2
    copy.write_text('CCO\n')  # changed contents: featurised anew
    c = load_smiles_file(copy, num_workers=0, progress=False)
    assert not c.meta['from_cache'] and len(c) == 1
