"""Graph augmentations for contrastive learning: the registry and the combinators.

Every augmentation is a callable ``aug(batch, generator=None) -> batch`` working on a whole
collated :class:`~torch_geometric.data.Batch` with tensor ops (no loop over graphs, nodes or
edges), drawing all its randomness from ``generator`` and returning a new batch with the same
number of graphs; the input batch is never written. The concrete augmentations live in one
file each and are registered here under the names of the GraphCL paper:

========================  ==================================================
``'identity'``            :class:`Identity`
``'drop_nodes'``          :class:`~graphpfm.transforms.DropNodes`
``'perturb_edges'``       :class:`~graphpfm.transforms.PerturbEdges`
``'mask_features'``       :class:`~graphpfm.transforms.MaskFeatures`
``'subgraph'``            :class:`~graphpfm.transforms.Subgraph`
========================  ==================================================
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Sequence

import torch
from torch_geometric.data import Data

from ..registry import Registry
from .drop_nodes import DropNodes
from .mask_features import MaskFeatures
from .perturb_edges import PerturbEdges
from .subgraph import Subgraph

#: an augmentation: ``aug(batch, generator) -> batch``
Augmentation = Callable[..., Data]


class Identity:
    r"""The identity augmentation: returns a shallow copy of the batch (same tensors), so
    that setting attributes on the view never touches the input."""

    def __call__(self, batch: Data, generator: torch.Generator | None = None) -> Data:
        return copy.copy(batch)

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'


class Compose:
    r"""Apply several augmentations in order, each with the same generator (so the whole
    chain is reproducible from one seed). An empty list is the identity.

    Args:
        augmentations (Sequence[callable]): the augmentations, applied first to last.
    """

    def __init__(self, augmentations: Sequence[Augmentation]) -> None:
        self.augmentations = list(augmentations)

    def __call__(self, batch: Data, generator: torch.Generator | None = None) -> Data:
        out = copy.copy(batch)
        for aug in self.augmentations:
            out = aug(out, generator)
        return out

    def __repr__(self) -> str:
        inner = ', '.join(repr(a) for a in self.augmentations)
        return f'{type(self).__name__}([{inner}])'


class RandomChoice:
    r"""Apply one augmentation drawn at random from a list, once per call: the whole batch
    gets the same augmentation, as in GraphCL's random augmentation pairs and JOAO's
    per-batch sampling of augmentations (`"Graph Contrastive Learning Automated"
    <https://arxiv.org/abs/2106.07594>`_). The draw uses ``generator``, so a seed fixes both
    the choice and the view.

    Args:
        augmentations (Sequence[callable]): the candidates.
        weights (Sequence[float], optional): relative probability of every candidate
            (non-negative, not all zero); uniform if :obj:`None`. (default: :obj:`None`)
    """

    def __init__(self, augmentations: Sequence[Augmentation],
                 weights: Sequence[float] | None = None) -> None:
        self.augmentations = list(augmentations)
        if not self.augmentations:
            raise ValueError('RandomChoice needs at least one augmentation')
        if weights is None:
            weights = [1.0] * len(self.augmentations)
        w = torch.as_tensor(list(weights), dtype=torch.float64)
        if w.numel() != len(self.augmentations):
            raise ValueError(f'got {w.numel()} weights for {len(self.augmentations)} '
                             'augmentations')
        if bool((w < 0).any()) or not bool(w.sum() > 0) or not bool(torch.isfinite(w).all()):
            raise ValueError(f'weights must be finite, non-negative and not all zero, got '
                             f'{w.tolist()}')
        self.weights = (w / w.sum()).tolist()

    def sample(self, generator: torch.Generator | None = None) -> int:
        """Draw the index of one augmentation."""
        device = generator.device if generator is not None else None
        w = torch.tensor(self.weights, dtype=torch.float64, device=device)
        return int(torch.multinomial(w, 1, generator=generator))

    def __call__(self, batch: Data, generator: torch.Generator | None = None) -> Data:
        return self.augmentations[self.sample(generator)](batch, generator)

    def __repr__(self) -> str:
        inner = ', '.join(repr(a) for a in self.augmentations)
        return f'{type(self).__name__}([{inner}], weights={self.weights})'


AUGMENTATIONS: Registry = Registry('augmentation')
AUGMENTATIONS.register('identity')(Identity)
AUGMENTATIONS.register('drop_nodes')(DropNodes)
AUGMENTATIONS.register('perturb_edges')(PerturbEdges)
AUGMENTATIONS.register('mask_features')(MaskFeatures)
AUGMENTATIONS.register('subgraph')(Subgraph)


def build_augmentation(name: str, **kwargs: Any) -> Augmentation:
    r"""Build the augmentation registered as ``name`` (see :data:`AUGMENTATIONS`) with the
    given keyword arguments, e.g. ``build_augmentation('drop_nodes', rate=0.2)``. An unknown
    name raises a :class:`KeyError` listing the valid ones."""
    return AUGMENTATIONS.build(name, **kwargs)
