r"""Fine-tuning (or linear probing by gradient descent) of an encoder on the nodes of one
graph, over several seeds: test score at the best validation epoch."""
from __future__ import annotations

import copy
import logging
from typing import Any, Callable

import torch
from torch import Tensor
from torch_geometric import seed_everything
from torch_geometric.data import Data

from ..data.neighbor_loader import NeighborLoader
from ..nn.losses import loss_for_task
from ..train.trainer import DEFAULT_NUM_NEIGHBORS, encoder_num_layers, resolve_node_batching
from .finetune import (
    FinetuneConfig,
    FinetuneResult,
    _num_outputs,
    _predictions,
    build_optimizer,
    run_epochs,
    run_seeds,
)
from .probe import _labels, embed_nodes

logger = logging.getLogger(__name__)


class NodePredictor(torch.nn.Module):
    r"""Encoder and a linear head on every node embedding, the usual node-classification
    model for transferring a pretrained encoder (e.g. `Hu et al. (2020)
    <https://arxiv.org/abs/1905.12265>`_, `GraphMAE <https://arxiv.org/abs/2205.10803>`_).

    .. math::
        \hat{\mathbf{y}}_i = \mathbf{W} \, \mathrm{dropout}(\mathbf{h}_i) + \mathbf{b}

    Args:
        encoder (Encoder): node encoder with ``out_channels``.
        num_outputs (int): classes (multiclass) or tasks.
        dropout (float): dropout on the node embedding. (default: :obj:`0.0`)
    """

    def __init__(self, encoder: torch.nn.Module, num_outputs: int, dropout: float = 0.0) -> None:
        super().__init__()
        if num_outputs < 1:
            raise ValueError(f'num_outputs must be >= 1, got {num_outputs}')
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f'dropout must be in [0, 1), got {dropout}')
        self.encoder = encoder
        self.num_outputs = num_outputs
        self.dropout = dropout
        self.head = torch.nn.Linear(encoder.out_channels, num_outputs)

    def reset_parameters(self) -> None:
        """Re-initialise the head only; the (possibly pretrained) encoder is left alone."""
        self.head.reset_parameters()

    def embed(self, data: Data) -> Tensor:
        return self.encoder(data.x, data.edge_index, edge_attr=getattr(data, 'edge_attr', None),
                            batch=None)

    def predict(self, h: Tensor) -> Tensor:
        """The head on node embeddings ``h``."""
        return self.head(torch.nn.functional.dropout(h, self.dropout, self.training))

    def forward(self, data: Data) -> Tensor:
        return self.predict(self.embed(data))

    def __repr__(self) -> str:
        return (f'{type(self).__name__}({self.encoder}, num_outputs={self.num_outputs}, '
                f'dropout={self.dropout})')


def _targets(y: Tensor, task_type: str) -> Tensor:
    """Labels in the loss's format: class indices ``[n]`` or floats ``[n, T]``."""
    if task_type == 'multiclass classification':
        return y.reshape(-1).long()
    y = y.float()
    return y.view(-1, 1) if y.dim() == 1 else y


def _run_seed(bundle: Any, make_encoder: Callable[[int], torch.nn.Module],
              config: FinetuneConfig, seed: int, evaluator: Any,
              log_file: Any | None) -> dict[str, Any]:
    device = torch.device(config.device)
    seed_everything(seed)
    data: Data = bundle.dataset
    task_type = bundle.task_type
    encoder = make_encoder(seed)
    model = NodePredictor(encoder, _num_outputs(bundle), dropout=config.dropout).to(device)
    linear = config.mode == 'linear'
    optimizer = build_optimizer(model, config)
    loss_fn = loss_for_task(task_type)
    idx = {s: bundle.split_idx[s].long() for s in ('train', 'valid', 'test')}
    eval_nodes = torch.cat([idx['valid'], idx['test']])
    y_true = {s: _labels(data.y[idx[s]].cpu(), task_type) for s in ('valid', 'test')}
    targets = _targets(data.y, task_type)
    batch_size = resolve_node_batching(data, config.node_batch_size)
    generator = torch.Generator().manual_seed(seed)
    num_neighbors = config.num_neighbors or [DEFAULT_NUM_NEIGHBORS] * encoder_num_layers(encoder)
    # evaluation runs on the whole graph whenever that is small enough, even when training
    # uses mini-batches (exact and cheaper than one subgraph per batch of valid/test nodes)
    eval_batch_size = resolve_node_batching(data, None) if batch_size else 0
    full = copy.copy(data).to(device) if batch_size == 0 or eval_batch_size == 0 else None
    frozen = None
    if linear:  # a frozen encoder in eval mode: its embeddings never change
        model.encoder.eval()
        frozen = embed_nodes(model.encoder, data, device, eval_batch_size).to(device)
    loader = None
    if not linear and batch_size > 0:
        loader = NeighborLoader(data, num_neighbors, batch_size=batch_size,
                                input_nodes=idx['train'], shuffle=True, generator=generator)

    def train_epoch() -> float:
        model.train()
        if linear:
            model.encoder.eval()
            order = idx['train'][torch.randperm(idx['train'].numel(), generator=generator)]
            step = batch_size or order.numel()
            total, count = 0.0, 0
            for begin in range(0, order.numel(), step):
                nodes = order[begin:begin + step]
                optimizer.zero_grad()
                loss = loss_fn(model.predict(frozen[nodes.to(device)]),
                               targets[nodes].to(device))
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * nodes.numel()
                count += nodes.numel()
            return total / count
        if loader is None:  # full batch
            optimizer.zero_grad()
            out = model(full)[idx['train'].to(device)]
            loss = loss_fn(out, targets[idx['train']].to(device))
            loss.backward()
            optimizer.step()
            return float(loss.detach())
        total, count = 0.0, 0
        for batch in loader:
            batch = batch.to(device)
            n = batch.batch_size
            optimizer.zero_grad()
            out = model(batch)[:n]
            loss = loss_fn(out, targets[batch.n_id[:n].cpu()].to(device))
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * n
            count += n
        return total / count  # node-weighted mean of the batch losses

    @torch.no_grad()
    def evaluate() -> dict[str, float]:
        model.eval()
        if frozen is not None:
            h = frozen[eval_nodes.to(device)]
        elif full is not None:
            h = model.embed(full)[eval_nodes.to(device)]
        else:
            h = embed_nodes(model.encoder, data, device, eval_batch_size,
                            nodes=eval_nodes).to(device)
        out = model.predict(h).cpu()
        n_valid = idx['valid'].numel()
        scores = {}
        for split, part in (('valid', out[:n_valid]), ('test', out[n_valid:])):
            pred = _predictions(part, task_type, evaluator.metric).numpy()
            truth = y_true[split]
            if task_type == 'multiclass classification':
                labelled = truth[:, 0] >= 0
                truth, pred = truth[labelled], pred[labelled]
            scores[split] = float(evaluator.eval({'y_true': truth,
                                                  'y_pred': pred})[evaluator.metric])
        return scores

    def train_and_score() -> tuple[float, dict[str, float]]:
        return train_epoch(), evaluate()

    return run_epochs(train_and_score, config, seed, evaluator, log_file,
                      node_batch_size=batch_size)


def finetune_nodes(bundle: Any, make_encoder: Callable[[int], torch.nn.Module],
                   config: FinetuneConfig | None = None, log_path: Any | None = None,
                   evaluator: Any | None = None) -> FinetuneResult:
    r"""Fine-tune (or linearly probe) a fresh encoder per seed on the nodes of one graph and
    report the test score at the epoch of best *validation* score (OGB's protocol).

    For each seed: seed Python, NumPy and torch; build
    ``NodePredictor(make_encoder(seed), ...)``; train on the training nodes with one Adam
    optimizer (encoder at ``encoder_lr``, absent in ``'linear'`` mode; head at ``lr``) and the
    masked loss of the task type, full-batch or on :class:`~graphpfm.data.NeighborLoader`
    mini-batches of training seed nodes (``config.node_batch_size``, ``config.num_neighbors``);
    after every epoch score valid and test (OGB's node evaluator for ``ogbn-*``). In
    ``'linear'`` mode the frozen encoder embeds the graph once per seed and only the head
    trains (on mini-batches of embeddings when ``node_batch_size > 0``). Evaluation runs on the
    whole graph when it is small enough for the automatic full-batch choice (see
    :attr:`~graphpfm.train.TrainConfig.node_batch_size`), else on mini-batches of valid and
    test nodes with all their neighbours (exact, :func:`~graphpfm.eval.embed_nodes`).

    Args:
        bundle (DatasetBundle): a labelled node-level bundle (one graph in ``dataset``).
        make_encoder (callable): ``seed -> Encoder``.
        config (FinetuneConfig, optional): the recipe (``batch_size`` and ``pool`` are
            unused). (default: :obj:`FinetuneConfig()`)
        log_path (str, optional): JSON-lines file receiving one record per seed and epoch.
        evaluator (optional): as in :func:`~graphpfm.eval.finetune`.
            (default: :meth:`NodeEvaluator.from_bundle`)
    """
    from .node_evaluator import NodeEvaluator
    config = FinetuneConfig() if config is None else config
    if bundle.level != 'node':
        raise ValueError(f"finetune_nodes needs a node-level dataset, '{bundle.name}' is "
                         f"{bundle.level}-level; use finetune()")
    evaluator = NodeEvaluator.from_bundle(bundle) if evaluator is None else evaluator
    skipped: dict[str, list[int]] = {}
    if hasattr(evaluator, 'skipped_tasks') and bundle.task_type != 'multiclass classification':
        for split in ('valid', 'test'):
            y = _labels(bundle.dataset.y[bundle.split_idx[split]].cpu(), bundle.task_type)
            skipped[split] = evaluator.skipped_tasks(y)
            if skipped[split] and len(skipped[split]) == y.shape[1]:
                raise ValueError(f"every task of split '{split}' of '{bundle.name}' has a "
                                 f'single class: {evaluator.metric} is undefined')
    return run_seeds(_run_seed, bundle, make_encoder, config, evaluator, log_path, skipped)
