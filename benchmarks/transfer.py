"""Transfer benchmark: pretrain each objective, fine-tune on downstream molecule datasets, and
always compare with the same fine-tuning recipe from random initialisation, in one run.

    python -m benchmarks.transfer run --profile small --out benchmarks/results/transfer-small \\
        --jobs 2
    python -m benchmarks.transfer report --out benchmarks/results/transfer-small

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
reported and skipped, never faked.

``--jobs N`` runs N pretrainings / fine-tunings at once in worker processes with
``--threads`` torch threads each (default: cores // jobs). On 2 cores, two single-threaded
fine-tunings at batch 32 do about 1.33x the work of one two-threaded one.
"""
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
from typing import Any

log = logging.getLogger('benchmarks.transfer')

SCRATCH = 'scratch'
MOLECULE_BENCHMARK = ('ogbg-molbbbp', 'ogbg-moltox21', 'ogbg-moltoxcast', 'ogbg-molsider',
                      'ogbg-molclintox', 'ogbg-molmuv', 'ogbg-molhiv', 'ogbg-molbace')


@dataclass
class Protocol:
    """Everything that determines the numbers of a transfer run (hashed into each record)."""

    objectives: list[str]
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

    def pretrain_key(self, arm: str) -> dict[str, Any]:
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


PROFILES: dict[str, dict[str, Any]] = {
    # The first transfer measurement of issues 3 and 4: 100k MOSES, 2 epochs; bbbp, bace,
    # tox21; 3 seeds x 30 fine-tuning epochs. (Issue 3's five objectives ran first; the three
    # of issue 4 were added to the same run: arms may be added, records carry their protocol.)
    'small': dict(objectives=['attr_masking', 'context_pred', 'edge_pred', 'infomax',
                              'supervised', 'graphcl', 'graphmae', 'simgrace'],
                  datasets=['ogbg-molbbbp', 'ogbg-molbace', 'ogbg-moltox21'], seeds=[0, 1, 2],
                  corpus_limit=100_000, pretrain_epochs=2, finetune_epochs=30),
    # Hu et al.'s protocol on MOSES's 1.58M training molecules (they used 2M ZINC15): meant for
    # a GPU.
    'full': dict(objectives=['attr_masking', 'context_pred', 'edge_pred', 'infomax',
                             'supervised'],
                 datasets=list(MOLECULE_BENCHMARK), seeds=list(range(10)),
                 corpus_limit=1_584_663, pretrain_epochs=100, supervised_epochs=100,
                 finetune_epochs=100),
}


def protocol_hash(d: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def git_commit() -> str | None:
    try:
        out = subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent, timeout=10)
        dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'],
                               capture_output=True, text=True,
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
    torch.set_num_threads(threads)
    os.environ['GRAPHPFM_BENCH_THREADS'] = str(threads)
    if root:
        os.environ['GRAPHPFM_DATA'] = root
    logging.basicConfig(level=logging.WARNING)


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
            '--out', str(out)]
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
    start = time.perf_counter()
    run(argv)
    wall = time.perf_counter() - start
    (out / 'protocol.json').write_text(json.dumps({'hash': task['hash'], 'key': key,
                                                   'wall_s': wall}, indent=1))
    return {'arm': arm, 'wall_s': wall}


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
    start = time.perf_counter()
    result = finetune(bundle, make, config)
    wall = time.perf_counter() - start
    run = result.runs[0]
    return {
        'arm': arm, 'dataset': dataset, 'seed': seed, 'hash': task['hash'],
        'metric': result.metric, 'higher_is_better': result.higher_is_better,
        'best_epoch': run['best_epoch'], 'best_valid': run['best_valid'],
        'test_at_best_valid': run['test_at_best_valid'], 'curves': run['curves'],
        'skipped_tasks': result.skipped_tasks, 'finetune_config': result.config,
        'protocol': task['key'], 'checkpoint': task.get('checkpoint'),
        'git_commit': task['git_commit'], 'versions': package_versions(),
        'hardware': hardware(torch.get_num_threads()), 'wall_s': round(wall, 2),
        'finished': time.strftime('%Y-%m-%dT%H:%M:%S%z'),
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
             f"- training: {card['training']['epochs']} epochs, {card['training']['wall_s']} s; "
             f"loss per epoch {', '.join(f'{v:.4f}' for v in card['training']['loss_per_epoch'])}"]
    if card['leakage_control']:
        lc = card['leakage_control']
        lines.append(f"- leakage control: removed {lc.get('removed')} molecules found in the "
                     f"{'/'.join(lc.get('splits', []))} splits of "
                     f"{', '.join(lc.get('downstream', []))}")
    lines += ['', '| downstream | train | valid | test |', '|---|---:|---:|---:|']
    lines += [f"| {d} | {v['train']} | {v['valid']} | {v['test']} |" for d, v in overlap.items()]
    lines += ['', 'Counts: distinct corpus molecules (InChIKey) found in each split, before any '
              'leakage control.', f"versions: {card['versions']}"]
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
            raise SystemExit(f'{path}:{i}: unreadable record ({e}); remove the line and rerun')
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
            raise SystemExit(f"error: {out} holds a run under another protocol ({', '.join(differ)} "
                             f'differ; see {state_path}). Use a new --out, or the same flags')
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
        # featurise the corpora once, here, so that parallel workers only read the cache
        from graphpfm.datasets import load_dataset
        for corpus, limit in {(t['key']['corpus'], t['key'].get('limit')) for t in todo}:
            load_dataset(corpus, root=root, limit=limit, progress=args.progress)
        with _pool(jobs, len(todo), threads, root) as pool:
            for res in _unordered(pool, pretrain_arm, todo):
                log.info('pretrained %s in %.0f s', res['arm'], res['wall_s'])

    # Model cards (also for checkpoints of earlier invocations that lack one); the corpus
    # overlap is computed once per corpus
    overlaps: dict[tuple[str, Any], dict[str, dict[str, int]]] = {}
    for arm in arms[1:]:
        adir = out / 'pretrain' / arm.replace('+', '_plus_')
        if (adir / 'model_card.json').is_file():
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
                ckpt = None if arm == SCRATCH else str(
                    out / 'pretrain' / arm.replace('+', '_plus_') / 'checkpoint.pt')
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
def report(out: Path, partial: bool = False) -> str:
    """Markdown table (rows: arms; columns: datasets + average) of mean ± std over seeds of
    the test score at the best validation epoch. Missing records are an error unless
    ``partial``, where each cell shows its seed count and the average column is left out for
    rows that are incomplete."""
    import numpy as np
    proto = json.loads((out / 'protocol.json').read_text())
    datasets = proto['present_datasets']
    arms = [SCRATCH, *proto['objectives']]
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
    return '\n'.join(lines)


def figure(out: Path, path: Path) -> Path:
    """Per-dataset bars (one per arm) of the mean test score over seeds with population-std
    error bars, as a PNG; the same records and the same completeness rule as :func:`report`
    (missing records are an error)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
    report(out)  # raises on missing records
    proto = json.loads((out / 'protocol.json').read_text())
    datasets, arms, seeds = (proto['present_datasets'], [SCRATCH, *proto['objectives']],
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
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='command', required=True)
    r = sub.add_parser('run', help='pretrain + fine-tune (resumable)')
    r.add_argument('--profile', choices=sorted(PROFILES), default=None)
    r.add_argument('--objectives', default=None, help='comma list (overrides the profile)')
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
    r.add_argument('--root', default=None, help='data root (default: $GRAPHPFM_DATA)')
    r.add_argument('--device', default='cpu')
    r.add_argument('--jobs', type=int, default=1, help='runs in parallel (worker processes)')
    r.add_argument('--threads', type=int, default=None, help='torch threads per job')
    r.add_argument('--out', required=True)
    r.add_argument('--no-progress', dest='progress', action='store_false')
    q = sub.add_parser('report', help='markdown table from the records')
    q.add_argument('--out', required=True)
    q.add_argument('--partial', action='store_true', help='show incomplete cells')
    q.add_argument('--figure', default=None,
                   help='also write per-dataset bars with error bars to this PNG (needs '
                   'matplotlib; complete records only)')
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(name)s: %(message)s')
    if args.command == 'run':
        return run_benchmark(args)
    sys.stdout.write(report(Path(args.out), partial=args.partial) + '\n')
    if args.figure:
        sys.stdout.write(f'figure: {figure(Path(args.out), Path(args.figure))}\n')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
