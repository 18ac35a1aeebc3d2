"""The one training loop (pretraining and fine-tuning, both levels), its device and its data
parallelism."""
from __future__ import annotations

import contextlib
import math
import os
import time
from typing import Any, Callable, Iterable

import torch
from torch import Tensor
from tqdm.auto import tqdm

from ..utils import resolve_device

#: optimizer steps between read-backs of the running loss within an epoch (a device
#: synchronisation: the finiteness check off the CPU, and the progress bar)
SYNC_EVERY = 20
#: mixed-precision modes (``None``: float32)
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


def run_device(device: str | torch.device | None) -> torch.device:
    """The device a run uses: :func:`~graphpfm.utils.resolve_device` of ``device``; under
    ``torchrun`` on CUDA, the GPU of this process's ``LOCAL_RANK``."""
    dev = resolve_device(device)
    if dev.type == 'cuda' and 'LOCAL_RANK' in os.environ and \
            int(os.environ.get('WORLD_SIZE', '1')) > 1:
        dev = torch.device('cuda', int(os.environ['LOCAL_RANK']))
    return dev


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


def data_parallel(model: torch.nn.Module, device: torch.device, world_size: int,
                  find_unused_parameters: bool = False) -> tuple[torch.nn.Module, Any]:
    """``(model, host group)`` for training: with ``world_size > 1`` the model wrapped in
    :class:`~torch.nn.parallel.DistributedDataParallel` and the group of
    :func:`host_group`; else ``(model, None)``."""
    if world_size <= 1:
        return model, None
    from torch.nn.parallel import DistributedDataParallel
    wrapped = DistributedDataParallel(
        model, device_ids=[device.index] if device.type == 'cuda' else None,
        find_unused_parameters=find_unused_parameters)
    return wrapped, host_group()


def skip_together(skip: bool, world_size: int = 1, group: Any = None) -> bool:
    """Whether to skip a training batch, decided over all ranks: with ``world_size > 1`` one
    tiny all-reduce (maximum) of this rank's host-side flag over ``group`` (see
    :func:`host_group`), so that the ranks skip together; one rank skipping alone would leave
    the others waiting in DDP's gradient all-reduce."""
    if world_size == 1:
        return skip
    import torch.distributed as dist
    flag = torch.tensor([int(skip)])  # on the host
    dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=group)
    return bool(flag.item())


def train_epoch(step: Callable[[Any], Any], batches: Iterable, optimizer: torch.optim.Optimizer,
                *, device: torch.device, count: Callable[[Any], int],
                params: Iterable[Tensor] | None = None, skip: Callable[[Any], bool] | None = None,
                host_group: Any = None,
                amp: str | None = None, scaler: Any = None, grad_clip: float | None = None,
                scheduler: Any = None, on_step_end: Callable[[], Any] | None = None,
                log_every: int = 0, world_size: int = 1, check_each_step: bool | None = None,
                progress: bool = False, desc: str = '', unit: str = 'graphs',
                epoch: int = 1, resume: dict[str, Any] | None = None,
                on_step: Callable[[int, Callable[[], dict[str, Any]]], Any] | None = None
                ) -> dict[str, Any]:
    r"""One pass over ``batches``: for each batch (moved to ``device``), ``step(batch)`` under
    ``amp``'s autocast gives an output with ``loss`` (and optionally ``logs``, a dict of
    0-dim tensors or numbers), then backward, gradient clipping, the optimizer step, the
    scheduler step and ``on_step_end()``. Batches for which ``skip(batch)`` holds are left
    out (under data parallelism when it holds on any rank, :func:`skip_together`).

    The loss and logs, weighted by ``count(batch)`` (graphs, or the nodes the loss covers),
    are summed on the device in float64 and read back once at the end (and every
    :data:`SYNC_EVERY` steps to check finiteness); under data parallelism the epoch's figures
    are summed over ranks. A non-finite loss raises :class:`FloatingPointError`: at the step
    that produced it when ``check_each_step`` (default: on the CPU), else at the next
    read-back.

    For resumable runs, ``on_step(steps, snapshot)`` is called after every optimizer step;
    ``snapshot()`` returns the epoch's running figures as plain values and CPU tensors, and
    passing them back as ``resume`` (with ``batches`` positioned after those steps) continues
    the epoch exactly where it was.

    Returns:
        dict: ``epoch``, ``loss`` (count-weighted mean; NaN when every batch was skipped),
        ``lr`` (the last step's rate, with a scheduler), the mean logs, ``step_loss`` (with
        ``log_every``: the mean loss of every window of that many steps),
        ``skipped_batches`` (when any was), ``<unit>`` (the count), ``seconds`` and
        ``<unit>_per_s``.
    """
    scaler = torch.amp.GradScaler(device.type, enabled=False) if scaler is None else scaler
    if check_each_step is None:
        check_each_step = device.type == 'cpu'
    params = list(params) if params is not None else [
        p for group in optimizer.param_groups for p in group['params']]
    # the epoch's sums stay on the device (float64; MPS has none), read back at the end
    dtype = torch.float32 if device.type == 'mps' else torch.float64
    total_loss = torch.zeros((), dtype=dtype, device=device)
    window_loss = torch.zeros((), dtype=dtype, device=device)
    total, steps, window_n, window_steps, skipped = 0, 0, 0, 0, 0
    step_loss: list[float] = []
    last_lr = math.nan
    # name -> weighted sum: a device tensor, or a float for logs that are Python numbers
    sums: dict[str, Tensor | float] = {}
    earlier_seconds = 0.0
    if resume is not None:
        total_loss.copy_(resume['total_loss'])
        window_loss.copy_(resume['window_loss'])
        total, steps, window_n = resume['total'], resume['steps'], resume['window_n']
        window_steps, skipped = resume['window_steps'], resume['skipped']
        step_loss, last_lr = list(resume['step_loss']), resume['last_lr']
        sums = {k: v.to(device) if isinstance(v, Tensor) else v
                for k, v in resume['sums'].items()}
        earlier_seconds = resume['seconds']
    start = time.perf_counter()

    def snapshot() -> dict[str, Any]:
        return {'total_loss': total_loss.detach().cpu().clone(),
                'window_loss': window_loss.detach().cpu().clone(), 'total': total,
                'steps': steps, 'window_n': window_n, 'window_steps': window_steps,
                'skipped': skipped, 'step_loss': list(step_loss), 'last_lr': last_lr,
                'sums': {k: v.detach().cpu().clone() if isinstance(v, Tensor) else v
                         for k, v in sums.items()},
                'seconds': earlier_seconds + time.perf_counter() - start}

    # one iterator per epoch, handed to tqdm: tqdm.auto's bar calls iter() on what it is given
    # and then iterates it again, which for a DataLoader draws the epoch's seed twice and,
    # with worker processes, starts their prefetching twice
    bar = tqdm(iter(batches), total=len(batches) if hasattr(batches, '__len__') else None,
               desc=desc, leave=False, unit='batch', disable=not progress)
    for batch in bar:
        if skip is not None and skip_together(skip(batch), world_size, host_group):
            skipped += 1
            continue
        batch = batch.to(device, non_blocking=True)
        with autocast_context(device, amp):
            out = step(batch)
        steps += 1
        loss = out.loss.detach()
        if check_each_step and not torch.isfinite(loss):
            raise FloatingPointError(f'non-finite loss {float(loss)} at epoch {epoch}, '
                                     f'step {steps}')
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(out.loss.float()).backward()
        if grad_clip:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(params, grad_clip)
        last_lr = optimizer.param_groups[0]['lr']
        scaler.step(optimizer)
        scaler.update()
        if scheduler is not None:
            scheduler.step()
        if on_step_end is not None:
            on_step_end()
        n = count(batch)
        total += n
        weighted = loss.to(dtype) * n
        total_loss += weighted
        for k, v in getattr(out, 'logs', {}).items():
            if isinstance(v, Tensor):
                v = v.detach().to(device=device, dtype=dtype)
            else:
                v = float(v)
            sums[k] = sums.get(k, 0.0) + v * n
        window_end = False
        if log_every:
            window_loss += weighted
            window_n, window_steps = window_n + n, window_steps + 1
            window_end = window_steps == log_every
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
        if on_step is not None:
            on_step(steps, snapshot)
    keys = sorted(sums) if world_size > 1 else list(sums)  # the same on all ranks
    # [loss, *logs, count, the last window's loss (this rank's own)], read back at once
    figures = torch.stack([total_loss, *(torch.as_tensor(sums[k], dtype=dtype, device=device)
                                         for k in keys),
                           torch.as_tensor(total, dtype=dtype, device=device), window_loss])
    if world_size > 1:  # the epoch's figures over all ranks
        import torch.distributed as dist
        summed = figures[:-1].clone()
        dist.all_reduce(summed)
        figures = torch.cat([summed, figures[-1:]])
    *values, total, window_sum = figures.tolist()  # the epoch's one read-back
    # after the read-back: the device has finished
    seconds = earlier_seconds + time.perf_counter() - start
    total = int(total)
    if not math.isfinite(values[0]):
        raise FloatingPointError(f'non-finite loss at epoch {epoch}')
    record: dict[str, Any] = {'epoch': epoch,
                              'loss': values[0] / total if total else math.nan}
    if scheduler is not None:
        record['lr'] = last_lr  # the rate of the epoch's last step
    record.update({k: v / max(total, 1) for k, v in zip(keys, values[1:], strict=True)})
    if log_every:
        if window_n:
            step_loss.append(window_sum / window_n)
        record['step_loss'] = step_loss
    if skipped:
        record['skipped_batches'] = skipped
    record.update({unit: total, 'seconds': seconds,
                   f'{unit}_per_s': total / seconds if seconds > 0 else math.nan})
    return record
