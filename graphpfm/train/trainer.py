"""The pretraining loop: one optimizer over one objective, logs, checkpoints."""
from __future__ import annotations

import contextlib
import copy
import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import Tensor
from torch_geometric.data import Data
from tqdm.auto import tqdm

from ..data.loader import GraphLoader, ShardedBatchSampler
from ..data.neighbor_loader import NeighborLoader
from ..objectives.base import Objective, seed_count
from ..utils import resolve_device, seed_everything
from .checkpoint import save_checkpoint

log = logging.getLogger(__name__)

#: automatic node batching trains full-batch while ``num_nodes * num_features + num_edges`` is
#: at most this (Cora: 3.9M, ogbn-arxiv: 22.8M; ogbn-products, at 364M, gets mini-batches)
FULL_BATCH_MAX_SIZE = 25_000_000
#: seed nodes per mini-batch when the automatic choice is mini-batching
DEFAULT_NODE_BATCH_SIZE = 1024
#: neighbours sampled per node and hop by default (one hop per encoder layer)
DEFAULT_NUM_NEIGHBORS = 10
#: optimizer steps between read-backs of the running loss within an epoch (a device
#: synchronisation: the finiteness check off the CPU, and the progress bar)
SYNC_EVERY = 20


#: mixed-precision modes of :class:`TrainConfig` (``None``: float32)
AMP_MODES = (None, 'bf16', 'fp16')
LR_SCHEDULES = (None, 'cosine')


def lr_factor(step: int, total_steps: int, warmup_steps: int = 0,
              schedule: str | None = 'cosine') -> float:
    r"""The learning-rate multiplier of optimizer step ``step`` (0-based) of ``total_steps``:
    a linear warm-up from :math:`1/w` to 1 over the first ``warmup_steps`` (:math:`w`), then
    for ``'cosine'`` :math:`\frac{1}{2}\big(1 + \cos(\pi\, t / T)\big)` with :math:`t` the
    steps after the warm-up and :math:`T` their number (GraphMAE's per-epoch schedule when
    there is one step per epoch; BGRL's warm-up and cosine decay); :obj:`None`: constant."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule is None:
        return 1.0
    t, horizon = step - warmup_steps, max(total_steps - warmup_steps, 1)
    return 0.5 * (1.0 + math.cos(math.pi * min(t, horizon) / horizon))


def autocast_context(device: torch.device, amp: str | None) -> Any:
    """The :func:`torch.autocast` context of ``amp`` on ``device`` (a no-op for ``None``)."""
    if amp is None:
        return contextlib.nullcontext()
    if amp == 'fp16' and device.type != 'cuda':
        raise ValueError(f"amp 'fp16' needs a CUDA device, got {device}; use 'bf16' on "
                         f'{device.type}')
    dtype = torch.bfloat16 if amp == 'bf16' else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


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


def init_distributed(device: torch.device) -> tuple[int, int]:
    """``(rank, world_size)``: joins the process group that ``torchrun`` describes in the
    environment (``WORLD_SIZE`` > 1; ``gloo`` on CPU, ``nccl`` on CUDA), or ``(0, 1)``."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    if int(os.environ.get('WORLD_SIZE', '1')) <= 1 or not dist.is_available():
        return 0, 1
    dist.init_process_group('nccl' if device.type == 'cuda' else 'gloo')
    return dist.get_rank(), dist.get_world_size()


def host_group() -> Any:
    """The process group for host-side flags under ``torch.distributed``: the default group
    under gloo, a new gloo group under any other backend (with nccl, a flag on the GPU read back
    every step would make the host wait for the device every step). Call it on every rank."""
    import torch.distributed as dist
    return None if dist.get_backend() == 'gloo' else dist.new_group(backend='gloo')


def skip_small_batch(batch: Any, world_size: int = 1, group: Any = None) -> bool:
    """Whether to skip a training batch of fewer than two nodes (batch norm needs two values
    per channel). With ``world_size > 1`` the decision is taken over all ranks' shares of the
    global batch (one tiny all-reduce of a host-side flag over ``group``, see
    :func:`host_group`), so that the ranks skip together: one rank skipping alone would leave
    the others waiting in DDP's gradient all-reduce."""
    small = batch.num_nodes < 2
    if world_size == 1:
        return small
    import torch.distributed as dist
    flag = torch.tensor([int(small)])  # on the host, as batch.num_nodes is
    dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=group)
    return bool(flag.item())


def check_node_batching(node_batch_size: int | None, num_neighbors: Sequence[int] | None
                        ) -> list[int] | None:
    """Validate the node mini-batching options; returns ``num_neighbors`` as a list."""
    if node_batch_size is not None and node_batch_size < 0:
        raise ValueError(f'node_batch_size must be None (automatic), 0 (full batch) or '
                         f'positive, got {node_batch_size}')
    if num_neighbors is None:
        return None
    num_neighbors = [int(k) for k in num_neighbors]
    if not num_neighbors or any(k < -1 for k in num_neighbors):
        raise ValueError(f'num_neighbors must be a non-empty list of ints >= -1 '
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
        self.device = resolve_device(self.config.device)
        if self.device.type == 'cuda' and 'LOCAL_RANK' in os.environ:
            self.device = torch.device('cuda', int(os.environ['LOCAL_RANK']))
        #: data-parallel rank and number of ranks (``torchrun``); (0, 1) in one process
        self.rank, self.world_size = 0, 1
        self._host_group: Any = None  # process group for host-side flags (None: default)
        self._model: torch.nn.Module = objective  # the DDP wrapper under torchrun
        self.history: list[dict[str, Any]] = []
        #: node-level runs: 0 (full batch) or the seed nodes per mini-batch, set by :meth:`fit`
        self.node_batch_size: int | None = None
        self._scheduler: torch.optim.lr_scheduler.LambdaLR | None = None

    def make_loader(self, dataset: Any) -> GraphLoader:
        # one sampler for one process and for data parallelism (every rank its share of the
        # same global batches), so that both see the same batches in the same order
        gen = torch.Generator().manual_seed(self.config.seed)
        sampler = ShardedBatchSampler(len(dataset), self.config.batch_size, self.world_size,
                                      self.rank, gen)
        return GraphLoader(dataset, batch_size=1, batch_sampler=sampler, generator=gen,
                           num_workers=self.config.num_workers,
                           pin_memory=self.device.type == 'cuda',
                           persistent_workers=self.config.num_workers > 0)

    def make_node_loader(self, data: Data, batch_size: int) -> NeighborLoader:
        """Mini-batches of ``batch_size`` seed nodes (all nodes, shuffled by the seed)."""
        num_neighbors = self.config.num_neighbors
        if num_neighbors is None:
            num_neighbors = [DEFAULT_NUM_NEIGHBORS] * encoder_num_layers(self.objective.encoder)
        gen = torch.Generator().manual_seed(self.config.seed)
        return NeighborLoader(data, num_neighbors, batch_size=batch_size, shuffle=True,
                              generator=gen)

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
        self._model = self.objective
        if self.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel
            # some objectives leave heads unused on some batches (e.g. bond heads)
            self._model = DistributedDataParallel(
                self.objective, device_ids=[self.device.index] if self.device.type == 'cuda'
                else None, find_unused_parameters=True)
            log.info('data-parallel training: rank %d of %d, global batch %d',
                     self.rank, self.world_size, cfg.batch_size)
            self._host_group = host_group()  # the per-step skip decision travels over it
        optimizer = torch.optim.Adam(self.objective.parameters(), lr=cfg.lr,
                                     weight_decay=cfg.weight_decay)
        self.node_batch_size = None
        if node_level:
            self.node_batch_size = resolve_node_batching(dataset, cfg.node_batch_size)
            if self.node_batch_size == 0:
                # moved once (a shallow copy: the caller's graph stays where it is)
                loader: Any = [copy.copy(dataset).to(self.device)]
            else:
                loader = self.make_node_loader(dataset, self.node_batch_size)
            log.info('node-level pretraining on %d nodes: %s', dataset.num_nodes,
                     'full batch' if self.node_batch_size == 0 else
                     f'mini-batches of {self.node_batch_size} seed nodes, neighbours '
                     f'{loader.num_neighbors}')
        else:
            loader = self.make_loader(dataset)
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
        self.save()
        return self.history

    def _skip(self, batch: Any) -> bool:
        """:func:`skip_small_batch` of this batch over this run's ranks."""
        return skip_small_batch(batch, self.world_size, self._host_group)

    def _epoch(self, epoch: int, loader: Any, optimizer: torch.optim.Optimizer,
               corruption: torch.Generator, node_level: bool = False) -> dict[str, Any]:
        cfg = self.config
        self.objective.train()
        hook = getattr(self.objective, 'on_step_end', None)
        scaler = self._scaler
        check_each_step = self.check_each_step
        if check_each_step is None:
            check_each_step = self.device.type == 'cpu'
        # the epoch's sums stay on the device (float64; MPS has none), read back at the end
        dtype = torch.float32 if self.device.type == 'mps' else torch.float64
        total_loss = torch.zeros((), dtype=dtype, device=self.device)
        window_loss = torch.zeros((), dtype=dtype, device=self.device)
        total, steps, window_n, window_steps = 0, 0, 0, 0
        step_loss: list[float] = []
        last_lr = math.nan
        # name -> weighted sum: a device tensor, or a float for logs that are Python numbers
        sums: dict[str, Tensor | float] = {}
        start = time.perf_counter()
        # one iterator per epoch, handed to tqdm: tqdm.auto's bar calls iter() on what it is
        # given and then iterates it again, which for a DataLoader draws the epoch's seed twice
        # and, with worker processes, starts their prefetching twice
        bar = tqdm(iter(loader), total=len(loader), desc=f'epoch {epoch}/{cfg.epochs}',
                   leave=False, unit='batch', disable=not cfg.progress or self.rank != 0)
        for batch in bar:
            if self._skip(batch):
                continue
            batch = batch.to(self.device, non_blocking=True)
            with autocast_context(self.device, cfg.amp):
                out = self._model(batch, corruption)
            steps += 1
            loss = out.loss.detach()
            if check_each_step and not torch.isfinite(loss):
                raise FloatingPointError(f'non-finite loss {float(loss)} at epoch {epoch}, '
                                         f'step {steps}')
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(out.loss.float()).backward()
            if cfg.grad_clip:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(self.objective.parameters(), cfg.grad_clip)
            last_lr = optimizer.param_groups[0]['lr']
            scaler.step(optimizer)
            scaler.update()
            if self._scheduler is not None:
                self._scheduler.step()
            if callable(hook):
                hook()
            # seed nodes of a mini-batch, every node of the full graph; or graphs
            n = seed_count(batch) if node_level else batch.num_graphs
            total += n
            weighted = loss.to(dtype) * n
            total_loss += weighted
            for k, v in out.logs.items():
                if isinstance(v, Tensor):
                    v = v.detach().to(device=self.device, dtype=dtype)
                else:
                    v = float(v)
                sums[k] = sums.get(k, 0.0) + v * n
            window_end = False
            if cfg.log_every:
                window_loss += weighted
                window_n, window_steps = window_n + n, window_steps + 1
                window_end = window_steps == cfg.log_every
            if window_end or steps % SYNC_EVERY == 0:  # one read-back of the running sums
                if window_end:
                    window_sum, running = torch.stack((window_loss, total_loss)).tolist()
                    step_loss.append(window_sum / window_n)
                    window_loss.zero_()
                    window_n, window_steps = 0, 0
                else:
                    running = float(total_loss)
                if not math.isfinite(running):
                    raise FloatingPointError(f'non-finite loss at epoch {epoch}, within its '
                                             f'first {steps} steps')
                bar.set_postfix(loss=f'{running / total:.4f}')
        keys = sorted(sums) if self.world_size > 1 else list(sums)  # the same on all ranks
        # [loss, *logs, count, the last window's loss (this rank's own)], read back at once
        figures = torch.stack([total_loss, *(torch.as_tensor(sums[k], dtype=dtype,
                                                              device=self.device)
                                             for k in keys),
                               torch.as_tensor(total, dtype=dtype, device=self.device),
                               window_loss])
        if self.world_size > 1:  # the epoch's figures over all ranks
            import torch.distributed as dist
            summed = figures[:-1].clone()
            dist.all_reduce(summed)
            figures = torch.cat([summed, figures[-1:]])
        *values, total, window_sum = figures.tolist()  # the epoch's one read-back
        seconds = time.perf_counter() - start  # after the read-back: the device has finished
        total = int(total)
        if not math.isfinite(values[0]):
            raise FloatingPointError(f'non-finite loss at epoch {epoch}')
        denom = max(total, 1)
        record: dict[str, Any] = {'epoch': epoch, 'loss': values[0] / denom}
        if self._scheduler is not None:
            record['lr'] = last_lr  # the rate of the epoch's last step
        record.update({k: v / denom for k, v in zip(keys, values[1:])})
        if cfg.log_every:
            if window_n:
                step_loss.append(window_sum / window_n)
            record['step_loss'] = step_loss
        unit = 'nodes' if node_level else 'graphs'
        record.update({unit: total, 'seconds': seconds,
                       f'{unit}_per_s': total / seconds if seconds > 0 else math.nan})
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
