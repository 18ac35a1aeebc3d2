"""Pretraining throughput against the model-only ceiling, measured side by side in one run.

    python -m benchmarks.throughput --num-molecules 20000 --objectives attr_masking

For each objective: the full training loop (``graphpfm.train.Trainer``: loader, collation,
corruption, encoder, heads, loss, backward, Adam step) in graphs/s, and the **ceiling**: the
same encoder's forward + backward + Adam step on batches collated (and moved to the device)
beforehand, with a trivial loss on the node embeddings. Trials alternate loop/ceiling so both
see the same machine state; the median of each is reported with their ratio.

On a GPU (``--device cuda``) both clocks stop after the device has finished (the loop reads
its figures back at the end of the epoch; the ceiling synchronises). ``--store`` reads a
featurised corpus saved with :meth:`GraphStore.save` (``benchmarks/prepare_gpu_check.sh``
writes one), which needs neither RDKit nor the raw SMILES.
"""
from __future__ import annotations

import argparse
import logging
import statistics
import time
from pathlib import Path

import torch

from graphpfm.data import GraphStore
from graphpfm.datasets import DatasetBundle, load_dataset
from graphpfm.nn import build_encoder
from graphpfm.objectives import OBJECTIVES, build_objective
from graphpfm.train import TrainConfig, Trainer
from graphpfm.train.trainer import autocast_context
from graphpfm.utils import resolve_device

from .harness.env import versions
from .harness.records import append_jsonl


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA runs asynchronously; a no-op on the CPU)."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def device_name(device: torch.device) -> str:
    """The accelerator's name (``'NVIDIA H200'``), or ``'cpu'``."""
    return torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'


def load_store(path: str, limit: int | None = None) -> DatasetBundle:
    """An unlabelled bundle over a :class:`GraphStore` file (the first ``limit`` graphs)."""
    store = GraphStore.load(path)
    if limit is not None and limit < len(store):
        store = store.index_select(torch.arange(limit))
    return DatasetBundle(name=Path(path).stem, dataset=store, meta=dict(store.meta))


def ceiling_epoch(objective, prepared, optimizer, amp: str | None = None) -> float:
    """``objective.compute`` + backward + step over batches collated and prepared (corrupted)
    beforehand: the model alone (under ``amp``'s autocast, as the Trainer). Returns graphs/s."""
    objective.train()
    device = prepared[0][0].x.device
    synchronize(device)
    graphs = 0
    start = time.perf_counter()
    for b, p in prepared:
        with autocast_context(device, amp):
            loss = objective.compute(p).loss
        optimizer.zero_grad(set_to_none=True)
        loss.float().backward()
        optimizer.step()
        graphs += b.num_graphs
    synchronize(device)
    return graphs / (time.perf_counter() - start)


def loop_epoch(objective, store, args, seed: int) -> float:
    cfg = TrainConfig(epochs=1, batch_size=args.batch_size, seed=seed, device=args.device,
                      progress=False, num_workers=args.num_workers, amp=args.amp)
    return Trainer(objective, cfg).fit(store)[-1]['graphs_per_s']


def objective_options(name: str, bundle) -> dict:
    """Options the dataset determines: ``num_tasks`` for objectives that require it."""
    import inspect
    if name not in OBJECTIVES:  # a '+' combination: its parts take their defaults
        return {}
    sig = inspect.signature(OBJECTIVES.get(name).__init__)
    if 'num_tasks' in sig.parameters:
        if not bundle.num_tasks:
            raise SystemExit(f"objective '{name}' needs a labelled --dataset "
                             f"(e.g. ogbg-moltoxcast); '{bundle.name}' has no labels")
        return {'num_tasks': bundle.num_tasks}
    return {}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--dataset', default='moses')
    p.add_argument('--root', default=None)
    p.add_argument('--store', default=None,
                   help='a GraphStore file (GraphStore.save) used instead of --dataset')
    p.add_argument('--num-molecules', type=int, default=20000)
    p.add_argument('--objectives', default='all', help="comma list or 'all'")
    p.add_argument('--batch-size', type=int, default=256)
    p.add_argument('--num-layers', type=int, default=5)
    p.add_argument('--hidden-channels', type=int, default=300)
    p.add_argument('--trials', type=int, default=5)
    p.add_argument('--device', default='cpu')
    p.add_argument('--num-workers', type=int, default=0)
    p.add_argument('--amp', default=None, choices=['bf16'],
                   help='bf16 autocast in both loop and ceiling (default: float32)')
    p.add_argument('--out', default='benchmarks/results/throughput.jsonl')
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    device = resolve_device(args.device)
    names = OBJECTIVES.names() if args.objectives == 'all' else args.objectives.split(',')
    if args.store:
        bundle = load_store(args.store, args.num_molecules)
    else:
        bundle = load_dataset(args.dataset, root=args.root, limit=args.num_molecules,
                              progress=False)
    store = bundle.dataset
    gen = torch.Generator().manual_seed(0)
    order = torch.randperm(len(store), generator=gen)
    batches = [store.collate(order[i:i + args.batch_size]).to(device)
               for i in range(0, len(store), args.batch_size)]
    rows = []
    for name in names:
        torch.manual_seed(0)
        enc = build_encoder('gin', num_layers=args.num_layers,
                            hidden_channels=args.hidden_channels).to(device)
        objective = build_objective(name, enc, **objective_options(name, bundle)).to(device)
        corruption = torch.Generator(device=device).manual_seed(0)
        prepared = [(b, objective.prepare(b, corruption)) for b in batches]
        opt = torch.optim.Adam(objective.parameters(), lr=1e-3)
        ceiling_epoch(objective, prepared[:3], opt, args.amp)  # warm-up
        loops, ceilings = [], []
        for t in range(args.trials):
            loops.append(loop_epoch(objective, store, args, seed=t))
            ceilings.append(ceiling_epoch(objective, prepared, opt, args.amp))
            print(f'{name} trial {t + 1}/{args.trials}: loop {loops[-1]:.1f} graphs/s, '
                  f'ceiling {ceilings[-1]:.1f} graphs/s', flush=True)
        loop, ceil = statistics.median(loops), statistics.median(ceilings)
        row = {'objective': name, 'dataset': bundle.name, 'graphs': len(store),
               'batch_size': args.batch_size,
               'encoder': f'gin {args.num_layers}x{args.hidden_channels}',
               'device': str(device), 'device_name': device_name(device),
               'threads': torch.get_num_threads(), 'num_workers': args.num_workers,
               'amp': args.amp,
               'loop_graphs_per_s': round(loop, 1), 'ceiling_graphs_per_s': round(ceil, 1),
               'ratio': round(loop / ceil, 3), 'loop_trials': [round(v, 1) for v in loops],
               'ceiling_trials': [round(v, 1) for v in ceilings],
               'versions': versions()}
        rows.append(row)
        print(f"{name:16s} loop {loop:8.1f} graphs/s   ceiling {ceil:8.1f} graphs/s   "
              f"ratio {loop / ceil:.3f}   ({device}, {args.amp or 'float32'}, "
              f"{args.num_workers} workers)", flush=True)
    append_jsonl(args.out, rows)


if __name__ == '__main__':
    main()
