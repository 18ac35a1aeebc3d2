"""Node-level tasks: a label per node of one graph."""
from __future__ import annotations

import copy
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data

from ..data.neighbor_loader import NeighborLoader
from ..errors import ConfigError
from ..nn.heads import NodePredictor
from ..utils import resolve_device
from .base import SPLITS, Task, TrainingPlan, label_array

#: automatic node batching trains full-batch while ``num_nodes * num_features + num_edges`` is
#: at most this (Cora: 3.9M, ogbn-arxiv: 22.8M; ogbn-products, at 364M, gets mini-batches)
FULL_BATCH_MAX_SIZE = 25_000_000
#: seed nodes per mini-batch when the automatic choice is mini-batching
DEFAULT_NODE_BATCH_SIZE = 1024
#: neighbours sampled per node and hop by default (one hop per encoder layer)
DEFAULT_NUM_NEIGHBORS = 10


def check_node_batching(node_batch_size: int | None, num_neighbors: Sequence[int] | None
                        ) -> list[int] | None:
    """Validate the node mini-batching options; returns ``num_neighbors`` as a list."""
    if node_batch_size is not None and node_batch_size < 0:
        raise ConfigError(f'node_batch_size must be None (automatic), 0 (full batch) or '
                          f'positive, got {node_batch_size}')
    if num_neighbors is None:
        return None
    num_neighbors = [int(k) for k in num_neighbors]
    if not num_neighbors or any(k < -1 for k in num_neighbors):
        raise ConfigError(f'num_neighbors must be a non-empty list of ints >= -1 '
                          f'(-1: all neighbours), got {num_neighbors}')
    return num_neighbors


def encoder_num_layers(encoder: torch.nn.Module, default: int = 2) -> int:
    """The encoder's number of message-passing layers (its ``num_layers``), else ``default``."""
    kwargs = getattr(encoder, 'kwargs', {}) or {}
    value = kwargs.get('num_layers', getattr(encoder, 'num_layers', None))
    return int(value) if value else default


def graph_size(data: Data) -> int:
    """``num_nodes * num_features + num_edges``: the size the automatic node batching uses."""
    x = getattr(data, 'x', None)
    features = int(x.size(1)) if x is not None and x.dim() > 1 else 1
    return int(data.num_nodes) * features + int(data.num_edges)


def resolve_node_batching(data: Data, node_batch_size: int | None) -> int:
    """``0`` (full batch) or the number of seed nodes per mini-batch, for ``data``."""
    if node_batch_size is not None:
        return int(node_batch_size)
    return 0 if graph_size(data) <= FULL_BATCH_MAX_SIZE else DEFAULT_NODE_BATCH_SIZE


def node_batches(data: Data, batch_size: int, generator: torch.Generator, *,
                 num_neighbors: Sequence[int] | None = None, input_nodes: Tensor | None = None,
                 encoder: torch.nn.Module | None = None, device: Any = None) -> Any:
    """The training batches of one graph: with ``batch_size == 0`` the whole graph (moved once
    to ``device``: a shallow copy, the caller's graph stays where it is), else shuffled
    mini-batches of ``batch_size`` seed nodes (``input_nodes``, default all) with sampled
    neighbourhoods (``num_neighbors``; default ``[10] * num_layers`` of ``encoder``)."""
    if batch_size == 0:
        return [copy.copy(data).to(resolve_device(device))]
    if num_neighbors is None:
        layers = encoder_num_layers(encoder) if encoder is not None else 2
        num_neighbors = [DEFAULT_NUM_NEIGHBORS] * layers
    return NeighborLoader(data, list(num_neighbors), batch_size=batch_size,
                          input_nodes=input_nodes, shuffle=True, generator=generator)


def _encode(encoder: torch.nn.Module, data: Any) -> Tensor:
    return encoder(data.x, data.edge_index, edge_attr=getattr(data, 'edge_attr', None),
                   batch=None)


@torch.no_grad()
def embed_nodes(encoder: torch.nn.Module, data: Data, device: str | torch.device | None = None,
                batch_size: int | None = None, *, nodes: Tensor | None = None,
                num_hops: int | None = None, num_neighbors: Sequence[int] | None = None,
                progress: bool = False) -> Tensor:
    r"""Embeddings of the nodes of one graph by a frozen encoder (in eval mode; its mode is
    restored afterwards).

    Full-batch by default. With :obj:`batch_size`, mini-batches of that many target nodes
    with *all* their neighbours up to :obj:`num_hops` hops
    (:class:`~graphpfm.data.NeighborLoader` with ``-1`` at every hop) give the same
    embeddings as the full graph, up to float rounding, for any encoder of at most
    ``num_hops - 1`` layers: the extra hop gives every node whose features reach the targets
    its full in-degree, which GCN's symmetric normalisation needs (GraphSAGE and GAT would be
    exact with ``num_hops`` equal to the number of layers). On graphs too large for that
    (all neighbours within ``num_hops`` hops of a batch can approach the whole graph), pass
    :obj:`num_neighbors` to embed from *sampled* neighbourhoods instead (approximate, as
    GraphSAGE's inference; the sample is fixed by a generator seeded with 0).

    Args:
        encoder (torch.nn.Module): the encoder; called as
            ``encoder(x, edge_index, edge_attr=..., batch=None)``.
        data (Data): the graph.
        device (str or torch.device, optional): where to run; :obj:`None` or ``'auto'``: CUDA
            if available, else CPU. (default: :obj:`None`)
        batch_size (int, optional): target nodes per mini-batch; :obj:`None` or ``0`` for the
            full graph at once. (default: :obj:`None`)
        nodes (Tensor, optional): embed only these nodes (ids or a mask); the rows follow
            their order. (default: :obj:`None`, all nodes)
        num_hops (int, optional): hops of the exact mini-batches. (default: the encoder's
            ``num_layers + 1``)
        num_neighbors (list of int, optional): sample this many neighbours per hop instead
            (needs :obj:`batch_size`). (default: :obj:`None`, all neighbours)
        progress (bool): progress bar over mini-batches. (default: :obj:`False`)

    Returns:
        FloatTensor ``[num_selected_nodes, out_channels]`` on the CPU.
    """
    device = resolve_device(device)
    was_training = encoder.training
    encoder.to(device).eval()
    try:
        if nodes is not None:
            nodes = torch.as_tensor(nodes)
            nodes = nodes.nonzero().view(-1) if nodes.dtype == torch.bool else nodes.long()
        if num_neighbors is not None and not batch_size:
            raise ValueError('num_neighbors (sampled inference) needs a batch_size')
        if not batch_size:
            h = _encode(encoder, copy.copy(data).to(device)).float().cpu()
            return h if nodes is None else h[nodes]
        if num_neighbors is None:
            hops = num_hops if num_hops is not None else encoder_num_layers(encoder) + 1
            num_neighbors = [-1] * hops
        loader = NeighborLoader(data, num_neighbors, batch_size=batch_size, input_nodes=nodes,
                                shuffle=False, generator=torch.Generator().manual_seed(0))
        chunks = []
        from tqdm.auto import tqdm
        for batch in tqdm(loader, desc='embed', disable=not progress, leave=False):
            batch = batch.to(device)
            chunks.append(_encode(encoder, batch)[:batch.batch_size].float().cpu())
        return torch.cat(chunks)
    finally:
        encoder.train(was_training)


class _IndexBatches:
    """Shuffled batches of ``step`` indices of ``index`` (one permutation per epoch, drawn from
    ``generator``)."""

    def __init__(self, index: Tensor, step: int, generator: torch.Generator) -> None:
        self.index, self.step, self.generator = index, step, generator

    def __iter__(self):
        order = self.index[torch.randperm(self.index.numel(), generator=self.generator)]
        step = self.step or order.numel()
        for begin in range(0, order.numel(), step):
            yield order[begin:begin + step]

    def __len__(self) -> int:
        step = self.step or self.index.numel()
        return -(-self.index.numel() // step)


def _node_targets(y: Tensor, task_type: str) -> Tensor:
    """Labels in the loss's format: class indices ``[n]`` or floats ``[n, T]``."""
    if task_type == 'multiclass classification':
        return y.reshape(-1).long()
    y = y.float()
    return y.view(-1, 1) if y.dim() == 1 else y


class NodeTask(Task):
    r"""Prediction of a label per node of one graph (OGB's node property prediction,
    Planetoid): a :class:`~graphpfm.nn.heads.NodePredictor` (a linear head on every node
    embedding); training full-batch or on :class:`~graphpfm.data.NeighborLoader` mini-batches
    of training seed nodes; scores on the valid and test nodes."""

    level = 'node'
    unit = 'nodes'

    def all_labels(self) -> Tensor:
        return self.bundle.dataset.y

    def split_nodes(self, split: str) -> Tensor:
        return self.bundle.split_idx[split].long()

    def labels(self, split: str) -> np.ndarray:
        y = self.bundle.dataset.y[self.split_nodes(split)].cpu()
        return label_array(y, self.task_type)

    def predictor(self, encoder: torch.nn.Module, *, dropout: float = 0.0,
                  pool: str = 'mean') -> NodePredictor:
        return NodePredictor(encoder, self.num_outputs, dropout=dropout)

    def pretrain_batches(self, batch_size: int, generator: torch.Generator, **kwargs: Any
                         ) -> Any:
        """The whole graph, or mini-batches of every node as a seed once (:func:`node_batches`)."""
        return node_batches(self.bundle.dataset, batch_size, generator, **kwargs)

    def training_plan(self, model: torch.nn.Module, config: Any, generator: torch.Generator,
                      device: torch.device, evaluator: Any, *, train_model: Any = None,
                      world_size: int = 1, rank: int = 0, host_group: Any = None
                      ) -> TrainingPlan:
        r"""Training on the training nodes: full-batch or on mini-batches of
        ``config.node_batch_size`` seed nodes (:func:`resolve_node_batching`); in ``'linear'``
        mode the frozen encoder embeds the graph once and only the head trains (on batches of
        embeddings). Scores come from the whole graph when it is small enough for the
        automatic full-batch choice, else from mini-batches of valid and test nodes with all
        their neighbours (exact, :func:`embed_nodes`)."""
        if world_size > 1:
            raise ValueError('data-parallel training (torchrun) covers datasets of graphs; '
                             'node-level training runs in one process')
        data: Data = self.bundle.dataset
        loss_fn = self.loss()
        idx = {s: self.split_nodes(s) for s in SPLITS}
        eval_nodes = torch.cat([idx['valid'], idx['test']])
        targets = _node_targets(data.y, self.task_type)
        scale = self.target_scale() if getattr(config, 'standardize_targets', True) else None
        if scale is not None:  # the loss sees standardised targets
            targets = (targets - scale[0]) / scale[1]
        batch_size = resolve_node_batching(data, config.node_batch_size)
        # evaluation runs on the whole graph whenever that is small enough, even when training
        # uses mini-batches (exact and cheaper than one subgraph per batch of valid/test nodes)
        eval_batch_size = resolve_node_batching(data, None) if batch_size else 0
        full = copy.copy(data).to(device) if batch_size == 0 or eval_batch_size == 0 else None
        frozen = None
        linear = config.mode == 'linear'
        if linear:  # a frozen encoder in eval mode: its embeddings never change
            model.encoder.eval()
            frozen = embed_nodes(model.encoder, data, device, eval_batch_size).to(device)
            targets_dev = targets.to(device)

            def step(nodes: Tensor) -> Tensor:
                return loss_fn(model.predict(frozen[nodes]), targets_dev[nodes])
            batches: Any = _IndexBatches(idx['train'], batch_size, generator)
            count: Any = torch.numel
        elif batch_size == 0:
            train_nodes = idx['train'].to(device)
            train_targets = targets[idx['train']].to(device)

            def step(graph: Data) -> Tensor:
                return loss_fn(model(graph)[train_nodes], train_targets)
            batches = [full]

            def count(graph: Data) -> int:
                return int(train_nodes.numel())
        else:
            layers = encoder_num_layers(model.encoder)
            batches = NeighborLoader(data, config.num_neighbors or
                                     [DEFAULT_NUM_NEIGHBORS] * layers, batch_size=batch_size,
                                     input_nodes=idx['train'], shuffle=True,
                                     generator=generator)

            def step(batch: Any) -> Tensor:
                n = batch.batch_size
                return loss_fn(model(batch)[:n], targets[batch.n_id[:n].cpu()].to(device))

            def count(batch: Any) -> int:
                return int(batch.batch_size)

        n_valid = idx['valid'].numel()
        truth = {s: self.labels(s) for s in ('valid', 'test')}

        @torch.no_grad()
        def scores() -> dict[str, float]:
            model.eval()
            if frozen is not None:
                h = frozen[eval_nodes.to(device)]
            elif full is not None:
                h = model.embed(full)[eval_nodes.to(device)]
            else:
                h = embed_nodes(model.encoder, data, device, eval_batch_size,
                                nodes=eval_nodes).to(device)
            out = model.predict(h).cpu()
            if scale is not None:  # back to the original units
                out = out * scale[1] + scale[0]
            return {'valid': self.score(evaluator, 'valid', out[:n_valid], truth['valid']),
                    'test': self.score(evaluator, 'test', out[n_valid:], truth['test'])}

        return TrainingPlan(batches, step, count=count, scores=scores, unit=self.unit,
                            extra={'node_batch_size': batch_size})

    def embed(self, encoder: torch.nn.Module, device: Any = None, *,
              batch_size: int | None = None, num_neighbors: Sequence[int] | None = None,
              **kwargs: Any) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        """Embeddings of the nodes (:func:`embed_nodes`), their labels and the split: the whole
        graph at once, or with ``batch_size`` only the split's nodes (the split then indexes
        the returned rows)."""
        data = self.bundle.dataset
        if not batch_size:
            return embed_nodes(encoder, data, device), data.y, self.bundle.split_idx
        parts = [self.split_nodes(s) for s in SPLITS]
        nodes = torch.cat(parts)
        bounds = np.cumsum([0] + [p.numel() for p in parts])
        split_idx = {s: torch.arange(int(bounds[i]), int(bounds[i + 1]))
                     for i, s in enumerate(SPLITS)}
        emb = embed_nodes(encoder, data, device, batch_size, nodes=nodes,
                          num_neighbors=num_neighbors)
        return emb, data.y[nodes], split_idx
