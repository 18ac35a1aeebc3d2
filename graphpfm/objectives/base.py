"""The :class:`Objective` contract and the objective registry."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor
from torch_geometric.data import Data

from ..nn.encoders.base import Encoder
from ..registry import Registry

OBJECTIVES: Registry = Registry('objective')


@dataclass
class ObjectiveOutput:
    """What :meth:`Objective.forward` returns.

    ``logs`` maps a name to a detached 0-dim tensor (on the loss's device) or to a plain
    Python number. Values computed from tensors stay tensors: converting one with
    ``float()`` or ``.item()`` would wait for the device every step (and break the graph
    under :func:`torch.compile`); the :class:`~graphpfm.train.Trainer` sums them on the
    device and reads them back once per epoch. Python numbers are for what the host already
    knows (counts, a constant). Call ``float(v)`` on a value to read it.

    By convention the log ``'skipped_frac'`` is the fraction of the batch the objective could
    not learn from (e.g. molecules too small for a context); the trainer stops a run whose
    epoch average exceeds :attr:`~graphpfm.train.TrainConfig.max_skipped_frac`.
    """

    loss: Tensor  #: scalar, differentiable
    #: name -> detached 0-dim tensor or Python number, e.g. ``{'acc': tensor(0.61)}``
    logs: dict[str, Tensor | float] = field(default_factory=dict)


class Objective(torch.nn.Module):
    r"""A self-supervised (or supervised) pretraining objective around an encoder.

    An objective owns its heads, its corruption of the batch and its loss; the trainer knows
    nothing else about it. Subclasses record their options in :attr:`kwargs` (plain values) so
    that checkpoints can name and rebuild them.
    """

    level: ClassVar[str] = 'graph'
    #: the encoder input kinds the objective accepts
    input_kinds: ClassVar[tuple[str, ...]] = ('ogb_atom', 'float')

    def __init__(self, encoder: Encoder, **kwargs: Any) -> None:
        super().__init__()
        if getattr(encoder, 'input_kind', None) not in self.input_kinds:
            raise ValueError(f'{type(self).__name__} needs an encoder whose input is one of '
                             f'{self.input_kinds}, got {getattr(encoder, "input_kind", None)!r}')
        self.encoder = encoder
        self.kwargs = dict(kwargs)
        self.chain: list[dict[str, Any]] = []

    @classmethod
    def required_targets(cls) -> tuple[str, ...]:
        """The RDKit targets (:data:`~graphpfm.datasets.targets.TARGET_KINDS`) the objective
        needs on every batch; the data must be loaded with them
        (``load_dataset(..., targets=...)``). (default: none)"""
        return ()

    @classmethod
    def data_kwargs(cls, data: Any, num_steps: int) -> dict[str, Any]:
        """Constructor arguments that the pretraining data determine, such as a head's width
        (:class:`~graphpfm.objectives.Supervised`'s ``num_tasks``) or a schedule's length
        (:class:`~graphpfm.objectives.BGRL`'s ``total_steps``); arguments given explicitly
        win over them (see :func:`~graphpfm.objectives.data_kwargs`). (default: none)

        Args:
            data (DatasetBundle): the pretraining data.
            num_steps (int): the optimizer steps of the run.
        """
        return {}

    def forward(self, batch: Data, generator: torch.Generator | None = None) -> ObjectiveOutput:
        """Corrupt the batch (:meth:`prepare`), then compute the loss (:meth:`compute`)."""
        return self.compute(self.prepare(batch, generator))

    def prepare(self, batch: Data, generator: torch.Generator | None = None) -> Any:
        """The data path: corruption, views, sampled negatives, extracted subgraphs.

        Batch-level and vectorised, never writing into ``batch``, using only ``generator`` for
        randomness. Needs no gradient; benchmarks time it apart from :meth:`compute` (the
        model-only ceiling runs :meth:`compute` on batches prepared beforehand).
        (default: the batch itself)
        """
        return batch

    def compute(self, prepared: Any) -> ObjectiveOutput:  # pragma: no cover - abstract
        """The model path: encoders, heads and the loss on a prepared batch."""
        raise NotImplementedError

    def on_step_end(self) -> None:
        """Called by the trainer after every optimizer step (after :meth:`optimizer.step()
        <torch.optim.Optimizer.step>`), for state that moves outside the gradient, such as
        the exponential moving average of a target encoder (:class:`~graphpfm.objectives.BGRL`).
        Not called during evaluation. (default: nothing)
        """

    def encode(self, batch: Data) -> Tensor:
        """Run the encoder on a (possibly corrupted) batch."""
        return self.encoder(batch.x, batch.edge_index, edge_attr=getattr(batch, 'edge_attr', None),
                            batch=getattr(batch, 'batch', None))

    @torch.no_grad()
    def embed(self, batch: Data) -> Tensor:
        """Clean node embeddings of ``batch`` (no corruption), for downstream use."""
        return self.encode(batch)

    def config(self) -> dict[str, Any]:
        """``{'name', 'kwargs'}`` with plain values only (and ``'chain'`` when the encoder was
        initialised from earlier stages)."""
        return self._with_chain({'name': type(self).registry_name, 'kwargs': dict(self.kwargs)})

    def _with_chain(self, config: dict[str, Any]) -> dict[str, Any]:
        if self.chain:
            config['chain'] = [dict(stage) for stage in self.chain]
        return config

    def extra_repr(self) -> str:
        return ', '.join(f'{k}={v!r}' for k, v in self.kwargs.items())


def seed_count(batch: Data) -> int:
    r"""The number of nodes a node-level loss is computed on: the ``batch_size`` seed nodes of
    a neighbour-sampled mini-batch (the format of
    :class:`~torch_geometric.loader.NeighborLoader`: the first ``batch_size`` nodes are the
    seeds, the rest their sampled neighbours), else every node of the batch.

    ``batch_size`` counts only when it is stored on the batch (``'batch_size' in batch``):
    :attr:`torch_geometric.data.Batch.batch_size`, an alias of ``num_graphs``, is ignored.
    """
    num_nodes = int(batch.num_nodes)
    if 'batch_size' not in batch:
        return num_nodes
    k = int(batch.batch_size)
    if not 1 <= k <= num_nodes:
        raise ValueError(f'batch_size must count the seed nodes, between 1 and the {num_nodes} '
                         f'nodes of the mini-batch, got {k}')
    return k
