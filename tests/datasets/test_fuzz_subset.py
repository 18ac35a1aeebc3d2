"""A fixed, seeded subset of the fuzz benchmark (:mod:`benchmarks.fuzz`) through the SMILES
featurisation: no exception, exactly one record per input, a reason for every invalid one."""
from __future__ import annotations

import time

import pytest

from benchmarks.fuzz import KINDS, fuzz_cases
from graphpfm.datasets import featurize_smiles

COUNT, SEED = 300, 0


@pytest.fixture(scope='module')
def cases() -> list[tuple[str, str]]:
    return fuzz_cases(COUNT, SEED)


def test_generator_is_seeded_and_covers_every_kind(cases) -> None:
    assert len(cases) == COUNT
    assert fuzz_cases(COUNT, SEED) == cases
    assert fuzz_cases(COUNT, SEED + 1) != cases
    assert {kind for kind, _ in cases} == set(KINDS)
    text = ''.join(s for _, s in cases)
    for char in ('\u00a0', '\u2028', '\x00', '\ud800'):
        assert char in text, repr(char)
    lengths = [len(s) for _, s in cases]
    assert min(lengths) == 0 and max(lengths) > 10_000


def test_fuzzed_strings_give_one_record_each(cases) -> None:
    strings = [s for _, s in cases]
    start = time.perf_counter()
    store = featurize_smiles(strings, num_workers=0, progress=False)
    assert time.perf_counter() - start < 20  # about 1 s on one core
    valid = store.source_index.tolist()
    invalid = dict(store.invalid)
    assert len(invalid) == len(store.invalid)
    assert sorted(valid + list(invalid)) == list(range(COUNT))
    assert all(isinstance(r, str) and r for r in invalid.values())
    assert store.meta['count'] == COUNT and len(store) == len(valid)
    kinds = [kind for kind, _ in cases]
    # some verdicts known from the kind alone
    assert all(invalid.get(i) == 'empty record' for i, k in enumerate(kinds) if k == 'empty')
    real = [i for i, k in enumerate(kinds) if k == 'real']
    assert sum(i in invalid for i in real) <= len(real) // 10  # NCI holds a few bad valences
    for i, s in enumerate(strings):
        if any('\ud800' <= c <= '\udfff' for c in s) and s.strip():
            assert 'UTF-8' in invalid[i] or 'whitespace' in invalid[i], (s, invalid[i])
        if len(s) > 2000 and s.split() == [s] and s.isascii():
            assert 'more than the limit of 2000' in invalid[i]
