"""Fine-tuning and linear probing of an encoder on a labelled graph dataset, over several seeds."""
from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import Tensor
from torch_geometric import seed_everything

from ..data.loader import GraphLoader
from ..nn.heads import POOLS, GraphPredictor
from ..nn.losses import loss_for_task
from ..train.trainer import host_group, skip_small_batch
from .evaluator import Evaluator

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

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode '{self.mode}' invalid; valid options: {', '.join(MODES)}")
        if self.pool not in POOLS:
            raise ValueError(f"pool '{self.pool}' invalid; valid options: {', '.join(POOLS)}")
        if self.epochs < 1:
            raise ValueError(f'epochs must be >= 1, got {self.epochs}')
        if self.batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {self.batch_size}')
        self.seeds = tuple(int(s) for s in self.seeds)
        if not self.seeds:
            raise ValueError('seeds must name at least one seed')
        from ..train.trainer import check_node_batching
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


def _num_outputs(bundle: Any) -> int:
    if bundle.task_type != 'multiclass classification':
        return int(bundle.num_tasks)
    num_classes = bundle.meta.get('num_classes')
    if num_classes is None:
        y = bundle.dataset.y
        num_classes = int(torch.nan_to_num(y.float(), nan=-1.0).max()) + 1
    return int(num_classes)


def _predictions(out: Tensor, task_type: str, metric: str) -> Tensor:
    """What the evaluator expects from raw model outputs."""
    if task_type == 'multiclass classification':
        return out.argmax(dim=-1, keepdim=True)
    if metric == 'acc':  # binary accuracy: threshold the logits
        return (out > 0).to(out.dtype)
    return out  # logits are fine for rocauc/ap (monotone); values for rmse/mae


@torch.no_grad()
def predict(model: torch.nn.Module, loader: GraphLoader, device: torch.device) -> Tensor:
    """Raw model outputs on every batch of ``loader``, concatenated on the CPU."""
    model.eval()
    outs = [model(batch.to(device)).detach().cpu() for batch in loader]
    return torch.cat(outs, dim=0)


def _split_labels(bundle: Any, split: str, batch_size: int) -> Tensor:
    """Labels ``[num_graphs, num_tasks]`` of split ``split``, in loader order."""
    ys = [batch.y for batch in GraphLoader(bundle.split(split), batch_size=batch_size)]
    if any(y is None for y in ys):
        raise ValueError(f"split '{split}' of dataset '{bundle.name}' has graphs without labels")
    return torch.cat(ys, dim=0).cpu()


def _finite_or_none(v: float) -> float | None:
    return v if math.isfinite(v) else None


def build_optimizer(model: GraphPredictor, config: FinetuneConfig) -> torch.optim.Adam:
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


def _device(config: Any) -> torch.device:
    """``config.device``; under ``torchrun`` on CUDA, the GPU of this process's
    ``LOCAL_RANK``."""
    device = torch.device(config.device)
    if device.type == 'cuda' and 'LOCAL_RANK' in os.environ and \
            int(os.environ.get('WORLD_SIZE', '1')) > 1:
        device = torch.device('cuda', int(os.environ['LOCAL_RANK']))
    return device


def _distributed(device: torch.device) -> tuple[int, int]:
    """``(rank, world_size)`` under ``torchrun`` (joining its process group), else (0, 1)."""
    from ..train.trainer import init_distributed
    return init_distributed(device)


def _run_seed(bundle: Any, make_encoder: Callable[[int], torch.nn.Module],
              config: FinetuneConfig, seed: int, evaluator: Any,
              log_file: Any | None) -> dict[str, Any]:
    device = _device(config)
    rank, world = _distributed(device)
    seed_everything(seed)
    encoder = make_encoder(seed)
    model = GraphPredictor(encoder, _num_outputs(bundle), pool=config.pool,
                           dropout=config.dropout).to(device)
    linear = config.mode == 'linear'
    optimizer = build_optimizer(model, config)
    loss_fn = loss_for_task(bundle.task_type)
    train_model: torch.nn.Module = model

    generator = torch.Generator().manual_seed(seed)
    train_split = bundle.split('train')
    group, skipped = None, [0]  # host-side flag group (torchrun); training batches skipped
    if world > 1:
        # torchrun: every rank trains on its share of the same global batches, drawn from the
        # generator as the single-process loader below draws them; gradients averaged by
        # DDP; all ranks score valid and test alike
        from torch.nn.parallel import DistributedDataParallel
        from torch.utils.data import BatchSampler, RandomSampler

        from ..data.loader import ShardBatches
        sampler = ShardBatches(BatchSampler(RandomSampler(train_split, generator=generator),
                                            config.batch_size, drop_last=False), world, rank)
        train_loader = GraphLoader(train_split, batch_size=1, batch_sampler=sampler,
                                   generator=generator, num_workers=config.num_workers)
        train_model = DistributedDataParallel(
            model, device_ids=[device.index] if device.type == 'cuda' else None)
        group = host_group()
    else:
        train_loader = GraphLoader(train_split, batch_size=config.batch_size, shuffle=True,
                                   generator=generator, num_workers=config.num_workers)
    eval_loaders = {s: GraphLoader(bundle.split(s), batch_size=config.batch_size,
                                   num_workers=config.num_workers) for s in ('valid', 'test')}
    labels = {s: _split_labels(bundle, s, config.batch_size) for s in ('valid', 'test')}

    def train_and_score() -> tuple[float, dict[str, float]]:
        model.train()
        if linear:
            model.encoder.eval()
        total, count = 0.0, 0
        for batch in train_loader:
            if skip_small_batch(batch, world, group):
                skipped[0] += 1
                continue
            batch = batch.to(device)
            optimizer.zero_grad()
            loss = loss_fn(train_model(batch), batch.y)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * batch.num_graphs
            count += batch.num_graphs
        if world > 1:  # the epoch's figure over all ranks
            import torch.distributed as dist
            t = torch.tensor([total, float(count)], dtype=torch.float64, device=device)
            dist.all_reduce(t)
            total, count = float(t[0]), int(t[1])
        # graph-weighted mean of the batch losses (nan: every batch was skipped)
        train_loss = total / count if count else float('nan')
        scores = {}
        for split, loader in eval_loaders.items():
            pred = _predictions(predict(model, loader, device), bundle.task_type,
                                evaluator.metric)
            scores[split] = float(evaluator.eval({'y_true': labels[split].numpy(),
                                                  'y_pred': pred.numpy()})[evaluator.metric])
        return train_loss, scores

    run = run_epochs(train_and_score, config, seed, evaluator, log_file)
    if skipped[0]:
        logger.info('seed %d: skipped %d training batches of fewer than two nodes (batch norm '
                    'needs two)', seed, skipped[0])
    return run


def run_epochs(train_and_score: Callable[[], tuple[float, dict[str, float]]],
               config: Any, seed: int, evaluator: Any, log_file: Any | None,
               **extra: Any) -> dict[str, Any]:
    """The fine-tuning epoch loop shared by graph- and node-level fine-tuning: call
    ``train_and_score()`` (one training epoch, then ``{'valid', 'test'}`` scores) for
    ``config.epochs`` epochs, record the curves (and a JSON line per epoch in ``log_file``),
    and return the run at the best validation epoch (ties: the earlier one), with ``extra``
    entries added."""
    curves: dict[str, list] = {'epoch': [], 'train_loss': [], 'valid': [], 'test': []}
    epochs: Any = range(1, config.epochs + 1)
    if config.progress:
        from tqdm.auto import tqdm
        epochs = tqdm(epochs, desc=f'finetune seed {seed}', leave=False)
    for epoch in epochs:
        train_loss, scores = train_and_score()
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
           'test_at_best_valid': curves['test'][best], 'curves': curves, **extra}
    logger.info('seed %d: best valid %s %.4f at epoch %d, test %.4f', seed, evaluator.metric,
                run['best_valid'], run['best_epoch'], run['test_at_best_valid'])
    return run


def _check_labelled_split(bundle: Any, what: str = 'fine-tuning') -> None:
    """Raise :class:`ValueError` unless ``bundle`` is labelled with non-empty splits."""
    if bundle.split_idx is None or bundle.task_type is None:
        raise ValueError(f"dataset '{bundle.name}' is unlabelled or has no split; {what} "
                         'needs task_type and split_idx')
    for split in ('train', 'valid', 'test'):
        if split not in bundle.split_idx:
            raise ValueError(f"dataset '{bundle.name}' lacks split '{split}'; it has "
                             f"{', '.join(bundle.split_idx)}")
        if bundle.split_idx[split].numel() == 0:
            raise ValueError(f"split '{split}' of dataset '{bundle.name}' is empty")


def finetune_graphs(bundle: Any, make_encoder: Callable[[int], torch.nn.Module],
                    config: FinetuneConfig, log_path: str | os.PathLike | None = None,
                    evaluator: Any | None = None) -> FinetuneResult:
    """The graph-level recipe of :func:`~graphpfm.eval.finetune` (which checks the bundle
    and hands node-level ones to :func:`~graphpfm.eval.node_finetune.finetune_nodes`)."""
    evaluator = Evaluator.from_bundle(bundle) if evaluator is None else evaluator

    skipped: dict[str, list[int]] = {}
    if hasattr(evaluator, 'skipped_tasks'):
        for split in ('valid', 'test'):
            y = _split_labels(bundle, split, config.batch_size)
            skipped[split] = evaluator.skipped_tasks(y.numpy())
            if skipped[split]:
                if len(skipped[split]) == y.size(1):
                    raise ValueError(f"every task of split '{split}' of '{bundle.name}' has a "
                                     f"single class: {evaluator.metric} is undefined")
                logger.warning("%s leaves out %d of %d tasks of split '%s' (single class): %s",
                               evaluator.metric, len(skipped[split]), y.size(1), split,
                               skipped[split])

    return run_seeds(_run_seed, bundle, make_encoder, config, evaluator, log_path, skipped)


def run_seeds(run_seed: Callable[..., dict[str, Any]], bundle: Any,
              make_encoder: Callable[[int], torch.nn.Module], config: Any, evaluator: Any,
              log_path: str | os.PathLike | None, skipped: dict[str, list[int]]
              ) -> FinetuneResult:
    """``run_seed(bundle, make_encoder, config, seed, evaluator, log_file)`` for every seed
    of ``config`` (one JSON-lines log for all), summarised as a :class:`FinetuneResult`."""
    log_file = None
    rank = 0
    if getattr(bundle, 'level', 'graph') != 'node':
        rank, _ = _distributed(_device(config))
    if log_path is not None and rank == 0:
        os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
        log_file = open(log_path, 'w', encoding='utf-8')
    try:
        runs = [run_seed(bundle, make_encoder, config, seed, evaluator, log_file)
                for seed in config.seeds]
    finally:
        if log_file is not None:
            log_file.close()
    result = FinetuneResult(metric=evaluator.metric, higher_is_better=evaluator.higher_is_better,
                            runs=runs, config=asdict(config), skipped_tasks=skipped)
    logger.info('%s %s: test %s (valid %s) over seeds %s', bundle.name, evaluator.metric,
                result.summary(), result.valid_summary(), list(config.seeds))
    return result
