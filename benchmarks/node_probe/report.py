"""The node benchmark's tables: linear probe and fine-tuning per arm with each method's paired
difference to its random encoder; GraphMAE's probe beside this one; a sweep's variants."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..harness.records import read_records
from ..harness.report import paired_difference_table, score_cell, scores_by_cell
from .config import arm_hash, arms_for, config_source, random_arm


def report(out: Path, partial: bool = False, summary: bool = False) -> str:
    """Markdown table: arm, linear-probe and fine-tuning test metric, mean ± std (ddof=0)
    over seeds, the published linear-probe figure of the method on the run's dataset (blank
    where none is known), pretraining epochs and mean pretraining time; then each method's
    paired difference to the random encoder of its architecture (same seeds), probe and
    fine-tuning, with a warning for each method whose probe is not better than its random
    encoder's by more than the spread over seeds (:func:`not_better_than_random`); the
    epochs selected on validation where they were; then GraphMAE's probe beside this one
    where ``torch-probe`` has run (not with ``summary``). Only records of the current
    configuration of each arm count. Missing records are an error unless ``partial``; the
    fine-tuning column reads "not run" until ``finetune`` has been started in ``out``."""
    import numpy as np
    out = Path(out)
    proto = json.loads((out / 'protocol.json').read_text())
    arms, seeds = arms_for(proto['methods'], proto['configs']), proto['seeds']
    current = {a: arm_hash(proto, a) for a in arms}
    records = [r for r in read_records(out / 'records.jsonl')
               if r.get('arm_hash') is not None and current.get(r['arm']) == r['arm_hash']
               and r['seed'] in seeds]
    fstate = out / 'finetune_protocol.json'
    fine = None
    if fstate.is_file():
        fh = json.loads(fstate.read_text())['hash']
        fine = [r for r in read_records(out / 'finetune.jsonl')
                if r['protocol_hash'] == fh and r['seed'] in seeds]
    dataset = proto['dataset']
    metric = records[0]['metric'] if records else '?'
    probe_col, fine_col = f'{dataset} linear probe', f'{dataset} fine-tune'
    lines = [(f'| arm | {probe_col} (test {metric}, %) | {fine_col} (test {metric}, %) '
              '| published (linear probe) | epochs | pretraining s/seed | seeds (probe, '
              'fine-tune) |'), '|---|---|---|---|---|---|---|']
    missing: list[tuple[str, str, int]] = []
    for arm in arms:
        rows = [r for r in records if r['arm'] == arm]
        got = {r['seed'] for r in rows}
        missing += [('probe', arm, s) for s in seeds if s not in got]
        if fine is None:
            ft, ft_seeds = 'not run', '—'
        else:
            frows = [r for r in fine if r['arm'] == arm]
            fgot = {r['seed'] for r in frows}
            missing += [('fine-tune', arm, s) for s in seeds if s not in fgot]
            ft, ft_seeds = score_cell([r['test_at_best_valid'] for r in frows]), \
                f'{len(frows)}/{len(seeds)}'
        pub = published(proto, arm)
        epochs = rows[0]['epochs'] if rows else ''
        secs = f"{np.mean([r['pretrain_seconds'] for r in rows]):.0f}" if rows else ''
        lines.append(f"| {arm} | {score_cell([r['test_at_best_valid'] for r in rows])} | {ft} "
                     f"| {'' if pub is None else pub} | {epochs} | {secs} | "
                     f'{len(rows)}/{len(seeds)}, {ft_seeds} |')
    if missing and not partial:
        raise SystemExit(f'error: {len(missing)} (table, arm, seed) records missing in {out}, '
                         f'e.g. {missing[:5]}; rerun `run` / `finetune`, or report --partial')
    scores = scores_by_cell([{**r, 'column': probe_col} for r in records]
                            + [{**r, 'column': fine_col} for r in fine or []], column='column')
    paired = paired_difference_table(
        scores, proto['methods'], [probe_col] + ([fine_col] if fine is not None else []),
        seeds, lambda arm: random_arm(arm, proto['configs']),
        name='its random encoder', average=False, positive='pretraining helped')
    tables = ['\n'.join(lines), paired]
    warnings = not_better_than_random(scores, proto, probe_col)
    if warnings:
        tables.append('\n\n'.join(warnings))
    selected = selection_line(records, proto)
    if selected:
        tables.append(selected)
    tables.append('Configurations on ' + dataset + ': ' + '; '.join(
        f'{m}: {config_source(m, dataset)}' for m in proto['methods']) + '.')
    theirs = [r for r in read_records(out / 'torch_probe.jsonl')
              if current.get(r['arm']) == r.get('arm_hash') and r['seed'] in seeds]
    if theirs and not summary:
        ours = {(r['arm'], r['seed']): r['test_at_best_valid'] for r in records}
        tables.append("GraphMAE's own probe on the same encoders (`torch-probe`):\n\n"
                      + torch_probe_table(theirs, ours, arms))
    return '\n\n'.join(tables)


def published(proto: dict[str, Any], arm: str) -> float | None:
    """The published linear-probe figure of method ``arm`` on the run's dataset, as the
    run's protocol holds it (:obj:`None` for random arms and unknown figures)."""
    return (proto.get('configs') or {}).get(arm, {}).get('published')


def not_better_than_random(scores: dict[tuple[str, str], dict[int, float]],
                           proto: dict[str, Any], column: str) -> list[str]:
    """One warning line per method whose ``column`` scores are not better than its random
    encoder's by more than the spread over seeds: the rule of
    :func:`graphpfm.eval.compare_to_random` (per seed, method minus random; pretraining
    helped only when the 95% Student's t interval of the mean lies above 0)."""
    from graphpfm.eval import compare_to_random
    out = []
    for m in proto['methods']:
        mine = scores.get((m, column), {})
        base = scores.get((random_arm(m, proto['configs']), column), {})
        if not set(mine) & set(base):
            continue
        comparison = compare_to_random(mine, base, metric=column, higher_is_better=True)
        if not comparison.helped:
            out.append(f'**Warning** ({m}): ' + comparison.message(
                what=m, baseline=f"{random_arm(m, proto['configs'])} (no pretraining)"))
    return out


def selection_line(records: list[dict[str, Any]], proto: dict[str, Any]) -> str:
    """The pretraining epochs selected on validation, per method (empty without)."""
    import numpy as np
    parts = []
    for m in proto['methods']:
        chosen = [r['selection']['best_epoch'] for r in records
                  if r['arm'] == m and r.get('selection')]
        if chosen:
            parts.append(f"{m} {np.mean(chosen):.0f} (range {min(chosen)}-{max(chosen)}) of "
                         f"{proto['epochs'][m]}")
    if not parts:
        return ''
    every = (proto.get('selection') or {}).get('every')
    return (f'Pretraining epoch selected on validation (linear probe every {every} epochs and '
            f"after the last; test labels unread), mean over seeds: {'; '.join(parts)}.")


def torch_probe_table(records: list[dict[str, Any]], ours: dict[tuple[str, int], float],
                      arms: list[str]) -> str:
    """GraphMAE's probe beside this benchmark's own (``ours``: ``{(arm, seed): test}``)."""
    lines = ['| arm | this benchmark\'s probe | GraphMAE\'s probe, test at best valid | '
             'GraphMAE\'s probe, test after the last epoch | seeds |', '|---|---|---|---|---|']
    for arm in arms:
        rows = [r for r in records if r['arm'] == arm]
        mine = [ours[(arm, r['seed'])] for r in rows if (arm, r['seed']) in ours]
        lines.append(f"| {arm} | {score_cell(mine)} | "
                     f"{score_cell([r['early_stopping_test'] for r in rows])} | "
                     f"{score_cell([r['final_test'] for r in rows])} | {len(rows)} |")
    return '\n'.join(lines)


def sweep_report(out: Path, show_test: bool = False) -> str:
    """Markdown table of ``<out>/sweep.jsonl``: one row per variant, validation accuracy
    mean ± std (ddof=0) over its seeds, best first; test only with ``show_test``."""
    import numpy as np
    rows: dict[str, list[dict[str, Any]]] = {}
    for r in read_records(Path(out) / 'sweep.jsonl'):
        rows.setdefault(r['variant_hash'], []).append(r)
    if not rows:
        raise SystemExit(f'error: no sweep records in {out}')
    head = '| method | variant | seeds | valid (mean ± std) |' + (' test |' if show_test else '')
    lines = [head, '|---|---|---|---|' + ('---|' if show_test else '')]

    def stats(rs: list[dict[str, Any]], key: str) -> tuple[float, float]:
        v = np.array([r[key] for r in rs]) * 100
        return float(v.mean()), float(v.std())
    for rs in sorted(rows.values(), key=lambda rs: -stats(rs, 'best_valid')[0]):
        m, s = stats(rs, 'best_valid')
        line = (f"| {rs[0]['arm']} | {rs[0]['variant'] or '(as configured)'} | "
                f"{','.join(str(r['seed']) for r in sorted(rs, key=lambda r: r['seed']))} | "
                f'{m:.1f} ± {s:.1f} |')
        if show_test:
            tm, ts = stats(rs, 'test_at_best_valid')
            line += f' {tm:.1f} ± {ts:.1f} |'
        lines.append(line)
    return '\n'.join(lines)
