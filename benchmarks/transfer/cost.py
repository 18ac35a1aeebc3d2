"""The cost model of a transfer run: calibrated CPU costs of this machine, and the predicted
CPU and wall time of each phase of a protocol (what ``plan`` prints; advice, never a limit)."""
# ruff: noqa: C408 (configuration tables are written as dict(key=value))
from __future__ import annotations

import logging
from typing import Any

from .protocol import SCRATCH, Protocol, is_given_checkpoint

log = logging.getLogger('benchmarks.transfer')

#: OGB's molecule datasets: ``(graphs, training graphs of OGB's scaffold split)``. Read from
#: the split files for the five present on this machine; ``molsider``, ``molclintox`` and
#: ``molmuv`` (absent here) are given 80% of their graphs (OGB's scaffold-split cut-off), for
#: cost estimates only.
MOLECULE_SIZES: dict[str, tuple[int, int]] = {
    'ogbg-molbbbp': (2039, 1631), 'ogbg-molbace': (1513, 1210),
    'ogbg-moltox21': (7831, 6264), 'ogbg-moltoxcast': (8576, 6860),
    'ogbg-molhiv': (41127, 32901), 'ogbg-molsider': (1427, 1141),
    'ogbg-molclintox': (1477, 1181), 'ogbg-molmuv': (93087, 74469)}
#: MOSES's training molecules (the ``full`` corpus)
MOSES_TRAIN = 1_584_663
#: ``ogbg-moltoxcast`` after leakage control against the valid/test splits of the five
#: datasets present here (measured; ``supervised``'s corpus)
SUPERVISED_GRAPHS = 6640

#: Measured costs on this machine (2-core Intel Xeon, 1 torch thread per job, float32), CPU
#: milliseconds of one single-threaded job, from ``python -m benchmarks.transfer calibrate``
#: (:mod:`.calibrate`), by encoder size ``'<layers>x<hidden>'``: ``pretrain_ms`` per molecule
#: per epoch (batch 256) by objective; ``finetune_ms`` per *training* graph per epoch (batch
#: 32; the valid and test splits, a quarter of the training size, scored every epoch), by
#: dataset with a ``'default'``; ``finetune_setup_s`` per fine-tuning run;
#: ``supervised_setup_s`` the leakage control of the supervised corpus per pretraining.
#: Calibrated beside other jobs: the CPU time of a single-threaded job does not count the time
#: others hold its core, but shared caches still slow it (a fixed reference job ran at 0.85
#: to 1.73 times its free-machine CPU time). Where a cost was measured two or three times
#: (3x64: bbbp 0.55-0.72, HIV 0.51-0.75, ToxCast 0.90-0.93) the largest is kept, so these are
#: upper estimates of a free machine. ``finetune_ms`` of the larger encoders was measured on
#: bbbp only (``'default'``). An objective missing from ``pretrain_ms`` is estimated with the
#: mean of its size's objectives (:func:`pretrain_rate`) until ``calibrate`` measures it.
COSTS: dict[str, dict[str, Any]] = {
    '3x64': {'pretrain_ms': {'attr_masking': 0.284, 'context_pred': 0.221, 'edge_pred': 0.292,
                             'infomax': 0.264, 'supervised': 0.47, 'graphcl': 0.50,
                             'graphmae': 0.47, 'simgrace': 0.39},
             'supervised_setup_s': 17.0,
             'finetune_ms': {'ogbg-molbbbp': 0.72, 'ogbg-molbace': 0.64, 'ogbg-moltox21': 0.40,
                             'ogbg-moltoxcast': 0.93, 'ogbg-molhiv': 0.75, 'default': 0.75},
             'finetune_setup_s': 0.5},
    '3x128': {'pretrain_ms': {'attr_masking': 0.519, 'context_pred': 0.425, 'edge_pred': 0.600,
                              'infomax': 0.546, 'supervised': 0.80, 'graphcl': 1.159,
                              'graphmae': 0.944, 'simgrace': 0.875},
              'supervised_setup_s': 17.0, 'finetune_ms': {'default': 0.99},
              'finetune_setup_s': 0.5},
    '5x128': {'pretrain_ms': {'attr_masking': 0.916, 'context_pred': 0.649, 'edge_pred': 1.087,
                              'infomax': 1.122, 'supervised': 1.14, 'graphcl': 1.326,
                              'graphmae': 1.062, 'simgrace': 1.229},
              'supervised_setup_s': 17.0, 'finetune_ms': {'default': 1.39},
              'finetune_setup_s': 0.5},
    '5x300': {'pretrain_ms': {'attr_masking': 3.346, 'context_pred': 2.296, 'edge_pred': 3.195,
                              'infomax': 3.167, 'supervised': 2.34, 'graphcl': 4.494,
                              'graphmae': 3.660, 'simgrace': 4.082},
              'supervised_setup_s': 17.0, 'finetune_ms': {'default': 4.19},
              'finetune_setup_s': 0.5},
}
#: machine-wide rates (molecules/s): featurisation in process (``smiles2graph`` on the first
#: MOSES molecules, nothing else running: ``benchmarks/results/featurize.jsonl``; also the
#: reference job of ``calibrate``) and the InChIKeys of the model cards' overlap table
FEATURISE_MOL_PER_S = REFERENCE_MOL_PER_S = 2379
INCHIKEY_MOL_PER_S = 1900.0


def size_key(num_layers: int, hidden_channels: int) -> str:
    """The key of an encoder size in :data:`COSTS`: ``'3x64'``."""
    return f'{num_layers}x{hidden_channels}'


def train_sizes(datasets: list[str], root: str | None = None) -> dict[str, int]:
    """Training graphs per dataset: from OGB's split files when present, else
    :data:`MOLECULE_SIZES`."""
    out = {}
    for d in datasets:
        n = None
        try:
            from graphpfm.datasets.ogb_graph import find_ogb_dir, read_split
            found = find_ogb_dir(d, root)
            if found is not None:
                n = int(read_split(found / 'split' / 'scaffold')['train'].numel())
        except (KeyError, ValueError, OSError):
            n = None
        if n is None:
            if d not in MOLECULE_SIZES:
                raise SystemExit(f"error: no size known for dataset '{d}'; known: "
                                 f"{', '.join(MOLECULE_SIZES)}")
            n = MOLECULE_SIZES[d][1]
        out[d] = n
    return out


def makespan(durations: list[float], jobs: int) -> float:
    """Wall time of tasks handed, in order, to the first free of ``jobs`` workers (as the
    process pool does)."""
    free = [0.0] * max(1, jobs)
    for d in durations:
        i = min(range(len(free)), key=free.__getitem__)
        free[i] += d
    return max(free)


def pretrain_rate(costs: dict[str, Any], arm: str) -> tuple[float, list[str]]:
    """CPU ms per molecule per epoch of pretraining ``arm`` (the sum over the parts of a
    ``'a+b'`` arm) from one encoder size's calibration ``costs``, and the parts that have no
    calibrated rate: those are given the mean rate of the calibrated objectives (0 where
    none is)."""
    rates = costs['pretrain_ms']
    fallback = sum(rates.values()) / len(rates) if rates else 0.0
    parts = arm.split('+')
    missing = [p for p in parts if p not in rates]
    return sum(rates.get(p, fallback) for p in parts), missing


def estimate(proto: Protocol, sizes: dict[str, int], jobs: int = 2,
             costs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Predicted cost of a run of ``proto`` on ``sizes`` (``{dataset: training graphs}``)
    with ``jobs`` single-threaded workers, from :data:`COSTS`: CPU seconds per pretraining
    arm and per fine-tuning dataset, and the wall time of each phase (featurisation and the
    model cards' overlap in the parent; pretraining and fine-tuning as the pool schedules
    them).

    An objective without a calibrated pretraining rate for the encoder's size is estimated
    with the mean rate of the calibrated objectives of that size (:func:`pretrain_rate`),
    with a warning, and listed under ``'uncalibrated'``."""
    key = size_key(proto.num_layers, proto.hidden_channels)
    costs = COSTS.get(key) if costs is None else costs
    if costs is None:
        raise SystemExit(f'error: no calibration for encoder {key}; calibrated: '
                         f"{', '.join(COSTS)} (python -m benchmarks.transfer calibrate)")
    corpus = proto.corpus_limit or MOSES_TRAIN
    pre: dict[str, float] = {}
    uncalibrated: list[str] = []
    for arm in proto.objectives:
        if is_given_checkpoint(arm):  # fine-tuned as given: nothing to pretrain
            pre[arm] = 0.0
            continue
        ms, missing = pretrain_rate(costs, arm)
        if missing:
            uncalibrated.append(arm)
            log.warning('no calibrated pretraining cost of %s for gin %s: estimated with the '
                        'mean of the %d calibrated objectives (%.3f ms per molecule for the '
                        'arm); `python -m benchmarks.transfer calibrate --objectives %s` '
                        'measures it', ', '.join(missing), key, len(costs['pretrain_ms']), ms,
                        ','.join(missing))
        if arm == 'supervised':
            pre[arm] = (SUPERVISED_GRAPHS * proto.supervised_epochs * ms / 1e3
                        + costs['supervised_setup_s'])
        else:
            pre[arm] = corpus * proto.pretrain_epochs * ms / 1e3
    arms = [SCRATCH, *proto.objectives]
    run_cost = {d: proto.finetune_epochs * n * costs['finetune_ms'].get(
        d, costs['finetune_ms']['default']) / 1e3 + costs['finetune_setup_s']
        for d, n in sizes.items()}
    fine = {d: len(arms) * len(proto.seeds) * c for d, c in run_cost.items()}
    # seed-major, dataset, arm: the order of run_benchmark
    order = [run_cost[d] for _ in proto.seeds for d in sizes for _ in arms]
    moses_arms = [a for a in proto.objectives
                  if a != 'supervised' and not is_given_checkpoint(a)]
    downstream = sum(MOLECULE_SIZES.get(d, (n / 0.8, n))[0] for d, n in sizes.items())
    cards = 0.0
    if moses_arms:
        cards += (corpus + downstream) / INCHIKEY_MOL_PER_S
    if 'supervised' in proto.objectives:
        cards += (SUPERVISED_GRAPHS + downstream) / INCHIKEY_MOL_PER_S
    featurise = corpus / FEATURISE_MOL_PER_S if moses_arms else 0.0
    wall = {'featurise': featurise, 'pretrain': makespan(list(pre.values()), jobs),
            'model_cards': cards, 'finetune': makespan(order, jobs)}
    return {'encoder': key, 'jobs': jobs, 'pretrain_cpu_s': pre, 'finetune_cpu_s': fine,
            'finetune_run_s': run_cost, 'wall_s': wall, 'total_wall_s': sum(wall.values()),
            'total_cpu_s': featurise + cards + sum(pre.values()) + sum(fine.values()),
            'uncalibrated': uncalibrated}


def hms(seconds: float) -> str:
    """A duration as seconds, minutes, hours or days."""
    seconds = float(seconds)
    if seconds >= 2 * 86400:
        return f'{seconds / 86400:.1f} d'
    if seconds >= 2 * 3600:
        return f'{seconds / 3600:.1f} h'
    if seconds >= 120:
        return f'{seconds / 60:.1f} min'
    return f'{seconds:.0f} s'


def format_estimate(e: dict[str, Any], proto: Protocol) -> str:
    """The estimate as a markdown table."""
    lines = [(f"Estimated cost: encoder gin {e['encoder']}, {e['jobs']} single-threaded jobs "
             f'(calibrated CPU costs of this machine)'), '',
             '| phase | CPU (one core) | wall |', '|---|---:|---:|']
    lines.append(f"| featurise the corpus ({proto.corpus_limit or MOSES_TRAIN:,} molecules, "
                 f"once) | {hms(e['wall_s']['featurise'])} | {hms(e['wall_s']['featurise'])} |")
    for arm, c in e['pretrain_cpu_s'].items():
        note = ' (uncalibrated: mean rate)' if arm in e.get('uncalibrated', ()) else ''
        lines.append(f'| pretrain {arm}{note} | {hms(c)} | |')
    lines.append(f"| pretraining, all arms | {hms(sum(e['pretrain_cpu_s'].values()))} | "
                 f"{hms(e['wall_s']['pretrain'])} |")
    lines.append(f"| model cards (corpus overlap) | {hms(e['wall_s']['model_cards'])} | "
                 f"{hms(e['wall_s']['model_cards'])} |")
    for d, c in e['finetune_cpu_s'].items():
        lines.append(f"| fine-tune {d} ({hms(e['finetune_run_s'][d])} per run) | {hms(c)} | |")
    lines.append(f"| fine-tuning, all | {hms(sum(e['finetune_cpu_s'].values()))} | "
                 f"{hms(e['wall_s']['finetune'])} |")
    lines.append(f"| **total** | {hms(e['total_cpu_s'])} | **{hms(e['total_wall_s'])}** |")
    return '\n'.join(lines)
