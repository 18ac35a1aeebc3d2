"""The tables of a transfer run: scores per arm and dataset, paired differences to
``scratch``, the tasks the metric leaves out, and how long each phase took."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from ..harness.records import read_records
from ..harness.report import missing_cells, paired_difference_table, score_table, scores_by_cell
from .cost import COSTS, estimate, hms, pretrain_rate, size_key, train_sizes
from .protocol import PROFILES, SCRATCH, Protocol, arm_dir


def select_arms(proto: dict[str, Any], arms: Sequence[str] | None = None) -> list[str]:
    """The run's arms (``scratch`` first, then the protocol's objectives), or the subset named
    in ``arms``, in the run's order; an arm that is not in the run is an error naming them."""
    every = [SCRATCH, *proto['objectives']]
    if arms is None:
        return every
    unknown = [a for a in arms if a not in every]
    if unknown or not arms:
        raise SystemExit(f"error: arms {unknown or '(none)'} are not in this run; valid: "
                         f"{', '.join(every)}")
    return [a for a in every if a in arms]


#: the score of a record that a table shows, by split: the test score at the best validation
#: epoch, or that best validation score (what selection between arms may read)
SCORES = {'test': 'test_at_best_valid', 'valid': 'best_valid'}


def run_scores(out: Path, arms: Sequence[str] | None = None, partial: bool = False,
               split: str = 'test'
               ) -> tuple[list[str], list[int], list[str], list[dict[str, Any]],
                          dict[tuple[str, str], dict[int, float]]]:
    """The datasets, seeds and arms (:func:`select_arms`) of run ``out``, its records and
    their scores of ``split`` (:data:`SCORES`) by (arm, dataset) cell. A missing record is an
    error (its message names up to ten) unless ``partial``."""
    out = Path(out)
    proto = json.loads((out / 'protocol.json').read_text())
    datasets, seeds = proto['present_datasets'], proto['seeds']
    arms = select_arms(proto, arms)
    records = read_records(out / 'records.jsonl')
    if split not in SCORES:
        raise SystemExit(f"error: unknown split '{split}'; valid: {', '.join(SCORES)}")
    scores = scores_by_cell(records, value=SCORES[split])
    missing = missing_cells(scores, arms, datasets, seeds)
    if missing and not partial:
        shown = ', '.join(f'{a}/{d}/seed {s}' for a, d, s in missing[:10])
        raise SystemExit(f'error: {len(missing)} of {len(arms) * len(datasets) * len(seeds)} '
                         f'records missing in {out} ({shown}{" ..." if len(missing) > 10 else ""})'
                         '; rerun `run` with the same flags, or `report --partial`')
    return datasets, seeds, arms, records, scores


def metric_labels(records: list[dict[str, Any]], datasets: list[str], split: str = 'test'
                  ) -> tuple[dict[str, str], dict[str, str]]:
    """Column labels (``'name (metric)'``, ``'name (valid metric)'`` for validation scores)
    of ``datasets`` and the datasets whose metric is lower-is-better, ``{dataset: metric}``,
    from ``records``."""
    metric = {r['dataset']: r['metric'] for r in records}
    which = '' if split == 'test' else f'{split} '
    labels = {d: f'{d} ({which}{metric.get(d, "?")})' for d in datasets}
    lower = {r['dataset']: r['metric'] for r in records if not r.get('higher_is_better', True)}
    return labels, lower


def report(out: Path, partial: bool = False, arms: Sequence[str] | None = None,
           split: str = 'test') -> str:
    """Markdown table (rows: arms; columns: datasets + average) of mean ± std over seeds of
    the test score at the best validation epoch (``split='valid'``: of that best validation
    score), then the table of each pretrained arm's paired difference to ``scratch`` with its
    95% confidence interval, then the tasks the metric leaves out. Missing records are an
    error unless ``partial``, where each cell shows its seed count and rows that are
    incomplete have no average. ``arms`` restricts the tables (and the completeness rule) to
    those arms (:func:`select_arms`)."""
    datasets, seeds, arms, records, scores = run_scores(out, arms, partial, split)
    labels, lower = metric_labels(records, datasets, split)
    lines = [score_table(scores, arms, datasets, seeds, labels=labels)]
    paired = paired_difference_table(scores, [a for a in arms if a != SCRATCH], datasets,
                                     seeds, SCRATCH, lower_is_better=lower, labels=labels,
                                     positive='pretraining helped', over='datasets')
    skipped = skipped_tasks_table(records, datasets)
    lines += [t for t in (paired, skipped) if t]
    return '\n\n'.join(lines)


def summary(out: Path, arms: Sequence[str] | None = None, split: str = 'test') -> str:
    """One line per pretrained arm: its average score (of ``split``, :data:`SCORES`) over
    the datasets, its paired difference to ``scratch`` averaged over the datasets (per seed,
    then the 95% interval over seeds, as the last column of :func:`report`'s second table)
    and the datasets whose own interval lies above or below 0. Every record must be
    present."""
    from ..harness.report import difference_cell, paired_difference
    datasets, seeds, arms, records, scores = run_scores(out, arms, split=split)
    sign = {r['dataset']: 1.0 if r.get('higher_is_better', True) else -1.0 for r in records}
    base = {d: scores[(SCRATCH, d)] for d in datasets}
    which = '' if split == 'test' else f'{split} '
    lines = [f'| arm | average {which}score | vs scratch, average over {len(datasets)} datasets | '
             'datasets better / worse |', '|---|---|---|---|']
    for arm in arms:
        mean = 100 * sum(sum(scores[(arm, d)].values()) / len(seeds) for d in datasets) \
            / len(datasets)
        if arm == SCRATCH:
            lines.append(f'| {arm} | {mean:.1f} | | |')
            continue
        per_seed, better, worse = [], [], []
        for d in datasets:
            a = [sign[d] * scores[(arm, d)][s] for s in seeds]
            b = [sign[d] * base[d][s] for s in seeds]
            _, lo, hi, _ = paired_difference(a, b)
            better += [d] if lo > 0 else []
            worse += [d] if hi < 0 else []
            per_seed.append([x - y for x, y in zip(a, b)])
        avg = [sum(col) / len(datasets) for col in zip(*per_seed)]
        cell = difference_cell(*paired_difference(avg, [0.0] * len(avg)), len(seeds))
        short = lambda names: ', '.join(n.replace('ogbg-mol', '') for n in names) or '-'  # noqa: E731
        lines.append(f'| {arm} | {mean:.1f} | {cell} | {short(better)} / {short(worse)} |')
    return '\n'.join(lines)


def compare(out: Path, baseline: Path, arm: str) -> str:
    """Markdown tables of ``arm`` in run ``out`` against the same arm in run ``baseline`` (two
    runs whose protocols differ in one setting, e.g. ``pretrain_amp``): mean ± std of each, then
    their paired difference over the datasets and seeds both runs hold, with 95% intervals.
    The settings in which the two protocols differ (other than arms, datasets and seeds) are
    listed under the tables."""
    from ..harness.records import differing
    runs = {'run': Path(out), 'baseline': Path(baseline)}
    protos = {k: json.loads((d / 'protocol.json').read_text()) for k, d in runs.items()}
    for k, proto in protos.items():
        if arm not in proto['objectives']:
            raise SystemExit(f"error: arm {arm} is not in {runs[k]}; valid: "
                             f"{', '.join(proto['objectives'])}")
    datasets = [d for d in protos['run']['present_datasets']
                if d in protos['baseline']['present_datasets']]
    seeds = [s for s in protos['run']['seeds'] if s in protos['baseline']['seeds']]
    label = {k: f'{arm} ({runs[k].name})' for k in runs}
    scores: dict[tuple[str, str], dict[int, float]] = {}
    records: list[dict[str, Any]] = []
    for k, d in runs.items():
        rows = [r for r in read_records(d / 'records.jsonl') if r['arm'] == arm]
        records += rows
        for (_, dataset), cell in scores_by_cell(rows).items():
            scores[(label[k], dataset)] = cell
    if not datasets or not seeds:
        raise SystemExit(f'error: {out} and {baseline} share no dataset or seed')
    missing = missing_cells(scores, list(label.values()), datasets, seeds)
    if missing:
        raise SystemExit(f'error: {len(missing)} records missing ({missing[:5]} ...)')
    labels, lower = metric_labels(records, datasets)
    rows = [label['run'], label['baseline']]
    paired = paired_difference_table(scores, [label['run']], datasets, seeds,
                                     label['baseline'], lower_is_better=lower, labels=labels,
                                     positive=f"{runs['run'].name} did better",
                                     over='datasets')
    differ = differing(protos['baseline'], protos['run'],
                       ignore=('objectives', 'seeds', 'datasets', 'requested_datasets',
                               'present_datasets'))
    settings = ', '.join(f"{k}: {protos['baseline'].get(k)} -> {protos['run'].get(k)}"
                         for k in differ) or 'none'
    return '\n\n'.join([score_table(scores, rows, datasets, seeds, labels=labels), paired,
                         f'Protocol settings that differ (baseline -> run): {settings}.'])


def skipped_tasks_table(records: list[dict[str, Any]], datasets: list[str]) -> str:
    """Per dataset, the tasks the metric leaves out of each split because the split holds a
    single class for them (OGB's Evaluator skips such tasks for ROC-AUC and AP, and fails
    when none is left; so does :func:`graphpfm.eval.finetune`). They depend on the split's
    labels only, so every record of a dataset must agree. Datasets that leave no task out
    are named in one line after the table; empty if no record carries them."""
    seen: dict[str, tuple[Any, Any]] = {}
    for r in records:
        if r['dataset'] not in datasets or 'skipped_tasks' not in r:
            continue
        got = ({k: sorted(v) for k, v in r['skipped_tasks'].items()}, r.get('num_tasks'))
        if seen.setdefault(r['dataset'], got)[0] != got[0]:
            raise SystemExit(f"error: records of {r['dataset']} disagree on the tasks left out "
                             f"of the metric ({seen[r['dataset']][0]} vs {got[0]}): the data "
                             'changed between runs')
        if seen[r['dataset']][1] is None:  # a record without the task count
            seen[r['dataset']] = (got[0], got[1])
    if not seen:
        return ''
    head = 'Tasks left out of the metric (a single class in the split, as OGB\'s Evaluator does)'
    some = [d for d in datasets if d in seen and any(seen[d][0].values())]
    none = [d for d in datasets if d in seen and d not in some]
    lines = [f'{head}:', '', '| dataset | tasks | valid | test |', '|---|---:|---:|---:|'] \
        if some else [f'{head}: none.']
    for d in some:
        sk, n = seen[d]
        lines.append(f"| {d} | {n if n is not None else '?'} | "
                     f"{len(sk.get('valid', []))} | {len(sk.get('test', []))} |")
    if some and none:
        lines += ['', f"None left out in {', '.join(none)}."]
    return '\n'.join(lines)


def timing(out: Path, jobs: int = 2, root: str | None = None) -> str:
    """How long each phase of the run in ``out`` took (pretraining per arm, fine-tuning per
    dataset; CPU seconds of the job where recorded, else wall seconds), the cost per graph
    this implies, and the estimated duration of the ``full`` profile on this machine: the
    calibrated cost of ``full``'s encoder (:data:`COSTS`) scaled by how this run's measured
    costs compare with the calibration of its own encoder."""
    import numpy as np
    out = Path(out)
    proto = json.loads((out / 'protocol.json').read_text())
    datasets, seeds = proto['present_datasets'], proto['seeds']
    arms = [SCRATCH, *proto['objectives']]
    key = size_key(proto['num_layers'], proto['hidden_channels'])
    costs = COSTS.get(key)
    lines = [(f'Phase timing of {out} (gin {key}; CPU s of the job where recorded, else wall '
             's)'), '', '| phase | graphs x epochs | time | ms per graph-epoch | calibrated ms |',
             '|---|---:|---:|---:|---:|']
    ratios: dict[str, list[float]] = {'pretrain': [], 'finetune': []}
    for arm in arms[1:]:
        adir = arm_dir(out, arm)
        if not (adir / 'protocol.json').is_file() or not (adir / 'model_card.json').is_file():
            lines.append(f'| pretrain {arm} | | not done | | |')
            continue
        run = json.loads((adir / 'protocol.json').read_text())
        card = json.loads((adir / 'model_card.json').read_text())
        work = int(card['corpus']['num_graphs']) * int(card['training']['epochs'])
        t = run.get('cpu_s', run['wall_s'])
        ms = 1e3 * t / work
        cal = ''
        if costs:
            c, missing = pretrain_rate(costs, arm)
            setup = costs['supervised_setup_s'] if arm == 'supervised' else 0.0
            cal = f'{c:.3f}'
            if missing:  # a mean rate says nothing of how this machine compares
                cal += ' (uncalibrated: mean rate)'
            else:
                ratios['pretrain'].append(t / (work * c / 1e3 + setup))
        lines.append(f'| pretrain {arm} | {work:,} | {hms(t)} | {ms:.3f} | {cal} |')
    records = [r for r in read_records(Path(out) / 'records.jsonl')
               if r['dataset'] in datasets and r['seed'] in seeds and r['arm'] in arms]
    sizes = {}
    for d in datasets:
        rs = [r for r in records if r['dataset'] == d]
        if not rs:
            lines.append(f'| fine-tune {d} | | not done | | |')
            continue
        n = next((r['split_sizes']['train'] for r in rs if r.get('split_sizes')), None)
        n = n or train_sizes([d], root)[d]
        sizes[d] = n
        epochs = len(rs[0]['curves']['valid'])
        timed, kind = timed_runs(rs)
        t = float(np.sum([r[kind] for r in timed]))
        work = n * epochs * len(timed)
        cal = ''
        if costs:
            c = costs['finetune_ms'].get(d, costs['finetune_ms']['default'])
            ratios['finetune'].append(t / (len(timed) * (work / len(timed) * c / 1e3
                                                         + costs['finetune_setup_s'])))
            cal = f'{c:.3f}'
        which = (f'{len(rs)} runs' if len(timed) == len(rs) else
                 f'{len(rs)} runs; {kind} of the {len(timed)} that recorded it')
        lines.append(f'| fine-tune {d} ({which}, {hms(t / len(timed))} each) | '
                     f'{work:,} | {hms(t)} | {1e3 * t / work:.3f} | {cal} |')
    total = sum(r.get('cpu_s', r['wall_s']) for r in records)
    lines.append(f'| fine-tuning, all (CPU s where recorded, else wall s) | | {hms(total)} '
                 '| | |')
    full = Protocol(**PROFILES['full'])
    fsizes = train_sizes(list(full.datasets), root)
    base = estimate(full, fsizes, jobs=jobs)
    scale = {k: float(np.mean(v)) if v else 1.0 for k, v in ratios.items()}
    pre = sum(base['pretrain_cpu_s'].values()) * scale['pretrain']
    fine = sum(base['finetune_cpu_s'].values()) * scale['finetune']
    wall = (base['wall_s']['pretrain'] * scale['pretrain'] + base['wall_s']['finetune']
            * scale['finetune'] + base['wall_s']['featurise'] + base['wall_s']['model_cards'])
    how = (f"measured/calibrated: pretraining x{scale['pretrain']:.2f}, fine-tuning "
           f"x{scale['finetune']:.2f}" if costs else
           f'this run\'s encoder ({key}) is not calibrated: calibration only')
    lines += ['', (f"Estimated `full` on this machine (gin {base['encoder']}, "
              f"{len(full.objectives)} objectives + scratch, {len(full.datasets)} datasets, "
              f'{len(full.seeds)} seeds, {jobs} single-threaded jobs; {how}): pretraining '
              f'{hms(pre)} and fine-tuning {hms(fine)} of one core, about {hms(wall)} of '
              'wall time. On one GPU: not measured here.')]
    return '\n'.join(lines)


def timed_runs(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    """The records to time a phase by, and the key: those that recorded the CPU seconds of
    their job (``cpu_s``) when any did, since wall time also counts what other processes
    took from the core; otherwise all of them by ``wall_s``."""
    with_cpu = [r for r in records if r.get('cpu_s') is not None]
    return (with_cpu, 'cpu_s') if with_cpu else (list(records), 'wall_s')
