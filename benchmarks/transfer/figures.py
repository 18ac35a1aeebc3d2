"""Figures of a transfer run: scores per dataset and arm, and the pretraining loss curves."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from ..harness.records import read_records
from .report import report, select_arms


def figure(out: Path, path: Path, arms: Sequence[str] | None = None) -> Path:
    """Per-dataset bars (one per arm) of the mean test score over seeds with population-std
    error bars, as a PNG; the same records, arms and completeness rule as :func:`report`
    (missing records are an error)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
    out = Path(out)
    report(out, arms=arms)  # raises on missing records
    proto = json.loads((out / 'protocol.json').read_text())
    datasets, arms, seeds = (proto['present_datasets'], select_arms(proto, arms),
                             proto['seeds'])
    records = read_records(out / 'records.jsonl')
    scores = {(r['arm'], r['dataset'], r['seed']): r['test_at_best_valid'] for r in records}
    metric = {r['dataset']: r['metric'] for r in records}
    width = 0.8 / len(arms)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(datasets) * len(arms) / 4), 4))
    x = np.arange(len(datasets))
    for i, arm in enumerate(arms):
        vals = np.array([[scores[(arm, d, s)] for s in seeds] for d in datasets]) * 100
        ax.bar(x + (i - (len(arms) - 1) / 2) * width, vals.mean(1), width, yerr=vals.std(1),
               capsize=2, label=arm)
    ax.set_xticks(x, [f'{d}\n({metric.get(d, "")})' for d in datasets])
    ax.set_ylabel('test score at best validation epoch (%)')
    ax.set_title(f'mean ± std over seeds {seeds}')
    lo = min(v for v in scores.values()) * 100
    ax.set_ylim(max(0.0, lo - 10), None)
    ax.legend(fontsize='small', ncol=min(len(arms), 5), loc='lower center',
              bbox_to_anchor=(0.5, 1.08))
    return save_figure(fig, path)


def save_figure(fig: Any, path: Path) -> Path:
    """Lay out, write (creating the folder) and close a matplotlib figure."""
    import matplotlib.pyplot as plt
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def loss_curves(out: Path) -> dict[str, tuple[list[float], list[float]]]:
    """Each pretrained arm's loss against epochs (fractional), from its ``train_log.jsonl``:
    the within-epoch window means (``step_loss``) where logged, else one point per epoch
    (at its end). Arms not pretrained yet are left out."""
    curves = {}
    for log_path in sorted(Path(out).glob('pretrain/*/train_log.jsonl')):
        xs: list[float] = []
        ys: list[float] = []
        for line in log_path.read_text().splitlines():
            r = json.loads(line)
            steps = r.get('step_loss') or []
            if steps:
                xs += [r['epoch'] - 1 + (i + 1) / len(steps) for i in range(len(steps))]
                ys += steps
            else:
                xs.append(float(r['epoch']))
                ys.append(r['loss'])
        if xs:
            curves[log_path.parent.name.replace('_plus_', '+')] = (xs, ys)
    return curves


def loss_figure(out: Path, path: Path) -> Path:
    """One panel per pretrained arm (losses differ in kind and scale): loss against epochs."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    curves = loss_curves(out)
    if not curves:
        raise SystemExit(f'error: no pretraining logs under {out}/pretrain/*/train_log.jsonl')
    cols = min(4, len(curves))
    rows = -(-len(curves) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for ax, (arm, (xs, ys)) in zip(axes.flat, curves.items()):
        ax.plot(xs, ys, marker='.' if len(xs) < 30 else None)
        ax.set_title(arm, fontsize='medium')
        ax.set_xlabel('epoch')
        ax.set_ylabel('training loss')
    for ax in list(axes.flat)[len(curves):]:
        ax.axis('off')
    return save_figure(fig, path)
