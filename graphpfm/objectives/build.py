"""Building objectives by name, single or ``+``-combined."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..config import Option, signature_options
from ..errors import ConfigError
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


def objective_options(name: str) -> list[Option]:
    """The options of registered objective ``name``: its constructor's keyword arguments
    with a default (after ``self`` and the encoder), with the help of its ``Args:``."""
    return signature_options(OBJECTIVES.get(name), skip=2)


def option_names(name: str) -> list[str]:
    """The names of :func:`objective_options`."""
    return [o.name for o in objective_options(name)]


def route_options(name: str, values: Mapping[str, Any],
                  weights: Sequence[float] | None = None) -> dict[str, Any]:
    """The keyword arguments of :func:`build_objective` for ``name`` from flat option
    ``values`` (``{option: value}``, as a command line gives them). One objective takes its
    options as they are; in a ``+`` combination each option goes to every part that takes it,
    giving ``{'options': {part: {...}}, 'weights': weights}``. An option that no part takes,
    or ``weights`` without a combination, is a :class:`~graphpfm.errors.ConfigError` naming
    what is valid."""
    parts = name.split('+')
    takes = {part: option_names(part) for part in parts}
    valid = sorted({o for names in takes.values() for o in names})
    for option in values:
        if option not in valid:
            raise ConfigError(f"option --{option.replace('_', '-')} does not apply to objective "
                              f"'{name}'; its options: {', '.join(valid) or 'none'}")
    if len(parts) == 1:
        if weights is not None:
            raise ConfigError('--objective-weights applies to a combination of objectives '
                              f"(e.g. {name}+edge_pred), not to '{name}' alone")
        return dict(values)
    options = {part: {k: v for k, v in values.items() if k in takes[part]} for part in parts}
    kwargs: dict[str, Any] = {'options': {k: v for k, v in options.items() if v}}
    return kwargs if weights is None else {**kwargs, 'weights': list(weights)}


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
