"""Transfer benchmark: pretrain each objective, fine-tune on downstream molecule datasets, and
always compare with the same fine-tuning recipe from random initialisation, in one run.

    python -m benchmarks.transfer plan --profile quick --jobs 2      # predicted cost, runs nothing
    python -m benchmarks.transfer run --profile quick --jobs 2 \\
        --out benchmarks/results/transfer-quick
    python -m benchmarks.transfer report --out benchmarks/results/transfer-quick --timing \\
        --figure benchmarks/results/transfer-quick/table.png

Profiles: ``quick`` (Hu et al.'s protocol scaled to 2 CPU cores by the calibration in
:data:`COSTS`; see its entry in :data:`PROFILES`), ``full`` (Hu et al.'s protocol, meant for a
GPU), both over every registered graph-level objective (``objectives='all'``, resolved when the
run starts and recorded in ``<out>/protocol.json``), and ``small`` (the first transfer
measurement, with its own list of eight objectives). ``--objectives a,b`` names the arms
instead. ``plan`` prints the predicted cost of a profile with the objectives registered now.

``report`` gives the mean ± std over seeds of every (arm, dataset), and the paired
difference of every pretrained arm to ``scratch`` (same seeds) with a Student's t confidence
interval over seeds (:func:`paired_difference`).

``run`` is resumable: every (arm, dataset, seed) fine-tuning is one JSON line in
``<out>/records.jsonl``, written as soon as it finishes, and pretrained checkpoints stay in
``<out>/pretrain/<arm>/``; run the same command again and only the missing work is done. A
record is only reused when the protocol that produced it (the resolved config, hashed) is the
one asked for; a different protocol in the same ``--out`` is an error, never a silent mix.

Protocol, enforced here and in :func:`graphpfm.eval.finetune`: each seed seeds the
initialisation, the head and the training-set order; the test score reported is the one at the
epoch of best *validation* score (ties: the earlier epoch); the validation split is used for
nothing else; splits are OGB's scaffold splits from the dataset files. The no-pretraining arm
(``scratch``) uses the identical recipe and seeds. Datasets absent under the data root are
reported and skipped, never faked. Tasks with a single class in a split are left out of the
metric as OGB's Evaluator does; each record lists them and ``report`` counts them.

``--jobs N`` runs N pretrainings / fine-tunings at once in worker processes with
``--threads`` torch threads each (default: cores // jobs). On 2 cores, two single-threaded
fine-tunings at batch 32 do about 1.33x the work of one two-threaded one; and on a machine
that is busy already, two threads per job are much slower than one (each thread waits for the
other): pass ``--threads 1``.
"""
# ruff: noqa: C408 (configuration tables are written as dict(key=value))
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

log = logging.getLogger('benchmarks.transfer')

SCRATCH = 'scratch'
MOLECULE_BENCHMARK = ('ogbg-molbbbp', 'ogbg-moltox21', 'ogbg-moltoxcast', 'ogbg-molsider',
                      'ogbg-molclintox', 'ogbg-molmuv', 'ogbg-molhiv', 'ogbg-molbace')


#: the value of a profile's ``objectives`` (or of ``--objectives``) that stands for every
#: registered graph-level objective (:func:`graph_objectives`)
ALL_OBJECTIVES = 'all'


@dataclass
class Protocol:
    """Everything that determines the numbers of a transfer run (hashed into each record).

    ``objectives`` may be ``'all'`` (:data:`ALL_OBJECTIVES`): it is resolved on construction
    to the graph-level objectives registered then (:func:`resolve_objectives`), so that the
    protocol, and the ``protocol.json`` written from it, names the arms that actually run.
    """

    objectives: list[str] | str
    datasets: list[str]
    seeds: list[int]
    corpus: str = 'moses'
    corpus_limit: int | None = 100_000
    pretrain_epochs: int = 2
    pretrain_batch_size: int = 256
    pretrain_lr: float = 1e-3
    supervised_corpus: str = 'ogbg-moltoxcast'
    supervised_epochs: int = 20
    exclude_from_supervised: bool = True
    encoder: str = 'gin'
    num_layers: int = 5
    hidden_channels: int = 300
    jk: str = 'last'
    finetune_epochs: int = 30
    finetune_batch_size: int = 32
    finetune_lr: float = 1e-3
    finetune_dropout: float = 0.5
    pool: str = 'mean'
    pretrain_seed: int = 0
    objective_options: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.objectives = resolve_objectives(self.objectives)

    def pretrain_key(self, arm: str) -> dict[str, Any]:
        if is_given_checkpoint(arm):  # a shipped model or checkpoint file: its bytes
            return {'checkpoint': given_checkpoint_digest(arm)}
        keys = ['encoder', 'num_layers', 'hidden_channels', 'jk', 'pretrain_batch_size',
                'pretrain_lr', 'pretrain_seed']
        d = {k: getattr(self, k) for k in keys}
        if arm == 'supervised':
            d.update(corpus=self.supervised_corpus, epochs=self.supervised_epochs,
                     exclude=self.datasets if self.exclude_from_supervised else [])
        else:
            d.update(corpus=self.corpus, limit=self.corpus_limit, epochs=self.pretrain_epochs)
        d['objective'] = arm
        d['options'] = self.objective_options.get(arm, {})
        return d

    def finetune_key(self, arm: str) -> dict[str, Any]:
        keys = ['encoder', 'num_layers', 'hidden_channels', 'jk', 'finetune_epochs',
                'finetune_batch_size', 'finetune_lr', 'finetune_dropout', 'pool']
        d = {k: getattr(self, k) for k in keys}
        d['pretrain'] = None if arm == SCRATCH else self.pretrain_key(arm)
        return d


#: Each profile gives every dataset the same seeds and the same number of epochs (one recipe
#: for all). ``objectives='all'`` follows the registry: registering a graph-level objective adds
#: an arm to the profile's next run (records carry the protocol of their own arm, so the arms
#: already run keep their records).
PROFILES: dict[str, dict[str, Any]] = {
    # The first transfer measurement: 100k MOSES, 2 epochs; bbbp, bace, tox21; 3 seeds x 30
    # fine-tuning epochs, for the eight objectives it measured (Hu et al.'s five first, then
    # GraphCL, GraphMAE and SimGRACE added to the same run: arms may be added, records carry
    # their protocol).
    'small': dict(objectives=['attr_masking', 'context_pred', 'edge_pred', 'infomax',
                              'supervised', 'graphcl', 'graphmae', 'simgrace'],
                  datasets=['ogbg-molbbbp', 'ogbg-molbace', 'ogbg-moltox21'], seeds=[0, 1, 2],
                  corpus_limit=100_000, pretrain_epochs=2, finetune_epochs=30),
    # Hu et al.'s protocol on MOSES's 1.58M training molecules (they used 2M ZINC15), for every
    # registered graph-level objective: meant for a GPU.
    'full': dict(objectives=ALL_OBJECTIVES, datasets=list(MOLECULE_BENCHMARK),
                 seeds=list(range(10)), corpus_limit=1_584_663, pretrain_epochs=100,
                 supervised_epochs=100, finetune_epochs=100),
    # The same protocol scaled to 2 CPU cores (2 single-threaded jobs), sized with COSTS (CPU ms
    # per graph, measured by `calibrate`; see benchmarks/README.md) when eight graph-level
    # objectives were registered. Fine-tuning is ~90% of the cost: one (arm, seed) epoch over
    # the five datasets here is 1631 x 0.72 + 1210 x 0.64 + 6264 x 0.40 + 6860 x 0.93 +
    # 32901 x 0.75 ms = 35.5 s (HIV 24.7 s); x 8 epochs x 9 arms x 3 seeds = 7,740 s of one
    # core = 65 min on two jobs. Pretraining: 50,000 x 4 x 2.41 ms (seven MOSES arms) +
    # supervised 79 s = 9.4 min of one core, 4.8 min on two jobs. With the featurisation
    # (21 s) and the model cards' overlap (94 s): 72 min in all. Each further objective adds
    # its fine-tuning (about 7 min on two jobs) and its pretraining; `plan` prints the
    # estimate for the objectives registered now. One recipe for every dataset (no fewer
    # epochs for HIV); GIN 5 x 300 (4.19 ms per graph) would allow one fine-tuning epoch,
    # 3 x 128 six.
    'quick': dict(objectives=ALL_OBJECTIVES, datasets=list(MOLECULE_BENCHMARK), seeds=[0, 1, 2],
                  num_layers=3, hidden_channels=64, corpus_limit=50_000, pretrain_epochs=4,
                  supervised_epochs=20, finetune_epochs=8),
    # Graph property prediction against the best earlier arms, with five seeds: the `quick`
    # recipe; the earlier arms are the four with the best mean validation score over the
    # datasets in `quick`'s run (infomax, supervised, attr_masking, graphmae), the new ones the
    # three RDKit-target objectives and KPGT's masking + descriptors. Fine-tuning is ~221 CPU s
    # per (arm, seed) over the five datasets: 9 arms x 5 seeds = 83 min on two jobs.
    'property': dict(objectives=['infomax', 'supervised', 'attr_masking', 'graphmae',
                                 'motif_pred', 'descriptor_pred', 'fingerprint_pred',
                                 'attr_masking+descriptor_pred'],
                     datasets=list(MOLECULE_BENCHMARK), seeds=[0, 1, 2, 3, 4], num_layers=3,
                     hidden_channels=64, corpus_limit=50_000, pretrain_epochs=4,
                     supervised_epochs=20, finetune_epochs=8),
}


#: prefix of an arm that fine-tunes a given encoder instead of pretraining one:
#: ``pretrained:<shipped model name or checkpoint path>``
GIVEN = 'pretrained:'


def is_given_checkpoint(arm: str) -> bool:
    """Whether ``arm`` names a given checkpoint (``pretrained:<name or path>``)."""
    return arm.startswith(GIVEN)


def given_checkpoint(arm: str) -> Path:
    """The checkpoint file of a ``pretrained:<name or path>`` arm (a shipped model's name or
    a file; neither is an error naming both)."""
    from graphpfm.pretrained import resolve_checkpoint
    try:
        return resolve_checkpoint(arm[len(GIVEN):])
    except FileNotFoundError as exc:
        raise SystemExit(f'error: arm {arm}: {exc}') from None


def given_checkpoint_digest(arm: str) -> str:
    """SHA-256 of a given checkpoint's bytes (its identity in the protocol)."""
    return hashlib.sha256(given_checkpoint(arm).read_bytes()).hexdigest()


def graph_objectives() -> list[str]:
    """The graph-level objectives in graphpfm's registry (sorted): what ``objectives='all'``
    resolves to."""
    from graphpfm.objectives import OBJECTIVES
    return [n for n in OBJECTIVES.names() if getattr(OBJECTIVES.get(n), 'level', None) == 'graph']


def resolve_objectives(objectives: str | Sequence[str]) -> list[str]:
    """The arms named by ``objectives``: ``'all'`` (:data:`ALL_OBJECTIVES`, alone) is every
    registered graph-level objective (:func:`graph_objectives`); a comma-separated string or a
    list is taken as given, in its order. Names are checked against the registry by
    :func:`plan`."""
    names = ([o for o in objectives.split(',') if o] if isinstance(objectives, str)
             else list(objectives))
    if ALL_OBJECTIVES in names:
        if len(names) > 1:
            raise SystemExit(f"error: '{ALL_OBJECTIVES}' stands for every registered "
                             'graph-level objective and cannot be combined with names '
                             f"({', '.join(names)}); give either '{ALL_OBJECTIVES}' or a "
                             'comma list of objectives')
        return graph_objectives()
    return names


def protocol_hash(d: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def git_commit() -> str | None:
    try:
        out = subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True,
                             check=False, cwd=Path(__file__).resolve().parent, timeout=10)
        dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'],
                               capture_output=True, text=True, check=False,
                               cwd=Path(__file__).resolve().parent, timeout=10)
        return out.stdout.strip() + ('-dirty' if dirty.stdout.strip() else '') or None
    except (OSError, subprocess.SubprocessError):
        return None


def hardware(threads: int) -> dict[str, Any]:
    import torch
    hw = {'machine': platform.machine(), 'processor': platform.processor() or None,
          'cpu_count': os.cpu_count(), 'torch_threads': threads}
    if torch.cuda.is_available():
        hw['cuda'] = torch.cuda.get_device_name(0)
    return hw


# ----------------------------------------------------------------------------- workers
def _init_worker(threads: int, root: str | None) -> None:
    import torch

    from graphpfm.utils import tune_malloc
    tune_malloc()  # keep freed buffers (see benchmarks/malloc.py)
    torch.set_num_threads(threads)
    os.environ['GRAPHPFM_BENCH_THREADS'] = str(threads)
    if root:
        os.environ['GRAPHPFM_DATA'] = root
    logging.basicConfig(level=logging.WARNING)


#: pretraining logs the mean loss of every this many steps (the loss-curve figure); logging
#: only, so not part of the protocol
LOSS_LOG_STEPS = 10


def pretrain_arm(task: dict[str, Any]) -> dict[str, Any]:
    """Pretrain one objective through the CLI path (leakage control included)."""
    from graphpfm.cli import run
    proto, arm, out, root, device = (task['protocol'], task['arm'], Path(task['out']),
                                     task['root'], task['device'])
    key = task['key']
    argv = ['pretrain', '--objective', arm, '--encoder', proto['encoder'],
            '--num-layers', str(proto['num_layers']),
            '--hidden-channels', str(proto['hidden_channels']), '--jk', proto['jk'],
            '--batch-size', str(proto['pretrain_batch_size']), '--lr', str(proto['pretrain_lr']),
            '--seed', str(proto['pretrain_seed']), '--device', device, '--no-progress',
            '--log-every', str(LOSS_LOG_STEPS), '--out', str(out)]
    if root:
        argv += ['--root', root]
    if arm == 'supervised':
        argv += ['--dataset', key['corpus'], '--epochs', str(key['epochs'])]
        if key['exclude']:
            argv += ['--exclude', ','.join(key['exclude'])]
    else:
        argv += ['--dataset', key['corpus'], '--epochs', str(key['epochs'])]
        if key['limit']:
            argv += ['--limit', str(key['limit'])]
    for name, value in key['options'].items():
        argv += [f"--{name.replace('_', '-')}", str(value)]
    start, cpu = time.perf_counter(), cpu_seconds()
    run(argv)
    wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    (out / 'protocol.json').write_text(json.dumps({'hash': task['hash'], 'key': key,
                                                   'wall_s': wall, 'cpu_s': cpu}, indent=1))
    return {'arm': arm, 'wall_s': wall, 'cpu_s': cpu}


_BUNDLES: dict[str, Any] = {}


def finetune_one(task: dict[str, Any]) -> dict[str, Any]:
    """One (arm, dataset, seed) fine-tuning; returns the record."""
    import torch

    from graphpfm.datasets import load_dataset
    from graphpfm.eval import FinetuneConfig, finetune
    from graphpfm.nn import build_encoder
    from graphpfm.train import load_encoder
    from graphpfm.train.checkpoint import package_versions

    proto, arm, dataset, seed = task['protocol'], task['arm'], task['dataset'], task['seed']
    if dataset not in _BUNDLES:
        _BUNDLES[dataset] = load_dataset(dataset, root=task['root'], progress=False)
    bundle = _BUNDLES[dataset]
    dropout = proto['finetune_dropout']
    if arm == SCRATCH:
        kw = dict(num_layers=proto['num_layers'], hidden_channels=proto['hidden_channels'],
                  jk=proto['jk'], dropout=dropout)
        def make(_seed: int) -> Any:
            return build_encoder(proto['encoder'], **kw)
    else:
        ckpt = task['checkpoint']
        def make(_seed: int) -> Any:
            return load_encoder(ckpt, dropout=dropout)
    config = FinetuneConfig(epochs=proto['finetune_epochs'],
                            batch_size=proto['finetune_batch_size'], lr=proto['finetune_lr'],
                            pool=proto['pool'], seeds=(seed,), device=task['device'])
    start, cpu = time.perf_counter(), time.process_time()
    result = finetune(bundle, make, config)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    run = result.runs[0]
    return {
        'arm': arm, 'dataset': dataset, 'seed': seed, 'hash': task['hash'],
        'metric': result.metric, 'higher_is_better': result.higher_is_better,
        'best_epoch': run['best_epoch'], 'best_valid': run['best_valid'],
        'test_at_best_valid': run['test_at_best_valid'], 'curves': run['curves'],
        'skipped_tasks': result.skipped_tasks, 'num_tasks': int(bundle.num_tasks),
        'split_sizes': {k: int(v.numel()) for k, v in bundle.split_idx.items()},
        'finetune_config': result.config,
        'protocol': task['key'], 'checkpoint': task.get('checkpoint'),
        'git_commit': task['git_commit'], 'versions': package_versions(),
        'hardware': hardware(torch.get_num_threads()), 'wall_s': round(wall, 2),
        'cpu_s': round(cpu, 2), 'finished': time.strftime('%Y-%m-%dT%H:%M:%S%z'),
    }


# ----------------------------------------------------------------------------- model cards
def corpus_overlap(corpus: str, limit: int | None, datasets: list[str], root: str | None
                   ) -> dict[str, dict[str, int]]:
    """``{dataset: {split: corpus molecules found in it}}`` by InChIKey (RDKit), for every
    split of every downstream dataset."""
    from graphpfm.datasets import dataset_smiles
    from graphpfm.datasets.leakage import downstream_smiles, molecule_keys
    keys = {k for k in molecule_keys(dataset_smiles(corpus, root, limit)) if k is not None}
    out: dict[str, dict[str, int]] = {}
    for name in datasets:
        out[name] = {}
        for split in ('train', 'valid', 'test'):
            smiles, _, _ = downstream_smiles(name, root, [split])
            found = {k for k in molecule_keys(smiles) if k is not None}
            out[name][split] = len(found & keys)
    return out


def write_model_card(adir: Path, overlap: dict[str, dict[str, int]]) -> dict[str, Any]:
    """``model_card.json`` and ``model_card.md`` beside a pretrained checkpoint: the data,
    the featuriser, the objective, the training (epochs, time, loss curve) and the overlap of
    the corpus with every downstream split (distinct molecules, by InChIKey)."""
    from graphpfm.train import load_checkpoint
    ckpt = load_checkpoint(adir / 'checkpoint.pt')
    run = json.loads((adir / 'protocol.json').read_text())
    history = ckpt.get('history') or []
    data = ckpt.get('data') or {}
    card = {
        'objective': ckpt['objective'], 'encoder': ckpt['encoder'],
        'corpus': {k: data.get(k) for k in ('corpus', 'num_graphs', 'limit', 'source',
                                            'num_invalid')},
        'featuriser': 'ogb.utils.smiles2graph: 9 categorical atom and 3 bond features (OGB); '
                      'Hu et al. (2020) used 2 atom / 2 bond features',
        'leakage_control': data.get('leakage'),
        'training': {'epochs': len(history), 'wall_s': round(run.get('wall_s', float('nan')), 1),
                     'loss_per_epoch': [h['loss'] for h in history],
                     'config': {k: (ckpt.get('config') or {}).get(k)
                                for k in ('batch_size', 'lr', 'seed', 'epochs')}},
        'overlap_with_downstream': overlap, 'versions': ckpt.get('versions'),
        'created': ckpt.get('created'),
    }
    (adir / 'model_card.json').write_text(json.dumps(card, indent=1))
    obj = card['objective']
    lines = [f"# {obj['name']} ({', '.join(f'{k}={v}' for k, v in obj['kwargs'].items())})", '',
             f"- encoder: {card['encoder']['name']} {card['encoder']['kwargs']}",
             f"- corpus: {card['corpus']['corpus']}, {card['corpus']['num_graphs']} molecules",
             f"- featuriser: {card['featuriser']}",
             (f"- training: {card['training']['epochs']} epochs, {card['training']['wall_s']} s; "
             f"loss per epoch {', '.join(f'{v:.4f}' for v in card['training']['loss_per_epoch'])}")]
    if card['leakage_control']:
        lc = card['leakage_control']
        lines.append(f"- leakage control: removed {lc.get('removed')} molecules found in the "
                     f"{'/'.join(lc.get('splits', []))} splits of "
                     f"{', '.join(lc.get('downstream', []))}")
    lines += ['', '| downstream | train | valid | test |', '|---|---:|---:|---:|']
    lines += [f"| {d} | {v['train']} | {v['valid']} | {v['test']} |" for d, v in overlap.items()]
    lines += ['', ('Counts: distinct corpus molecules (InChIKey) found in each split, before any '
              'leakage control.'), f"versions: {card['versions']}"]
    (adir / 'model_card.md').write_text('\n'.join(lines) + '\n')
    return card


# ----------------------------------------------------------------------------- driver
def _pool(jobs: int, ntasks: int, threads: int, root: str | None) -> ProcessPoolExecutor:
    # not multiprocessing.Pool: its daemonic workers may not start the featuriser's processes
    return ProcessPoolExecutor(min(jobs, ntasks), mp_context=mp.get_context('spawn'),
                               initializer=_init_worker, initargs=(threads, root))


def _unordered(pool: ProcessPoolExecutor, fn: Any, tasks: list[dict[str, Any]]) -> Any:
    """Results in completion order; the first failure stops the run (the records written so
    far are kept)."""
    futures = [pool.submit(fn, t) for t in tasks]
    try:
        for fut in as_completed(futures):
            yield fut.result()
    finally:
        for fut in futures:
            fut.cancel()


def read_records(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    records = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as e:  # a line cut by a kill: say so, do not guess
            raise SystemExit(f'{path}:{i}: unreadable record ({e}); remove the line and '
                             'rerun') from None
    return records


def resolve_protocol(args: argparse.Namespace) -> Protocol:
    base = dict(PROFILES[args.profile]) if args.profile else {}
    for name in ('objectives', 'datasets'):
        value = getattr(args, name)
        if value:
            base[name] = [v for v in value.split(',') if v]
    if args.seeds:
        base['seeds'] = list(range(int(args.seeds))) if ',' not in args.seeds else [
            int(s) for s in args.seeds.split(',') if s]
    for name in ('corpus_limit', 'pretrain_epochs', 'finetune_epochs', 'supervised_epochs',
                 'num_layers', 'hidden_channels', 'finetune_batch_size', 'pretrain_batch_size'):
        value = getattr(args, name)
        if value is not None:
            base[name] = value
    missing = [k for k in ('objectives', 'datasets', 'seeds') if k not in base]
    if missing:
        raise SystemExit(f"error: give --profile ({', '.join(PROFILES)}) or "
                         f"--{' --'.join(missing)}")
    return Protocol(**base)


def plan(proto: Protocol, root: str | None) -> tuple[list[str], list[str]]:
    """(arms, datasets present); absent datasets are logged and skipped."""
    from graphpfm.datasets import available_datasets
    from graphpfm.objectives import OBJECTIVES
    for objective in proto.objectives:
        if is_given_checkpoint(objective):
            from graphpfm.train import load_checkpoint
            spec = load_checkpoint(given_checkpoint(objective))['encoder']
            want = {'num_layers': proto.num_layers, 'hidden_channels': proto.hidden_channels,
                    'jk': proto.jk}
            got = {k: spec['kwargs'].get(k) for k in want}
            if spec['name'] != proto.encoder or got != want:
                raise SystemExit(f"error: arm {objective} holds a {spec['name']} {got} encoder; "
                                 f'the protocol (and its scratch arm) is {proto.encoder} {want}: '
                                 'give --num-layers/--hidden-channels to match')
            continue
        for part in objective.split('+'):
            if part not in OBJECTIVES:
                raise SystemExit(f"error: unknown objective '{part}'; valid: "
                                 f"{', '.join(OBJECTIVES.names())}")
    found = available_datasets(root)
    present = [d for d in proto.datasets if found.get(d)]
    for d in proto.datasets:
        if d not in present:
            log.warning('dataset %s is absent under the data root: skipped (not faked)', d)
    if not present:
        raise SystemExit(f"error: none of {', '.join(proto.datasets)} is under the data root")
    return [SCRATCH, *proto.objectives], present


def run_benchmark(args: argparse.Namespace) -> int:
    proto = resolve_protocol(args)
    root = args.root or os.environ.get('GRAPHPFM_DATA')
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    arms, datasets = plan(proto, root)
    left_out = [o for o in graph_objectives() if o not in proto.objectives]
    if args.profile and not args.objectives and left_out:
        log.warning("registered graph-level objective(s) %s are not in profile '%s': add them "
                    'to its list (a new protocol) or name them with --objectives',
                    ', '.join(left_out), args.profile)
    key = size_key(proto.num_layers, proto.hidden_channels)
    if key in COSTS:
        e = estimate(replace(proto, datasets=datasets), train_sizes(datasets, root),
                     jobs=max(1, args.jobs))
        log.info('estimated (calibration of gin %s, %d jobs): pretraining %s, fine-tuning %s, '
                 'total %s of wall time, if nothing is done yet', key, e['jobs'],
                 _hms(e['wall_s']['pretrain']), _hms(e['wall_s']['finetune']),
                 _hms(e['total_wall_s']))
    requested = list(proto.datasets)
    proto = replace(proto, datasets=datasets)  # supervised pretraining excludes these
    state = {**asdict(proto), 'requested_datasets': requested, 'present_datasets': datasets}
    state_path = out / 'protocol.json'
    if state_path.is_file():
        # arms may be added to a run (each arm's records carry their own protocol hash);
        # anything else that differs would mix protocols in one table
        before = json.loads(state_path.read_text())
        differ = sorted(k for k in set(state) | set(before)
                        if k != 'objectives' and state.get(k) != before.get(k))
        if differ:
            raise SystemExit(f'error: {out} holds a run under another protocol '
                             f"({', '.join(differ)} differ; see {state_path}). Use a new "
                             '--out, or the same flags')
        state['objectives'] = before['objectives'] + [
            o for o in proto.objectives if o not in before['objectives']]
    state_path.write_text(json.dumps(state, indent=1))
    jobs = max(1, args.jobs)
    threads = args.threads or max(1, (os.cpu_count() or 1) // jobs)
    commit = git_commit()
    pdict = asdict(proto)

    # Phase 1: pretraining (skipped where the checkpoint of the same protocol exists).
    todo = []
    for arm in arms[1:]:
        if is_given_checkpoint(arm):
            continue
        key = proto.pretrain_key(arm)
        h = protocol_hash(key)
        adir = out / 'pretrain' / arm.replace('+', '_plus_')
        done = adir / 'protocol.json'
        if done.is_file() and (adir / 'checkpoint.pt').is_file():
            if json.loads(done.read_text())['hash'] != h:
                raise SystemExit(f'error: {adir} was pretrained under another protocol; use '
                                 'a new --out')
            continue
        todo.append({'protocol': pdict, 'arm': arm, 'key': key, 'hash': h, 'out': str(adir),
                     'root': root, 'device': args.device})
    if todo:
        log.info('pretraining %d arm(s): %s', len(todo), ', '.join(t['arm'] for t in todo))
        # featurise the corpora (and compute the RDKit targets their objectives need) once,
        # here, so that parallel workers only read the caches
        from graphpfm.datasets import load_dataset
        from graphpfm.objectives import required_targets
        corpora: dict[tuple[str, Any], list[str]] = {}
        for t in todo:
            need = corpora.setdefault((t['key']['corpus'], t['key'].get('limit')), [])
            need += [k for k in required_targets(t['arm']) if k not in need]
        for (corpus, limit), targets in corpora.items():
            load_dataset(corpus, root=root, limit=limit, progress=args.progress,
                         targets=targets)
        with _pool(jobs, len(todo), threads, root) as pool:
            for res in _unordered(pool, pretrain_arm, todo):
                log.info('pretrained %s in %.0f s', res['arm'], res['wall_s'])

    # Model cards (also for checkpoints of earlier invocations that lack one); the corpus
    # overlap is computed once per corpus
    overlaps: dict[tuple[str, Any], dict[str, dict[str, int]]] = {}
    for arm in arms[1:]:
        adir = out / 'pretrain' / arm.replace('+', '_plus_')
        if is_given_checkpoint(arm) or (adir / 'model_card.json').is_file():
            continue
        key = proto.pretrain_key(arm)
        ck = (key['corpus'], key.get('limit'))
        if ck not in overlaps:
            overlaps[ck] = corpus_overlap(key['corpus'], key.get('limit'), datasets, root)
        write_model_card(adir, overlaps[ck])

    # Phase 2: fine-tuning, seed-major so that a cut run still holds whole seeds.
    records_path = out / 'records.jsonl'
    records = read_records(records_path)
    done_keys = set()
    for r in records:
        expected = protocol_hash(proto.finetune_key(r['arm'])) if (
            r['arm'] in arms) else None
        if r['hash'] != expected:
            raise SystemExit(f"error: {records_path} holds a record of arm {r['arm']} made "
                             'under another protocol; use a new --out')
        done_keys.add((r['arm'], r['dataset'], r['seed']))
    tasks = []
    for seed in proto.seeds:
        for dataset in datasets:
            for arm in arms:
                if (arm, dataset, seed) in done_keys:
                    continue
                key = proto.finetune_key(arm)
                ckpt = (None if arm == SCRATCH else str(given_checkpoint(arm))
                        if is_given_checkpoint(arm) else
                        str(out / 'pretrain' / arm.replace('+', '_plus_') / 'checkpoint.pt'))
                tasks.append({'protocol': pdict, 'arm': arm, 'dataset': dataset, 'seed': seed,
                              'key': key, 'hash': protocol_hash(key), 'checkpoint': ckpt,
                              'root': root, 'device': args.device, 'git_commit': commit})
    log.info('fine-tuning: %d of %d runs to do', len(tasks),
             len(arms) * len(datasets) * len(proto.seeds))
    if tasks:
        from tqdm.auto import tqdm
        with _pool(jobs, len(tasks), threads, root) as pool, \
                open(records_path, 'a') as f, tqdm(total=len(tasks), desc='fine-tuning',
                                                   disable=not args.progress) as bar:
            for rec in _unordered(pool, finetune_one, tasks):
                f.write(json.dumps(rec) + '\n')
                f.flush()
                bar.update(1)
                log.info('%s %s seed %d: test %.4f at epoch %d (%.0f s)', rec['arm'],
                         rec['dataset'], rec['seed'], rec['test_at_best_valid'],
                         rec['best_epoch'], rec['wall_s'])
    table = report(out, partial=False)
    sys.stdout.write(table + '\n')
    return 0


# ----------------------------------------------------------------------------- report
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


def report(out: Path, partial: bool = False, arms: Sequence[str] | None = None) -> str:
    """Markdown table (rows: arms; columns: datasets + average) of mean ± std over seeds of
    the test score at the best validation epoch, then the table of each pretrained arm's
    paired difference to ``scratch`` with its confidence interval
    (:func:`paired_difference_table`). Missing records are an error unless ``partial``,
    where each cell shows its seed count and the average column is left out for rows that
    are incomplete. ``arms`` restricts the tables (and the completeness rule) to those arms
    (:func:`select_arms`)."""
    import numpy as np
    proto = json.loads((out / 'protocol.json').read_text())
    datasets = proto['present_datasets']
    arms = select_arms(proto, arms)
    seeds = proto['seeds']
    records = read_records(out / 'records.jsonl')
    cells: dict[tuple[str, str], dict[int, float]] = {}
    metric = {}
    for r in records:
        cells.setdefault((r['arm'], r['dataset']), {})[r['seed']] = r['test_at_best_valid']
        metric[r['dataset']] = r['metric']
    missing = [(a, d, s) for a in arms for d in datasets for s in seeds
               if s not in cells.get((a, d), {})]
    if missing and not partial:
        shown = ', '.join(f'{a}/{d}/seed {s}' for a, d, s in missing[:10])
        raise SystemExit(f'error: {len(missing)} of {len(arms) * len(datasets) * len(seeds)} '
                         f'records missing in {out} ({shown}{" ..." if len(missing) > 10 else ""})'
                         '; rerun `run` with the same flags, or `report --partial`')
    head = '| arm | ' + ' | '.join(f'{d} ({metric.get(d, "?")})' for d in datasets) + \
        ' | average |'
    lines = [head, '|' + '---|' * (len(datasets) + 2)]
    for arm in arms:
        row, means, complete = [], [], True
        for d in datasets:
            vals = np.array([v for s, v in sorted(cells.get((arm, d), {}).items())
                             if s in seeds], dtype=float)
            if len(vals) == 0:
                row.append('—')
                complete = False
                continue
            cell = f'{100 * vals.mean():.1f} ± {100 * vals.std():.1f}'
            if len(vals) < len(seeds):
                cell += f' ({len(vals)}/{len(seeds)} seeds)'
                complete = False
            row.append(cell)
            means.append(vals.mean())
        avg = f'{100 * np.mean(means):.1f}' if complete else '—'
        lines.append(f'| {arm} | ' + ' | '.join(row) + f' | {avg} |')
    paired = paired_difference_table(records, [a for a in arms if a != SCRATCH], datasets,
                                     seeds)
    if paired:
        lines += ['', paired]
    skipped = skipped_tasks_table(records, datasets)
    if skipped:
        lines += ['', skipped]
    return '\n'.join(lines)


def paired_difference(a: Sequence[float], b: Sequence[float], confidence: float = 0.95
                      ) -> tuple[float, float, float, int]:
    r"""The mean paired difference :math:`\bar d` of :math:`d_i = a_i - b_i` and its two-sided
    confidence interval from Student's *t* distribution with :math:`n - 1` degrees of freedom,

    .. math::
        \bar d \pm t_{(1 + c) / 2,\, n - 1} \, \frac{s_d}{\sqrt{n}},

    with :math:`s_d` the sample standard deviation of :math:`d` (``ddof=1``) and :math:`c`
    the confidence; the interval of :func:`scipy.stats.ttest_rel`.

    Args:
        a (sequence of float): the scores of one arm, one per seed.
        b (sequence of float): the scores of the other arm on the same seeds, in the same
            order.
        confidence (float, optional): the coverage of the interval, in :math:`(0, 1)`.
            (default: :obj:`0.95`)

    Returns:
        ``(mean, lo, hi, n)``, ``n`` the number of pairs; with fewer than two pairs ``lo``
        and ``hi`` are NaN (and ``mean`` too with none).
    """
    import math

    from scipy.stats import t
    if len(a) != len(b):
        raise ValueError(f'paired scores need one value of each arm per seed, got {len(a)} '
                         f'and {len(b)}')
    if not 0 < confidence < 1:
        raise ValueError(f'confidence must lie strictly between 0 and 1, got {confidence}')
    d = [float(x) - float(y) for x, y in zip(a, b)]
    n = len(d)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = sum(d) / n
    if n < 2:
        return mean, math.nan, math.nan, n
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1))
    half = float(t.ppf((1 + confidence) / 2, n - 1)) * sd / math.sqrt(n)
    return mean, mean - half, mean + half, n


def _difference_cell(mean: float, lo: float, hi: float, n: int, seeds: int) -> str:
    """A paired-difference cell in points: ``+1.2 [-0.3, +2.7]``, bold where the interval
    excludes 0, with the pair count where pairs are missing."""
    if n == 0:
        return '— (no pairs)'
    if n < 2:
        return f'{100 * mean:+.1f} (1 pair: no interval)'
    cell = f'{100 * mean:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]'
    if lo > 0 or hi < 0:
        cell = f'**{cell}**'
    if n < seeds:
        cell += f' ({n}/{seeds} pairs)'
    return cell


def paired_difference_table(records: list[dict[str, Any]], arms: Sequence[str],
                            datasets: Sequence[str], seeds: Sequence[int],
                            confidence: float = 0.95) -> str:
    """Markdown table (rows: ``arms``, the pretrained ones; columns: ``datasets`` + average)
    of the paired difference to ``scratch``: for each seed :math:`s` that both the arm and
    ``scratch`` hold, :math:`d_s` = score(arm) - score(scratch), or score(scratch) -
    score(arm) where the record says lower is better (``higher_is_better``; e.g. rmse), so
    that a positive difference always means pretraining helped; each cell is the mean of
    :math:`d_s` and its Student's *t* interval over the seeds (:func:`paired_difference`),
    in points (x 100). The average column does the same with, per seed, the mean of
    :math:`d_s` over the datasets (seeds paired on every dataset only). An explanation line
    follows the table; empty without ``arms`` or ``datasets``."""
    if not arms or not datasets:
        return ''
    scores: dict[tuple[str, str], dict[int, float]] = {}
    sign: dict[str, float] = {}
    metric: dict[str, str] = {}
    for r in records:
        if r['seed'] in seeds:
            scores.setdefault((r['arm'], r['dataset']), {})[r['seed']] = r['test_at_best_valid']
        sign[r['dataset']] = 1.0 if r.get('higher_is_better', True) else -1.0
        metric[r['dataset']] = r['metric']
    lines = ['| vs scratch | ' + ' | '.join(f'{d} ({metric.get(d, "?")})' for d in datasets)
             + ' | average |', '|' + '---|' * (len(datasets) + 2)]
    for arm in arms:
        row = []
        per_seed: dict[int, list[float]] = {}
        for d in datasets:
            mine, base = scores.get((arm, d), {}), scores.get((SCRATCH, d), {})
            paired = [s for s in seeds if s in mine and s in base]
            a = [sign.get(d, 1.0) * mine[s] for s in paired]
            b = [sign.get(d, 1.0) * base[s] for s in paired]
            row.append(_difference_cell(*paired_difference(a, b, confidence), len(seeds)))
            for s, x, y in zip(paired, a, b):
                per_seed.setdefault(s, []).append(x - y)
        complete = [s for s in seeds if len(per_seed.get(s, [])) == len(datasets)]
        avg = [sum(per_seed[s]) / len(datasets) for s in complete]
        row.append(_difference_cell(*paired_difference(avg, [0.0] * len(avg), confidence),
                                    len(seeds)))
        lines.append(f'| {arm} | ' + ' | '.join(row) + ' |')
    lower = sorted({metric.get(d, '?') for d in datasets if sign.get(d, 1.0) < 0})
    which = f" ({', '.join(lower)} here)" if lower else ''
    lines += ['', ('Paired difference to scratch over the same seeds, in points (x 100): mean '
              f"[{100 * confidence:g}% confidence interval, Student's t with n - 1 degrees of "
              'freedom over the n seeds]; **bold**: the interval excludes 0. Positive means '
              'pretraining helped: arm - scratch where higher is better, scratch - arm where '
              f'lower is better{which}. Average: per seed, the mean difference over the '
              'datasets, then the interval over seeds.')]
    return '\n'.join(lines)


def skipped_tasks_table(records: list[dict[str, Any]], datasets: list[str]) -> str:
    """Per dataset, the tasks the metric leaves out of each split because the split holds a
    single class for them (OGB's Evaluator skips such tasks for ROC-AUC and AP, and fails
    when none is left; so does :func:`graphpfm.eval.finetune`). They depend on the split's
    labels only, so every record of a dataset must agree; empty if no record carries them."""
    seen: dict[str, tuple[Any, Any]] = {}
    for r in records:
        if r['dataset'] not in datasets or 'skipped_tasks' not in r:
            continue
        got = ({k: sorted(v) for k, v in r['skipped_tasks'].items()}, r.get('num_tasks'))
        if seen.setdefault(r['dataset'], got)[0] != got[0]:
            raise SystemExit(f"error: records of {r['dataset']} disagree on the tasks left out "
                             f"of the metric ({seen[r['dataset']][0]} vs {got[0]}): the data "
                             'changed between runs')
        if seen[r['dataset']][1] is None:  # older records did not carry the task count
            seen[r['dataset']] = (got[0], got[1])
    if not seen:
        return ''
    lines = [('Tasks left out of the metric (a single class in the split, as OGB\'s Evaluator '
             'does):'), '', '| dataset | tasks | valid | test |', '|---|---:|---:|---:|']
    for d in datasets:
        if d in seen:
            sk, n = seen[d]
            lines.append(f"| {d} | {n if n is not None else '?'} | "
                         f"{len(sk.get('valid', []))} | {len(sk.get('test', []))} |")
    return '\n'.join(lines)


def timing(out: Path, jobs: int = 2, root: str | None = None) -> str:
    """How long each phase of the run in ``out`` took (pretraining per arm, fine-tuning per
    dataset; CPU seconds of the job where recorded, else wall seconds), the cost per graph
    this implies, and the estimated duration of the ``full`` profile on this machine: the
    calibrated cost of ``full``'s encoder (:data:`COSTS`) scaled by how this run's measured
    costs compare with the calibration of its own encoder."""
    import numpy as np
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
        adir = out / 'pretrain' / arm.replace('+', '_plus_')
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
        lines.append(f'| pretrain {arm} | {work:,} | {_hms(t)} | {ms:.3f} | {cal} |')
    records = [r for r in read_records(out / 'records.jsonl')
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
        lines.append(f'| fine-tune {d} ({which}, {_hms(t / len(timed))} each) | '
                     f'{work:,} | {_hms(t)} | {1e3 * t / work:.3f} | {cal} |')
    total = sum(r.get('cpu_s', r['wall_s']) for r in records)
    lines.append(f'| fine-tuning, all (CPU s where recorded, else wall s) | | {_hms(total)} '
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
              f'{_hms(pre)} and fine-tuning {_hms(fine)} of one core, about {_hms(wall)} of '
              'wall time. On one GPU: not measured here.')]
    return '\n'.join(lines)


def timed_runs(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    """The records to time a phase by, and the key: those that recorded the CPU seconds of
    their job (``cpu_s``) when any did, since wall time also counts what other processes
    took from the core; otherwise all of them by ``wall_s``."""
    with_cpu = [r for r in records if r.get('cpu_s') is not None]
    return (with_cpu, 'cpu_s') if with_cpu else (list(records), 'wall_s')


def figure(out: Path, path: Path, arms: Sequence[str] | None = None) -> Path:
    """Per-dataset bars (one per arm) of the mean test score over seeds with population-std
    error bars, as a PNG; the same records, arms and completeness rule as :func:`report`
    (missing records are an error)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
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
    return _save_figure(fig, path)


def _save_figure(fig: Any, path: Path) -> Path:
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
    return _save_figure(fig, path)


# ----------------------------------------------------------------------------- cost estimate
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
#: seconds of one single-threaded job, from ``python -m benchmarks.transfer calibrate``
#: (see :func:`calibrate`), by encoder size ``'<layers>x<hidden>'``: ``pretrain_ms`` per
#: molecule per epoch (batch 256) by objective; ``finetune_ms`` per *training* graph per
#: epoch (batch 32; the valid and test splits, a quarter of the training size, scored every
#: epoch), by dataset with a ``'default'``; ``finetune_setup_s`` per fine-tuning run;
#: ``supervised_setup_s`` the leakage control of the supervised corpus per pretraining.
#: Measured on 2026-11-29 beside two long benchmark runs (2 cores busy): the CPU time of a
#: single-threaded job does not count the time others hold its core, but shared caches still
#: slow it; the reference workload (:func:`_reference_workload`) ran at 0.85 to 1.73 times its
#: free-machine CPU time during the calibration. Where a cost was measured two or three times
#: (3x64: bbbp 0.55-0.72, HIV 0.51-0.75, ToxCast 0.90-0.93; supervised, dominated by the
#: leakage control, varied most) the largest is kept, so these are upper estimates of a free
#: machine. ``finetune_ms`` of the larger encoders was measured on bbbp only (``'default'``).
#: An objective missing from ``pretrain_ms`` is estimated with the mean of its size's
#: objectives (:func:`pretrain_rate`) until ``calibrate`` measures it.
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
#: machine-wide costs: featurisation (in-process rate, molecules/s) and the InChIKeys of the
#: model cards' overlap table (molecules/s)
#: The reference workload's free-machine rate: ``smiles2graph`` on the first MOSES molecules in
#: process, nothing else running (``benchmarks/results/featurize.jsonl``)
FEATURISE_MOL_PER_S = REFERENCE_MOL_PER_S = 2379
INCHIKEY_MOL_PER_S = 1900.0


def size_key(num_layers: int, hidden_channels: int) -> str:
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


def _makespan(durations: list[float], jobs: int) -> float:
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
    wall = {'featurise': featurise, 'pretrain': _makespan(list(pre.values()), jobs),
            'model_cards': cards, 'finetune': _makespan(order, jobs)}
    return {'encoder': key, 'jobs': jobs, 'pretrain_cpu_s': pre, 'finetune_cpu_s': fine,
            'finetune_run_s': run_cost, 'wall_s': wall, 'total_wall_s': sum(wall.values()),
            'total_cpu_s': featurise + cards + sum(pre.values()) + sum(fine.values()),
            'uncalibrated': uncalibrated}


def _hms(seconds: float) -> str:
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
                 f"once) | {_hms(e['wall_s']['featurise'])} | {_hms(e['wall_s']['featurise'])} |")
    for arm, c in e['pretrain_cpu_s'].items():
        note = ' (uncalibrated: mean rate)' if arm in e.get('uncalibrated', ()) else ''
        lines.append(f'| pretrain {arm}{note} | {_hms(c)} | |')
    lines.append(f"| pretraining, all arms | {_hms(sum(e['pretrain_cpu_s'].values()))} | "
                 f"{_hms(e['wall_s']['pretrain'])} |")
    lines.append(f"| model cards (corpus overlap) | {_hms(e['wall_s']['model_cards'])} | "
                 f"{_hms(e['wall_s']['model_cards'])} |")
    for d, c in e['finetune_cpu_s'].items():
        lines.append(f"| fine-tune {d} ({_hms(e['finetune_run_s'][d])} per run) | {_hms(c)} | |")
    lines.append(f"| fine-tuning, all | {_hms(sum(e['finetune_cpu_s'].values()))} | "
                 f"{_hms(e['wall_s']['finetune'])} |")
    lines.append(f"| **total** | {_hms(e['total_cpu_s'])} | **{_hms(e['total_wall_s'])}** |")
    return '\n'.join(lines)


def plan_command(args: argparse.Namespace) -> int:
    proto = resolve_protocol(args)
    root = args.root or os.environ.get('GRAPHPFM_DATA')
    if args.all_datasets:
        present = list(proto.datasets)
    else:
        _, present = plan(proto, root)
    proto = replace(proto, datasets=present)
    e = estimate(proto, train_sizes(present, root), jobs=max(1, args.jobs))
    sys.stdout.write(format_estimate(e, proto) + '\n')
    return 0


# ----------------------------------------------------------------------------- calibration


def _reference_workload(root: str | None, n: int = 3000, repeat: int = 3) -> dict[str, float]:
    """Featurise the first ``n`` MOSES molecules in process (best of ``repeat``): the rate by
    CPU time and by wall time, against :data:`REFERENCE_MOL_PER_S` (how much a busy machine
    slows a fixed job)."""
    from graphpfm.datasets import featurize_smiles, read_smiles_file
    from graphpfm.datasets.corpora import moses_path
    smiles, _ = read_smiles_file(moses_path(root), limit=n)
    runs = [_timed(lambda: featurize_smiles(smiles, num_workers=0, progress=False))[1:]
            for _ in range(repeat)]
    wall, cpu = min(w for w, _ in runs), min(c for _, c in runs)
    return {'molecules': n, 'cpu_s': round(cpu, 3), 'wall_s': round(wall, 3),
            'cpu_slowdown': round(REFERENCE_MOL_PER_S * cpu / n, 3),
            'wall_slowdown': round(REFERENCE_MOL_PER_S * wall / n, 3)}


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (e.g. the InChIKey workers of
    leakage control)."""
    import resource
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + c.ru_utime + c.ru_stime


def _timed(fn: Any, *a: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), cpu_seconds()
    out = fn(*a)
    return out, time.perf_counter() - wall, cpu_seconds() - cpu


def calibrate(args: argparse.Namespace) -> int:
    """Measure, on this machine with one torch thread, the CPU seconds of pretraining per
    molecule (each objective) and of fine-tuning per training graph per epoch (valid + test
    scored every epoch), for each encoder size; one JSON line per measurement in ``--out``.

    The CPU time of a single-threaded process is what it would take alone on a free core
    (up to the cache and memory-bandwidth effects of neighbours, which the reference workload
    measures); wall time is recorded too. Pretraining and fine-tuning go through the
    benchmark's own :func:`pretrain_arm` and :func:`finetune_one`, so that the measured
    cost is the run's."""
    import tempfile

    import torch

    from graphpfm.datasets import load_dataset
    from graphpfm.train import load_checkpoint
    torch.set_num_threads(args.threads)
    root = args.root or os.environ.get('GRAPHPFM_DATA')
    sizes = [tuple(int(v) for v in s.split('x')) for s in args.sizes.split(',') if s]
    objectives = resolve_objectives(args.objectives)
    datasets = [d for d in args.datasets.split(',') if d]
    if args.exclude is None:
        from graphpfm.datasets import available_datasets
        found = available_datasets(root)
        args.exclude = ','.join(d for d in MOLECULE_BENCHMARK if found.get(d))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def emit(row: dict[str, Any]) -> None:
        row = {**row, 'threads': torch.get_num_threads(), 'cpu_count': os.cpu_count(),
               'time': time.strftime('%Y-%m-%dT%H:%M:%S%z')}
        with out.open('a') as f:
            f.write(json.dumps(row) + '\n')
        sys.stdout.write(json.dumps(row) + '\n')
        sys.stdout.flush()

    emit({'phase': 'reference', **_reference_workload(root)})
    if objectives:
        load_dataset('moses', root=root, limit=args.molecules, progress=False)
    if args.overlap:  # the model cards' InChIKeys: corpus + every downstream molecule
        downstream = args.exclude.split(',')
        _, wall, cpu = _timed(corpus_overlap, 'moses', args.molecules, downstream, root)
        n = args.molecules + sum(MOLECULE_SIZES[d][0] for d in downstream)
        emit({'phase': 'overlap', 'molecules': n, 'wall_s': round(wall, 2),
              'cpu_s': round(cpu, 2), 'mol_per_s': round(n / wall)})
    for layers, hidden in sizes:
        proto = Protocol(objectives=objectives, datasets=args.exclude.split(','), seeds=[0],
                         corpus_limit=args.molecules, pretrain_epochs=1, supervised_epochs=1,
                         num_layers=layers, hidden_channels=hidden)
        size = f'{layers}x{hidden}'
        for arm in objectives:
            # supervised pays a fixed cost (leakage control) per run: two points separate it
            cost = {}
            for epochs in ((1, 3) if arm == 'supervised' else (1,)):
                p = replace(proto, pretrain_epochs=epochs, supervised_epochs=epochs)
                key = p.pretrain_key(arm)
                with tempfile.TemporaryDirectory() as d:
                    task = {'protocol': asdict(p), 'arm': arm, 'key': key,
                            'hash': protocol_hash(key), 'out': d, 'root': root,
                            'device': args.device}
                    _, wall, cpu = _timed(pretrain_arm, task)
                    graphs = load_checkpoint(Path(d) / 'checkpoint.pt')['data']['num_graphs']
                cost[epochs] = (wall, cpu)
            epoch_cpu = (cost[3][1] - cost[1][1]) / 2 if 3 in cost else cost[1][1]
            emit({'phase': 'pretrain', 'size': size, 'objective': arm, 'corpus': key['corpus'],
                  'graphs': graphs, 'cpu_s': {e: round(c, 2) for e, (_, c) in cost.items()},
                  'wall_s': {e: round(w, 2) for e, (w, _) in cost.items()},
                  'cpu_per_graph_ms': round(1e3 * epoch_cpu / graphs, 4),
                  'setup_cpu_s': round(cost[1][1] - epoch_cpu, 2)})
        for dataset in datasets:
            if dataset not in _BUNDLES:
                bundle, wall, cpu = _timed(
                    lambda d=dataset: load_dataset(d, root=root, progress=False))
                _BUNDLES[dataset] = bundle
                emit({'phase': 'load', 'dataset': dataset, 'cpu_s': round(cpu, 2),
                      'wall_s': round(wall, 2)})
            n_train = int(_BUNDLES[dataset].split_idx['train'].numel())
            cost = {}
            for epochs in (1, 2):
                p = replace(proto, finetune_epochs=epochs)
                key = p.finetune_key(SCRATCH)
                task = {'protocol': asdict(p), 'arm': SCRATCH, 'dataset': dataset, 'seed': 0,
                        'key': key, 'hash': protocol_hash(key), 'checkpoint': None,
                        'root': root, 'device': args.device, 'git_commit': None}
                _, wall, cpu = _timed(finetune_one, task)
                cost[epochs] = (wall, cpu)
            epoch_cpu = cost[2][1] - cost[1][1]
            emit({'phase': 'finetune', 'size': size, 'dataset': dataset, 'train_graphs': n_train,
                  'eval_graphs': int(_BUNDLES[dataset].split_idx['valid'].numel()
                                     + _BUNDLES[dataset].split_idx['test'].numel()),
                  'cpu_s_1_epoch': round(cost[1][1], 2), 'cpu_s_2_epochs': round(cost[2][1], 2),
                  'wall_s_1_epoch': round(cost[1][0], 2),
                  'wall_s_2_epochs': round(cost[2][0], 2),
                  'cpu_per_train_graph_epoch_ms': round(1e3 * epoch_cpu / n_train, 4),
                  'setup_cpu_s': round(cost[1][1] - epoch_cpu, 2)})
        emit({'phase': 'reference', **_reference_workload(root)})
    return 0


def _protocol_args(r: argparse.ArgumentParser) -> None:
    r.add_argument('--profile', choices=sorted(PROFILES), default=None)
    r.add_argument('--objectives', default=None,
                   help="comma list, or 'all': every registered graph-level objective "
                   '(overrides the profile)')
    r.add_argument('--datasets', default=None, help='comma list (overrides the profile)')
    r.add_argument('--seeds', default=None, help="count, or a list like '0,1,2'")
    r.add_argument('--corpus-limit', type=int, default=None)
    r.add_argument('--pretrain-epochs', type=int, default=None)
    r.add_argument('--supervised-epochs', type=int, default=None)
    r.add_argument('--finetune-epochs', type=int, default=None)
    r.add_argument('--num-layers', type=int, default=None, help='encoder layers (default: 5)')
    r.add_argument('--hidden-channels', type=int, default=None,
                   help='encoder width (default: 300)')
    r.add_argument('--pretrain-batch-size', type=int, default=None, help='(default: 256)')
    r.add_argument('--finetune-batch-size', type=int, default=None, help='(default: 32)')


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='command', required=True)
    r = sub.add_parser('run', help='pretrain + fine-tune (resumable)')
    _protocol_args(r)
    r.add_argument('--root', default=None, help='data root (default: $GRAPHPFM_DATA)')
    r.add_argument('--device', default='cpu')
    r.add_argument('--jobs', type=int, default=1, help='runs in parallel (worker processes)')
    r.add_argument('--threads', type=int, default=None, help='torch threads per job')
    r.add_argument('--out', required=True)
    r.add_argument('--no-progress', dest='progress', action='store_false')
    e = sub.add_parser('plan', help="estimated cost of a run's phases on this machine "
                       '(from the calibration in COSTS); runs nothing')
    _protocol_args(e)
    e.add_argument('--root', default=None, help='data root (default: $GRAPHPFM_DATA)')
    e.add_argument('--jobs', type=int, default=2, help='single-threaded jobs')
    e.add_argument('--all-datasets', action='store_true',
                   help='estimate for every dataset of the protocol, present or not')
    q = sub.add_parser('report', help='markdown table from the records')
    q.add_argument('--out', required=True)
    q.add_argument('--partial', action='store_true', help='show incomplete cells')
    q.add_argument('--arms', default=None,
                   help="comma list: only these arms in the table and figure (e.g. 'scratch,"
                   "attr_masking'); default: every arm of the run")
    q.add_argument('--timing', action='store_true',
                   help='also print how long each phase took and the estimated duration of '
                   '`full` on this machine')
    q.add_argument('--jobs', type=int, default=2, help='jobs assumed by the `full` estimate')
    q.add_argument('--root', default=None, help='data root (default: $GRAPHPFM_DATA)')
    q.add_argument('--figure', default=None,
                   help='also write per-dataset bars with error bars to this PNG (needs '
                   'matplotlib; complete records only)')
    q.add_argument('--loss-figure', default=None,
                   help="also write each pretrained arm's loss curve (from "
                   '<out>/pretrain/<arm>/train_log.jsonl) to this PNG')
    c = sub.add_parser('calibrate', help='measure per-graph costs on this machine (CPU time)')
    c.add_argument('--sizes', default='3x64,3x128,5x128,5x300',
                   help='encoder sizes, LAYERSxHIDDEN, comma list')
    c.add_argument('--objectives', default=ALL_OBJECTIVES,
                   help="comma list, or 'all': every registered graph-level objective "
                   '(default: all)')
    c.add_argument('--datasets', default='ogbg-molbbbp', help='fine-tuning datasets')
    c.add_argument('--exclude', default=None,
                   help='downstream datasets the supervised corpus excludes (default: the '
                   'molecule benchmark datasets present)')
    c.add_argument('--molecules', type=int, default=2000, help='pretraining corpus size')
    c.add_argument('--overlap', action='store_true',
                   help="also time the model cards' corpus/downstream overlap")
    c.add_argument('--threads', type=int, default=1)
    c.add_argument('--root', default=None)
    c.add_argument('--device', default='cpu')
    c.add_argument('--out', required=True, help='JSON-lines file (appended)')
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(name)s: %(message)s')
    if args.command == 'run':
        return run_benchmark(args)
    if args.command == 'calibrate':
        return calibrate(args)
    if args.command == 'plan':
        return plan_command(args)
    arms = args.arms.split(',') if args.arms else None
    sys.stdout.write(report(Path(args.out), partial=args.partial, arms=arms) + '\n')
    if args.timing:
        root = args.root or os.environ.get('GRAPHPFM_DATA')
        sys.stdout.write('\n' + timing(Path(args.out), jobs=args.jobs, root=root) + '\n')
    if args.figure:
        sys.stdout.write(f'figure: {figure(Path(args.out), Path(args.figure), arms)}\n')
    if args.loss_figure:
        sys.stdout.write(f'loss figure: {loss_figure(Path(args.out), Path(args.loss_figure))}\n')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
