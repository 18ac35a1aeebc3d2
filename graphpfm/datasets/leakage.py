r"""Leakage control: find (and remove) pretraining molecules that are also in the validation or
test split of a downstream dataset.

A molecule's identity is its standard InChIKey (RDKit), so different SMILES spellings of one
molecule (atom order, aromatic or Kekulé form, explicit hydrogens) meet; when RDKit cannot
make an InChI the canonical SMILES stands in. SMILES that RDKit cannot parse have no identity
and never match.
"""
from __future__ import annotations

import logging
import math
import multiprocessing
import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch

from .bundle import DatasetBundle

log = logging.getLogger(__name__)

SPLITS = ('train', 'valid', 'test')
DEFAULT_SPLITS = ('valid', 'test')
#: below this many SMILES, identities are computed in-process (a pool costs more)
_POOL_THRESHOLD = 2000


# ---------------------------------------------------------------------------- identities
def molecule_key(smiles: Any) -> str | None:
    """The identity of a molecule: its standard InChIKey, else its canonical SMILES when RDKit
    makes no InChI; :obj:`None` when RDKit cannot parse ``smiles``."""
    from rdkit import Chem
    from rdkit.rdBase import BlockLogs

    if not isinstance(smiles, str) or not smiles:
        return None
    _block = BlockLogs()  # noqa: F841  (keeps RDKit and InChI quiet while alive)
    mol = Chem.MolFromSmiles(smiles)
    if mol is None or mol.GetNumAtoms() == 0:
        return None
    try:
        key = Chem.MolToInchiKey(mol)
    except Exception:  # InChI failures surface as exceptions in some RDKit builds
        key = ''
    return key or Chem.MolToSmiles(mol)


def _keys_chunk(smiles: Sequence[Any]) -> list[str | None]:
    return [molecule_key(s) for s in smiles]


def molecule_keys(smiles: Sequence[Any], num_workers: int | None = None,
                  progress: bool = False) -> list[str | None]:
    r""":func:`molecule_key` of every SMILES, in order, in parallel over chunks.

    Args:
        smiles (list of str): the molecules.
        num_workers (int, optional): worker processes; ``0`` computes in this process.
            (default: all cores for 2,000 SMILES or more, else ``0``)
        progress (bool, optional): show a progress bar. (default: :obj:`False`)
    """
    from tqdm.auto import tqdm

    smiles = list(smiles)
    if num_workers is None:
        num_workers = (os.cpu_count() or 1) if len(smiles) >= _POOL_THRESHOLD else 0
    if num_workers < 0:
        raise ValueError(f'num_workers must be >= 0 (0 = in process), got {num_workers}')
    chunk = max(256, math.ceil(len(smiles) / (4 * max(num_workers, 1))))
    chunks = [smiles[i:i + chunk] for i in range(0, len(smiles), chunk)]
    out: list[str | None] = []
    with tqdm(total=len(smiles), unit='mol', desc='molecule identities',
              disable=not progress) as bar:
        if num_workers <= 1 or len(chunks) <= 1:
            for c in chunks:
                out.extend(_keys_chunk(c))
                bar.update(len(c))
        else:
            with multiprocessing.get_context().Pool(min(num_workers, len(chunks))) as pool:
                for keys, c in zip(pool.imap(_keys_chunk, chunks), chunks):
                    out.extend(keys)
                    bar.update(len(c))
    return out


# ---------------------------------------------------------------------------- SMILES sources
def _parse_names(names: str | Sequence[str]) -> list[str]:
    from .ogb_graph import ogb_info
    if isinstance(names, str):
        names = names.split(',')
    out = [n.strip() for n in names if n and n.strip()]
    if not out:
        raise ValueError('no downstream dataset given; name one or more OGB molecule datasets')
    for n in out:
        ogb_info(n)  # KeyError listing the valid names
    return out


def _check_splits(splits: Sequence[str]) -> list[str]:
    splits = [splits] if isinstance(splits, str) else list(splits)
    bad = [s for s in splits if s not in SPLITS]
    if bad or not splits:
        from ..errors import ConfigError
        raise ConfigError(f"invalid split(s) {bad or splits}; valid options: "
                          f"{', '.join(SPLITS)}")
    return splits


def downstream_smiles(name: str, root: str | os.PathLike | None = None,
                      splits: Sequence[str] = DEFAULT_SPLITS) -> tuple[list[str], list[int],
                                                                       list[str]]:
    r"""The SMILES of the molecules in ``splits`` of the OGB dataset ``name`` (from
    ``mapping/mol.csv.gz`` and the split files), their graph indices and their split names.

    Raises:
        KeyError: ``name`` is not an OGB molecule dataset (the message lists the valid ones).
        DatasetNotFoundError: the dataset's files are absent.
    """
    from .errors import DatasetNotFoundError
    from .ogb_graph import find_ogb_dir, ogb_info, ogb_smiles, read_split

    info = ogb_info(name)
    splits = _check_splits(splits)
    smiles = ogb_smiles(name, root)
    folder = find_ogb_dir(name, root)
    split_dir = folder / 'split' / info['split']
    if not split_dir.is_dir():
        raise DatasetNotFoundError(f'{name}: split folder {split_dir} not found')
    split_idx = read_split(split_dir, len(smiles))
    index, which = [], []
    for s in splits:
        ids = split_idx[s].tolist()
        index.extend(ids)
        which.extend([s] * len(ids))
    return [smiles[i] for i in index], index, which


def dataset_smiles(name: str | os.PathLike, root: str | os.PathLike | None = None,
                   limit: int | None = None) -> list[str]:
    r"""The SMILES of a dataset in input order, without featurising it: an OGB molecule dataset
    (``mapping/mol.csv.gz``), ``'embedded'``, ``'embedded-tpsa'``, ``'embedded-polar'``,
    ``'moses'`` or a SMILES file.
    Only the first ``limit`` records when given."""
    from . import DATASETS
    from .corpora import embedded_smiles_path, embedded_tpsa_path, moses_path, read_tpsa_file
    from .ogb_graph import ogb_mol_names, ogb_smiles
    from .smiles import is_smiles_file, read_smiles_file

    key = str(name)
    if key in ogb_mol_names():
        smiles = ogb_smiles(key, root)
        return smiles[:limit] if limit is not None else smiles
    if key in ('embedded-tpsa', 'embedded-polar'):
        smiles = read_tpsa_file(embedded_tpsa_path())[0]
        return smiles[:limit] if limit is not None else smiles
    paths = {'embedded': embedded_smiles_path(), 'moses': moses_path(root)}
    if key in paths or is_smiles_file(key) or os.path.isfile(key):
        path = paths.get(key, key)
        if not os.path.isfile(path):
            from .errors import DatasetNotFoundError
            raise DatasetNotFoundError(f"SMILES of '{key}' not found at {path}")
        return read_smiles_file(path, limit)[0]
    raise KeyError(f"Unknown dataset '{key}'. Valid options: {', '.join(DATASETS.names())}; "
                   'or a path to a .csv/.smi file (optionally .gz) with SMILES')


def _source_index(store: Any) -> torch.Tensor:
    src = getattr(store, 'source_index', None)
    return (torch.as_tensor(src, dtype=torch.long) if src is not None
            else torch.arange(len(store)))


def bundle_smiles(bundle: DatasetBundle, root: str | os.PathLike | None = None) -> list[str]:
    r"""The SMILES of every graph of ``bundle``, in store order (``store.source_index`` maps
    graphs to input records; invalid input rows were dropped at featurisation).

    Works for bundles of :func:`~graphpfm.datasets.load_dataset` (OGB datasets, the named
    corpora, SMILES files). A bundle built from an in-memory list has no file to read the
    SMILES back from: pass them to :func:`exclude_overlap` as ``smiles=``.
    """
    from .ogb_graph import ogb_mol_names

    meta = bundle.meta
    if bundle.name in ogb_mol_names() or bundle.name in ('embedded-tpsa', 'embedded-polar'):
        source = bundle.name
    else:
        source = meta.get('source')
        if not source or source == 'list' or not os.path.isfile(str(source)):
            raise ValueError(f"cannot recover the SMILES of dataset '{bundle.name}' (source "
                             f'{source!r} is not a file); pass them as smiles=')
    records = dataset_smiles(source, root, meta.get('limit'))
    return [records[i] for i in _source_index(bundle.dataset).tolist()]


# ---------------------------------------------------------------------------- overlap
@dataclass
class DatasetOverlap:
    r"""Overlap between a pretraining corpus and the checked splits of one downstream dataset.

    Attributes:
        name (str): the downstream dataset.
        splits (list of str): the splits checked.
        num_checked (int): molecules in those splits.
        corpus_index (list of int): corpus positions whose molecule is in those splits.
        examples (list of dict): a few matches, ``{'corpus_index', 'corpus_smiles',
            'downstream_index', 'downstream_smiles', 'split'}``.
    """

    name: str
    splits: list[str]
    num_checked: int
    corpus_index: list[int] = field(default_factory=list)
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def num_overlap(self) -> int:
        """Corpus molecules found in the checked splits."""
        return len(self.corpus_index)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (for checkpoints and JSON)."""
        return {'name': self.name, 'splits': list(self.splits), 'num_checked': self.num_checked,
                'num_overlap': self.num_overlap, 'examples': [dict(e) for e in self.examples]}


def find_overlap(corpus_smiles: Sequence[str], downstream_names: str | Sequence[str],
                 root: str | os.PathLike | None = None,
                 splits: Sequence[str] = DEFAULT_SPLITS, *, num_workers: int | None = None,
                 max_examples: int = 5, progress: bool = False) -> dict[str, DatasetOverlap]:
    r"""Which corpus molecules are, by :func:`molecule_key`, in ``splits`` of each downstream
    OGB dataset.

    Args:
        corpus_smiles (list of str): the pretraining molecules.
        downstream_names (str or list of str): OGB molecule dataset names (a comma-separated
            string is accepted).
        root (str or Path, optional): the data root. (default: :obj:`None`)
        splits (tuple of str): downstream splits to check. (default: ``('valid', 'test')``)
        num_workers (int, optional): see :func:`molecule_keys`. (default: :obj:`None`)
        max_examples (int): matches kept as examples per dataset. (default: :obj:`5`)
        progress (bool): show progress bars. (default: :obj:`False`)

    Returns:
        ``{downstream name: DatasetOverlap}`` in the order given.
    """
    names = _parse_names(downstream_names)
    splits = _check_splits(splits)
    corpus_smiles = list(corpus_smiles)
    corpus_keys = molecule_keys(corpus_smiles, num_workers, progress)
    report = {}
    for name in names:
        smiles, index, which = downstream_smiles(name, root, splits)
        keys = molecule_keys(smiles, num_workers, progress)
        first: dict[str, int] = {}
        for j, k in enumerate(keys):
            if k is not None:
                first.setdefault(k, j)
        hits = [i for i, k in enumerate(corpus_keys) if k is not None and k in first]
        examples = [{'corpus_index': i, 'corpus_smiles': corpus_smiles[i],
                     'downstream_index': index[first[corpus_keys[i]]],
                     'downstream_smiles': smiles[first[corpus_keys[i]]],
                     'split': which[first[corpus_keys[i]]]} for i in hits[:max_examples]]
        report[name] = DatasetOverlap(name, list(splits), len(smiles), hits, examples)
        log.info('%s: %d of %d corpus molecules are in the %s split(s) of %s', name, len(hits),
                 len(corpus_smiles), '/'.join(splits), name)
    return report


def overlap_table(report: dict[str, DatasetOverlap], corpus_size: int | None = None) -> str:
    """A markdown table of a :func:`find_overlap` report, one row per downstream dataset, then
    the examples."""
    lines = ['| downstream | splits | molecules checked | corpus molecules found |',
             '|---|---|---:|---:|']
    for o in report.values():
        found = f'{o.num_overlap}' + (f' of {corpus_size}' if corpus_size is not None else '')
        lines.append(f"| {o.name} | {'/'.join(o.splits)} | {o.num_checked} | {found} |")
    if corpus_size is not None and len(report) > 1:
        union = len(set().union(*(o.corpus_index for o in report.values())))
        lines.append(f'| (any) | | | {union} of {corpus_size} |')
    for o in report.values():
        for e in o.examples:
            lines.append(f"- {o.name} {e['split']} #{e['downstream_index']} "
                         f"`{e['downstream_smiles']}` = corpus #{e['corpus_index']} "
                         f"`{e['corpus_smiles']}`")
    return '\n'.join(lines)


def exclude_overlap(bundle: DatasetBundle, downstream_names: str | Sequence[str],
                    root: str | os.PathLike | None = None,
                    splits: Sequence[str] = DEFAULT_SPLITS, *,
                    smiles: Sequence[str] | None = None, num_workers: int | None = None,
                    progress: bool = False) -> DatasetBundle:
    r"""A new bundle without the molecules that :func:`find_overlap` finds in ``splits`` of the
    downstream datasets; the input bundle is left unchanged.

    The new store is ``bundle.dataset.index_select(kept)``; its ``source_index`` still maps
    graphs to the original input records, a ``split_idx`` is renumbered to the kept graphs,
    and ``meta['leakage']`` records ``{'downstream', 'splits', 'removed', 'per_dataset',
    'num_graphs_before'}`` (plain values; ``per_dataset`` counts each dataset's matches, which
    may overlap, ``removed`` the distinct molecules removed).

    Args:
        bundle (DatasetBundle): the pretraining data (a :class:`~graphpfm.data.GraphStore`).
        downstream_names (str or list of str): OGB molecule datasets to protect.
        root (str or Path, optional): the data root. (default: :obj:`None`)
        splits (tuple of str): downstream splits to protect. (default: ``('valid', 'test')``)
        smiles (list of str, optional): the SMILES of the bundle's graphs in store order;
            read back with :func:`bundle_smiles` when omitted. (default: :obj:`None`)
        num_workers (int, optional): see :func:`molecule_keys`. (default: :obj:`None`)
        progress (bool): show progress bars. (default: :obj:`False`)
    """
    store = bundle.dataset
    if not hasattr(store, 'index_select'):
        raise TypeError(f'exclude_overlap needs a GraphStore dataset, got {type(store).__name__}')
    smiles = bundle_smiles(bundle, root) if smiles is None else list(smiles)
    if len(smiles) != len(store):
        raise ValueError(f'{len(smiles)} SMILES given for {len(store)} graphs of '
                         f"'{bundle.name}'")
    report = find_overlap(smiles, downstream_names, root, splits, num_workers=num_workers,
                          progress=progress)
    drop = torch.zeros(len(store), dtype=torch.bool)
    for o in report.values():
        drop[torch.as_tensor(o.corpus_index, dtype=torch.long)] = True
    keep = (~drop).nonzero().view(-1)
    new_store = store.index_select(keep)
    new_store.source_index = _source_index(store)[keep]
    split_idx = None
    if bundle.split_idx is not None:
        new_pos = torch.full((len(store),), -1, dtype=torch.long)
        new_pos[keep] = torch.arange(keep.numel())
        split_idx = {k: new_pos[v][new_pos[v] >= 0] for k, v in bundle.split_idx.items()}
    removed = int(drop.sum())
    meta = dict(bundle.meta)
    meta['leakage'] = {'downstream': list(report), 'splits': list(_check_splits(splits)),
                       'removed': removed,
                       'per_dataset': {n: o.num_overlap for n, o in report.items()},
                       'num_graphs_before': len(store)}
    if 'num_graphs' in meta:
        meta['num_graphs'] = len(new_store)
    new_store.meta['leakage'] = dict(meta['leakage'])
    log.info("removed %d of %d molecules of '%s' found in the %s split(s) of %s", removed,
             len(store), bundle.name, '/'.join(meta['leakage']['splits']),
             ', '.join(report))
    return DatasetBundle(name=bundle.name, dataset=new_store, split_idx=split_idx,
                         level=bundle.level, task_type=bundle.task_type,
                         num_tasks=bundle.num_tasks, eval_metric=bundle.eval_metric, meta=meta)
