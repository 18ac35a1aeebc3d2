"""Building objectives by name, single or ``+``-combined."""
from __future__ import annotations

from typing import Any

from ..nn.encoders.base import Encoder
from .base import OBJECTIVES, Objective
from .combined import Combined


def required_targets(name: str) -> list[str]:
    """The RDKit targets the objective ``name`` (or each part of a ``+`` combination) needs,
    in first-use order (see :meth:`Objective.required_targets`)."""
    needed: list[str] = []
    for part in name.split('+'):
        needed += [t for t in OBJECTIVES.get(part).required_targets() if t not in needed]
    return needed


def build_objective(name: str, encoder: Encoder, **kwargs: Any) -> Objective:
    r"""Build the registered objective ``name`` around ``encoder`` (errors list valid names).

    A name joining registered names with ``+`` (``'attr_masking+edge_pred'``) builds a
    :class:`~graphpfm.objectives.Combined` objective whose parts share ``encoder``; its
    keyword arguments are ``weights=[...]`` and ``options={part: {...}}``, so that
    ``build_objective(**objective.config())``-style round trips work for both kinds.
    """
    if '+' in name:
        return Combined(encoder, name.split('+'), **kwargs)
    return OBJECTIVES.build(name, encoder, **kwargs)
