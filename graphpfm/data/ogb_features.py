"""The vocabularies of OGB's categorical atom and bond features, with reserved mask (and
self-loop) tokens.

Vocabulary sizes come from :mod:`ogb.utils.features`; each categorical column ``i`` of size
``d_i`` gets extra rows: index ``d_i`` is the column's ``[MASK]`` token and, for bonds,
index ``d_i + 1`` marks the self-loops that the molecular GIN adds.
"""
from __future__ import annotations

import torch
from torch import Tensor


def atom_feature_dims() -> list[int]:
    """Vocabulary size of each OGB atom feature column (9 columns)."""
    from ogb.utils.features import get_atom_feature_dims
    return list(get_atom_feature_dims())


def bond_feature_dims() -> list[int]:
    """Vocabulary size of each OGB bond feature column (3 columns)."""
    from ogb.utils.features import get_bond_feature_dims
    return list(get_bond_feature_dims())


def atom_mask_token() -> Tensor:
    """The ``[MASK]`` index of every atom column: ``tensor(atom_feature_dims())``."""
    return torch.tensor(atom_feature_dims())


def bond_mask_token() -> Tensor:
    """The ``[MASK]`` index of every bond column: ``tensor(bond_feature_dims())``."""
    return torch.tensor(bond_feature_dims())


def bond_self_loop_token() -> Tensor:
    """The self-loop index of every bond column: ``tensor(bond_feature_dims()) + 1``."""
    return torch.tensor(bond_feature_dims()) + 1
