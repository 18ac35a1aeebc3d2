"""Fine-tuning and linear probing of an encoder on a labelled graph dataset, over several seeds."""
from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np
import torch
from torch import Tensor
from torch_geometric import seed_everything

from ..datasets.bundle import check_train_limit
from ..errors import ConfigError
from ..nn.heads import POOLS
from ..tasks import Task, check_node_batching
from ..train.loop import data_parallel, init_distributed, run_device, train_epoch

logger = logging.getLogger(__name__)

#: fine-tuning modes: train everything, or only the head on a frozen encoder
MODES = ('full', 'linear')


@dataclass
class FinetuneConfig:
    r"""The fine-tuning recipe (defaults follow `Hu et al. (2020)
    <https://arxiv.org/abs/1905.12265>`_: Adam, lr 1e-3, batch 32, 100 epochs).

    Args:
        mode (str): ``'full'`` (train encoder and head) or ``'linear'`` (frozen encoder in eval
            mode, so batch-norm statistics do not move; only the head is trained).
            (default: :obj:`'full'`)
        epochs (int): training epochs per seed. (default: :obj:`100`)
        batch_size (int): graphs per batch. (default: :obj:`32`)
        lr (float): learning rate of the head. (default: :obj:`1e-3`)
        encoder_lr (float, optional): learning rate of the encoder (Hu et al.'s ``lr_scale``
            as an explicit rate); :obj:`None` means :obj:`lr`; unused in ``'linear'`` mode.
            (default: :obj:`None`)
        weight_decay (float): Adam weight decay, both groups. (default: :obj:`0.0`)
        dropout (float): dropout on the pooled embedding before the head. (default: :obj:`0.0`)
        pool (str): ``'mean'``, ``'sum'`` or ``'max'``. (default: :obj:`'mean'`)
        seeds (tuple of int): one run per seed. (default: :obj:`(0, 1, 2)`)
        device (str): torch device, e.g. ``'cpu'`` or ``'cuda:0'``. (default: :obj:`'cpu'`)
        num_workers (int): data loader workers. (default: :obj:`0`)
        progress (bool): show a tqdm progress bar over epochs. (default: :obj:`False`)
        node_batch_size (int, optional): node-level datasets only: ``0`` trains full-batch,
            a positive number on mini-batches of that many training seed nodes with sampled
            neighbourhoods; :obj:`None` chooses as
            :attr:`~graphpfm.train.TrainConfig.node_batch_size` does (full batch unless the
            graph is large, else 1024). (default: :obj:`None`)
        num_neighbors (list of int, optional): node-level mini-batches: neighbours sampled
            per hop (``-1``: all); :obj:`None` means ``[10] * num_layers``.
            (default: :obj:`None`)
        standardize_targets (bool): regression only: train on targets standardised by the
            training split's mean and standard deviation per task, and predict (and score) in
            the original units. (default: :obj:`True`)
        train_limit (int, optional): train on this many labelled samples only, drawn at random
            from the training split, the same subset for every seed and encoder; valid and
            test stay whole. :obj:`None`: the whole training split. (default: :obj:`None`)
    """

    mode: str = 'full'
    epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-3
    encoder_lr: float | None = None
    weight_decay: float = 0.0
    dropout: float = 0.0
    pool: str = 'mean'
    seeds: Sequence[int] = (0, 1, 2)
    device: str = 'cpu'
    num_workers: int = 0
    progress: bool = False
    node_batch_size: int | None = None
    num_neighbors: Sequence[int] | None = None
    standardize_targets: bool = True
    train_limit: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"mode '{self.mode}' invalid; valid options: {', '.join(MODES)}")
        if self.pool not in POOLS:
            raise ConfigError(f"pool '{self.pool}' invalid; valid options: {', '.join(POOLS)}")
        if self.epochs < 1:
            raise ConfigError(f'epochs must be >= 1, got {self.epochs}')
        if self.batch_size < 1:
            raise ConfigError(f'batch_size must be >= 1, got {self.batch_size}')
        check_train_limit(self.train_limit)
        self.seeds = tuple(int(s) for s in self.seeds)
        if not self.seeds:
            raise ConfigError('seeds must name at least one seed')
        self.num_neighbors = check_node_batching(self.node_batch_size, self.num_neighbors)

    @property
    def resolved_encoder_lr(self) -> float:
        return self.lr if self.encoder_lr is None else self.encoder_lr


def select_best_epoch(valid_scores: Sequence[float], higher_is_better: bool) -> int:
    """Position (0-based) of the best validation score; ties go to the earliest epoch.

    NaN scores never win. Raises :class:`ValueError` on an empty or all-NaN sequence.
    """
    best, best_pos = None, -1
    for pos, score in enumerate(valid_scores):
        score = float(score)
        if math.isnan(score):
            continue
        if best is None or (score > best if higher_is_better else score < best):
            best, best_pos = score, pos
    if best_pos < 0:
        raise ValueError(f'no finite validation score among {len(valid_scores)} epochs')
    return best_pos


@dataclass
class FinetuneResult:
    r"""Scores of :func:`finetune` over seeds: the test score at each seed's best-validation
    epoch, summarised by mean and population standard deviation (``numpy.std``, ``ddof=0``).

    Attributes:
        metric (str): evaluation metric.
        higher_is_better (bool): direction of :attr:`metric`.
        runs (list of dict): one per seed: ``seed``, ``best_epoch`` (1-based),
            ``best_valid``, ``test_at_best_valid`` and ``curves`` (``epoch``, ``train_loss``,
            ``valid``, ``test`` lists, one entry per epoch).
        config (dict): the :class:`FinetuneConfig` used, as plain values.
        skipped_tasks (dict): ``{'valid': [...], 'test': [...]}`` tasks the metric leaves out
            because the split has a single class for them.
    """

    metric: str
    higher_is_better: bool
    runs: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    skipped_tasks: dict[str, list[int]] = field(default_factory=dict)

    @property
    def seeds(self) -> list[int]:
        return [r['seed'] for r in self.runs]

    @property
    def test_scores(self) -> np.ndarray:
        return np.array([r['test_at_best_valid'] for r in self.runs], dtype=float)

    @property
    def valid_scores(self) -> np.ndarray:
        return np.array([r['best_valid'] for r in self.runs], dtype=float)

    @property
    def mean(self) -> float:
        """Mean over seeds of the test score at the best validation epoch."""
        return float(np.mean(self.test_scores))

    @property
    def std(self) -> float:
        """Population std (``ddof=0``) over seeds of the test score at the best valid epoch."""
        return float(np.std(self.test_scores, ddof=0))

    @property
    def valid_mean(self) -> float:
        return float(np.mean(self.valid_scores))

    @property
    def valid_std(self) -> float:
        return float(np.std(self.valid_scores, ddof=0))

    def summary(self, digits: int = 3) -> str:
        """``'<mean> ± <std>'`` of the test score, e.g. ``'0.712 ± 0.013'``."""
        return f'{self.mean:.{digits}f} ± {self.std:.{digits}f}'

    def valid_summary(self, digits: int = 3) -> str:
        return f'{self.valid_mean:.{digits}f} ± {self.valid_std:.{digits}f}'

    def to_dict(self) -> dict[str, Any]:
        """Plain values (JSON-serialisable), with the summary statistics."""
        return {'metric': self.metric, 'higher_is_better': self.higher_is_better,
                'mean': self.mean, 'std': self.std, 'std_ddof': 0,
                'valid_mean': self.valid_mean, 'valid_std': self.valid_std,
                'runs': self.runs, 'config': self.config, 'skipped_tasks': self.skipped_tasks}

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(metric='{self.metric}', test={self.summary()}, "
                f'valid={self.valid_summary()}, seeds={self.seeds})')


def build_optimizer(model: torch.nn.Module, config: FinetuneConfig) -> torch.optim.Adam:
    """One Adam optimizer with parameter groups ``'encoder'`` (at ``config.encoder_lr``) and
    ``'head'`` (at ``config.lr``).

    In ``'linear'`` mode the encoder is frozen here (``requires_grad_(False)``) and left out of
    the optimizer; the caller keeps it in eval mode while training.
    """
    head = {'params': list(model.head.parameters()), 'lr': config.lr, 'name': 'head'}
    if config.mode == 'linear':
        model.encoder.requires_grad_(False)
        groups = [head]
    else:
        groups = [{'params': list(model.encoder.parameters()),
                   'lr': config.resolved_encoder_lr, 'name': 'encoder'}, head]
    return torch.optim.Adam(groups, lr=config.lr, weight_decay=config.weight_decay)


def _finite_or_none(v: float) -> float | None:
    return v if math.isfinite(v) else None


def finetune(bundle: Any, make_encoder: Callable[[int], torch.nn.Module],
             config: FinetuneConfig | None = None, log_path: str | os.PathLike | None = None,
             evaluator: Any | None = None) -> FinetuneResult:
    r"""Fine-tune (or linearly probe) a fresh encoder per seed and report the test score at the
    epoch of best *validation* score (OGB's protocol; test never guides selection).

    For each seed: seed Python, NumPy and torch (:func:`torch_geometric.seed_everything`) and
    a :class:`torch.Generator` that shuffles the training set; build the task's predictor on
    ``make_encoder(seed)`` (graphs: :class:`~graphpfm.nn.heads.GraphPredictor`, pooling and a
    linear head; nodes of one graph: :class:`~graphpfm.nn.heads.NodePredictor`, a linear head
    on every node); train with one Adam optimizer whose parameter groups are the encoder
    (``encoder_lr``; absent in ``'linear'`` mode) and the head (``lr``), with the masked loss
    of the bundle's task type, through the one training loop
    (:func:`~graphpfm.train.loop.train_epoch`); after every epoch score valid and test.
    Batches and scoring come from the bundle's :class:`~graphpfm.tasks.Task` (graphs:
    mini-batches of training graphs, data-parallel under ``torchrun``; nodes: full-batch or
    :class:`~graphpfm.data.NeighborLoader` mini-batches of training seed nodes, and in
    ``'linear'`` mode the frozen encoder embeds the graph once).

    Args:
        bundle (DatasetBundle): a labelled dataset with ``split_idx``.
        make_encoder (callable): ``seed -> Encoder``; loads pretrained weights or initialises
            randomly, as the caller decides. Called once per seed, after seeding.
        config (FinetuneConfig, optional): the recipe. (default: :obj:`FinetuneConfig()`)
        log_path (str, optional): JSON-lines file (overwritten) receiving one record per seed
            and epoch: ``seed``, ``epoch``, ``train_loss``, ``metric``, ``valid``, ``test``.
        evaluator (optional): object with ``metric``, ``higher_is_better`` and
            ``eval({'y_true', 'y_pred'}) -> {metric: value}``.
            (default: :meth:`Evaluator.from_bundle`)
    """
    config = FinetuneConfig() if config is None else config
    if config.train_limit is not None:
        bundle = bundle.limit_train(config.train_limit)
    task = Task.from_bundle(bundle)
    task.check_labelled()
    device = run_device(config.device)
    if task.level == 'node' and int(os.environ.get('WORLD_SIZE', '1')) > 1:
        raise ValueError('data-parallel fine-tuning (torchrun) covers datasets of graphs; '
                         'node-level fine-tuning runs in one process')
    rank, world = init_distributed(device) if task.level == 'graph' else (0, 1)
    evaluator = task.evaluator() if evaluator is None else evaluator
    skipped = task.skipped_tasks(evaluator)
    log_file = None
    if log_path is not None and rank == 0:
        os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
        log_file = open(log_path, 'w', encoding='utf-8')
    try:
        runs = [_run_seed(task, make_encoder, config, seed, evaluator, device, rank, world,
                          log_file) for seed in config.seeds]
    finally:
        if log_file is not None:
            log_file.close()
    result = FinetuneResult(metric=evaluator.metric, higher_is_better=evaluator.higher_is_better,
                            runs=runs, config=asdict(config), skipped_tasks=skipped)
    logger.info('%s %s: test %s (valid %s) over seeds %s', bundle.name, evaluator.metric,
                result.summary(), result.valid_summary(), list(config.seeds))
    return result


def _run_seed(task: Task, make_encoder: Callable[[int], torch.nn.Module],
              config: FinetuneConfig, seed: int, evaluator: Any, device: torch.device,
              rank: int, world: int, log_file: Any | None) -> dict[str, Any]:
    seed_everything(seed)
    model = task.predictor(make_encoder(seed), dropout=config.dropout,
                           pool=config.pool).to(device)
    linear = config.mode == 'linear'
    optimizer = build_optimizer(model, config)
    train_model, group = data_parallel(model, device, world)
    plan = task.training_plan(model, config, torch.Generator().manual_seed(seed), device,
                              evaluator, train_model=train_model, world_size=world, rank=rank,
                              host_group=group)
    curves: dict[str, list] = {'epoch': [], 'train_loss': [], 'valid': [], 'test': []}
    epochs: Any = range(1, config.epochs + 1)
    if config.progress:
        from tqdm.auto import tqdm
        epochs = tqdm(epochs, desc=f'finetune seed {seed}', leave=False)
    skipped = 0
    for epoch in epochs:
        model.train()
        if linear:
            model.encoder.eval()
        record = train_epoch(lambda batch: _Loss(plan.step(batch)), plan.batches, optimizer,
                             device=device, count=plan.count, skip=plan.skip, host_group=group,
                             world_size=world, unit=plan.unit, epoch=epoch)
        skipped += record.get('skipped_batches', 0)
        train_loss = record['loss']
        scores = plan.scores()
        curves['epoch'].append(epoch)
        curves['train_loss'].append(train_loss)
        curves['valid'].append(scores['valid'])
        curves['test'].append(scores['test'])
        logger.debug('seed %d epoch %d: train_loss %.4f valid %.4f test %.4f', seed, epoch,
                     train_loss, scores['valid'], scores['test'])
        if log_file is not None:
            log_file.write(json.dumps({
                'seed': seed, 'epoch': epoch, 'train_loss': _finite_or_none(train_loss),
                'metric': evaluator.metric, 'valid': _finite_or_none(scores['valid']),
                'test': _finite_or_none(scores['test'])}) + '\n')
            log_file.flush()
        if config.progress:
            epochs.set_postfix(loss=f'{train_loss:.4f}', valid=f"{scores['valid']:.4f}")
    best = select_best_epoch(curves['valid'], evaluator.higher_is_better)
    run = {'seed': seed, 'best_epoch': curves['epoch'][best], 'best_valid': curves['valid'][best],
           'test_at_best_valid': curves['test'][best], 'curves': curves, **(plan.extra or {})}
    logger.info('seed %d: best valid %s %.4f at epoch %d, test %.4f', seed, evaluator.metric,
                run['best_valid'], run['best_epoch'], run['test_at_best_valid'])
    if skipped:
        logger.info('seed %d: skipped %d training batches of fewer than two nodes (batch norm '
                    'needs two)', seed, skipped)
    return run


class _Loss(NamedTuple):
    """A supervised loss in the shape the training loop reads (``loss``, no logs)."""

    loss: Tensor
