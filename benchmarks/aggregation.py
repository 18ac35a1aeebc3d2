"""The molecular GIN's neighbourhood sum: sparse matrix product against PyG's message passing,
side by side in one run.

    GRAPHPFM_DATA=../shared/data python -m benchmarks.aggregation --threads 1

:class:`~graphpfm.nn.encoders.MolGINConv` sums ``h_j + e_ji`` over each node's neighbours.
PyG's message passing gathers one row per edge, adds the bond embedding of the edge and
scatters the rows back (three passes over an ``[edges, width]`` tensor, forward and
backward). The sparse path computes the same sum as ``A @ h`` (CSR, PyG's
:class:`~torch_geometric.EdgeIndex`) plus ``bond token counts @ embedding table``, with the
structure built once per forward pass for all layers. For every graph-level objective (its
encoder and heads; every ``MolGINConv`` in it switched together), on the same batches
collated and corrupted beforehand, trials alternate the two paths: ``objective.compute`` +
backward + Adam step per batch, in CPU seconds of this process (user + system, which other
processes on the machine disturb far less than wall time) and wall seconds. The median of each
is reported with their ratio; JSON lines are appended to ``--out``.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from graphpfm.datasets import load_dataset
from graphpfm.nn import build_encoder
from graphpfm.nn.encoders import MolGINConv
from graphpfm.objectives import OBJECTIVES, build_objective

from .harness.env import versions
from .harness.records import append_jsonl
from .throughput import objective_options
from .transfer import graph_objectives


def set_sparse(module: torch.nn.Module, sparse: bool) -> int:
    """Switch every :class:`MolGINConv` in ``module``; returns how many there are."""
    convs = [m for m in module.modules() if isinstance(m, MolGINConv)]
    for conv in convs:
        conv.sparse_aggregation = sparse
    return len(convs)


def epoch(objective, prepared, optimizer) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of compute + backward + step over the prepared batches."""
    objective.train()
    cpu, wall = time.process_time(), time.perf_counter()
    for p in prepared:
        loss = objective.compute(p).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return time.process_time() - cpu, time.perf_counter() - wall


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--dataset', default='moses')
    p.add_argument('--root', default=None)
    p.add_argument('--num-molecules', type=int, default=5120)
    p.add_argument('--objectives', default='all', help="comma list or 'all' (graph level)")
    p.add_argument('--batch-size', type=int, default=256)
    p.add_argument('--num-layers', type=int, default=5)
    p.add_argument('--hidden-channels', type=int, default=300)
    p.add_argument('--trials', type=int, default=3)
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--out', default='benchmarks/results/aggregation.jsonl')
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    names = graph_objectives() if args.objectives == 'all' else args.objectives.split(',')
    unknown = [n for n in names if n not in OBJECTIVES]
    if unknown:
        raise SystemExit(f"unknown objective(s) {', '.join(unknown)}; valid options: "
                         f"{', '.join(OBJECTIVES.names())}")
    bundle = load_dataset(args.dataset, root=args.root, limit=args.num_molecules,
                          progress=False)
    store = bundle.dataset
    order = torch.randperm(len(store), generator=torch.Generator().manual_seed(0))
    batches = [store.collate(order[i:i + args.batch_size])
               for i in range(0, len(store), args.batch_size)]
    rows = []
    for name in names:
        try:
            options = objective_options(name, bundle)
        except SystemExit as exc:  # needs labels the corpus lacks
            print(f'{name}: skipped ({exc})', flush=True)
            continue
        torch.manual_seed(0)
        encoder = build_encoder('gin', num_layers=args.num_layers,
                                hidden_channels=args.hidden_channels)
        objective = build_objective(name, encoder, **options)
        corruption = torch.Generator().manual_seed(0)
        prepared = [objective.prepare(b, corruption) for b in batches]
        optimizer = torch.optim.Adam(objective.parameters(), lr=1e-3)
        convs = set_sparse(objective, True)
        times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        for sparse in (True, False):  # warm-up
            set_sparse(objective, sparse)
            epoch(objective, prepared[:2], optimizer)
        for t in range(args.trials):
            for sparse in ((True, False) if t % 2 == 0 else (False, True)):
                set_sparse(objective, sparse)
                times[sparse].append(epoch(objective, prepared, optimizer))
        med = {s: [statistics.median(x[i] for x in times[s]) for i in (0, 1)] for s in times}
        graphs = len(store)
        row = {'objective': name, 'graphs': graphs, 'batch_size': args.batch_size,
               'encoder': f'gin {args.num_layers}x{args.hidden_channels}',
               'mol_gin_convs': convs, 'threads': torch.get_num_threads(),
               'sparse_cpu_s': round(med[True][0], 3), 'mp_cpu_s': round(med[False][0], 3),
               'sparse_wall_s': round(med[True][1], 3), 'mp_wall_s': round(med[False][1], 3),
               'cpu_ratio': round(med[True][0] / med[False][0], 3),
               'wall_ratio': round(med[True][1] / med[False][1], 3),
               'sparse_graphs_per_cpu_s': round(graphs / med[True][0], 1),
               'mp_graphs_per_cpu_s': round(graphs / med[False][0], 1),
               'trials': {('sparse' if s else 'mp'): [[round(a, 6), round(b, 6)] for a, b in v]
                          for s, v in times.items()},  # [CPU s, wall s] per trial
               'versions': versions()}
        rows.append(row)
        print(f"{name:14s} sparse {row['sparse_graphs_per_cpu_s']:7.1f} graphs/CPU-s   "
              f"message passing {row['mp_graphs_per_cpu_s']:7.1f}   CPU time ratio "
              f"{row['cpu_ratio']:.3f}   wall ratio {row['wall_ratio']:.3f}", flush=True)
    append_jsonl(args.out, rows)
    if rows:
        print('\n| objective | sparse graphs/CPU-s | message passing graphs/CPU-s | CPU time ratio '
              '| wall ratio |\n|---|---:|---:|---:|---:|')
        for r in rows:
            print(f"| {r['objective']} | {r['sparse_graphs_per_cpu_s']} | "
                  f"{r['mp_graphs_per_cpu_s']} | {r['cpu_ratio']} | {r['wall_ratio']} |")
    return rows


if __name__ == '__main__':
    main()
