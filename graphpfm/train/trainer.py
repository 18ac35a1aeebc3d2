"""The pretraining loop: one optimizer over one objective, logs, checkpoints."""
from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
from torch_geometric.data import Data

from ..objectives.base import Objective, seed_count
from ..tasks import Task
from ..tasks.node import (  # noqa: F401  (part of this module's interface)
    DEFAULT_NODE_BATCH_SIZE,
    DEFAULT_NUM_NEIGHBORS,
    FULL_BATCH_MAX_SIZE,
    check_node_batching,
    encoder_num_layers,
    graph_size,
    resolve_node_batching,
)
from ..utils import seed_everything
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

    def __post_init__(self) -> None:
        if self.log_every < 0:
            raise ValueError(f'log_every must be >= 0 (0: no within-epoch losses), got '
                             f'{self.log_every}')
        if self.amp not in AMP_MODES:
            raise ValueError(f"amp '{self.amp}' invalid; valid options: "
                             f"{', '.join(str(m) for m in AMP_MODES)}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule '{self.lr_schedule}' invalid; valid options: "
                             f"{', '.join(str(m) for m in LR_SCHEDULES)}")
        if not 0 <= self.warmup_epochs < self.epochs:
            raise ValueError(f'warmup_epochs must be in [0, epochs), got {self.warmup_epochs} '
                             f'for {self.epochs} epochs')
        if self.epochs < 1:
            raise ValueError(f'epochs must be >= 1, got {self.epochs}')
        if self.batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {self.batch_size}')
        self.num_neighbors = check_node_batching(self.node_batch_size, self.num_neighbors)


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
                 run_config: dict[str, Any] | None = None) -> None:
        self.objective = objective
        self.config = config or TrainConfig()
        self.log_path = Path(log_path) if log_path else None
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
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
        if task.level == 'node':
            self.node_batch_size = resolve_node_batching(dataset, cfg.node_batch_size)
            return task.pretrain_batches(self.node_batch_size, gen,
                                         num_neighbors=cfg.num_neighbors,
                                         encoder=self.objective.encoder, device=self.device)
        return task.pretrain_batches(cfg.batch_size, gen, world_size=self.world_size,
                                     rank=self.rank, num_workers=cfg.num_workers,
                                     pin_memory=self.device.type == 'cuda',
                                     persistent_workers=cfg.num_workers > 0)

    def fit(self, dataset: Any) -> list[dict[str, Any]]:
        """Train for ``config.epochs`` epochs; returns the per-epoch records.

        Args:
            dataset: a dataset of graphs (e.g. a :class:`~graphpfm.data.GraphStore`), or one
                :class:`~torch_geometric.data.Data` graph for node-level pretraining.
        """
        cfg = self.config
        node_level = isinstance(dataset, Data)
        if node_level:
            if not dataset.num_nodes:
                raise ValueError('cannot pretrain on a graph without nodes')
        elif len(dataset) == 0:
            raise ValueError('cannot pretrain on an empty dataset')
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
        log_file = None
        if self.log_path is not None and self.rank == 0:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            log_file = self.log_path.open('w')
        try:
            for epoch in range(1, cfg.epochs + 1):
                record = self._epoch(epoch, loader, optimizer, corruption, node_level)
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
        self.save()
        return self.history

    def _epoch(self, epoch: int, loader: Any, optimizer: torch.optim.Optimizer,
               corruption: torch.Generator, node_level: bool = False) -> dict[str, Any]:
        cfg = self.config
        self.objective.train()
        hook = getattr(self.objective, 'on_step_end', None)
        record = train_epoch(
            lambda batch: self._model(batch, corruption), loader, optimizer,
            device=self.device, count=seed_count if node_level else _num_graphs,
            params=self.objective.parameters(), skip=_too_small, host_group=self._host_group,
            amp=cfg.amp, scaler=self._scaler, grad_clip=cfg.grad_clip,
            scheduler=self._scheduler, on_step_end=hook if callable(hook) else None,
            log_every=cfg.log_every, world_size=self.world_size,
            check_each_step=self.check_each_step, progress=cfg.progress and self.rank == 0,
            desc=f'epoch {epoch}/{cfg.epochs}', unit='nodes' if node_level else 'graphs',
            epoch=epoch)
        return record

    def save(self) -> None:
        """Write the checkpoint (if a path was given; under data parallelism rank 0 only)."""
        if self.checkpoint_path is None or self.rank != 0:
            return
        head_state = {k: v for k, v in self.objective.state_dict().items()
                      if not k.startswith('encoder.')}
        save_checkpoint(self.checkpoint_path, self.objective.encoder,
                        objective=self.objective.config(), objective_state_dict=head_state,
                        config=self.run_config, data=self.provenance, history=self.history)
        log.info('checkpoint written to %s', self.checkpoint_path)


def _num_graphs(batch: Any) -> int:
    return batch.num_graphs


def _too_small(batch: Any) -> bool:
    """Batches of fewer than two nodes are skipped (batch norm needs two values per channel)."""
    return batch.num_nodes < 2
