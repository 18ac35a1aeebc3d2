"""Graph-level tasks: a label per graph of a dataset of graphs."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..data.loader import GraphLoader, ShardBatches
from ..nn.heads import GraphPredictor, resolve_pool
from ..utils import resolve_device
from .base import Task, TrainingPlan, label_array


def graph_batches(dataset: Any, batch_size: int, generator: torch.Generator, *,
                  world_size: int = 1, rank: int = 0, **kwargs: Any) -> GraphLoader:
    r"""Shuffled training batches of a dataset of graphs, the same for one process and for
    data parallelism: the order is drawn from ``generator`` (a
    :class:`~torch.utils.data.RandomSampler` cut into global batches of ``batch_size``) and
    each of ``world_size`` ranks keeps its share of every global batch
    (:class:`~graphpfm.data.ShardBatches`), so the ranks together see exactly the batches one
    process would. ``kwargs`` go to the :class:`~graphpfm.data.GraphLoader`."""
    from torch.utils.data import BatchSampler, RandomSampler
    if batch_size < world_size:
        raise ValueError(f'the global batch ({batch_size}) must hold at least one item per '
                         f'rank ({world_size})')
    sampler = ShardBatches(BatchSampler(RandomSampler(dataset, generator=generator),
                                        batch_size, drop_last=False), world_size, rank)
    return GraphLoader(dataset, batch_size=1, batch_sampler=sampler, generator=generator,
                       **kwargs)


def too_small(batch: Any) -> bool:
    """Whether a training batch has fewer than two nodes (batch norm needs two values per
    channel): the training loop skips such batches."""
    return batch.num_nodes < 2


@torch.no_grad()
def predict(model: torch.nn.Module, loader: Any, device: torch.device) -> Tensor:
    """Raw model outputs on every batch of ``loader``, concatenated on the CPU."""
    model.eval()
    outs = [model(batch.to(device)).detach().cpu() for batch in loader]
    return torch.cat(outs, dim=0)


@torch.no_grad()
def embed_graphs(encoder: torch.nn.Module, dataset: Any,
                 device: str | torch.device | None = None, batch_size: int = 256,
                 pool: str = 'mean') -> tuple[Tensor, Tensor | None]:
    r"""Pooled graph embeddings of every graph of ``dataset`` (in order) by a frozen encoder,
    and the graphs' labels (:obj:`None` if unlabelled).

    Args:
        encoder (torch.nn.Module): the encoder.
        dataset: graphs, e.g. a :class:`~graphpfm.data.GraphStore`.
        device (str or torch.device, optional): where to run. (default: :obj:`None`, auto)
        batch_size (int): graphs per batch. (default: :obj:`256`)
        pool (str): ``'mean'``, ``'sum'`` or ``'max'``. (default: :obj:`'mean'`)
    """
    device = resolve_device(device)
    pool_fn = resolve_pool(pool)
    was_training = encoder.training
    encoder.to(device).eval()
    embs, ys = [], []
    try:
        for batch in GraphLoader(dataset, batch_size=batch_size, shuffle=False):
            batch = batch.to(device)
            h = encoder(batch.x, batch.edge_index, edge_attr=getattr(batch, 'edge_attr', None),
                        batch=batch.batch)
            embs.append(pool_fn(h, batch.batch, size=batch.num_graphs).float().cpu())
            ys.append(getattr(batch, 'y', None))
    finally:
        encoder.train(was_training)
    y = None if any(t is None for t in ys) else torch.cat([t.cpu() for t in ys])
    return torch.cat(embs), y


class GraphTask(Task):
    r"""Prediction of a label per graph (OGB's graph property prediction): a
    :class:`~graphpfm.nn.heads.GraphPredictor` (pooling and a linear head) on the encoder,
    mini-batches of training graphs, scores on the valid and test graphs."""

    level = 'graph'
    unit = 'graphs'

    def all_labels(self) -> Tensor:
        return self.bundle.dataset.y

    def labels(self, split: str) -> np.ndarray:
        ys = [batch.y for batch in GraphLoader(self.bundle.split(split), batch_size=256)]
        if any(y is None for y in ys):
            raise ValueError(f"split '{split}' of dataset '{self.name}' has graphs without "
                             'labels')
        return label_array(torch.cat(ys, dim=0).cpu(), self.task_type)

    def predictor(self, encoder: torch.nn.Module, *, dropout: float = 0.0,
                  pool: str = 'mean') -> GraphPredictor:
        return GraphPredictor(encoder, self.num_outputs, pool=pool, dropout=dropout)

    def pretrain_batches(self, batch_size: int, generator: torch.Generator, **kwargs: Any
                         ) -> GraphLoader:
        """Shuffled batches of every graph (:func:`graph_batches`)."""
        return graph_batches(self.bundle.dataset, batch_size, generator, **kwargs)

    def training_plan(self, model: torch.nn.Module, config: Any, generator: torch.Generator,
                      device: torch.device, evaluator: Any, *, train_model: Any = None,
                      world_size: int = 1, rank: int = 0, host_group: Any = None
                      ) -> TrainingPlan:
        """Batches of ``config.batch_size`` training graphs (shuffled by ``generator``; each
        rank its share under data parallelism); the task's loss on ``train_model``'s outputs
        (``model`` or its data-parallel wrapper); ``model``'s valid and test scores."""
        forward = model if train_model is None else train_model
        loss_fn = self.loss()
        scale = self.target_scale() if getattr(config, 'standardize_targets', True) else None
        if scale is not None:
            mean, std = (t.to(device) for t in scale)
        workers = getattr(config, 'num_workers', 0)
        batches = graph_batches(self.bundle.split('train'), config.batch_size, generator,
                                world_size=world_size, rank=rank, num_workers=workers)
        loaders = {s: GraphLoader(self.bundle.split(s), batch_size=config.batch_size,
                                  num_workers=workers) for s in ('valid', 'test')}
        truth = {s: self.labels(s) for s in ('valid', 'test')}

        def step(batch: Any) -> Tensor:
            y = batch.y if scale is None else (batch.y - mean) / std
            return loss_fn(forward(batch), y)

        def scores() -> dict[str, float]:
            out = {s: predict(model, loader, device) for s, loader in loaders.items()}
            if scale is not None:  # back to the original units
                out = {s: o * scale[1] + scale[0] for s, o in out.items()}
            return {s: self.score(evaluator, s, o, truth[s]) for s, o in out.items()}

        return TrainingPlan(batches, step, count=lambda batch: batch.num_graphs, scores=scores,
                            skip=too_small, unit=self.unit)

    def embed(self, encoder: torch.nn.Module, device: Any = None, *,
              batch_size: int | None = None, pool: str = 'mean', **kwargs: Any
              ) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        """Pooled embeddings of every graph (:func:`embed_graphs`), their labels and the
        bundle's split."""
        emb, y = embed_graphs(encoder, self.bundle.dataset, device, batch_size or 256, pool)
        if y is None:
            raise ValueError(f"dataset '{self.name}' has graphs without labels")
        return emb, y, self.bundle.split_idx
