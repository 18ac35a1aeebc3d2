"""Seconds per pretraining epoch with the first layer's input multiplied densely and sparsely
(:class:`graphpfm.nn.sparse_input.SparseInputLinear`), side by side in one process.

For each node method, the node benchmark's configuration on the dataset (the published one
where the recipes have it) is pretrained full-batch on row-normalised features, with the
encoder's ``sparse_input`` off and on, in interleaved trials (each a fresh objective of the
same seed); the first ``--warmup`` epochs of a trial are not timed. Also the first linear
layer alone, forward and weight gradient, on the dataset's features. Reports medians over
trials x epochs, the ratio dense / sparse, the share of first-layer calls that went sparse
(GraphMAE's learnt [MASK] rows are dense, so after its first step its input is no longer
sparse enough), and the largest difference of the final losses.

    python -m benchmarks.sparse_input --dataset Cora --root ../shared/data --threads 1

One JSON line per (method, mode) in ``--out``, with the commit, versions and hardware.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Any

from .harness.env import git_commit, hardware, versions
from .harness.records import append_jsonl

METHODS = ('graphmae', 'grace', 'bgrl', 'dgi')


def _count_sparse_calls(lin: Any) -> dict[str, int]:
    """Count the calls of ``lin`` and those that took the sparse path."""
    counts = {'calls': 0, 'sparse': 0}
    decide = lin.sparse_path

    def sparse_path(x: Any) -> bool:
        out = decide(x)
        counts['calls'] += 1
        counts['sparse'] += int(out)
        return out
    lin.sparse_path = sparse_path
    return counts


def time_method(method: str, bundle: Any, sparse: float, epochs: int, warmup: int,
                device: str) -> dict[str, Any]:
    """Per-epoch seconds of ``epochs`` epochs after ``warmup`` (one fresh run)."""
    import torch

    import graphpfm

    from .node_probe.config import method_config
    config, arch = method_config(method, bundle.name)
    arch = dict(arch)
    name = arch.pop('name')
    data = bundle.dataset
    torch.manual_seed(0)
    encoder = graphpfm.build_encoder(name, in_channels=data.num_features, **arch)
    encoder.sparse_input = sparse
    counts = _count_sparse_calls(encoder.gnn.convs[0].lin)
    options = dict(config['options'])
    if method == 'bgrl':
        options['total_steps'] = config['epochs']
    objective = graphpfm.build_objective(method, encoder, **options)
    cfg = graphpfm.TrainConfig(epochs=warmup + epochs, lr=config['lr'],
                               weight_decay=config['weight_decay'], seed=0, progress=False,
                               device=device, node_batch_size=0)
    history = graphpfm.Trainer(objective, cfg).fit(data)
    return {'seconds': [h['seconds'] for h in history[warmup:]],
            'loss': [h['loss'] for h in history], 'sparse_share':
            counts['sparse'] / max(counts['calls'], 1), 'arch': arch, 'encoder': name}


def time_first_layer(x: Any, out_channels: int, repeats: int) -> dict[str, float]:
    """Median seconds of the first layer's forward and weight gradient, dense and sparse."""
    import torch

    from graphpfm.nn.sparse_input import sparse_linear
    weight = torch.randn(out_channels, x.size(1), requires_grad=True)
    grad = torch.randn(x.size(0), out_channels)
    out: dict[str, float] = {}
    for mode, fn in (('dense', torch.nn.functional.linear), ('sparse', sparse_linear)):
        times = []
        for _ in range(repeats + 1):
            start = time.perf_counter()
            torch.autograd.grad(fn(x, weight), weight, grad)
            times.append(time.perf_counter() - start)
        out[mode] = statistics.median(times[1:])
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--dataset', default='Cora')
    p.add_argument('--root', default=os.environ.get('GRAPHPFM_DATA'))
    p.add_argument('--methods', default=','.join(METHODS))
    p.add_argument('--epochs', type=int, default=4, help='timed epochs per trial')
    p.add_argument('--warmup', type=int, default=1, help='untimed epochs per trial')
    p.add_argument('--trials', type=int, default=3, help='interleaved trials per mode')
    p.add_argument('--max-density', type=float, default=0.05,
                   help='sparse_input of the sparse mode')
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--device', default='cpu')
    p.add_argument('--out', default='benchmarks/results/sparse-input.jsonl')
    args = p.parse_args(argv)
    import torch

    import graphpfm

    from .node_probe.config import normalise_features
    if args.threads:
        torch.set_num_threads(args.threads)
    bundle = normalise_features(graphpfm.load_dataset(args.dataset, root=args.root,
                                                      progress=False))
    x = bundle.dataset.x
    density = float((x != 0).float().mean())
    env = {'git_commit': git_commit(), 'versions': versions(),
           'hardware': hardware(torch.get_num_threads()), 'time': time.strftime('%Y-%m-%d %H:%M'),
           'dataset': bundle.name, 'density': density, 'device': args.device}
    rows = []
    modes = {'dense': 0.0, 'sparse': args.max_density}
    for method in [m for m in args.methods.split(',') if m]:
        runs: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
        for _ in range(args.trials):  # interleaved: drifts in load hit both modes
            for mode, value in modes.items():
                runs[mode].append(time_method(method, bundle, value, args.epochs, args.warmup,
                                              args.device))
        arch = runs['dense'][0]['arch']
        layer = time_first_layer(x, int(arch['hidden_channels']), 5)
        med = {m: statistics.median(s for r in runs[m] for s in r['seconds']) for m in modes}
        loss_gap = max(abs(a - b) for d, s in zip(runs['dense'], runs['sparse'])
                       for a, b in zip(d['loss'], s['loss']))
        for mode in modes:
            rows.append({**env, 'method': method, 'mode': mode, 'sparse_input': modes[mode],
                         'encoder': runs[mode][0]['encoder'], 'architecture': arch,
                         's_per_epoch': med[mode], 'dense_over_sparse': med['dense'] /
                         med['sparse'], 'sparse_share': statistics.mean(
                             r['sparse_share'] for r in runs[mode]),
                         'first_layer_s': layer[mode], 'first_layer_dense_over_sparse':
                         layer['dense'] / layer['sparse'], 'max_loss_difference': loss_gap,
                         'trials': args.trials, 'epochs': args.epochs, 'warmup': args.warmup,
                         'seconds': [s for r in runs[mode] for s in r['seconds']]})
    append_jsonl(args.out, rows)
    lines = [f'{bundle.name}: {100 * density:.2f}% of the features non-zero, '
             f'{torch.get_num_threads()} thread(s), device {args.device}', '',
             '| method | encoder | s/epoch dense | s/epoch sparse | dense / sparse | '
             'sparse calls | first layer dense / sparse | max loss difference |',
             '|---|---|---|---|---|---|---|---|']
    for dense, sparse in zip(rows[::2], rows[1::2]):
        shape = dense['architecture']
        lines.append(f"| {dense['method']} | {dense['encoder']} {shape.get('num_layers')}"
                     f"x{shape.get('hidden_channels')} | "
                     f"{dense['s_per_epoch']:.3f} | {sparse['s_per_epoch']:.3f} | "
                     f"{dense['dense_over_sparse']:.2f} | {100 * sparse['sparse_share']:.0f}% | "
                     f"{dense['first_layer_dense_over_sparse']:.2f} | "
                     f"{dense['max_loss_difference']:.1e} |")
    sys.stdout.write('\n'.join(lines) + '\n')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
