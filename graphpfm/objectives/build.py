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


def data_kwargs(name: str, kwargs: dict[str, Any], data: Any, num_steps: int
                ) -> dict[str, Any]:
    """``kwargs`` for :func:`build_objective` completed by the objective's
    :meth:`Objective.data_kwargs` (for a ``+`` combination: each part's, in ``options``);
    the arguments given in ``kwargs`` win."""
    parts = name.split('+')
    if len(parts) == 1:
        return {**OBJECTIVES.get(name).data_kwargs(data, num_steps), **kwargs}
    options = {part: {**OBJECTIVES.get(part).data_kwargs(data, num_steps),
                      **kwargs.get('options', {}).get(part, {})} for part in parts}
    return {**kwargs, 'options': {k: v for k, v in options.items() if v}}


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
