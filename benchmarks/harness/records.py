"""Records: JSON lines, each keyed by the hash of the protocol that produced it.

A run writes one JSON line per unit of work (an (arm, dataset, seed) fine-tuning, say) as soon
as it finishes. Rerunning the same command reads them back and does only what is missing
(:func:`completed`); a record made under another protocol is never counted as done, and, unless
the benchmark reruns such records instead, it stops the run with an error naming it, so that
one table never mixes protocols.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

log = logging.getLogger('benchmarks.harness')


def protocol_hash(protocol: dict[str, Any]) -> str:
    """The first 16 hex digits of the SHA-256 of ``protocol`` as JSON with sorted keys: equal
    for equal protocols whatever their key order, different when any value differs."""
    return hashlib.sha256(json.dumps(protocol, sort_keys=True).encode()).hexdigest()[:16]


def read_records(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The records of a JSON-lines file (none if it is absent; blank lines skipped). A line
    that is not JSON (one cut by a kill) is an error naming the file and line, never
    guessed at."""
    path = Path(path)
    if not path.is_file():
        return []
    records = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise SystemExit(f'{path}:{i}: unreadable record ({e}); remove the line and '
                             'rerun') from None
    return records


def append_jsonl(path: str | os.PathLike, rows: Iterable[dict[str, Any]]) -> Path:
    """Append one JSON line per row to ``path`` (its folder made if absent); returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open('a') as f:
        for row in rows:
            f.write(json.dumps(row) + '\n')
    return out


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict[str, Any]]) -> Path:
    """Replace ``path`` with one JSON line per row, atomically (a temporary file renamed)."""
    path = Path(path)
    tmp = path.with_suffix('.tmp')
    tmp.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    tmp.replace(path)
    return path


def completed(records: Iterable[dict[str, Any]], key: Sequence[str],
              expected: Callable[[dict[str, Any]], str | None] | None = None, *,
              field: str = 'hash', path: str | os.PathLike = 'records',
              other: str = 'refuse') -> set[tuple[Any, ...]]:
    """The units of work already done: the ``key`` fields of every record whose ``field``
    is the hash ``expected(record)`` asks for (every record when ``expected`` is
    :obj:`None`).

    Args:
        records (iterable of dict): the records of ``path``.
        key (sequence of str): the fields that name a unit of work, e.g.
            ``('arm', 'dataset', 'seed')``.
        expected (callable, optional): the hash a record of this run must carry, from the
            record (its arm, say); :obj:`None` for a record that is not part of this run.
        field (str, optional): the record's hash field. (default: :obj:`'hash'`)
        path (path, optional): the records file, for messages.
        other (str, optional): what a record under another protocol does: ``'refuse'`` stops
            with an error naming it (a record of no part of this run too); ``'rerun'`` leaves
            it in the file, out of the done set, so its work is done again (records of no part
            of this run are ignored). (default: :obj:`'refuse'`)
    """
    if other not in ('refuse', 'rerun'):
        raise ValueError(f"other must be 'refuse' or 'rerun', got {other!r}")
    done, stale = set(), 0
    for r in records:
        unit = tuple(r.get(k) for k in key)
        if expected is None:
            done.add(unit)
            continue
        want, got = expected(r), r.get(field)
        if got is not None and got == want:
            done.add(unit)
        elif other == 'refuse':
            name = ', '.join(f'{k} {v}' for k, v in zip(key, unit))
            raise SystemExit(f'error: {path} holds a record ({name}) made under another '
                             f'protocol ({field} {got}, this run: {want}); use a new --out, '
                             'or the flags of that run')
        elif want is not None:
            stale += 1
    if stale:
        log.warning('%d record(s) in %s were made under other configurations: kept in the '
                    'file, left out of the table, their work done again', stale, path)
    return done


def differing(before: dict[str, Any], now: dict[str, Any], ignore: Sequence[str] = ()
              ) -> list[str]:
    """The keys (sorted) whose values differ between two protocols, except ``ignore``."""
    return sorted(k for k in set(before) | set(now)
                  if k not in ignore and before.get(k) != now.get(k))
