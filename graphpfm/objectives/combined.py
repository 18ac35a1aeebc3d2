"""Several objectives trained at once on one shared encoder."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
from torch import Tensor
from torch_geometric.data import Data

from ..nn.encoders.base import Encoder
from .base import OBJECTIVES, Objective, ObjectiveOutput


class Combined(Objective):
    r"""A weighted sum of registered objectives sharing one encoder, e.g. the node-level
    attribute masking together with edge prediction and graph infomax:

    .. math::
        \mathcal{L} = \sum_k w_k \, \mathcal{L}_k

    Build it with :func:`~graphpfm.objectives.build_objective` and a ``+``-joined name::

        build_objective('attr_masking+edge_pred', encoder, weights=[1.0, 0.5],
                        options={'attr_masking': {'mask_rate': 0.2}})

    :meth:`prepare` calls every part's :meth:`prepare` in order with the same generator (so
    the parts consume it one after the other: part ``k`` sees the generator state that parts
    ``0..k-1`` left); :meth:`compute` calls every part's :meth:`compute` on its own prepared
    batch (the encoder runs once per part); :meth:`on_step_end` calls every part's
    :meth:`on_step_end`. Its :attr:`level` is ``'node'`` when one of the parts is
    node-level, else ``'graph'``. Logs are the parts' logs prefixed with ``'<part>/'``, plus each
    part's unweighted ``'<part>/loss'``.

    The parts hold the same encoder module; their copies of its weights are left out of
    :meth:`state_dict` (the encoder appears once, under ``'encoder.'``) and restored from it
    on :meth:`load_state_dict`.

    Args:
        encoder (Encoder): the shared encoder.
        parts (list of str): registered objective names, each at most once.
        weights (list of float, optional): one weight per part. (default: all :obj:`1.0`)
        options (dict, optional): ``{part name: keyword arguments}`` for the parts.
            (default: :obj:`None`)
    """

    def __init__(self, encoder: Encoder, parts: Sequence[str] | str,
                 weights: Sequence[float] | None = None,
                 options: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        names = parts.split('+') if isinstance(parts, str) else list(parts)
        if len(names) < 2:
            raise ValueError(f'a combined objective needs at least two parts, got {names}; '
                             f"valid part names: {', '.join(OBJECTIVES.names())}")
        for name in names:
            if name not in OBJECTIVES:
                raise KeyError(f"Unknown objective '{name}' in '{'+'.join(names)}'. Valid "
                               f"options: {', '.join(OBJECTIVES.names())}")
        if len(set(names)) != len(names):
            raise ValueError(f"each objective may appear once in a combination, got "
                             f"'{'+'.join(names)}'")
        weights = [1.0] * len(names) if weights is None else [float(w) for w in weights]
        if len(weights) != len(names):
            raise ValueError(f'{len(weights)} weights given for {len(names)} objectives '
                             f"({', '.join(names)}); give one weight per objective")
        options = {k: dict(v) for k, v in (options or {}).items()}
        unknown = sorted(set(options) - set(names))
        if unknown:
            raise ValueError(f"options given for {', '.join(unknown)}, which is not a part of "
                             f"this combination; valid options: {', '.join(names)}")
        built = {name: OBJECTIVES.build(name, encoder, **options.get(name, {}))
                 for name in names}
        super().__init__(encoder, weights=weights,
                         options={name: dict(obj.kwargs) for name, obj in built.items()})
        self.names = names
        self.weights = weights
        self.parts = torch.nn.ModuleDict(built)
        # node-level as soon as one part is: such a part needs the nodes of one graph
        self.level = 'node' if any(obj.level == 'node' for obj in built.values()) else 'graph'
        self.register_state_dict_post_hook(_drop_part_encoders)
        self.register_load_state_dict_pre_hook(_restore_part_encoders)

    @property
    def name(self) -> str:
        return '+'.join(self.names)

    def prepare(self, batch: Data, generator: torch.Generator | None = None) -> list[Any]:
        return [self.parts[name].prepare(batch, generator) for name in self.names]

    def compute(self, prepared: Sequence[Any]) -> ObjectiveOutput:
        loss = None
        logs: dict[str, Tensor | float] = {}
        for name, weight, part_input in zip(self.names, self.weights, prepared):
            out = self.parts[name].compute(part_input)
            term = weight * out.loss
            loss = term if loss is None else loss + term
            logs[f'{name}/loss'] = out.loss.detach()
            logs.update({f'{name}/{k}': v for k, v in out.logs.items()})
        return ObjectiveOutput(loss, logs)

    def on_step_end(self) -> None:
        """Forward the trainer's after-step call to every part, in order."""
        for name in self.names:
            self.parts[name].on_step_end()

    def config(self) -> dict[str, Any]:
        """``{'name': 'a+b', 'kwargs': {'weights', 'options'}}``: ``options`` holds every part's
        resolved keyword arguments, so ``build_objective(name, encoder, **kwargs)`` rebuilds
        it."""
        return self._with_chain({'name': self.name, 'kwargs': {
            'weights': list(self.weights),
            'options': {name: dict(opts) for name, opts in self.kwargs['options'].items()}}})

    def extra_repr(self) -> str:
        return f"parts={self.names}, weights={self.weights}"


def _drop_part_encoders(module: Combined, state_dict: dict[str, Any], prefix: str,
                        local_metadata: Any) -> None:
    for name in module.names:
        part_prefix = f'{prefix}parts.{name}.encoder.'
        for key in [k for k in state_dict if k.startswith(part_prefix)]:
            del state_dict[key]


def _restore_part_encoders(module: Combined, state_dict: dict[str, Any], prefix: str,
                           local_metadata: Any, strict: bool, missing_keys: list[str],
                           unexpected_keys: list[str], error_msgs: list[str]) -> None:
    shared = f'{prefix}encoder.'
    entries = [(k[len(shared):], v) for k, v in state_dict.items() if k.startswith(shared)]
    for name in module.names:
        for rest, value in entries:
            state_dict.setdefault(f'{prefix}parts.{name}.encoder.{rest}', value)
