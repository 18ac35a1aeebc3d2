r"""Molecules from SMILES: OGB featurisation (:func:`ogb.utils.smiles2graph`) in parallel,
file readers and a cache of plain tensors.

Invalid SMILES (RDKit returns no molecule, or a molecule without atoms) are never fatal: they
are dropped, counted and reported in the store's ``meta`` (``num_invalid``,
``invalid_examples``), and ``store.source_index`` maps every kept graph back to its input
position.
"""
from __future__ import annotations

import gzip
import logging
import math
import multiprocessing
import os
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

from ..data.store import GraphStore, compact
from .bundle import DatasetBundle
from .cache import cache_file, file_fingerprint, load_cached, save_cached
from .splits import random_split, scaffold_split

log = logging.getLogger(__name__)

FEATURIZER = 'ogb.smiles2graph'
#: Bump when the featurisation output changes, to invalidate old caches.
FEATURIZER_VERSION = 1
MAX_INVALID_EXAMPLES = 20
#: SMILES longer than this are invalid records (featurisation time grows faster than linearly
#: with size: a 50,000-atom string would stall a worker for many seconds)
MAX_SMILES_LENGTH = 2000
#: molecules with more heavy atoms than this are invalid records
MAX_ATOMS = 1000
#: seconds one molecule may take to featurise before it is an invalid record
MAX_SECONDS = 10.0
#: seconds past :data:`MAX_SECONDS` (or the budget given) after which a worker process still
#: inside one molecule is killed and replaced
KILL_GRACE_S = 1.0
SMILES_SUFFIXES = ('.csv', '.csv.gz', '.smi', '.smi.gz')
SPLITS = ('scaffold', 'random')
EVAL_METRICS = {'binary classification': 'rocauc', 'regression': 'rmse',
                'multiclass classification': 'acc'}


def featurizer_info() -> dict[str, Any]:
    """Name and versions of the featuriser (recorded in ``meta`` and in cache keys)."""
    import ogb
    import rdkit
    return {'name': FEATURIZER, 'version': FEATURIZER_VERSION, 'ogb': ogb.__version__,
            'rdkit': rdkit.__version__}


# ---------------------------------------------------------------------------- featurisation
def _feature_widths() -> tuple[int, int]:
    from ogb.utils.features import get_atom_feature_dims, get_bond_feature_dims
    return len(get_atom_feature_dims()), len(get_bond_feature_dims())


def _text_problem(smiles: Any, max_length: int = MAX_SMILES_LENGTH) -> str | None:
    """Why ``smiles`` cannot be a SMILES string before RDKit sees it, or :obj:`None`."""
    if not isinstance(smiles, str):
        return f'not a string ({type(smiles).__name__})'
    if not smiles.strip():
        return 'empty record'
    if not smiles.isascii():  # (checks at C speed: a string may be megabytes long)
        try:
            smiles.encode('utf-8')
        except UnicodeEncodeError:
            return 'not valid UTF-8 text (undecodable bytes or a lone surrogate)'
    if smiles.split() != [smiles]:
        return 'whitespace inside the SMILES'
    if len(smiles) > max_length:
        return f'SMILES of {len(smiles)} characters, more than the limit of {max_length}'
    return None


def invalid_reason(smiles: Any) -> str:
    """Why RDKit rejects ``smiles`` (only called for failures, so it may be slow)."""
    from rdkit import Chem
    problem = _text_problem(smiles, max_length=len(smiles) if isinstance(smiles, str) else 0)
    if problem is not None:
        return problem
    try:
        mol = Chem.MolFromSmiles(smiles, sanitize=False)
    except Exception as err:  # text RDKit cannot take at all
        return f'RDKit cannot read it ({type(err).__name__})'
    if mol is None:
        return 'SMILES syntax error'
    if mol.GetNumAtoms() == 0:
        return 'molecule has no atoms'
    problems = Chem.DetectChemistryProblems(mol)
    if problems:
        return '; '.join(f'{p.GetType()}: {p.Message()}' for p in problems)
    return 'RDKit could not build the molecule'


#: molecules per saved part of a resumable featurisation (:func:`featurize_smiles`)
PART_SIZE = 100_000


def _merge_chunks(results: list[dict[str, Any]], starts: list[int]) -> dict[str, Any]:
    """One result from consecutive chunk results (positions shifted by the chunk starts)."""
    out = {k: np.concatenate([r[k] for r in results], 1 if k == 'edge_index' else 0)
           for k in ('x', 'edge_index', 'edge_attr', 'num_nodes', 'num_edges')}
    out['kept'] = np.concatenate([np.asarray(r['kept'], np.int64) + s
                                  for r, s in zip(results, starts)])
    out['invalid'] = [(s + i, reason) for r, s in zip(results, starts)
                      for i, reason in r['invalid']]
    return out


def _compact_part(res: dict[str, Any]) -> dict[str, Any]:
    """Cast a part's feature and local edge-index arrays to their smallest integer dtypes,
    so that parts held for the final concatenation (and saved parts) take about an eighth of
    their int64 size (atom and bond features fit uint8, local indices uint8 or int16)."""
    for key in ('x', 'edge_index', 'edge_attr'):
        if res[key].size:
            res[key] = compact(torch.from_numpy(res[key])).numpy()
    return res


def save_part(path: Path, arrays: dict[str, np.ndarray], count: int) -> None:
    """Save one part of a resumable computation atomically: numpy arrays only (it loads
    without pickle) plus the number of inputs it covers."""
    from ..paths import atomic_write_bytes
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {**arrays, 'count': np.asarray(count, np.int64)}

    def write(tmp: Any) -> None:
        with open(tmp, 'wb') as f:
            np.savez(f, **arrays)
    atomic_write_bytes(path, write)


def load_part(path: Path | None, count: int) -> dict[str, np.ndarray] | None:
    """The arrays of a part saved by :func:`save_part` for ``count`` inputs, or :obj:`None`
    (absent, unreadable or of another size: the part is then computed again)."""
    if path is None or not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if int(z['count']) != count:
                raise ValueError(f"part of {int(z['count'])} inputs, expected {count}")
            return {k: z[k] for k in z.files if k != 'count'}
    except Exception as exc:  # a truncated or foreign part is recomputed, never fatal
        log.warning('ignoring unreadable part %s (%s)', path, exc)
        return None


def _save_graph_part(path: Path, res: dict[str, Any], count: int) -> None:
    arrays = {k: res[k] for k in ('x', 'edge_index', 'edge_attr', 'num_nodes', 'num_edges',
                                  'kept')}
    arrays['invalid_index'] = np.asarray([i for i, _ in res['invalid']], np.int64)
    arrays['invalid_reason'] = np.asarray([r for _, r in res['invalid']], dtype=str)
    save_part(path, arrays, count)


def _load_graph_part(path: Path | None, count: int) -> dict[str, Any] | None:
    """A graph part saved by :func:`_save_graph_part`, its arrays in their smallest dtypes
    (parts saved by older versions hold int64)."""
    z = load_part(path, count)
    if z is None:
        return None
    res = {k: z[k] for k in ('x', 'edge_index', 'edge_attr', 'num_nodes', 'num_edges', 'kept')}
    res['invalid'] = [(int(i), str(r)) for i, r in zip(z['invalid_index'], z['invalid_reason'])]
    return _compact_part(res)


def map_in_parts(fn: Callable[[list[Any]], Any], items: Sequence[Any], *,
                 merge: Callable[[list[Any], list[int]], Any],
                 num_workers: int | None = None, chunk_size: int | None = None,
                 parts_dir: str | os.PathLike | None = None, part_size: int = PART_SIZE,
                 save: Callable[[Path, Any, int], None] | None = None,
                 load: Callable[[Path | None, int], Any] | None = None,
                 progress: bool = True, desc: str = 'featurising', unit: str = 'mol',
                 item_timeout: float | None = None,
                 on_lost: Callable[[Any, int | None], Any] | None = None
                 ) -> tuple[list[int], list[Any]]:
    r"""Apply ``fn`` to chunks of ``items`` in a process pool, part by part, resumably.

    The items are cut into parts of ``part_size`` (one part when ``parts_dir`` is
    :obj:`None`), each part into chunks of ``chunk_size`` handed to ``fn`` (in this process
    when ``num_workers`` is 0 or 1); ``merge(chunk_results, chunk_starts)`` makes a part's
    result. With ``parts_dir``, ``save(path, result, count)`` stores each finished part and
    ``load(path, count)`` (returning :obj:`None` when it must be computed) reuses the parts of
    an interrupted run. Returns the parts' start positions and their results.

    Worker processes are :class:`~graphpfm.datasets.workers.ChunkWorkers`: with
    ``item_timeout``, a worker that stays longer on one item (as ``fn`` reports with
    :func:`~graphpfm.datasets.workers.item_started`) is killed; the result of that item, or
    of an item whose worker died, is ``on_lost(item, exit_code)`` (see
    :meth:`~graphpfm.datasets.workers.ChunkWorkers.run`), and the rest of its chunk is run
    again.
    """
    from tqdm.auto import tqdm

    from .workers import ChunkWorkers

    items = list(items)
    n = len(items)
    workers = _resolve_workers(num_workers)
    if chunk_size is None:
        chunk_size = min(1000, max(64, math.ceil(n / (4 * max(workers, 1)))))
    if parts_dir is None:
        part_size = max(n, 1)
    elif part_size < 1:
        raise ValueError(f'part_size must be >= 1, got {part_size}')
    starts = list(range(0, n, part_size))
    workers = min(workers, math.ceil(n / chunk_size)) if n else 0
    results = []
    pool = ChunkWorkers(workers, multiprocessing.get_context()) if workers > 1 else None
    try:
        with tqdm(total=n, unit=unit, desc=desc, disable=not progress) as bar:
            for start in starts:
                part = items[start:start + part_size]
                path = None if parts_dir is None else Path(parts_dir) / f'part-{start:012d}.npz'
                res = load(path, len(part)) if (load is not None and path is not None) else None
                if res is None:
                    cstarts = list(range(0, len(part), chunk_size))
                    chunks = [(c, part[c:c + chunk_size]) for c in cstarts]
                    if pool is None:
                        done = []
                        for c, chunk in chunks:
                            done.append((c, fn(chunk)))
                            bar.update(len(chunk))
                    else:
                        done = pool.run(fn, chunks, item_timeout=item_timeout, on_lost=on_lost,
                                        on_done=bar.update)
                    res = merge([r for _, r in done], [c for c, _ in done])
                    if path is not None and save is not None:
                        save(path, res, len(part))
                else:
                    bar.update(len(part))
                results.append(res)
    finally:
        if pool is not None:
            pool.close()
    return starts, results


class _Overrun(BaseException):
    """Raised by the SIGALRM handler when a molecule exceeds its time budget (a
    :class:`BaseException`, so that no ``except Exception`` on the way swallows it)."""


def _alarm_usable() -> bool:
    """Whether SIGALRM can interrupt work here: a platform with ``setitimer``, the main
    thread, and the real-time interval timer not in use by someone else."""
    return (hasattr(signal, 'setitimer') and threading.current_thread() is threading.main_thread()
            and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0))


class _Alarm:
    """Runs calls under a time budget: :meth:`call` raises :class:`_Overrun` once ``seconds``
    have passed, at the next moment Python code runs (SIGALRM; inactive where
    :func:`_alarm_usable` is false or ``seconds`` is :obj:`None`)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.active = False
        self.armed = False
        self._previous: Any = None

    def __enter__(self) -> _Alarm:
        if self.seconds is not None and _alarm_usable():
            self._previous = signal.signal(signal.SIGALRM, self._handler)
            self.active = True
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.active:
            self.armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous)
            self.active = False

    def _handler(self, signum: int, frame: Any) -> None:
        if self.armed:  # a late signal, after the call returned, is ignored
            self.armed = False
            raise _Overrun

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        if not self.active:
            return fn(*args)
        try:
            self.armed = True
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
            return fn(*args)
        finally:
            self.armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)


def _smiles_to_graph(smiles: str) -> dict[str, Any] | None:
    """:func:`ogb.utils.smiles2graph` of one SMILES, or :obj:`None` when RDKit rejects it."""
    from ogb.utils import smiles2graph
    try:
        return smiles2graph(smiles)
    except Exception:  # RDKit returned None (smiles2graph then fails on it)
        return None


def _featurize_one(smiles: Any, max_length: int, max_atoms: int) -> dict[str, Any] | str:
    """The graph of one molecule, or the reason it is invalid."""
    problem = _text_problem(smiles, max_length)
    if problem is not None:
        return problem
    g = _smiles_to_graph(smiles)
    if g is not None and g['num_nodes'] > max_atoms:
        return f"{g['num_nodes']} atoms, more than the limit of {max_atoms}"
    if g is None or g['num_nodes'] == 0:
        return invalid_reason(smiles)
    return g


def _over_budget(seconds: float) -> str:
    return f'featurisation took longer than the budget of {seconds:g} s'


def _chunk_result(graphs: list[dict[str, Any]], kept: list[int],
                  invalid: list[tuple[int, str]]) -> dict[str, Any]:
    n_atom, n_bond = _feature_widths()
    return {
        'x': (np.concatenate([g['node_feat'] for g in graphs], 0) if graphs
              else np.zeros((0, n_atom), np.int64)),
        'edge_index': (np.concatenate([g['edge_index'] for g in graphs], 1) if graphs
                       else np.zeros((2, 0), np.int64)),
        'edge_attr': (np.concatenate([g['edge_feat'] for g in graphs], 0) if graphs
                      else np.zeros((0, n_bond), np.int64)),
        'num_nodes': np.asarray([g['num_nodes'] for g in graphs], np.int64),
        'num_edges': np.asarray([g['edge_index'].shape[1] for g in graphs], np.int64),
        'kept': np.asarray(kept, np.int64), 'invalid': invalid,
    }


def _featurize_chunk(smiles: Sequence[Any], max_length: int = MAX_SMILES_LENGTH,
                     max_atoms: int = MAX_ATOMS, max_seconds: float | None = MAX_SECONDS
                     ) -> dict[str, Any]:
    """Featurise a chunk with :func:`ogb.utils.smiles2graph` (runs in worker processes).

    Returns concatenated numpy arrays for the valid molecules and ``(position, reason)`` pairs
    for the invalid ones (positions are local to the chunk). A molecule that takes longer
    than ``max_seconds`` is invalid: interrupted by SIGALRM where it can be, else judged when
    it returns (see :func:`featurize_smiles`).
    """
    from rdkit.rdBase import BlockLogs

    from .workers import item_finished, item_started

    _block = BlockLogs()  # noqa: F841  (keeps RDKit quiet while alive)
    graphs, kept, invalid = [], [], []
    with _Alarm(max_seconds) as alarm:
        for i, s in enumerate(smiles):
            item_started(i)
            start = time.perf_counter()
            try:
                verdict = alarm.call(_featurize_one, s, max_length, max_atoms)
            except _Overrun:
                verdict = _over_budget(max_seconds)
            if max_seconds is not None and time.perf_counter() - start > max_seconds:
                verdict = _over_budget(max_seconds)
            item_finished()
            if isinstance(verdict, str):
                invalid.append((i, verdict))
            else:
                graphs.append(verdict)
                kept.append(i)
    return _chunk_result(graphs, kept, invalid)


def _lost_molecule(smiles: Any, exit_code: int | None, max_seconds: float | None
                   ) -> dict[str, Any]:
    """The result of a one-molecule chunk whose worker was killed over the budget
    (``exit_code`` :obj:`None`) or died on it."""
    if exit_code is None:
        reason = _over_budget(max_seconds) if max_seconds is not None else 'over time limit'
    else:
        reason = f'featurisation crashed its worker process (exit code {exit_code})'
    return _chunk_result([], [], [(0, reason)])


def _resolve_workers(num_workers: int | None) -> int:
    if num_workers is None:
        return os.cpu_count() or 1
    if num_workers < 0:
        raise ValueError(f'num_workers must be >= 0 (0 = in process), got {num_workers}')
    return num_workers


def featurize_smiles(smiles: Sequence[str], labels: Any = None, *,
                     num_workers: int | None = None, progress: bool = True,
                     chunk_size: int | None = None, source: str = 'list',
                     line_numbers: Sequence[int] | None = None,
                     parts_dir: str | os.PathLike | None = None,
                     part_size: int = PART_SIZE, max_smiles_length: int = MAX_SMILES_LENGTH,
                     max_atoms: int = MAX_ATOMS, max_seconds: float | None = MAX_SECONDS
                     ) -> GraphStore:
    r"""Featurise SMILES exactly as :func:`ogb.utils.smiles2graph` into a
    :class:`~graphpfm.data.GraphStore`, in parallel over chunks.

    Invalid SMILES are dropped (never fatal), together with their labels; ``store.meta``
    records ``source``, ``count`` (inputs), ``num_valid``, ``num_invalid``,
    ``invalid_examples`` (the first 20 as ``{'index', 'line', 'smiles', 'reason'}``) and
    ``featurizer`` (name plus ogb and RDKit versions). ``store.source_index`` (``LongTensor
    [num_graphs]``) holds each kept molecule's input position.

    Args:
        smiles (list of str): the molecules.
        labels (array-like, optional): ``[N]`` or ``[N, T]`` labels (NaN = missing), stored
            as ``float32`` :obj:`y`. (default: :obj:`None`)
        num_workers (int, optional): worker processes; ``0`` featurises in this process.
            (default: :obj:`os.cpu_count()`)
        progress (bool, optional): show a tqdm progress bar. (default: :obj:`True`)
        chunk_size (int, optional): molecules per task. (default: between 64 and 1000)
        source (str, optional): provenance recorded in ``meta``. (default: ``'list'``)
        line_numbers (list of int, optional): file line of each SMILES, for reports.
            (default: :obj:`None`)
        parts_dir (str or Path, optional): make the work resumable: molecules are featurised
            in parts of ``part_size``, each saved there (``part-NNNNN.npz``, written
            atomically) as soon as it is done; a rerun with the same inputs loads the parts
            present and featurises only the missing ones. The caller removes the folder once
            the result is stored. (default: :obj:`None`)
        part_size (int): molecules per saved part. (default: :data:`PART_SIZE`)
        max_smiles_length (int): longer SMILES are invalid records (without this bound one
            huge string can stall a worker). (default: :data:`MAX_SMILES_LENGTH`)
        max_atoms (int): molecules with more heavy atoms are invalid records.
            (default: :data:`MAX_ATOMS`)
        max_seconds (float, optional): time budget of one molecule in seconds: a molecule
            whose featurisation takes longer is an invalid record and featurisation goes on
            with the next; :obj:`None` sets no budget. (default: :data:`MAX_SECONDS`)

    Every input gets a verdict: a record that is not a string, empty, not valid text, holds
    whitespace, exceeds a limit or that RDKit rejects is invalid, with its reason
    (``store.invalid``: ``(position, reason)`` pairs; the first 20 also in ``meta``).

    What the time budget bounds: in worker processes, the wall time of every molecule. SIGALRM
    stops a molecule at the budget as soon as RDKit returns to Python; a worker still inside
    one RDKit call :data:`KILL_GRACE_S` seconds later is killed and replaced, and the rest of
    its chunk is featurised again (a worker that crashes on a molecule is handled the same
    way: that molecule is an invalid record). In this process (``num_workers`` 0 or 1) only
    SIGALRM can interrupt, so a single RDKit call that never returns is not bounded; where
    SIGALRM is unavailable (not the main thread, Windows, or the interval timer already in
    use) nothing interrupts a molecule, but one that took longer than the budget is still an
    invalid record. Use workers where a hard bound matters.
    """
    import functools
    if max_seconds is not None and not max_seconds > 0:
        from ..errors import ConfigError
        raise ConfigError(f'max_seconds must be a positive number of seconds or None, got '
                          f'{max_seconds}')
    smiles = list(smiles)
    n = len(smiles)
    y = None
    if labels is not None:
        y = torch.as_tensor(np.asarray(labels, dtype=np.float32))
        if y.dim() == 1:
            y = y.view(-1, 1)
        if y.dim() != 2 or y.size(0) != n:
            raise ValueError(f'labels must have shape [{n}] or [{n}, num_tasks], got '
                             f'{tuple(y.shape)}')
    starts, results = map_in_parts(
        functools.partial(_featurize_chunk, max_length=max_smiles_length, max_atoms=max_atoms,
                          max_seconds=max_seconds),
        smiles, merge=lambda done, cs: _compact_part(_merge_chunks(done, cs)),
        num_workers=num_workers, chunk_size=chunk_size, parts_dir=parts_dir,
        part_size=part_size, save=_save_graph_part, load=_load_graph_part, progress=progress,
        desc='featurising SMILES',
        item_timeout=None if max_seconds is None else max_seconds + KILL_GRACE_S,
        on_lost=functools.partial(_lost_molecule, max_seconds=max_seconds))

    n_atom, n_bond = _feature_widths()

    def cat(key: str, axis: int, empty: np.ndarray) -> np.ndarray:
        return np.concatenate([r[key] for r in results], axis) if results else empty
    x = torch.from_numpy(cat('x', 0, np.zeros((0, n_atom), np.int64)))
    edge_index = torch.from_numpy(cat('edge_index', 1, np.zeros((2, 0), np.int64)))
    edge_attr = torch.from_numpy(cat('edge_attr', 0, np.zeros((0, n_bond), np.int64)))
    num_nodes = torch.from_numpy(cat('num_nodes', 0, np.zeros(0, np.int64)))
    num_edges = torch.from_numpy(cat('num_edges', 0, np.zeros(0, np.int64)))
    kept = torch.from_numpy(np.concatenate([r['kept'] + s for r, s in zip(results, starts)])
                            if results else np.zeros(0, np.int64))
    invalid = [(s + i, reason) for r, s in zip(results, starts) for i, reason in r['invalid']]

    examples = []
    for idx, reason in invalid[:MAX_INVALID_EXAMPLES]:
        ex = {'index': idx, 'smiles': smiles[idx] if isinstance(smiles[idx], str)
              else repr(smiles[idx]), 'reason': reason}
        if line_numbers is not None:
            ex['line'] = int(line_numbers[idx])
        examples.append(ex)
    if invalid:
        log.warning('%s: %d of %d SMILES are invalid and were dropped (first: %s)', source,
                    len(invalid), n, examples[:3])
    meta = {'source': source, 'count': n, 'num_valid': int(kept.numel()),
            'num_invalid': len(invalid), 'invalid_examples': examples,
            'featurizer': featurizer_info()}
    zero = torch.zeros(1, dtype=torch.long)
    store = GraphStore(compact(x), compact(edge_index), torch.cat([zero, num_nodes.cumsum(0)]),
                       torch.cat([zero, num_edges.cumsum(0)]), compact(edge_attr),
                       None if y is None else y[kept], meta)
    store.source_index = kept
    store.invalid = invalid
    return store


# ---------------------------------------------------------------------------- file readers
def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suf in SMILES_SUFFIXES:
        if name.endswith(suf):
            return suf
    raise ValueError(f"unsupported SMILES file '{path}'; valid suffixes: "
                     f"{', '.join(SMILES_SUFFIXES)}")


def is_smiles_file(name: str | os.PathLike) -> bool:
    """Whether ``name`` looks like a SMILES file path (by suffix)."""
    return str(name).lower().endswith(SMILES_SUFFIXES)


def _text_lines(path: Path, suffix: str, keep_ends: bool = False) -> Iterator[str]:
    """The file's lines (split at ``\\n``) as text, line endings removed unless
    ``keep_ends``; bytes that are not UTF-8 become lone surrogates (such a record is reported
    invalid, never fatal)."""
    opener = gzip.open if suffix.endswith('.gz') else open
    try:
        with opener(path, 'rb') as f:
            for i, raw in enumerate(f):
                line = raw.decode('utf-8', errors='surrogateescape')
                if not keep_ends:
                    line = line.rstrip('\r\n')
                yield line.lstrip('\ufeff') if i == 0 else line
    except (OSError, EOFError) as err:  # e.g. a .gz that is not gzip, or is cut short
        from ..errors import DataError
        raise DataError(f'cannot read {path}: {err}') from None


def read_smiles_file(path: str | os.PathLike, limit: int | None = None
                     ) -> tuple[list[str], np.ndarray]:
    r"""Read the records of a ``.csv`` or ``.smi`` file (optionally ``.gz``): one SMILES per
    record, in file order, and each record's 1-based line number.

    Every record yields exactly one entry, valid or not, so outputs line up with inputs:

    * ``.csv``: the first line is the header, which must have a column named ``smiles`` (any
      case); every later line is a record (a blank line is an empty record, but blank lines
      at the end of the file are not records; a record without that column's field gives an
      empty SMILES; quoted fields follow the CSV rules and keep their line breaks; a line
      the csv module cannot parse, such as one with a carriage return inside an unquoted
      field, is one record of its text).
    * ``.smi``: one record per line, ``SMILES`` optionally followed by a space or tab and a
      name; lines starting with ``#`` are comments (not records); a first record ``smiles``
      is a header; a blank line is an empty record (but not at the end of the file).

    Empty records, bytes that are not UTF-8 and whitespace inside a SMILES are kept as given
    and found invalid by the featurisation, with their reason. Only the first ``limit``
    records are read.
    """
    path = Path(path)
    suffix = _suffix(path)
    if limit is not None and limit < 1:
        raise ValueError(f'limit must be a positive number of molecules, got {limit}')
    smiles: list[str] = []
    lines: list[int] = []
    if suffix.startswith('.csv'):
        records: Iterator[tuple[str, int, bool]] = _csv_records(path, suffix)
    else:
        records = _smi_records(_text_lines(path, suffix))
    blanks: list[tuple[str, int]] = []  # blank lines count only when a record follows them
    for text, lineno, blank in records:
        if blank:
            blanks.append((text, lineno))
            continue
        for text_, line_ in [*blanks, (text, lineno)]:
            smiles.append(text_)
            lines.append(line_)
        blanks = []
        if limit is not None and len(smiles) >= limit:
            del smiles[limit:], lines[limit:]
            break
    return smiles, np.asarray(lines, dtype=np.int64)


def _csv_records(path: Path, suffix: str) -> Iterator[tuple[str, int, bool]]:
    """``(SMILES, line number, blank line)`` of each record of a ``.csv`` file. A line the
    csv module cannot parse (a carriage return inside an unquoted field, a field longer than
    ``csv.field_size_limit()``) is one record: its text, found invalid by the featurisation."""
    import csv

    last = ['']

    def remember(lines: Iterator[str]) -> Iterator[str]:
        for line in lines:
            last[0] = line
            yield line
    # line endings kept: a quoted field keeps its line breaks (rows.line_num: lines read)
    rows = csv.reader(remember(_text_lines(path, suffix, keep_ends=True)))
    try:
        header = next(rows, None)
    except csv.Error as err:
        from ..errors import DataError
        raise DataError(f'cannot read the header of {path}: {err}') from None
    columns = [str(c).strip().lower() for c in (header or [])]
    if 'smiles' not in columns:
        raise ValueError(f"{path} has no 'smiles' column; columns: "
                         f"{', '.join(header or []) or 'none (empty file)'}")
    col = columns.index('smiles')
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error:
            text = last[0].rstrip('\r\n')
            yield text, rows.line_num, not text.strip()
            continue
        yield (row[col] if col < len(row) else '', rows.line_num,
               not any(f.strip() for f in row))


def _smi_records(text_lines: Iterator[str]) -> Iterator[tuple[str, int, bool]]:
    """``(SMILES, line number, blank line)`` of each record of a ``.smi`` file."""
    header_checked = False
    for lineno, line in enumerate(text_lines, start=1):
        if line.startswith('#'):
            continue
        token = line.lstrip(' \t')
        for sep in (' ', '\t'):
            token = token.split(sep, 1)[0]
        if not header_checked and line.strip():
            header_checked = True
            if token.lower() == 'smiles':
                continue
        yield token, lineno, not line.strip()


def load_smiles_file(path: str | os.PathLike, limit: int | None = None, *,
                     num_workers: int | None = None, progress: bool = True,
                     max_seconds: float | None = MAX_SECONDS) -> GraphStore:
    r"""Featurise a SMILES file (see :func:`read_smiles_file`) once and cache the result.

    The cache lives under ``cache_dir('smiles')``, keyed by the file's absolute path, size
    and modification time, ``limit``, the featuriser version and ``max_seconds`` when it is
    not the default, and is loaded with
    ``weights_only=True``. ``store.source_index`` maps graphs back to record positions;
    ``store.meta['from_cache']`` says whether the cache was used.

    Args:
        path (str or Path): a ``.csv``, ``.smi``, ``.csv.gz`` or ``.smi.gz`` file.
        limit (int, optional): featurise only the first ``limit`` records. (default:
            :obj:`None`)
        num_workers (int, optional): as in :func:`featurize_smiles`. (default: :obj:`None`)
        progress (bool, optional): show a progress bar. (default: :obj:`True`)
        max_seconds (float, optional): time budget of one molecule, as in
            :func:`featurize_smiles`. (default: :data:`MAX_SECONDS`)
    """
    path = Path(path)
    if not path.is_file():
        from .errors import DatasetNotFoundError
        raise DatasetNotFoundError(f'SMILES file {path} not found')
    _suffix(path)
    key = {'file': file_fingerprint(path), 'limit': limit, 'featurizer': featurizer_info()}
    if max_seconds != MAX_SECONDS:  # the default keeps the key (and caches) of earlier runs
        key['max_seconds'] = max_seconds
    cpath = cache_file('smiles', path.name, key)
    cached = load_cached(cpath)
    if cached is not None:
        store, extra = cached
        store.source_index = extra['source_index']
        if 'invalid' in extra:  # caches written before the reasons were kept have none
            store.invalid = [(int(i), str(r)) for i, r in extra['invalid']]
        # the key holds no path: where it was read from this time, and the cache it came from
        store.meta.update(from_cache=True, source=str(path.resolve()), cache_path=str(cpath))
        log.info('loaded %s from cache %s', path, cpath)
        return store
    smiles, lines = read_smiles_file(path, limit)
    # parts beside the cache make an interrupted featurisation resumable (same key, same dir)
    parts = cpath.with_name(cpath.stem + '.parts')
    store = featurize_smiles(smiles, num_workers=num_workers, progress=progress,
                             source=str(path.resolve()), line_numbers=lines, parts_dir=parts,
                             max_seconds=max_seconds)
    store.meta.update({'limit': limit, 'cache_path': str(cpath)})
    save_cached(cpath, store, source_index=store.source_index,
                invalid=[[int(i), str(r)] for i, r in store.invalid])
    shutil.rmtree(parts, ignore_errors=True)
    store.meta['from_cache'] = False
    return store


# ---------------------------------------------------------------------------- bundles
def infer_task_type(y: Tensor) -> str:
    """``'binary classification'`` when every known label is 0 or 1, ``'regression'`` when
    some label is not an integer; integers outside {0, 1} are ambiguous and raise."""
    known = y[~torch.isnan(y)]
    if known.numel() == 0:
        raise ValueError('every label is missing (NaN); cannot infer the task type')
    if bool(((known == 0) | (known == 1)).all()):
        return 'binary classification'
    if bool((known != known.round()).any()):
        return 'regression'
    raise ValueError("labels are integers outside {0, 1}; pass task_type= explicitly, one of: "
                     f"{', '.join(EVAL_METRICS)}")


def make_split(split: str, smiles: Sequence[str], frac: Sequence[float], seed: int
               ) -> dict[str, Tensor]:
    """Split molecules by ``split`` (one of :data:`SPLITS`)."""
    if split == 'scaffold':
        return scaffold_split(smiles, frac)
    if split == 'random':
        return random_split(len(smiles), frac, seed)
    raise ValueError(f"unknown split '{split}'; valid options: {', '.join(SPLITS)}")


def bundle_from_store(store: GraphStore, smiles: Sequence[str], name: str, *,
                      split: str = 'scaffold', frac: Sequence[float] = (0.8, 0.1, 0.1),
                      seed: int = 0, task_type: str | None = None,
                      split_idx: dict[str, Tensor] | None = None) -> DatasetBundle:
    """Wrap a featurised store (``smiles`` = the kept molecules, in store order) in a bundle:
    unlabelled when ``store.y`` is :obj:`None`, else labelled with a split."""
    meta = dict(store.meta)
    if store.y is None:
        return DatasetBundle(name=name, dataset=store, meta=meta)
    if task_type is None:
        task_type = infer_task_type(store.y)
    if task_type not in EVAL_METRICS:
        raise ValueError(f"task_type '{task_type}' invalid; valid options: "
                         f"{', '.join(EVAL_METRICS)}")
    if split_idx is None:
        split_idx = make_split(split, smiles, frac, seed)
    meta.update({'split': split, 'split_frac': list(frac)})
    if split == 'random':
        meta['split_seed'] = seed
    return DatasetBundle(name=name, dataset=store, split_idx=split_idx, level='graph',
                         task_type=task_type, num_tasks=store.num_tasks,
                         eval_metric=EVAL_METRICS[task_type], meta=meta)


def _check_labels(y: np.ndarray, task_type: str | None) -> None:
    """Labels must be finite or NaN (missing); binary labels 0 or 1; multiclass labels
    non-negative integers."""
    from ..errors import DataError
    observed = y[~np.isnan(y)]
    if np.isinf(observed).any():
        raise DataError('labels must be finite numbers (NaN marks a missing label); found '
                        f'{int(np.isinf(observed).sum())} infinite value(s)')
    if task_type == 'binary classification' and not np.isin(observed, (0.0, 1.0)).all():
        bad = sorted(set(observed[~np.isin(observed, (0.0, 1.0))].tolist()))[:5]
        raise DataError(f'binary classification labels must be 0 or 1 (NaN: missing); found '
                        f'{bad}')
    if task_type == 'multiclass classification' and (
            (observed < 0).any() or (observed != np.round(observed)).any()):
        raise DataError('multiclass labels must be class indices 0, 1, 2, ... (NaN: missing)')


def from_smiles(smiles: Sequence[str], labels: Any = None, name: str = 'custom', *,
                split: str = 'scaffold', frac: Sequence[float] = (0.8, 0.1, 0.1),
                seed: int = 0, task_type: str | None = None, num_workers: int | None = 0,
                progress: bool = False) -> DatasetBundle:
    r"""A :class:`DatasetBundle` from a list of SMILES (and optional labels).

    Without labels the bundle is an unlabelled corpus. With labels, the task type is
    ``'regression'`` if some label is not an integer, else ``'binary classification'``
    (override with :obj:`task_type`); ``num_tasks`` comes from the label shape, and the split
    is the OGB/pretrain-gnns scaffold split (or a seeded random one). Invalid SMILES are
    dropped together with their labels and counted in ``meta['num_invalid']``.

    Args:
        smiles (list of str): the molecules.
        labels (array-like, optional): ``[N]`` or ``[N, T]``, NaN = missing. (default:
            :obj:`None`)
        name (str, optional): bundle name. (default: ``'custom'``)
        split (str, optional): ``'scaffold'`` or ``'random'``. (default: ``'scaffold'``)
        frac (tuple of float, optional): train/valid/test fractions. (default: ``(0.8, 0.1,
            0.1)``)
        seed (int, optional): seed of the random split (recorded in ``meta``). (default:
            :obj:`0`)
        task_type (str, optional): force the task type. (default: :obj:`None`)
        num_workers (int, optional): as in :func:`featurize_smiles`. (default: :obj:`0`)
        progress (bool, optional): show a progress bar. (default: :obj:`False`)
    """
    from ..errors import DataError
    if split not in SPLITS:
        raise ValueError(f"unknown split '{split}'; valid options: {', '.join(SPLITS)}")
    if isinstance(smiles, (str, bytes)):
        raise DataError(f'smiles must be a list of SMILES strings, got one string '
                        f'{smiles[:40]!r}; write from_smiles([{smiles[:40]!r}]) for one molecule')
    smiles = list(smiles)
    if labels is not None:
        _check_labels(np.asarray(labels, dtype=np.float64), task_type)
    store = featurize_smiles(smiles, labels, num_workers=num_workers, progress=progress)
    kept = [smiles[i] for i in store.source_index.tolist()]
    return bundle_from_store(store, kept, name, split=split, frac=frac, seed=seed,
                             task_type=task_type)
