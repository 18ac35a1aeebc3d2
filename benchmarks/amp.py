"""Mixed precision (bf16 autocast) against float32, side by side in one run: milliseconds per
training step of the same objective on the same batches.

    python -m benchmarks.amp --root ../shared/data

Molecules: attr_masking with the 5 x 300 GIN on the first MOSES molecules, batches of 256 and
32. Nodes: the node objectives on Cora full-batch with the configurations of
``benchmarks/node_probe.py``. bf16 is only fast on CPUs with AMX or AVX512-BF16 (and on GPUs);
elsewhere it is slower than float32.

``--device cuda`` runs the same steps on a GPU (batches moved there before the clock starts,
the clock stopped after the device has finished); ``--store`` reads the molecules from a
:meth:`GraphStore.save` file instead of featurising MOSES (no RDKit needed);
``--batch-sizes`` and ``--node-methods`` choose the cases.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from graphpfm import build_encoder, build_objective, load_dataset
from graphpfm.train.checkpoint import package_versions
from graphpfm.train.trainer import autocast_context
from graphpfm.utils import resolve_device

from .node_probe import ARCHITECTURES, METHODS
from .records import append_jsonl
from .throughput import device_name, load_store, synchronize


def step_ms(objective, batches, amp: str | None, steps: int,
            device: torch.device = torch.device('cpu')) -> float:
    opt = torch.optim.Adam(objective.parameters(), lr=1e-3)
    gen = torch.Generator(device=device).manual_seed(0)
    times = []
    objective.train()
    for i in range(steps + 2):
        b = batches[i % len(batches)]
        synchronize(device)
        start = time.perf_counter()
        with autocast_context(device, amp):
            out = objective(b, gen)
        opt.zero_grad()
        out.loss.float().backward()
        opt.step()
        objective.on_step_end()
        synchronize(device)
        if i >= 2:  # warm-up steps left out
            times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--root', default=None)
    p.add_argument('--store', default=None,
                   help='a GraphStore file (GraphStore.save) instead of featurising MOSES')
    p.add_argument('--steps', type=int, default=8)
    p.add_argument('--device', default='cpu')
    p.add_argument('--batch-sizes', default='256,32', help='molecule batch sizes (comma list)')
    p.add_argument('--node-methods', default='all',
                   help="node objectives on Cora: 'all', 'none' or a comma list of "
                        f"{', '.join(METHODS)}")
    p.add_argument('--out', default='benchmarks/results/amp.jsonl')
    args = p.parse_args()
    device = resolve_device(args.device)
    sizes = [int(b) for b in args.batch_sizes.split(',') if b]
    methods = (list(METHODS) if args.node_methods == 'all' else
               [] if args.node_methods == 'none' else args.node_methods.split(','))
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise SystemExit(f"unknown --node-methods {', '.join(unknown)}; valid options: all, "
                         f"none, {', '.join(METHODS)}")
    cases = []
    need = 4 * max(sizes, default=0)
    store = None
    if sizes:
        store = (load_store(args.store, need).dataset if args.store else
                 load_dataset('moses', root=args.root, limit=max(need, 2048),
                              progress=False).dataset)
    for bs in sizes:
        batches = [store.collate(range(i, i + bs)).to(device) for i in range(0, 4 * bs, bs)]
        cases.append((f'attr_masking gin 5x300, MOSES batch {bs}', 'attr_masking',
                      dict(name='gin', num_layers=5, hidden_channels=300), {}, batches))
    if methods:
        cora = load_dataset('Cora', root=args.root, progress=False).dataset
    for m in methods:
        spec = METHODS[m]
        arch = dict(ARCHITECTURES[spec['arch']])
        cases.append((f'{m} on Cora ({arch["name"]} {arch["num_layers"]}x'
                      f'{arch["hidden_channels"]})', m,
                      {**arch, 'in_channels': cora.num_features}, spec['options'],
                      [cora.clone().to(device)]))
    rows = []
    for label, name, arch, options, batches in cases:
        arch = dict(arch)
        enc_name = arch.pop('name')
        ms = {}
        for amp in (None, 'bf16'):
            torch.manual_seed(0)
            objective = build_objective(name, build_encoder(enc_name, **arch),
                                        **options).to(device)
            ms[amp] = step_ms(objective, batches, amp, args.steps, device)
        rows.append({'case': label, 'fp32_ms': round(ms[None], 2), 'bf16_ms': round(ms['bf16'], 2),
                     'speedup': round(ms[None] / ms['bf16'], 2), 'steps': args.steps,
                     'device': str(device), 'device_name': device_name(device),
                     'threads': torch.get_num_threads(), 'versions': package_versions()})
        print(f"{label:48s} fp32 {ms[None]:8.1f} ms  bf16 {ms['bf16']:8.1f} ms  "
              f"x{ms[None] / ms['bf16']:.2f}", flush=True)
    append_jsonl(args.out, rows)


if __name__ == '__main__':
    main()
