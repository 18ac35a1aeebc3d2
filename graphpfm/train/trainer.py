"""The pretraining loop: one optimizer over one objective, logs, checkpoints."""
from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
from torch_geometric.data import Data

from ..errors import ConfigError, DataError, ResumeError
from ..objectives.base import Objective, seed_count
from ..tasks import Task
from ..tasks.graph import too_small
from ..tasks.node import (  # noqa: F401  (part of this module's interface)
    DEFAULT_NODE_BATCH_SIZE,
    DEFAULT_NUM_NEIGHBORS,
    FULL_BATCH_MAX_SIZE,
    check_node_batching,
    encoder_num_layers,
    graph_size,
    resolve_node_batching,
)
from ..utils import resolve_device, seed_everything
from .checkpoint import save_checkpoint
from .loop import (  # noqa: F401  (part of this module's interface)
    AMP_MODES,
    LR_SCHEDULES,
    SYNC_EVERY,
    autocast_context,
    data_parallel,
    init_distributed,
    lr_factor,
    run_device,
    train_epoch,
)

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    r"""Options of :class:`Trainer`.

    Args:
        epochs (int): passes over the corpus. (default: :obj:`100`)
        batch_size (int): graphs per step. (default: :obj:`256`)
        lr (float): Adam learning rate. (default: :obj:`1e-3`)
        weight_decay (float): Adam weight decay. (default: :obj:`0.0`)
        grad_clip (float, optional): max gradient norm; :obj:`None` disables. (default: :obj:`None`)
        seed (int): seeds initialisation, data order and corruption. (default: :obj:`0`)
        device (str): ``'cpu'``, ``'cuda'``, ``'cuda:1'`` or ``'auto'``. (default: :obj:`'auto'`)
        num_workers (int): data-loader worker processes. (default: :obj:`0`)
        progress (bool): show a progress bar. (default: :obj:`True`)
        save_every (int): also checkpoint every this many epochs; 0 = only at the end.
            (default: :obj:`0`)
        node_batch_size (int, optional): node-level pretraining on one graph: :obj:`0` trains
            full-batch (one step per epoch on the whole graph), a positive number trains on
            mini-batches of that many seed nodes with their sampled neighbourhoods
            (:class:`~graphpfm.data.NeighborLoader`, every node a seed once per epoch);
            :obj:`None` chooses full-batch when ``num_nodes * num_features + num_edges`` is
            at most :data:`FULL_BATCH_MAX_SIZE` (25M), else mini-batches of
            :data:`DEFAULT_NODE_BATCH_SIZE` (1024). Unused for datasets of graphs.
            (default: :obj:`None`)
        num_neighbors (list of int, optional): neighbours sampled per node at each hop in
            mini-batch mode (``-1``: all); :obj:`None` means ``[10] * L`` for an encoder of
            ``L`` layers (``L`` from its ``num_layers``, else 2). (default: :obj:`None`)
        amp (str, optional): automatic mixed precision of the forward pass
            (:func:`torch.autocast`): ``'bf16'`` (CPU or CUDA; fast on CPUs with AMX or
            AVX512-BF16, slow elsewhere), ``'fp16'`` (CUDA only, with a gradient scaler), or
            :obj:`None` for float32 throughout. Parameters, optimizer state and
            checkpoints stay float32. (default: :obj:`None`)
        lr_schedule (str, optional): ``'cosine'`` decays the learning rate from ``lr`` to 0
            over the run, per optimizer step (:func:`lr_factor`); :obj:`None` keeps it
            constant. (default: :obj:`None`)
        warmup_epochs (int): epochs of linear warm-up before the schedule (with or without
            one). (default: :obj:`0`)
        log_every (int): also record the loss within each epoch: every this many optimizer
            steps, the mean loss of those steps (weighted by graphs or seed nodes; the last
            window may be shorter) goes to the epoch record's ``'step_loss'`` list. Under
            data parallelism these are rank 0's own batches. Each window end reads the loss
            back from the device once. :obj:`0` records none. (default: :obj:`0`)
        save_state_every (int): with a checkpoint path, save the full training state
            (for :meth:`Trainer.fit` with ``resume=True``) every this many optimizer steps;
            :obj:`0` saves it by wall time instead (:attr:`save_state_seconds`). It is also
            saved at the end of every epoch. (default: :obj:`0`)
        save_state_seconds (float): with :attr:`save_state_every` ``0``, save the training
            state when this many seconds have passed since the last save.
            (default: :obj:`300.0`)
        max_skipped_frac (float): stop the run with an error when, over an epoch, the
            objective could not learn from more than this fraction of the data (its
            ``'skipped_frac'`` log, e.g. context prediction on molecules too small for a
            context, edge prediction on graphs without edges), rather than save an encoder
            that learnt nothing. (default: :obj:`0.5`)

    Within an epoch the loop does not wait for the device for its figures: the loss and the
    objective's logs (detached 0-dim tensors, see
    :class:`~graphpfm.objectives.ObjectiveOutput`) are summed on the device in float64 and
    read back once, at the end of the epoch; besides that, the running loss is read every
    :data:`SYNC_EVERY` (20) steps and at the end of every ``log_every`` window. A
    non-finite loss raises :class:`FloatingPointError` naming the epoch: on the CPU (where
    reading a value costs no synchronisation) at the step that produced it, before its
    optimizer step; on an accelerator at the next read-back of the running loss (within
    :data:`SYNC_EVERY` steps, or at the end of the epoch), so a few optimizer steps may run
    on it first; the run stops there and writes no checkpoint of that epoch.
    """

    epochs: int = 100
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float | None = None
    seed: int = 0
    device: str = 'auto'
    num_workers: int = 0
    progress: bool = True
    save_every: int = 0
    node_batch_size: int | None = None
    num_neighbors: Sequence[int] | None = None
    amp: str | None = None
    lr_schedule: str | None = None
    warmup_epochs: int = 0
    log_every: int = 0
    save_state_every: int = 0
    save_state_seconds: float = 300.0
    max_skipped_frac: float = 0.5

    def __post_init__(self) -> None:
        _check_types(self)
        if self.epochs < 1:
            raise ConfigError(f'epochs must be >= 1, got {self.epochs}')
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f'lr must be a finite number > 0, got {self.lr}')
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ConfigError(f'weight_decay must be a finite number >= 0, got '
                              f'{self.weight_decay}')
        if self.grad_clip is not None and not (math.isfinite(self.grad_clip) and
                                               self.grad_clip > 0):
            raise ConfigError(f'grad_clip must be a finite number > 0, or None to disable '
                              f'clipping, got {self.grad_clip}')
        if not 0 <= self.seed < 2 ** 63:
            raise ConfigError(f'seed must be in [0, 2**63), got {self.seed}')
        for name in ('num_workers', 'save_every', 'save_state_every'):
            if getattr(self, name) < 0:
                raise ConfigError(f'{name} must be >= 0, got {getattr(self, name)}')
        if not 0 <= self.max_skipped_frac <= 1:
            raise ConfigError(f'max_skipped_frac must be in [0, 1], got {self.max_skipped_frac}')
        if not self.save_state_seconds > 0:
            raise ConfigError(f'save_state_seconds must be > 0, got {self.save_state_seconds}')
        if self.log_every < 0:
            raise ConfigError(f'log_every must be >= 0 (0: no within-epoch losses), got '
                              f'{self.log_every}')
        if self.amp not in AMP_MODES:
            raise ConfigError(f"amp '{self.amp}' invalid; valid options: "
                              f"{', '.join(str(m) for m in AMP_MODES)}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(f"lr_schedule '{self.lr_schedule}' invalid; valid options: "
                              f"{', '.join(str(m) for m in LR_SCHEDULES)}")
        if not 0 <= self.warmup_epochs < self.epochs:
            raise ConfigError(f'warmup_epochs must be in [0, epochs), got {self.warmup_epochs} '
                              f'for {self.epochs} epochs')
        if self.batch_size < 1:
            raise ConfigError(f'batch_size must be >= 1, got {self.batch_size}')
        self.num_neighbors = check_node_batching(self.node_batch_size, self.num_neighbors)
        resolve_device(self.device)  # an unknown or absent device fails here, before any work


class Trainer:
    r"""Trains an :class:`~graphpfm.objectives.Objective` on a dataset of graphs, or on the
    nodes of one large graph.

    One Adam optimizer over ``objective.parameters()``; a progress bar; one JSON line per epoch
    (loss, the objective's logs, graphs/s) in ``log_path``; the checkpoint written atomically to
    ``checkpoint_path`` with the encoder's config and weights and the run's provenance. After
    every optimizer step the objective's ``on_step_end()`` hook runs, if it has one (e.g. the
    moving-average target update of BGRL).

    The epoch's loss and logs are summed on the device and read back once per epoch; a
    non-finite loss raises :class:`FloatingPointError` at once on the CPU and within
    :data:`SYNC_EVERY` steps on an accelerator (see :class:`TrainConfig`;
    :attr:`check_each_step` overrides the choice).

    Given a single :class:`~torch_geometric.data.Data` (a node-level dataset), :meth:`fit`
    pretrains on its nodes: full-batch, or on mini-batches of seed nodes with sampled
    neighbourhoods (see :attr:`TrainConfig.node_batch_size`). A mini-batch is a
    :class:`~torch_geometric.data.Data` whose first ``batch.batch_size`` nodes are the seeds;
    objectives may restrict their loss to them. Epoch records then count ``nodes`` (seed nodes)
    and ``nodes_per_s`` instead of ``graphs`` and ``graphs_per_s``.

    Args:
        objective (Objective): what to train.
        config (TrainConfig): loop options.
        log_path (str, optional): JSON-lines log file (overwritten).
        checkpoint_path (str, optional): checkpoint file.
        provenance (dict, optional): plain-value description of the data (stored in the
            checkpoint under ``'data'``).
        run_config (dict, optional): the full resolved run config (stored under ``'config'``).
    """

    #: check every step's loss for finiteness (a read-back of the loss each step) instead of
    #: the running sum every :data:`SYNC_EVERY` steps; :obj:`None`: on the CPU only
    check_each_step: bool | None = None

    def __init__(self, objective: Objective, config: TrainConfig | None = None, *,
                 log_path: str | os.PathLike | None = None,
                 checkpoint_path: str | os.PathLike | None = None,
                 provenance: dict[str, Any] | None = None,
                 run_config: dict[str, Any] | None = None,
                 state_path: str | os.PathLike | None = None,
                 callbacks: Sequence[Any] = ()) -> None:
        self.objective = objective
        self.config = config or TrainConfig()
        self.log_path = Path(log_path) if log_path else None
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
        if state_path is None and self.checkpoint_path is not None:
            state_path = self.checkpoint_path.with_name(self.checkpoint_path.stem + '.state.pt')
        #: where the training state for ``fit(..., resume=True)`` is saved
        self.state_path = Path(state_path) if state_path else None
        #: objects with any of ``on_epoch_end(trainer, epoch, record)`` (may add entries to the
        #: epoch's record), ``on_fit_end(trainer)`` (before the final checkpoint is written),
        #: ``checkpoint_extra()`` (plain values stored in the checkpoint under ``'extra'``) and
        #: ``state_dict()``/``load_state_dict()`` (saved with the training state, so resumed
        #: runs continue them)
        self.callbacks = list(callbacks)
        self.provenance = provenance or {}
        self.run_config = run_config or {'train': asdict(self.config)}
        self.device = run_device(self.config.device)
        #: data-parallel rank and number of ranks (``torchrun``); (0, 1) in one process
        self.rank, self.world_size = 0, 1
        self._host_group: Any = None  # process group for host-side flags (None: default)
        self._model: torch.nn.Module = objective  # the DDP wrapper under torchrun
        self.history: list[dict[str, Any]] = []
        #: node-level runs: 0 (full batch) or the seed nodes per mini-batch, set by :meth:`fit`
        self.node_batch_size: int | None = None
        self._scheduler: torch.optim.lr_scheduler.LambdaLR | None = None

    def make_loader(self, dataset: Any) -> Any:
        """The training batches of ``dataset`` for this run: shuffled batches of graphs (each
        rank its share of the same global batches under data parallelism, see
        :func:`~graphpfm.tasks.graph_batches`), or for one graph the whole graph or
        mini-batches of seed nodes (:func:`~graphpfm.tasks.node_batches`)."""
        cfg = self.config
        task = Task.for_data(dataset)
        gen = torch.Generator().manual_seed(cfg.seed)
        self._data_generator = gen
        if task.level == 'node':
            self.node_batch_size = resolve_node_batching(dataset, cfg.node_batch_size)
            return task.pretrain_batches(self.node_batch_size, gen,
                                         num_neighbors=cfg.num_neighbors,
                                         encoder=self.objective.encoder, device=self.device)
        return task.pretrain_batches(cfg.batch_size, gen, world_size=self.world_size,
                                     rank=self.rank, num_workers=cfg.num_workers,
                                     pin_memory=self.device.type == 'cuda',
                                     persistent_workers=cfg.num_workers > 0)

    def fit(self, dataset: Any, resume: bool = False) -> list[dict[str, Any]]:
        """Train for ``config.epochs`` epochs; returns the per-epoch records.

        With a checkpoint path, the full training state (objective, optimizer, scheduler,
        gradient scaler, every random stream, epoch and position within it, the epoch's running
        figures) is saved atomically to :attr:`state_path` during the epoch (see
        :attr:`TrainConfig.save_state_every`) and at its end. ``resume=True`` continues from
        it: a run killed at any moment and resumed ends bit-identical to the uninterrupted run
        (one process; node-level mini-batch runs resume from the last epoch end). A finished
        run, or a state saved with other options, raises :class:`~graphpfm.errors.ResumeError`;
        without a saved state the run starts from the beginning.

        Args:
            dataset: a dataset of graphs (e.g. a :class:`~graphpfm.data.GraphStore`), or one
                :class:`~torch_geometric.data.Data` graph for node-level pretraining.
            resume (bool): continue from the saved training state. (default: :obj:`False`)
        """
        cfg = self.config
        node_level = isinstance(dataset, Data)
        if node_level:
            if not dataset.num_nodes:
                raise ValueError('cannot pretrain on a graph without nodes')
        elif len(dataset) == 0:
            raise ValueError('cannot pretrain on an empty dataset')
        if resume and int(os.environ.get('WORLD_SIZE', '1')) > 1:
            raise ResumeError('resuming covers single-process runs; under torchrun start the '
                              'run again')
        state = self._read_state() if resume else None
        seed_everything(cfg.seed)
        self.rank, self.world_size = init_distributed(self.device)
        if self.world_size > 1 and node_level:
            raise ValueError('data-parallel training (torchrun) covers datasets of graphs; '
                             'node-level pretraining runs in one process')
        self.objective.to(self.device)
        # some objectives leave heads unused on some batches (e.g. bond heads)
        self._model, self._host_group = data_parallel(self.objective, self.device,
                                                      self.world_size,
                                                      find_unused_parameters=True)
        if self.world_size > 1:
            log.info('data-parallel training: rank %d of %d, global batch %d',
                     self.rank, self.world_size, cfg.batch_size)
        optimizer = torch.optim.Adam(self.objective.parameters(), lr=cfg.lr,
                                     weight_decay=cfg.weight_decay)
        self.node_batch_size = None
        loader = self.make_loader(dataset)
        if node_level:
            log.info('node-level pretraining on %d nodes: %s', dataset.num_nodes,
                     'full batch' if self.node_batch_size == 0 else
                     f'mini-batches of {self.node_batch_size} seed nodes, neighbours '
                     f'{loader.num_neighbors}')
        corruption = torch.Generator(device=self.device).manual_seed(
            cfg.seed + 1 + 1_000_003 * self.rank)
        # loss scaling only for float16 (bf16 has float32's range); disabled it is a no-op
        self._scaler = torch.amp.GradScaler(self.device.type, enabled=cfg.amp == 'fp16')
        autocast_context(self.device, cfg.amp)  # fail before the first epoch if unsupported
        self._scheduler = None
        if cfg.lr_schedule is not None or cfg.warmup_epochs:
            steps = len(loader)  # optimizer steps per epoch (per process under torchrun)
            total, warmup = cfg.epochs * steps, cfg.warmup_epochs * steps
            self._scheduler = torch.optim.lr_scheduler.LambdaLR(
                optimizer, lambda step: lr_factor(step, total, warmup, cfg.lr_schedule))
        self._optimizer, self._corruption = optimizer, corruption
        # mid-epoch states need a data order that can be replayed (batches of graphs)
        self._mid_epoch_states = hasattr(getattr(loader, 'batch_sampler', None), 'skip_next')
        start_epoch, epoch_state = 1, None
        self.history = []
        if state is not None:
            start_epoch, epoch_state = self._restore(state, loader)
        log_file = None
        if self.log_path is not None and self.rank == 0:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            log_file = self.log_path.open('w')
            for record in self.history:  # a resumed run's earlier epochs
                log_file.write(json.dumps(record) + '\n')
        try:
            for epoch in range(start_epoch, cfg.epochs + 1):
                self._epoch_start_data = self._data_generator.get_state()
                record = self._epoch(epoch, loader, optimizer, corruption, node_level,
                                     resume=epoch_state)
                epoch_state = None
                if record.get('skipped_frac', 0.0) > cfg.max_skipped_frac:
                    name = self.objective.config().get('name', type(self.objective).__name__)
                    raise DataError(
                        f"objective '{name}' could not learn from "
                        f"{record['skipped_frac']:.0%} of the data in epoch {epoch} (more than "
                        f'max_skipped_frac={cfg.max_skipped_frac}); no checkpoint written. '
                        'Use data it suits (e.g. larger molecules for context prediction, '
                        'graphs with edges for edge prediction) or another objective')
                for cb in self.callbacks:
                    if hasattr(cb, 'on_epoch_end'):
                        cb.on_epoch_end(self, epoch, record)
                self.history.append(record)
                log.info('epoch %d: %s', epoch,
                         ', '.join(f'{k}={v:.4g}' if isinstance(v, float) else f'{k}={v}'
                                   for k, v in record.items()
                                   if k not in ('epoch', 'step_loss')))
                if log_file is not None:
                    log_file.write(json.dumps(record) + '\n')
                    log_file.flush()
                if cfg.save_every and epoch % cfg.save_every == 0 and epoch < cfg.epochs:
                    self.save()
                if epoch < cfg.epochs:
                    self._save_state(epoch + 1, None)
        finally:
            if log_file is not None:
                log_file.close()
            # drop the DDP wrapper: a Trainer kept alive must not hold the reducer (freeing it
            # after the caller destroys the process group can deadlock in gloo's destructor)
            self._model = self.objective
        unit = 'nodes' if node_level else 'graphs'
        if not any(record[unit] for record in self.history):
            raise ValueError('the run trained on nothing: every batch had fewer than two nodes '
                             '(batch norm needs two); no checkpoint written')
        for cb in self.callbacks:
            if hasattr(cb, 'on_fit_end'):
                cb.on_fit_end(self)
        self.save()
        self._save_state(cfg.epochs + 1, None, finished=True)
        return self.history

    # ------------------------------------------------------------------ training state
    def _resume_key(self) -> dict[str, Any]:
        """What must agree between a saved state and the run resuming it."""
        volatile = ('progress', 'num_workers', 'save_state_every', 'save_state_seconds',
                    'save_every')
        train = {k: v for k, v in asdict(self.config).items() if k not in volatile}
        train['num_neighbors'] = None if train['num_neighbors'] is None else \
            list(train['num_neighbors'])
        # where the data were cached, and whether the cache was hit, may change on resuming
        data = {k: v for k, v in self.provenance.items() if k not in ('cache_path', 'from_cache')}
        return {'train': train, 'objective': self.objective.config(),
                'encoder': self.objective.encoder.config(), 'data': data,
                'world_size': self.world_size}

    def _read_state(self) -> dict[str, Any] | None:
        if self.state_path is None:
            raise ResumeError('resuming needs a checkpoint path (the training state is saved '
                              'beside the checkpoint)')
        if not self.state_path.is_file():
            log.info('no training state at %s: the run starts from the beginning',
                     self.state_path)
            return None
        try:
            state = torch.load(self.state_path, map_location='cpu', weights_only=True)
        except Exception as err:  # unreadable: truncated, foreign or damaged
            raise ResumeError(f'cannot read the training state {self.state_path} ({err}); '
                              'delete it to start the run again') from None
        return state

    def _check_state(self, state: dict[str, Any]) -> None:
        saved, now = state.get('key', {}), self._resume_key()
        if state.get('finished'):
            raise ResumeError(f'the run in {self.state_path.parent} finished (epoch '
                              f"{state.get('epoch', 0) - 1}); nothing to resume. Write to a new "
                              'output folder, or remove that one to train again')
        diffs = _differences(saved, now)
        if diffs:
            raise ResumeError('cannot resume with other options than the saved run; they '
                              'differ in: ' + '; '.join(diffs))

    def _restore(self, state: dict[str, Any], loader: Any) -> tuple[int, Any]:
        self._check_state(state)
        self.objective.load_state_dict(state['objective'])
        self._optimizer.load_state_dict(state['optimizer'])
        if self._scheduler is not None:
            self._scheduler.load_state_dict(state['scheduler'])
        self._scaler.load_state_dict(state['scaler'])
        self.history = list(state['history'])
        epoch, epoch_state = int(state['epoch']), state['epoch_state']
        self._data_generator.set_state(state['data_generator'])
        if epoch_state is not None:
            loader.batch_sampler.skip_next(epoch_state['steps'] + epoch_state['skipped'])
        self._corruption.set_state(state['corruption'].to(self._corruption.get_state().device))
        _set_rng_state(state['rng'])
        for cb, cb_state in zip(self.callbacks, state.get('callbacks', []), strict=False):
            if hasattr(cb, 'load_state_dict') and cb_state is not None:
                cb.load_state_dict(cb_state)
        log.info('resuming from %s: epoch %d, %s', self.state_path, epoch,
                 'its start' if epoch_state is None else
                 f"after {epoch_state['steps']} steps")
        return epoch, epoch_state

    def _save_state(self, epoch: int, epoch_state: dict[str, Any] | None,
                    finished: bool = False) -> None:
        """Write the training state (rank 0; only with a state path)."""
        if self.state_path is None or self.rank != 0:
            return
        from ..paths import atomic_write_bytes
        if finished:
            state: dict[str, Any] = {'format': 1, 'finished': True, 'epoch': epoch,
                                     'key': self._resume_key()}
        else:
            state = {
                'format': 1, 'finished': False, 'key': self._resume_key(), 'epoch': epoch,
                'epoch_state': epoch_state,
                'objective': {k: v.detach().cpu() for k, v in
                              self.objective.state_dict().items()},
                'optimizer': self._optimizer.state_dict(),
                'scheduler': None if self._scheduler is None else
                self._scheduler.state_dict(),
                'scaler': self._scaler.state_dict(),
                # the data order of an unfinished epoch is replayed from its start
                'data_generator': (self._epoch_start_data if epoch_state is not None
                                   else self._data_generator.get_state()),
                'corruption': self._corruption.get_state().cpu(),
                'rng': _rng_state(), 'history': list(self.history),
                'callbacks': [cb.state_dict() if hasattr(cb, 'state_dict') else None
                              for cb in self.callbacks]}
        atomic_write_bytes(self.state_path, lambda tmp: torch.save(state, tmp))
        self._last_state_save = time.monotonic()

    def _on_step(self, epoch: int) -> Any:
        """The per-step hook of :func:`~graphpfm.train.loop.train_epoch` that saves the state
        within an epoch, or :obj:`None` when no state is saved within epochs."""
        if self.state_path is None or not self._mid_epoch_states or self.rank != 0:
            return None
        cfg = self.config
        self._last_state_save = time.monotonic()

        def on_step(steps: int, snapshot: Any) -> None:
            due = (steps % cfg.save_state_every == 0 if cfg.save_state_every else
                   time.monotonic() - self._last_state_save >= cfg.save_state_seconds)
            if due:
                self._save_state(epoch, snapshot())
        return on_step

    def _epoch(self, epoch: int, loader: Any, optimizer: torch.optim.Optimizer,
               corruption: torch.Generator, node_level: bool = False,
               resume: dict[str, Any] | None = None) -> dict[str, Any]:
        cfg = self.config
        self.objective.train()
        hook = getattr(self.objective, 'on_step_end', None)
        record = train_epoch(
            lambda batch: self._model(batch, corruption), loader, optimizer,
            device=self.device, count=seed_count if node_level else _num_graphs,
            params=self.objective.parameters(), skip=too_small, host_group=self._host_group,
            amp=cfg.amp, scaler=self._scaler, grad_clip=cfg.grad_clip,
            scheduler=self._scheduler, on_step_end=hook if callable(hook) else None,
            log_every=cfg.log_every, world_size=self.world_size,
            check_each_step=self.check_each_step, progress=cfg.progress and self.rank == 0,
            desc=f'epoch {epoch}/{cfg.epochs}', unit='nodes' if node_level else 'graphs',
            epoch=epoch, resume=resume, on_step=self._on_step(epoch))
        return record

    def save(self) -> None:
        """Write the checkpoint (if a path was given; under data parallelism rank 0 only)."""
        if self.checkpoint_path is None or self.rank != 0:
            return
        bad = [k for k, v in self.objective.state_dict().items()
               if v.is_floating_point() and not bool(torch.isfinite(v).all())]
        if bad:
            raise FloatingPointError(
                f'non-finite weights after epoch {len(self.history)} ({", ".join(bad[:5])}'
                f'{", ..." if len(bad) > 5 else ""}); no checkpoint written. Lower the learning '
                'rate, or set grad_clip')
        head_state = {k: v for k, v in self.objective.state_dict().items()
                      if not k.startswith('encoder.')}
        extra: dict[str, Any] = {}
        for cb in self.callbacks:
            if hasattr(cb, 'checkpoint_extra'):
                extra.update(cb.checkpoint_extra())
        save_checkpoint(self.checkpoint_path, self.objective.encoder,
                        objective=self.objective.config(), objective_state_dict=head_state,
                        config=self.run_config, data=self.provenance, history=self.history,
                        extra=extra or None)
        log.info('checkpoint written to %s', self.checkpoint_path)


def _num_graphs(batch: Any) -> int:
    return batch.num_graphs


def _rng_state() -> dict[str, Any]:
    """Every global random stream, as tensors and plain values."""
    import numpy as np
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {'torch': torch.get_rng_state(), 'python': random.getstate(),
             'numpy': {'kind': kind, 'keys': torch.from_numpy(keys.astype(np.int64)),
                       'pos': int(pos), 'has_gauss': int(has_gauss), 'gauss': float(gauss)}}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    import numpy as np
    torch.set_rng_state(state['torch'])
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    n = state['numpy']
    np.random.set_state((n['kind'], n['keys'].numpy().astype(np.uint32), n['pos'],
                         n['has_gauss'], n['gauss']))
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


def _differences(saved: Any, now: Any, prefix: str = '') -> list[str]:
    """``'key: saved -> now'`` for every leaf where two nested dicts differ."""
    if isinstance(saved, dict) and isinstance(now, dict):
        out = []
        for key in sorted(set(saved) | set(now), key=str):
            out += _differences(saved.get(key), now.get(key), f'{prefix}{key}.')
        return out
    if isinstance(saved, (list, tuple)) and isinstance(now, (list, tuple)):
        saved, now = list(saved), list(now)
    return [] if saved == now else [f'{prefix.rstrip(".")}: {saved!r} -> {now!r}']


def _check_types(config: Any) -> None:
    """Reject values of the wrong type (e.g. ``True`` for an integer, as YAML may give)."""
    import collections.abc
    import dataclasses
    import typing
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        value, hint = getattr(config, f.name), hints[f.name]
        allowed = [a for a in typing.get_args(hint)] or [hint]
        if value is None:
            if type(None) not in allowed:
                raise ConfigError(f'{f.name} must not be None')
            continue
        if isinstance(value, bool) and bool not in allowed:
            raise ConfigError(f'{f.name} must be {_type_name(allowed)}, got {value!r}')
        if int in allowed and isinstance(value, int):
            continue
        if float in allowed and isinstance(value, (int, float)):
            continue
        if str in allowed and isinstance(value, str):
            continue
        if bool in allowed and isinstance(value, bool):
            continue
        if any(getattr(a, '__origin__', a) in (collections.abc.Sequence, list, tuple)
               for a in allowed) and isinstance(value, (list, tuple)):
            continue
        raise ConfigError(f'{f.name} must be {_type_name(allowed)}, got {value!r}')


def _type_name(types: list[Any]) -> str:
    names = [getattr(t, '__name__', str(t)).replace('NoneType', 'None') for t in types]
    return ' or '.join(names)
