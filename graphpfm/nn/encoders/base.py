"""The :class:`Encoder` interface and the encoder registry."""
from __future__ import annotations

import numbers
from typing import Any

import torch
from torch import Tensor

from ...errors import ConfigError
from ...registry import Registry

ENCODERS: Registry = Registry('encoder')


class Encoder(torch.nn.Module):
    r"""Base class of graph encoders: node features in, node embeddings out.

    Subclasses record the keyword arguments they were built with in :attr:`kwargs` (plain
    values only) so that :meth:`config` rebuilds them through :func:`build_encoder`.

    Call with ``edge_attr=`` and ``batch=`` as keywords.
    """

    out_channels: int
    #: how node inputs look: ``'ogb_atom'`` (categorical OGB atom columns) or ``'float'``
    input_kind: str = 'float'

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        for name in ('num_layers', 'hidden_channels', 'in_channels'):
            value = kwargs.get(name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ConfigError(f'{name} must be an integer >= 1, got {value!r}')
        dropout = kwargs.get('dropout', 0.0)
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f'dropout must be in [0, 1), got {dropout}')
        self.kwargs = dict(kwargs)

    def forward(self, x: Tensor, edge_index: Tensor, *, edge_attr: Tensor | None = None,
                batch: Tensor | None = None) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """``{'name': registry name, 'kwargs': constructor arguments}``, plain values only."""
        return {'name': type(self).registry_name, 'kwargs': dict(self.kwargs)}

    def reset_parameters(self) -> None:
        for module in self.children():
            if hasattr(module, 'reset_parameters'):
                module.reset_parameters()

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in self.kwargs.items())
        return f'{type(self).__name__}({args})'


def build_encoder(name: str, **kwargs: Any) -> Encoder:
    """Build the registered encoder ``name`` (errors list the valid names)."""
    return ENCODERS.build(name, **kwargs)
