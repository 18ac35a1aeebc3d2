"""The pretraining loop: one optimizer over one objective, logs, checkpoints."""
from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ..data.loader import GraphLoader
from ..objectives.base import Objective
from ..utils import resolve_device, seed_everything
from .checkpoint import save_checkpoint

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

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f'epochs must be >= 1, got {self.epochs}')
        if self.batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {self.batch_size}')


class Trainer:
    r"""Trains an :class:`~graphpfm.objectives.Objective` on a dataset of graphs.

    One Adam optimizer over ``objective.parameters()``; a progress bar; one JSON line per epoch
    (loss, the objective's logs, graphs/s) in ``log_path``; the checkpoint written atomically to
    ``checkpoint_path`` with the encoder's config and weights and the run's provenance.

    Args:
        objective (Objective): what to train.
        config (TrainConfig): loop options.
        log_path (str, optional): JSON-lines log file (overwritten).
        checkpoint_path (str, optional): checkpoint file.
        provenance (dict, optional): plain-value description of the data (stored in the
            checkpoint under ``'data'``).
        run_config (dict, optional): the full resolved run config (stored under ``'config'``).
    """

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
        self.history: list[dict[str, Any]] = []

    def make_loader(self, dataset: Any) -> GraphLoader:
        gen = torch.Generator().manual_seed(self.config.seed)
        return GraphLoader(dataset, batch_size=self.config.batch_size, shuffle=True,
                           generator=gen, num_workers=self.config.num_workers,
                           pin_memory=self.device.type == 'cuda',
                           persistent_workers=self.config.num_workers > 0)

    def fit(self, dataset: Any) -> list[dict[str, Any]]:
        """Train for ``config.epochs`` epochs; returns the per-epoch records."""
        cfg = self.config
        if len(dataset) == 0:
            raise ValueError('cannot pretrain on an empty dataset')
        seed_everything(cfg.seed)
        self.objective.to(self.device)
        optimizer = torch.optim.Adam(self.objective.parameters(), lr=cfg.lr,
                                     weight_decay=cfg.weight_decay)
        loader = self.make_loader(dataset)
        corruption = torch.Generator(device=self.device).manual_seed(cfg.seed + 1)
        log_file = None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            log_file = self.log_path.open('w')
        try:
            for epoch in range(1, cfg.epochs + 1):
                record = self._epoch(epoch, loader, optimizer, corruption)
                self.history.append(record)
                log.info('epoch %d: %s', epoch,
                         ', '.join(f'{k}={v:.4g}' if isinstance(v, float) else f'{k}={v}'
                                   for k, v in record.items() if k != 'epoch'))
                if log_file is not None:
                    log_file.write(json.dumps(record) + '\n')
                    log_file.flush()
                if cfg.save_every and epoch % cfg.save_every == 0 and epoch < cfg.epochs:
                    self.save()
        finally:
            if log_file is not None:
                log_file.close()
        self.save()
        return self.history

    def _epoch(self, epoch: int, loader: GraphLoader, optimizer: torch.optim.Optimizer,
               corruption: torch.Generator) -> dict[str, Any]:
        cfg = self.config
        self.objective.train()
        total_loss, total_graphs = 0.0, 0
        sums: dict[str, float] = {}
        start = time.perf_counter()
        bar = tqdm(loader, desc=f'epoch {epoch}/{cfg.epochs}', disable=not cfg.progress,
                   leave=False, unit='batch')
        for batch in bar:
            if batch.num_nodes < 2:  # batch norm needs two values per channel
                continue
            batch = batch.to(self.device, non_blocking=True)
            out = self.objective(batch, corruption)
            if not torch.isfinite(out.loss):
                raise FloatingPointError(f'non-finite loss {float(out.loss)} at epoch {epoch}')
            optimizer.zero_grad(set_to_none=True)
            out.loss.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(self.objective.parameters(), cfg.grad_clip)
            optimizer.step()
            n = batch.num_graphs
            total_graphs += n
            total_loss += float(out.loss.detach()) * n
            for k, v in out.logs.items():
                sums[k] = sums.get(k, 0.0) + float(v) * n
            bar.set_postfix(loss=f'{total_loss / total_graphs:.4f}')
        seconds = time.perf_counter() - start
        denom = max(total_graphs, 1)
        record: dict[str, Any] = {'epoch': epoch, 'loss': total_loss / denom}
        record.update({k: v / denom for k, v in sums.items()})
        record.update({'graphs': total_graphs, 'seconds': seconds,
                       'graphs_per_s': total_graphs / seconds if seconds > 0 else math.nan})
        return record

    def save(self) -> None:
        """Write the checkpoint (if a path was given)."""
        if self.checkpoint_path is None:
            return
        head_state = {k: v for k, v in self.objective.state_dict().items()
                      if not k.startswith('encoder.')}
        save_checkpoint(self.checkpoint_path, self.objective.encoder,
                        objective=self.objective.config(), objective_state_dict=head_state,
                        config=self.run_config, data=self.provenance, history=self.history)
        log.info('checkpoint written to %s', self.checkpoint_path)
