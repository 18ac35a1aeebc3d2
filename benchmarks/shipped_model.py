"""Build the pretrained model that ships with graphpfm, and its model card.

    # 1. pretrain (GIN 5 x 300 on MOSES's training molecules, bf16 where the CPU has AMX)
    python -m benchmarks.shipped_model pretrain --name NAME --objective OBJECTIVE \\
        --epochs N --amp bf16 --out runs/shipped/NAME   # [--resume] after an interruption
    # 2. export it into graphpfm/pretrained/NAME.pt (float32; --half for float16 weights)
    python -m benchmarks.shipped_model export --name NAME --run runs/shipped/NAME
    # 3. its transfer table against scratch (the same recipe and seeds, paired intervals)
    python -m benchmarks.transfer run --objectives pretrained:NAME --num-layers 5 \\
        --hidden-channels 300 --datasets ogbg-molbbbp,... --seeds 5 --finetune-epochs E \\
        --jobs 2 --threads 1 --out benchmarks/results/shipped-NAME
    # 4. the model card, with that table
    python -m benchmarks.shipped_model card --name NAME --run runs/shipped/NAME \\
        --table benchmarks/results/shipped-NAME

The objective is the best arm of the ``property`` transfer profile by mean validation score
(never test). ``pretrain`` records the command, wall and CPU seconds, the hardware and the git
commit in ``<out>/build.json``; ``card`` writes ``graphpfm/pretrained/NAME.md`` from the
checkpoint, that record and the transfer report, and the pretraining loss curve into the
transfer run's folder (``loss.png``).
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from .harness.env import cpu_seconds, git_commit, hardware, timestamp
from .transfer import report

#: MOSES's training split: the first 1,584,663 molecules of the corpus file
MOSES_TRAIN = 1_584_663


def pretrain(args: argparse.Namespace) -> Path:
    """Pretrain through the command line; write ``build.json`` beside the checkpoint."""
    import torch

    from graphpfm.cli import run
    out = Path(args.out)
    argv = ['pretrain', '--dataset', args.dataset, '--limit', str(args.limit), '--objective',
            args.objective, '--encoder', 'gin', '--num-layers', str(args.num_layers),
            '--hidden-channels', str(args.hidden_channels), '--epochs', str(args.epochs),
            '--batch-size', str(args.batch_size), '--lr', str(args.lr), '--seed', str(args.seed),
            '--log-every', str(args.log_every), '--out', str(out), '--no-progress']
    if args.amp:
        argv += ['--amp', args.amp]
    if args.resume:  # continue a killed or stopped run where its saved state left it
        argv += ['--resume']
    if args.root:
        argv += ['--root', args.root]
    start, cpu, commit = time.perf_counter(), cpu_seconds(), git_commit()  # the code that trains
    ckpt = run(argv)
    history = torch.load(ckpt, weights_only=True).get('history', [])
    record = {'name': args.name, 'command': 'graphpfm ' + shlex.join(argv),
              'wall_s': round(time.perf_counter() - start, 1),
              # over every resumed segment: the epochs' own training seconds
              'train_s': round(sum(r.get('seconds', 0.0) for r in history), 1),
              'cpu_s': round(cpu_seconds() - cpu, 1), 'git_commit': commit,
              'hardware': hardware(torch.get_num_threads()),
              'finished': timestamp()}
    (out / 'build.json').write_text(json.dumps(record, indent=1) + '\n')
    return ckpt


def export(args: argparse.Namespace) -> Path:
    """Export the run's checkpoint into the package (and a first card, so that the model is
    listed and the transfer benchmark can name it), or with ``--dest`` to a candidate file
    that a transfer run names as ``pretrained:<file>`` (its bytes are what ships if chosen)."""
    from graphpfm.pretrained import PRETRAINED_DIR, export_pretrained
    dest = Path(args.dest) if args.dest else PRETRAINED_DIR / f'{args.name}.pt'
    export_pretrained(Path(args.run) / 'checkpoint.pt', dest, half=args.half)
    size = dest.stat().st_size
    if size > 10 * 2 ** 20:
        raise SystemExit(f'error: {dest} is {size / 2 ** 20:.1f} MiB, over the 10 MiB a shipped '
                         'model may take; export with --half')
    card = dest.with_suffix('.md')
    if not args.dest and not card.is_file():
        card.write_text(card_text(args.name, Path(args.run), None))
    sys.stdout.write(f'{dest} ({size / 2 ** 20:.1f} MiB)\n')
    return dest


def threads_prefix(hardware: dict[str, Any]) -> str:
    """``'OMP_NUM_THREADS=N '`` for the torch threads a build recorded (else ``''``)."""
    n = hardware.get('torch_threads')
    return f'OMP_NUM_THREADS={n} ' if n else ''


def transfer_command(name: str, table: Path) -> str:
    """The ``benchmarks.transfer run`` command line of the transfer run ``table`` of the
    shipped model ``name``, from the run's protocol."""
    proto = json.loads((Path(table) / 'protocol.json').read_text())
    datasets = proto.get('requested_datasets') or proto['datasets']
    return (f"OMP_NUM_THREADS=1 python -m benchmarks.transfer run --objectives pretrained:{name} "
            f"--num-layers {proto['num_layers']} --hidden-channels {proto['hidden_channels']} "
            f"--datasets {','.join(datasets)} --seeds {len(proto['seeds'])} "
            f"--finetune-epochs {proto['finetune_epochs']} --jobs 2 --threads 1 --out {table}")


def rebuild_command(command: str) -> str:
    """A build's command line as it rebuilds the model from nothing (without ``--resume``,
    which only continued a stopped build)."""
    return shlex.join(a for a in shlex.split(command) if a != '--resume')


def card_text(name: str, run: Path, table: Path | None) -> str:
    """The model card of ``name`` from its run folder and, when given, its transfer run."""
    from graphpfm.train import load_checkpoint
    ckpt = load_checkpoint(run / 'checkpoint.pt')
    build: dict[str, Any] = json.loads((run / 'build.json').read_text())
    data, obj, enc = ckpt.get('data') or {}, ckpt['objective'], ckpt['encoder']
    history = ckpt.get('history') or []
    hw = build['hardware']
    lines = [
        f'# {name}', '',
        f"A {enc['name']} encoder ({', '.join(f'{k}={v}' for k, v in enc['kwargs'].items())}) "
        f"pretrained with `{obj['name']}` on {data.get('num_graphs')} molecules of "
        f"{data.get('corpus')} (the first {data.get('limit')} records of "
        f"`{Path(str(data.get('source', ''))).name}`: MOSES's training split).", '',
        '```python', 'import graphpfm', f"encoder = graphpfm.from_pretrained('{name}')", '```',
        f'On the command line: `graphpfm finetune --checkpoint {name} --dataset ...`.', '',
        '## Training',
        f"- objective: `{obj['name']}` {obj.get('kwargs', {})}",
        f"- epochs: {len(history)}; batch size {ckpt['config'].get('batch_size')}; "
        f"lr {ckpt['config'].get('lr')}; mixed precision: {ckpt['config'].get('amp')}",
        f"- compute: {build.get('train_s', build['wall_s']) / 3600:.2f} h of training (the "
        "epochs' own seconds, over every segment of a resumed run) on "
        f"{hw.get('cuda') or hw.get('processor') or hw.get('machine')} "
        f"({hw.get('cpu_count')} cores, {hw.get('torch_threads')} torch threads)",
        f"- commit: {build['git_commit']}; versions: {ckpt.get('versions')}",
        f"- rebuild: `{threads_prefix(hw)}{rebuild_command(build['command'])}`, then `python -m "
        f"benchmarks.shipped_model export --name {name} --run {run}`",
        '- loss per epoch: ' + ', '.join(f"{h['loss']:.4f}" for h in history),
    ]
    curve = step_losses(ckpt)
    if curve:  # the loss within training, every tenth window
        shown = list(range(0, len(curve), max(1, len(curve) // 10))) + [len(curve) - 1]
        lines.append(f"- loss within training (mean of each {ckpt['config']['log_every']} "
                     'steps; after step N): ' +
                     ', '.join(f'{curve[i][0]}: {curve[i][1]:.4f}' for i in sorted(set(shown))))
    if table is not None:
        lines += ['', '## Downstream, against scratch',
                  f'`{transfer_command(name, table)}`, then `python -m benchmarks.transfer '
                  f'report --out {table}` (the same fine-tuning recipe and seeds for both arms; '
                  'test score at the best validation epoch):', '', report(table)]
    return '\n'.join(lines) + '\n'


def step_losses(ckpt: dict[str, Any]) -> list[tuple[int, float]]:
    """``(step, loss)`` over a checkpoint's history: the mean loss of each window of
    ``log_every`` steps, at the window's last step (``[]`` without such a log)."""
    every = ckpt['config'].get('log_every')
    windows = [w for h in ckpt.get('history') or [] for w in h.get('step_loss', [])]
    return [((i + 1) * every, w) for i, w in enumerate(windows)] if every else []


def loss_figure(run: Path, path: Path) -> Path:
    """The pretraining loss of ``run`` against optimizer steps (the mean of each window of
    ``log_every`` steps of its checkpoint's history; log scale), as a PNG at ``path``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from graphpfm.train import load_checkpoint

    from .transfer.figures import save_figure
    ckpt = load_checkpoint(Path(run) / 'checkpoint.pt')
    curve = step_losses(ckpt)
    if not curve:
        raise SystemExit(f'error: {run}/checkpoint.pt has no loss per window of steps to plot')
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(*zip(*curve))
    ax.set_yscale('log')
    ax.set_xlabel('optimizer step')
    ax.set_ylabel(f"training loss (mean of {ckpt['config']['log_every']} steps)")
    ax.set_title(f"{ckpt['objective']['name']}, {Path(run).name}", fontsize='medium')
    return save_figure(fig, path)


def card(args: argparse.Namespace) -> Path:
    from graphpfm.pretrained import PRETRAINED_DIR
    dest = PRETRAINED_DIR / f'{args.name}.md'
    dest.write_text(card_text(args.name, Path(args.run), Path(args.table) if args.table
                              else None))
    sys.stdout.write(dest.read_text())
    if args.table:
        png = loss_figure(Path(args.run), Path(args.table) / 'loss.png')
        sys.stdout.write(f'loss figure: {png}\n')
    return dest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = p.add_subparsers(dest='cmd', required=True)
    a = sub.add_parser('pretrain')
    a.add_argument('--name', required=True)
    a.add_argument('--objective', required=True)
    a.add_argument('--epochs', type=int, required=True)
    a.add_argument('--dataset', default='moses')
    a.add_argument('--limit', type=int, default=MOSES_TRAIN)
    a.add_argument('--num-layers', type=int, default=5)
    a.add_argument('--hidden-channels', type=int, default=300)
    a.add_argument('--batch-size', type=int, default=256)
    a.add_argument('--lr', type=float, default=1e-3)
    a.add_argument('--seed', type=int, default=0)
    a.add_argument('--amp', default=None, choices=['bf16', 'fp16'])
    a.add_argument('--log-every', type=int, default=100)
    a.add_argument('--root', default=None)
    a.add_argument('--out', required=True)
    a.add_argument('--resume', action='store_true',
                   help='continue the unfinished run in --out from its saved training state')
    a.set_defaults(func=pretrain)
    e = sub.add_parser('export')
    e.add_argument('--name', required=True)
    e.add_argument('--run', required=True)
    e.add_argument('--half', action='store_true')
    e.add_argument('--dest', default=None,
                   help='write this file instead of the package\'s <name>.pt (a candidate to '
                   'compare before shipping; no card)')
    e.set_defaults(func=export)
    c = sub.add_parser('card')
    c.add_argument('--name', required=True)
    c.add_argument('--run', required=True)
    c.add_argument('--table', default=None)
    c.set_defaults(func=card)
    args = p.parse_args(argv)
    args.func(args)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
