"""Fuzzing the SMILES featurisation: every string gives one record, and none crashes or hangs.

    python -m benchmarks.fuzz --count 10000 --seed 0 --out benchmarks/results/fuzz.json

Generates random and mutated SMILES (:func:`fuzz_cases`: real molecules of RDKit's
``NCI/first_5K.smi`` with characters inserted, deleted, swapped or replaced; unicode such as
U+00A0, U+2028, lone surrogates and NUL; very long strings; deep branch and ring nesting;
huge repeated atoms; odd bracket atoms and stereo; whitespace; empty strings) and
featurises them with :func:`graphpfm.datasets.featurize_smiles` in process, with worker
processes, one string at a time without the time budget (worker processes timing each
string and stopping it past the budget), and from a ``.csv`` and a ``.smi`` file read with
:func:`graphpfm.datasets.read_smiles_file`. Records crashes (exceptions escaping), hangs
(strings that ran past the budget when featurised alone without it), rows against inputs
(valid records plus invalid ones must cover every input exactly once: the rows of
``graphpfm embed``), valid and invalid counts, molecules per second with the limits and the
slowest strings; prints a markdown table and writes the JSON.
"""
from __future__ import annotations

import argparse
import csv
import itertools
import json
import logging
import os
import random
import string
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Sequence

from .harness.env import git_commit, hardware, timestamp, versions

#: characters of SMILES, for insertions and random strings
ALPHABET = 'CNOSPFIBrclnospbH[]()=#-+\\/@.%0123456789*:$~'
#: characters that are not SMILES: whitespace of all kinds, NUL, controls, lone surrogates,
#: zero-width, combining, fullwidth and astral characters
UNICODE = ('\u00a0', '\u2028', '\u2029', '\ufeff', '\u0085', '\x00', '\ud800', '\udfff',
           '\udc80', '\x1b', '\x7f', '\u200b', '\u0301', '\uff23', '\ufffd', '\u00e9',
           '\U0001d402', '\U0001f600', '\u3000', '\x0b', '\x0c', '\x1c')
WHITESPACE = (' ', '\t', '\n', '\r', '\r\n', '\u00a0', '\u2028', '\u3000', '\x0b')
ODD_ATOMS = ('[999999C]', '[C+999]', '[CH99]', '[Xx]', '[C@TB99]', '[C@OH30]',
             '[C:99999999999]', '[*]', '[#6]', '[2H]', '[U+6]', '[Og]', '[H+]', '[c-]',
             '[C@@H]', '[nH]', '[se]', '[0C]', '[C-0]', '[Fe--]', '[C@SP3]', '[Na+]')


def real_smiles() -> list[str]:
    """The SMILES of RDKit's ``NCI/first_5K.smi`` (shipped with RDKit)."""
    from rdkit import RDConfig
    path = Path(RDConfig.RDDataDir) / 'NCI' / 'first_5K.smi'
    return [line.split()[0] for line in path.read_text().splitlines() if line.strip()]


def _label(k: int) -> str:
    """The SMILES ring-closure label ``k``."""
    return str(k) if k < 10 else f'%{k}' if k < 100 else f'%({k})'


def _edit(rng: random.Random, s: str, pool: Sequence[str], edits: int) -> str:
    for _ in range(edits):
        op = rng.randrange(4)
        i = rng.randrange(len(s) + 1)
        if op == 0 or not s:  # insert
            s = s[:i] + rng.choice(pool) + s[i:]
        elif op == 1:  # delete
            s = s[:i] + s[i + 1:]
        elif op == 2 and len(s) > 1:  # swap two neighbours
            i = min(i, len(s) - 2)
            s = s[:i] + s[i + 1] + s[i] + s[i + 2:]
        else:  # replace
            s = s[:i] + rng.choice(pool) + s[i + 1:]
    return s


def _real(rng: random.Random, real: list[str]) -> str:
    return rng.choice(real)


def _mutated(rng: random.Random, real: list[str]) -> str:
    return _edit(rng, rng.choice(real), ALPHABET, rng.randint(1, 5))


def _unicode(rng: random.Random, real: list[str]) -> str:
    return _edit(rng, rng.choice(real), UNICODE, rng.randint(1, 3))


def _random(rng: random.Random, real: list[str]) -> str:
    pool = ALPHABET if rng.random() < 0.7 else string.printable
    return ''.join(rng.choice(pool) for _ in range(rng.randint(1, 200)))


def _whitespace(rng: random.Random, real: list[str]) -> str:
    ws = rng.choice(WHITESPACE)
    s = rng.choice(real)
    return rng.choice((ws, ws * 3, ws + s, s + ws, _edit(rng, s, [ws], 1), ''))


def _long(rng: random.Random, real: list[str]) -> str:
    n = rng.choice((1999, 2000, 2001, 5000, 100_000, 1_000_000))
    make = rng.choice((lambda: 'C' * n,
                       lambda: '.'.join(rng.choice(real) for _ in range(n // 30 + 1))[:n],
                       lambda: ''.join(rng.choice(ALPHABET) for _ in range(min(n, 20_000)))))
    return make()


def _nested(rng: random.Random, real: list[str]) -> str:
    k = rng.choice((10, 100, 300, 500, 999, 2000))
    kind = rng.randrange(5)
    if kind == 0:  # deep branches
        return 'C(' * k + 'C' + ')' * k
    if kind == 1:  # unbalanced branches
        return 'C(' * k + 'C' + ')' * rng.randrange(k)
    if kind == 2:  # nested rings: labels opened in order, closed in reverse
        k = min(k, 400)
        return ''.join(f'C{_label(i)}' for i in range(1, k + 1)) + \
            ''.join(f'C{_label(i)}' for i in range(k, 0, -1))
    if kind == 3:  # a complete graph of dummy atoms (dense ring closures)
        return _complete(rng.randint(4, 28), rng.choice(('*', '[U]', 'C', 'c')))
    return ''.join(rng.choice('()123456789%') if rng.random() < 0.5 else 'C'
                   for _ in range(k))


def _complete(n: int, atom: str) -> str:
    """The complete graph on ``n`` atoms written with ring closures."""
    open_, free, out = {}, list(range(1, 100_000)), []
    for i in range(n):
        s, closed = atom, []
        for j in range(i):
            k = open_.pop((j, i))
            s += _label(k)
            closed.append(k)
        for j in range(i + 1, n):
            open_[(i, j)] = k = free.pop(0)
            s += _label(k)
        free = sorted(free + closed)
        out.append(s)
    return '.'.join(out)


def _repeated(rng: random.Random, real: list[str]) -> str:
    unit = rng.choice(('C', 'c', '[C]', '[U]', '[Na+].', 'c1ccccc1', 'C1CC1', '[C@@H](F)',
                       'O', 'N=', '*', '[13CH4:999999].', 'C/C=C/'))
    k = rng.choice((10, 333, 999, 1000, 1001, 2000)) // max(1, len(unit) // 2)
    return unit * k


def _odd(rng: random.Random, real: list[str]) -> str:
    s = rng.choice(real)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(s) + 1)
        s = s[:i] + rng.choice(ODD_ATOMS) + s[i:]
    return s


def _stereo(rng: random.Random, real: list[str]) -> str:
    k = rng.choice((5, 50, 200, 600))
    if rng.random() < 0.5:
        return 'C' + ''.join(rng.choice(('[C@H](F)', '[C@@H](Cl)', '[C@](F)(Cl)'))
                             for _ in range(k))
    return 'C' + ''.join(rng.choice(('/C=C/', '\\C=C\\', '/C=C\\', '/C(F)=C/'))
                         for _ in range(k)) + 'C'


def _empty(rng: random.Random, real: list[str]) -> str:
    return ''


#: kinds of fuzzed strings: (generator, weight)
KINDS: dict[str, tuple[Callable[[random.Random, list[str]], str], float]] = {
    'real': (_real, 0.10), 'mutated': (_mutated, 0.30), 'unicode': (_unicode, 0.10),
    'random': (_random, 0.12), 'whitespace': (_whitespace, 0.06), 'long': (_long, 0.02),
    'nested': (_nested, 0.08), 'repeated': (_repeated, 0.07), 'odd_atoms': (_odd, 0.08),
    'stereo': (_stereo, 0.04), 'empty': (_empty, 0.03),
}


def fuzz_cases(count: int, seed: int = 0) -> list[tuple[str, str]]:
    """``count`` fuzzed strings with their kind (a key of :data:`KINDS`), the same for the
    same ``seed``."""
    rng = random.Random(seed)
    real = real_smiles()
    names = list(KINDS)
    weights = [KINDS[k][1] for k in names]
    kinds = rng.choices(names, weights, k=count)
    return [(kind, KINDS[kind][0](rng, real)) for kind in kinds]


def check_rows(store: Any, count: int) -> dict[str, Any]:
    """Whether the store's valid records (``source_index``) and invalid ones (``invalid``)
    cover the ``count`` inputs exactly once, each invalid with a reason."""
    valid = [int(i) for i in store.source_index.tolist()]
    invalid = [i for i, _ in store.invalid]
    covered = sorted(valid + invalid)
    return {'inputs': count, 'records': len(covered), 'valid': len(valid),
            'invalid': len(invalid), 'rows_match': covered == list(range(count)),
            'invalid_without_reason': sum(not r for _, r in store.invalid),
            'over_budget': sum('budget' in r for _, r in store.invalid),
            'worker_crashes': sum('crashed its worker' in r for _, r in store.invalid)}


def featurize_pass(strings: list[str], **kwargs: Any) -> dict[str, Any]:
    """Featurise every string at once; an exception escaping is a crash."""
    from graphpfm.datasets import featurize_smiles
    start = time.perf_counter()
    try:
        store = featurize_smiles(strings, progress=False, **kwargs)
    except Exception as exc:  # the crash being measured
        return {'crash': ''.join(traceback.format_exception_only(type(exc), exc)).strip(),
                'seconds': round(time.perf_counter() - start, 2)}
    seconds = time.perf_counter() - start
    return {**check_rows(store, len(strings)), 'crash': None, 'seconds': round(seconds, 2),
            'mol_per_s': round(len(strings) / seconds, 1)}


def _time_one(chunk: list[str]) -> list[dict[str, Any]]:
    """Featurise one string without a budget (in a worker, which reports the item so that
    the pool stops it past its deadline) and time it."""
    from graphpfm.datasets import featurize_smiles
    (smiles,) = chunk
    start = time.perf_counter()
    try:
        store = featurize_smiles([smiles], num_workers=0, progress=False, max_seconds=None)
        crash, records = None, len(store) + len(store.invalid)
    except Exception as exc:  # the crash being measured
        crash, records = f'{type(exc).__name__}: {exc}', 0
    return [{'seconds': time.perf_counter() - start, 'crash': crash, 'records': records}]


def one_by_one(strings: list[str], budget: float, workers: int) -> list[dict[str, Any]]:
    """Each string featurised alone without the time budget, in worker processes that stop
    one still running ``budget`` seconds (plus the kill grace) after it began."""
    from graphpfm.datasets.smiles import KILL_GRACE_S, map_in_parts

    def lost(smiles: str, exit_code: int | None) -> list[dict[str, Any]]:
        return [{'seconds': None, 'records': 0, 'stopped': exit_code is None,
                 'crash': None if exit_code is None else f'worker died ({exit_code})'}]
    _, parts = map_in_parts(_time_one, strings,
                            merge=lambda done, _: list(itertools.chain.from_iterable(done)),
                            num_workers=max(workers, 2), chunk_size=1, progress=False,
                            item_timeout=budget + KILL_GRACE_S, on_lost=lost)
    return parts[0] if parts else []


def _as_read(s: str) -> str:
    """``s`` as the reader gives it back: lone surrogates are written as their bytes,
    which are not UTF-8 and come back as one surrogate per byte."""
    return s.encode('utf-8', 'surrogatepass').decode('utf-8', 'surrogateescape')


def file_pass(strings: list[str], suffix: str, folder: Path, budget: float
              ) -> dict[str, Any]:
    """Write the strings to a file, read it back with ``read_smiles_file`` and featurise the
    records: each written record must come back once, as written."""
    from graphpfm.datasets import featurize_smiles, read_smiles_file
    path = folder / ('fuzz' + suffix)
    if suffix == '.csv':
        records = list(strings)
        with open(path, 'w', newline='', encoding='utf-8', errors='surrogatepass') as f:
            writer = csv.writer(f)
            writer.writerow(['smiles'])
            writer.writerows([s] for s in [*records, 'C'])
        expected = [_as_read(s) for s in records]
    elif suffix == '.raw.csv':  # one line each, unquoted: what a hand-made file holds
        records = [s for s in strings if not ('\n' in s or '"' in s)]
        with open(path, 'w', newline='', encoding='utf-8', errors='surrogatepass') as f:
            f.write('smiles\n' + ''.join(f'{s}\n' for s in [*records, 'C']))
        expected = None  # a comma ends the field
    else:  # one line each: a line break splits a record, '#' starts a comment
        records = [s for s in strings if not ('\n' in s or '\r' in s or s.startswith('#'))]
        with open(path, 'w', newline='', encoding='utf-8', errors='surrogatepass') as f:
            f.write('smiles\n' + ''.join(f'{s}\n' for s in [*records, 'C']))
        expected = [_as_read(s).lstrip(' \t').split(' ', 1)[0].split('\t', 1)[0]
                    for s in records]
    start = time.perf_counter()
    try:
        got, _ = read_smiles_file(path)
        store = featurize_smiles(got, num_workers=0, progress=False, max_seconds=budget)
    except Exception as exc:  # the crash being measured
        return {'written': len(records), 'crash': f'{type(exc).__name__}: {exc}'}
    rows = check_rows(store, len(got))
    got = got[:-1] if got and got[-1] == 'C' else got  # the last record, written to end it
    return {'written': len(records), 'read': len(got),
            'differ': None if expected is None else
            sum(a != b for a, b in zip(got, expected)) + abs(len(got) - len(expected)),
            **rows, 'crash': None,
            'seconds': round(time.perf_counter() - start, 2)}


def run(count: int, seed: int, workers: int, budget: float, command: str = ''
        ) -> dict[str, Any]:
    cases = fuzz_cases(count, seed)
    strings = [s for _, s in cases]
    kinds: dict[str, int] = {}
    for kind, _ in cases:
        kinds[kind] = kinds.get(kind, 0) + 1
    logger = logging.getLogger('graphpfm')
    level = logger.level
    logger.setLevel(logging.ERROR)  # one warning per invalid batch otherwise
    try:
        passes = {'in_process': featurize_pass(strings, num_workers=0, max_seconds=budget),
                  'workers': featurize_pass(strings, num_workers=workers, max_seconds=budget)}
        timed = one_by_one(strings, budget, workers)
        with tempfile.TemporaryDirectory() as tmp:
            for suffix in ('.csv', '.raw.csv', '.smi'):
                passes[suffix] = file_pass(strings, suffix, Path(tmp), budget)
    finally:
        logger.setLevel(level)
    seconds = [t['seconds'] if t['seconds'] is not None else float('inf') for t in timed]
    order = sorted(range(len(timed)), key=lambda i: -seconds[i])
    slowest = [{'index': i, 'kind': cases[i][0], 'length': len(strings[i]),
                'smiles': strings[i][:120] + ('...' if len(strings[i]) > 120 else ''),
                'seconds': None if seconds[i] == float('inf') else round(seconds[i], 3)}
               for i in order[:5]]
    alone = {'inputs': len(timed),
             'crashes': sum(t['crash'] is not None for t in timed),
             'hangs': sum(s > budget for s in seconds),
             'records_not_one': sum(t['records'] != 1 and t['crash'] is None
                                    and t['seconds'] is not None for t in timed),
             'seconds_total': round(sum(s for s in seconds if s != float('inf')), 2)}
    crashes = alone['crashes'] + sum(p.get('crash') is not None for p in passes.values())
    return {
        'benchmark': 'fuzz', 'command': command,
        'count': count, 'seed': seed, 'workers': workers, 'max_seconds': budget,
        'kinds': kinds, 'passes': passes, 'one_by_one': alone, 'slowest': slowest,
        'crashes': crashes, 'hangs': alone['hangs'],
        'rows_match': all(p.get('rows_match') for p in passes.values()),
        'commit': git_commit(), 'versions': versions(), 'hardware': hardware(detail=True),
        'finished': timestamp(),
    }


def table(result: dict[str, Any]) -> str:
    rows = ['| pass | inputs | valid | invalid | rows = inputs | crash | over budget | s | '
            'mol/s |', '|---|---|---|---|---|---|---|---|---|']
    for name, p in result['passes'].items():
        rows.append(f"| {name} | {p.get('inputs', p.get('written'))} | {p.get('valid', '-')} | "
                    f"{p.get('invalid', '-')} | {p.get('rows_match', '-')} | "
                    f"{p.get('crash') or 'none'} | {p.get('over_budget', '-')} | "
                    f"{p.get('seconds', '-')} | {p.get('mol_per_s', '-')} |")
    alone = result['one_by_one']
    slow = result['slowest'][0] if result['slowest'] else {}
    rows.append('')
    rows.append(f"one by one without the budget: {alone['crashes']} crashes, {alone['hangs']} "
                f"over {result['max_seconds']:g} s; slowest {slow.get('seconds')} s "
                f"({slow.get('kind')}, {slow.get('length')} characters)")
    return '\n'.join(rows)


def main(argv: list[str] | None = None) -> int:
    from graphpfm.datasets.smiles import MAX_SECONDS
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--count', type=int, default=10_000)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--workers', type=int, default=os.cpu_count() or 2)
    p.add_argument('--max-seconds', type=float, default=MAX_SECONDS,
                   help='time budget of one molecule (default: the library default)')
    p.add_argument('--out', default='benchmarks/results/fuzz.json')
    args = p.parse_args(argv)
    command = 'python -m benchmarks.fuzz ' + ' '.join(sys.argv[1:] if argv is None else argv)
    result = run(args.count, args.seed, args.workers, args.max_seconds, command)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + '\n')
    print(table(result))
    print(f'-> {out}')
    return 0 if not result['crashes'] and result['rows_match'] else 1


if __name__ == '__main__':
    sys.exit(main())
