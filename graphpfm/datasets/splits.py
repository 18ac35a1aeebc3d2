r"""Dataset splits: the scaffold split of `Hu et al. (2020) <https://arxiv.org/abs/1905.12265>`_
(used by OGB's molecule datasets) and a seeded random split."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

SPLIT_NAMES = ('train', 'valid', 'test')


def _check_frac(frac: Sequence[float]) -> tuple[float, float, float]:
    if len(frac) != 3 or any(f < 0 for f in frac) or abs(sum(frac) - 1.0) > 1e-6:
        raise ValueError(f'frac must be three non-negative fractions (train, valid, test) '
                         f'summing to 1, got {tuple(frac)}')
    return float(frac[0]), float(frac[1]), float(frac[2])


def murcko_scaffold(smiles: str, include_chirality: bool = True) -> str:
    """The Bemis-Murcko scaffold SMILES of ``smiles`` (``''`` for acyclic molecules).

    Raises:
        ValueError: RDKit cannot parse ``smiles``.
    """
    from rdkit import Chem
    from rdkit.Chem.Scaffolds import MurckoScaffold
    from rdkit.rdBase import BlockLogs

    _block = BlockLogs()  # noqa: F841  (silences RDKit while alive)
    mol = Chem.MolFromSmiles(smiles) if isinstance(smiles, str) else None
    if mol is None:
        raise ValueError(f'RDKit cannot parse SMILES {smiles!r}')
    return MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=include_chirality)


def scaffold_split(smiles: Sequence[str], frac: Sequence[float] = (0.8, 0.1, 0.1),
                   include_chirality: bool = True) -> dict[str, Tensor]:
    r"""Deterministic scaffold split, the recipe of OGB and ``snap-stanford/pretrain-gnns``.

    Molecules are grouped by Bemis-Murcko scaffold (``includeChirality=True``); the groups are
    sorted by size (largest first; ties: the group whose first member comes later goes first,
    as in ``sorted(..., key=lambda x: (len(x[1]), x[1][0]), reverse=True)``) and assigned
    whole to train until it would exceed ``frac[0]`` of the molecules, then to valid until
    train + valid would exceed ``frac[0] + frac[1]``, the rest to test. No scaffold is
    shared between two splits. On OGB's molecule datasets this reproduces the split files
    (as sets) wherever today's RDKit parses every molecule.

    Args:
        smiles (list of str): one SMILES per molecule; all must parse.
        frac (tuple of float, optional): train/valid/test fractions. (default: ``(0.8, 0.1,
            0.1)``)
        include_chirality (bool, optional): keep stereo in scaffolds. (default: :obj:`True`)

    Returns:
        ``{'train', 'valid', 'test'}`` -> ascending ``LongTensor`` of indices (as OGB's files).
    """
    f_train, f_valid, _ = _check_frac(frac)
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(smiles):
        try:
            scaffold = murcko_scaffold(s, include_chirality)
        except ValueError as exc:
            raise ValueError(f'molecule {i}: {exc}; drop invalid SMILES before splitting') from None
        groups.setdefault(scaffold, []).append(i)
    ordered = sorted(groups.values(), key=lambda g: (len(g), g[0]), reverse=True)
    n = len(smiles)
    train_cut, valid_cut = f_train * n, (f_train + f_valid) * n
    out: dict[str, list[int]] = {k: [] for k in SPLIT_NAMES}
    for group in ordered:
        if len(out['train']) + len(group) > train_cut:
            if len(out['train']) + len(out['valid']) + len(group) > valid_cut:
                out['test'].extend(group)
            else:
                out['valid'].extend(group)
        else:
            out['train'].extend(group)
    return {k: torch.tensor(sorted(v), dtype=torch.long) for k, v in out.items()}


def random_split(num_items: int, frac: Sequence[float] = (0.8, 0.1, 0.1),
                 seed: int = 0) -> dict[str, Tensor]:
    r"""Seeded random split of ``range(num_items)``.

    Args:
        num_items (int): number of items.
        frac (tuple of float, optional): train/valid/test fractions. (default: ``(0.8, 0.1,
            0.1)``)
        seed (int, optional): seed of the :class:`torch.Generator`. (default: :obj:`0`)
    """
    f_train, f_valid, _ = _check_frac(frac)
    perm = torch.randperm(num_items, generator=torch.Generator().manual_seed(seed))
    n_train = int(round(f_train * num_items))
    n_valid = int(round(f_valid * num_items))
    return {'train': perm[:n_train], 'valid': perm[n_train:n_train + n_valid],
            'test': perm[n_train + n_valid:]}
