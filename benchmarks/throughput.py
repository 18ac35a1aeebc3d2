"""Pretraining throughput against the model-only ceiling, measured side by side in one run.

    python -m benchmarks.throughput --num-molecules 20000 --objectives attr_masking

For each objective: the full training loop (``graphpfm.train.Trainer``: loader, collation,
corruption, encoder, heads, loss, backward, Adam step) in graphs/s, and the **ceiling**: the
same encoder's forward + backward + Adam step on batches collated (and moved to the device)
beforehand, with a trivial loss on the node embeddings. Trials alternate loop/ceiling so both
see the same machine state; the median of each is reported with their ratio.
"""
from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from pathlib import Path

import torch

from graphpfm.datasets import load_dataset
from graphpfm.nn import build_encoder
from graphpfm.objectives import OBJECTIVES, build_objective
from graphpfm.train import TrainConfig, Trainer
from graphpfm.train.checkpoint import package_versions
from graphpfm.utils import resolve_device


def ceiling_epoch(objective, prepared, optimizer) -> float:
    """``objective.compute`` + backward + step over batches collated and prepared (corrupted)
    beforehand: the model alone. Returns graphs/s."""
    objective.train()
    graphs = 0
    start = time.perf_counter()
    for b, p in prepared:
        loss = objective.compute(p).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        graphs += b.num_graphs
    return graphs / (time.perf_counter() - start)


def loop_epoch(objective, store, args, seed: int) -> float:
    cfg = TrainConfig(epochs=1, batch_size=args.batch_size, seed=seed, device=args.device,
                      progress=False, num_workers=args.num_workers)
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
    p.add_argument('--num-molecules', type=int, default=20000)
    p.add_argument('--objectives', default='all', help="comma list or 'all'")
    p.add_argument('--batch-size', type=int, default=256)
    p.add_argument('--num-layers', type=int, default=5)
    p.add_argument('--hidden-channels', type=int, default=300)
    p.add_argument('--trials', type=int, default=5)
    p.add_argument('--device', default='cpu')
    p.add_argument('--num-workers', type=int, default=0)
    p.add_argument('--out', default='benchmarks/results/throughput.jsonl')
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    device = resolve_device(args.device)
    names = OBJECTIVES.names() if args.objectives == 'all' else args.objectives.split(',')
    bundle = load_dataset(args.dataset, root=args.root, limit=args.num_molecules, progress=False)
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
        ceiling_epoch(objective, prepared[:3], opt)  # warm-up
        loops, ceilings = [], []
        for t in range(args.trials):
            loops.append(loop_epoch(objective, store, args, seed=t))
            ceilings.append(ceiling_epoch(objective, prepared, opt))
        loop, ceil = statistics.median(loops), statistics.median(ceilings)
        row = {'objective': name, 'dataset': bundle.name, 'graphs': len(store),
               'batch_size': args.batch_size,
               'encoder': f'gin {args.num_layers}x{args.hidden_channels}',
               'device': str(device), 'threads': torch.get_num_threads(),
               'loop_graphs_per_s': round(loop, 1), 'ceiling_graphs_per_s': round(ceil, 1),
               'ratio': round(loop / ceil, 3), 'loop_trials': [round(v, 1) for v in loops],
               'ceiling_trials': [round(v, 1) for v in ceilings],
               'versions': package_versions()}
        rows.append(row)
        print(f"{name:16s} loop {loop:8.1f} graphs/s   ceiling {ceil:8.1f} graphs/s   "
              f"ratio {loop / ceil:.3f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open('a') as f:
        for row in rows:
            f.write(json.dumps(row) + '\n')


if __name__ == '__main__':
    main()
