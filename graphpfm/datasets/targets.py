r"""Self-supervised graph-level targets computed from each molecule's structure by RDKit, for
graph property prediction pretraining (`GROVER <https://arxiv.org/abs/2007.02835>`_'s
semantic motifs, `KPGT <https://arxiv.org/abs/2206.03364>`_'s descriptors and fingerprints).

Three target kinds (:data:`TARGET_KINDS`), each gathered into batches under its name:

- ``'motif'``: presence (count > 0) of RDKit's functional groups, the ``fr_*`` fragment
  counters of :mod:`rdkit.Chem.Fragments` (85), stored as packed bits.
- ``'descriptors'``: RDKit's other 2D descriptors (``rdkit.Chem.Descriptors._descList`` without
  the ``fr_*`` counters and :data:`SLOW_DESCRIPTORS`), standardised with statistics of the
  corpus that survive outliers: each column is clipped to its 0.1% and 99.9% quantiles, then
  centred and scaled by the clipped mean and standard deviation; stored in half precision
  (standardised values lose less than 0.01 of a standard deviation). A column that is
  constant or never finite on the corpus, and any entry RDKit fails on, is NaN (masked out of
  the loss).
- ``'ecfp4'``: Morgan fingerprint bits of radius 2 (ECFP4), :data:`ECFP_BITS` bits, packed.

``targets_ok`` (bool) marks the molecules whose SMILES RDKit could read. The targets use the
structure only, never a label, so pretraining on them needs no leakage control beyond what the
corpus itself needs. They are computed once per corpus in the featurisation's process pool
(resumable in parts) and cached beside the graphs, keyed by the molecules (a hash of their
SMILES), :data:`TARGETS_VERSION` and the RDKit version: a graph cache gains targets without
being featurised again.
"""
from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ..data.store import GraphStore
from ..paths import atomic_write_bytes, cache_dir
from .bundle import DatasetBundle

log = logging.getLogger(__name__)

#: Bump when the targets (their kinds, columns, standardisation or storage) change.
TARGETS_VERSION = 1
TARGET_KINDS = ('motif', 'descriptors', 'ecfp4')
#: descriptors left out for their cost: ``qed`` alone takes a fifth of the time of all the
#: others together (about 1 ms per MOSES molecule) and is a function of molecular weight,
#: logP, H-bond donors and acceptors, polar surface area, rotatable bonds and aromatic rings,
#: which are targets themselves
SLOW_DESCRIPTORS = ('qed',)
ECFP_RADIUS = 2
ECFP_BITS = 1024
#: quantiles a descriptor column is clipped to before its statistics are taken
CLIP_QUANTILES = (0.001, 0.999)
#: rows sampled for the quantiles (all rows when the corpus is smaller)
QUANTILE_SAMPLE = 200_000


def motif_names() -> list[str]:
    """The ``fr_*`` functional-group counters of this RDKit, in RDKit's order."""
    from rdkit.Chem import Descriptors
    return [name for name, _ in Descriptors._descList if name.startswith('fr_')]


def descriptor_names() -> list[str]:
    """The 2D descriptors used as regression targets, in RDKit's order."""
    from rdkit.Chem import Descriptors
    return [name for name, _ in Descriptors._descList
            if not name.startswith('fr_') and name not in SLOW_DESCRIPTORS]


def target_width(kind: str) -> int:
    """Columns of target ``kind`` (one of :data:`TARGET_KINDS`) with this RDKit."""
    widths = {'motif': lambda: len(motif_names()), 'descriptors': lambda: len(descriptor_names()),
              'ecfp4': lambda: ECFP_BITS}
    if kind not in widths:
        raise ValueError(f"unknown target kind '{kind}'; valid options: "
                         f"{', '.join(TARGET_KINDS)}")
    return widths[kind]()


def targets_info() -> dict[str, Any]:
    """What determines the targets (recorded in ``meta`` and in cache keys)."""
    import rdkit
    return {'version': TARGETS_VERSION, 'rdkit': rdkit.__version__, 'motif': motif_names(),
            'descriptors': descriptor_names(), 'ecfp_radius': ECFP_RADIUS,
            'ecfp_bits': ECFP_BITS, 'clip_quantiles': list(CLIP_QUANTILES)}


# ---------------------------------------------------------------------------- computation
def _targets_chunk(smiles: Sequence[str]) -> dict[str, np.ndarray]:
    """Raw targets of a chunk of SMILES (runs in worker processes): ``ok`` ``[n]`` bool,
    ``motif`` and ``ecfp4`` packed bits, ``descriptors`` ``float32`` (NaN where RDKit
    fails)."""
    from rdkit import Chem
    from rdkit.Chem import Descriptors, rdFingerprintGenerator
    from rdkit.rdBase import BlockLogs

    _block = BlockLogs()  # noqa: F841  (keeps RDKit quiet while alive)
    fns = dict(Descriptors._descList)
    motif_fns = [fns[name] for name in motif_names()]
    desc_fns = [fns[name] for name in descriptor_names()]
    morgan = rdFingerprintGenerator.GetMorganGenerator(radius=ECFP_RADIUS, fpSize=ECFP_BITS)
    n = len(smiles)
    ok = np.zeros(n, dtype=bool)
    motif = np.zeros((n, len(motif_fns)), dtype=bool)
    desc = np.full((n, len(desc_fns)), np.nan, dtype=np.float32)
    ecfp = np.zeros((n, ECFP_BITS), dtype=bool)
    with np.errstate(over='ignore', invalid='ignore'):
        for i, s in enumerate(smiles):
            mol = Chem.MolFromSmiles(s) if isinstance(s, str) else None
            if mol is None or mol.GetNumAtoms() == 0:
                continue
            try:
                motif[i] = [fn(mol) > 0 for fn in motif_fns]
                ecfp[i] = morgan.GetFingerprintAsNumPy(mol).astype(bool)
            except Exception:  # the row stays all-zero and is marked not ok
                continue
            ok[i] = True
            for j, fn in enumerate(desc_fns):
                try:
                    desc[i, j] = fn(mol)
                except Exception:  # this entry stays NaN
                    pass
    return {'ok': ok, 'motif': np.packbits(motif, axis=1), 'descriptors': desc,
            'ecfp4': np.packbits(ecfp, axis=1)}


def _merge(results: list[dict[str, np.ndarray]], starts: list[int]) -> dict[str, np.ndarray]:
    del starts
    return {k: np.concatenate([r[k] for r in results], 0) for k in results[0]}


def standardize(raw: np.ndarray, quantiles: Sequence[float] = CLIP_QUANTILES,
                sample: int = QUANTILE_SAMPLE, seed: int = 0
                ) -> tuple[np.ndarray, dict[str, list[float]]]:
    r"""Standardise descriptor columns with statistics that survive outliers.

    Each column is clipped to its ``quantiles`` (taken on at most ``sample`` rows drawn with
    ``seed``; non-finite entries ignored), then centred and scaled by the mean and standard
    deviation of the clipped values. Columns whose clipped values are constant or never finite
    become NaN. Returns ``(z, stats)`` with ``z`` ``float32`` ``[N, D]`` (NaN stays NaN) and
    ``stats`` ``{'low', 'high', 'mean', 'std'}`` (NaN for dropped columns) plus ``'dropped'``
    (column indices).
    """
    raw = np.where(np.isfinite(raw), raw, np.nan).astype(np.float64)
    rows = raw
    if raw.shape[0] > sample:
        pick = np.random.default_rng(seed).choice(raw.shape[0], sample, replace=False)
        rows = raw[np.sort(pick)]
    finite_cols = ~np.all(np.isnan(rows), axis=0)
    low = np.full(raw.shape[1], np.nan)
    high = np.full(raw.shape[1], np.nan)
    if finite_cols.any():
        low[finite_cols], high[finite_cols] = np.nanquantile(rows[:, finite_cols], quantiles,
                                                             axis=0)
    clipped = np.clip(raw, low, high)
    with np.errstate(invalid='ignore'):
        count = np.sum(~np.isnan(clipped), axis=0)
        mean = np.where(count > 0, np.nansum(clipped, axis=0) / np.maximum(count, 1), np.nan)
        var = np.nansum((clipped - mean) ** 2, axis=0) / np.maximum(count, 1)
    std = np.sqrt(var)
    keep = (count > 0) & (std > 1e-12 * np.maximum(np.abs(mean), 1.0))
    z = np.full(raw.shape, np.nan, dtype=np.float32)
    z[:, keep] = ((clipped[:, keep] - mean[keep]) / std[keep]).astype(np.float32)
    nan = float('nan')
    stats = {'low': [float(v) if k else nan for v, k in zip(low, keep)],
             'high': [float(v) if k else nan for v, k in zip(high, keep)],
             'mean': [float(v) if k else nan for v, k in zip(mean, keep)],
             'std': [float(v) if k else nan for v, k in zip(std, keep)],
             'dropped': [int(i) for i in np.flatnonzero(~keep)]}
    return z, stats


def compute_targets(smiles: Sequence[str], *, num_workers: int | None = None,
                    progress: bool = True, parts_dir: str | Path | None = None,
                    part_size: int | None = None) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    r"""The targets of every molecule of ``smiles``, in order.

    Returns ``(tensors, meta)``: ``tensors`` holds ``targets_ok`` (bool ``[N]``), ``motif``
    and ``ecfp4`` (bit-packed ``uint8``), ``descriptors`` (standardised, ``float16``);
    ``meta`` the column names, the standardisation statistics, the dropped columns, the
    widths of the bit-packed kinds (``'bit_widths'``) and :func:`targets_info`.

    Args:
        smiles (list of str): the molecules.
        num_workers (int, optional): worker processes; ``0`` computes in this process.
            (default: :obj:`os.cpu_count()`)
        progress (bool, optional): show a progress bar. (default: :obj:`True`)
        parts_dir (str or Path, optional): make the work resumable in parts saved there (see
            :func:`~graphpfm.datasets.smiles.map_in_parts`). (default: :obj:`None`)
        part_size (int, optional): molecules per part. (default:
            :data:`~graphpfm.datasets.smiles.PART_SIZE`)
    """
    from .smiles import PART_SIZE, load_part, map_in_parts, save_part

    smiles = list(smiles)
    if not smiles:
        raise ValueError('cannot compute targets of zero molecules')
    _, parts = map_in_parts(_targets_chunk, smiles, merge=_merge, num_workers=num_workers,
                            chunk_size=None if len(smiles) > 256 else 64,
                            parts_dir=parts_dir, part_size=part_size or PART_SIZE,
                            save=save_part, load=load_part, progress=progress,
                            desc='computing RDKit targets')
    raw = _merge(parts, [])
    z, stats = standardize(raw['descriptors'])
    names = descriptor_names()
    dropped = [names[i] for i in stats['dropped']]
    if dropped:
        log.info('descriptors constant or never finite on these %d molecules, masked out: %s',
                 len(smiles), ', '.join(dropped))
    num_bad = int((~raw['ok']).sum())
    if num_bad:
        log.warning('RDKit could not read %d of %d molecules: their targets are masked out',
                    num_bad, len(smiles))
    tensors = {'targets_ok': torch.from_numpy(raw['ok']),
               'motif': torch.from_numpy(raw['motif']),
               'descriptors': torch.from_numpy(z.astype(np.float16)),
               'ecfp4': torch.from_numpy(raw['ecfp4'])}
    meta = {**targets_info(), 'descriptor_stats': stats, 'dropped_descriptors': dropped,
            'num_molecules': len(smiles), 'num_failed': num_bad,
            'bit_widths': {'motif': len(motif_names()), 'ecfp4': ECFP_BITS}}
    return tensors, meta


# ---------------------------------------------------------------------------- cache
def _smiles_digest(smiles: Sequence[str]) -> str:
    h = hashlib.sha256()
    for s in smiles:
        h.update(s.encode('utf-8', 'surrogatepass'))
        h.update(b'\n')
    return h.hexdigest()


def targets_cache_path(smiles: Sequence[str]) -> Path:
    """Where the targets of these molecules are cached (keyed by their SMILES, the targets'
    version and the RDKit version)."""
    import json
    key = json.dumps({'smiles': _smiles_digest(smiles), 'targets': targets_info()},
                     sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    return cache_dir('targets') / f'targets-{len(smiles)}-{digest}.pt'


def load_targets(smiles: Sequence[str], *, num_workers: int | None = None,
                 progress: bool = True) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """:func:`compute_targets` once, then from the cache (memory-mapped, ``weights_only``);
    an interrupted computation resumes from its saved parts."""
    path = targets_cache_path(smiles)
    if path.is_file():
        try:
            state = torch.load(path, weights_only=True, map_location='cpu', mmap=True)
            if state.get('version') != TARGETS_VERSION:
                raise ValueError(f"targets version {state.get('version')}")
            meta = dict(state['meta'])
            meta['from_cache'] = True
            return state['tensors'], meta
        except Exception as exc:  # a truncated or foreign cache is rebuilt, never fatal
            log.warning('ignoring unreadable targets cache %s (%s); rebuilding it', path, exc)
    parts = path.with_name(path.stem + '.parts')
    tensors, meta = compute_targets(smiles, num_workers=num_workers, progress=progress,
                                    parts_dir=parts)
    state = {'version': TARGETS_VERSION, 'tensors': tensors, 'meta': meta}
    atomic_write_bytes(path, lambda tmp: torch.save(state, tmp))
    shutil.rmtree(parts, ignore_errors=True)
    log.info('targets of %d molecules cached at %s', len(smiles), path)
    return tensors, {**meta, 'from_cache': False}


def attach_targets(store: GraphStore, smiles: Sequence[str], kinds: Sequence[str] = TARGET_KINDS,
                   *, num_workers: int | None = None, progress: bool = True) -> GraphStore:
    """Add the targets ``kinds`` (and ``targets_ok``) of ``smiles`` (one per graph, in store
    order) to ``store`` as graph attributes; ``store.meta['targets']`` records their
    provenance (cache path, version, RDKit, dropped descriptors)."""
    kinds = list(dict.fromkeys(kinds))
    unknown = [k for k in kinds if k not in TARGET_KINDS]
    if unknown:
        raise ValueError(f"unknown target kinds {unknown}; valid options: "
                         f"{', '.join(TARGET_KINDS)}")
    if len(smiles) != len(store):
        raise ValueError(f'{len(smiles)} SMILES for a store of {len(store)} graphs; give one '
                         'SMILES per graph, in store order')
    tensors, meta = load_targets(smiles, num_workers=num_workers, progress=progress)
    attrs = {k: tensors[k] for k in ['targets_ok', *kinds]}
    store.set_graph_attrs(attrs, {k: w for k, w in meta['bit_widths'].items() if k in kinds})
    store.meta['targets'] = {'kinds': kinds, 'path': str(targets_cache_path(smiles)),
                             'version': meta['version'], 'rdkit': meta['rdkit'],
                             'dropped_descriptors': meta['dropped_descriptors'],
                             'num_failed': meta['num_failed']}
    return store


def bundle_with_targets(bundle: DatasetBundle, kinds: Sequence[str],
                        root: str | Path | None = None, *, num_workers: int | None = None,
                        progress: bool = True) -> DatasetBundle:
    """``bundle`` with the targets ``kinds`` attached to its graphs (see
    :func:`attach_targets`); the SMILES are read back from the dataset's files
    (:func:`~graphpfm.datasets.bundle_smiles`)."""
    from .leakage import bundle_smiles
    if bundle.level != 'graph' or not isinstance(bundle.dataset, GraphStore):
        raise ValueError(f"RDKit targets need molecules; '{bundle.name}' is a "
                         f'{bundle.level}-level dataset. Use a SMILES corpus (moses, embedded, '
                         'a .csv/.smi file) or an OGB molecule dataset')
    smiles = bundle_smiles(bundle, root)
    attach_targets(bundle.dataset, smiles, kinds, num_workers=num_workers, progress=progress)
    bundle.meta['targets'] = bundle.dataset.meta['targets']
    return bundle
