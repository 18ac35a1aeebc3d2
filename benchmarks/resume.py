"""What saving the training state (for ``--resume``) costs the pretraining loop.

    python -m benchmarks.resume --molecules 5120 --steps 40 \\
        --out benchmarks/results/resume.json

Trains GIN 5 x 300 with attribute masking on MOSES molecules (batch 256) in one process and
times, side by side in one run: optimizer steps without any state saving, and the saves of
the full training state (objective, Adam state, random streams, the epoch's running figures:
what :meth:`graphpfm.train.Trainer.fit` writes for ``resume=True``). The overhead of a
cadence is ``save seconds / (steps between saves x step seconds)``; the default cadence saves
by wall time (every ``save_state_seconds`` = 300 s), so its overhead is
``save seconds / 300``. CPU seconds are recorded beside wall seconds: they hold on busy cores.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from .harness.env import cpu_seconds, hardware, timestamp, versions


def measure(molecules: int, steps: int, root: str | None, threads: int | None) -> dict:
    import tempfile

    import torch

    from graphpfm import TrainConfig, Trainer, build_encoder, build_objective, load_dataset
    if threads:
        torch.set_num_threads(threads)
    store = load_dataset('moses', root=root, limit=molecules, progress=False).dataset
    torch.manual_seed(0)
    obj = build_objective('attr_masking', build_encoder('gin', num_layers=5,
                                                        hidden_channels=300))
    with tempfile.TemporaryDirectory() as tmp:
        step_wall, step_cpu, save_wall, save_cpu = [], [], [], []
        cfg = TrainConfig(epochs=1, batch_size=256, device='cpu', progress=False,
                          save_state_every=1)
        trainer = Trainer(obj, cfg, checkpoint_path=Path(tmp) / 'checkpoint.pt')
        original = trainer._save_state
        clock = {'wall': time.perf_counter(), 'cpu': cpu_seconds()}

        def timed_save(epoch, epoch_state, finished=False):
            # the time since the last save (or the start) is one optimizer step
            now, cpu = time.perf_counter(), cpu_seconds()
            if epoch_state is not None and len(step_wall) < steps:
                step_wall.append(now - clock['wall'])
                step_cpu.append(cpu - clock['cpu'])
            start, cpu0 = time.perf_counter(), cpu_seconds()
            original(epoch, epoch_state, finished)
            if epoch_state is not None and len(save_wall) < steps:
                save_wall.append(time.perf_counter() - start)
                save_cpu.append(cpu_seconds() - cpu0)
            clock['wall'], clock['cpu'] = time.perf_counter(), cpu_seconds()
        trainer._save_state = timed_save
        trainer.fit(store)
        state_bytes = (Path(tmp) / 'checkpoint.state.pt').stat().st_size
        # the last state of the epoch was replaced by the small end-of-run marker: measure one
        # full state's size again
        trainer._save_state = original
        trainer._epoch_start_data = trainer._data_generator.get_state()
        original(1, {'total_loss': torch.zeros((), dtype=torch.float64),
                     'window_loss': torch.zeros((), dtype=torch.float64), 'total': 0,
                     'steps': 0, 'window_n': 0, 'window_steps': 0, 'skipped': 0,
                     'step_loss': [], 'last_lr': 0.0, 'sums': {}, 'seconds': 0.0})
        state_bytes = (Path(tmp) / 'checkpoint.state.pt').stat().st_size
    step_s, save_s = statistics.median(step_wall[1:]), statistics.median(save_wall[1:])
    step_c, save_c = statistics.median(step_cpu[1:]), statistics.median(save_cpu[1:])
    return {
        'molecules': molecules, 'steps_timed': len(step_wall) - 1,
        'step_s': step_s, 'save_s': save_s, 'step_cpu_s': step_c, 'save_cpu_s': save_c,
        'state_mb': state_bytes / 2 ** 20,
        'overhead_every_step': save_s / step_s,
        'overhead_every_100_steps': save_s / (100 * step_s),
        'overhead_default_300s': save_s / 300.0,
        'hardware': hardware(threads), 'versions': versions(), 'time': timestamp(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--molecules', type=int, default=5120)
    parser.add_argument('--steps', type=int, default=20)
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--root', default=None)
    parser.add_argument('--out', default=None)
    args = parser.parse_args(argv)
    res = measure(args.molecules, args.steps, args.root, args.threads)
    text = json.dumps(res, indent=1)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + '\n')
    print(f"step {res['step_s'] * 1e3:.0f} ms, state save {res['save_s'] * 1e3:.0f} ms "
          f"({res['state_mb']:.1f} MB): overhead every step {res['overhead_every_step']:.1%}, "
          f"every 100 steps {res['overhead_every_100_steps']:.2%}, default (every 300 s) "
          f"{res['overhead_default_300s']:.3%}")


if __name__ == '__main__':
    main()
