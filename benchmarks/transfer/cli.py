"""The ``python -m benchmarks.transfer`` command: ``run``, ``report``, ``plan``, ``calibrate``."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from ..harness.env import git_commit
from ..harness.records import completed, differing, protocol_hash, read_records
from ..harness.report import readme_args, write_readme
from ..harness.runner import pool, run_tasks, threads_per_job, unordered
from .calibrate import calibrate
from .cards import corpus_overlap, write_model_card
from .cost import COSTS, estimate, format_estimate, hms, size_key, train_sizes
from .figures import figure, loss_figure
from .jobs import finetune_one, pretrain_arm
from .protocol import (
    ALL_OBJECTIVES,
    PROFILES,
    SCRATCH,
    Protocol,
    arm_dir,
    given_checkpoint,
    graph_objectives,
    is_given_checkpoint,
)
from .report import compare, report, summary, timing

log = logging.getLogger('benchmarks.transfer')

def resolve_protocol(args: argparse.Namespace) -> Protocol:
    """The protocol of a profile (``--profile``) with the flags given on top."""
    base = dict(PROFILES[args.profile]) if args.profile else {}
    for name in ('objectives', 'datasets'):
        value = getattr(args, name)
        if value:
            base[name] = [v for v in value.split(',') if v]
    if args.seeds:
        base['seeds'] = list(range(int(args.seeds))) if ',' not in args.seeds else [
            int(s) for s in args.seeds.split(',') if s]
    for name in ('corpus_limit', 'pretrain_epochs', 'finetune_epochs', 'supervised_epochs',
                 'num_layers', 'hidden_channels', 'finetune_batch_size', 'pretrain_batch_size',
                 'pretrain_amp'):
        value = getattr(args, name)
        if value is not None:
            base[name] = value
    missing = [k for k in ('objectives', 'datasets', 'seeds') if k not in base]
    if missing:
        raise SystemExit(f"error: give --profile ({', '.join(PROFILES)}) or "
                         f"--{' --'.join(missing)}")
    return Protocol(**base)


def plan(proto: Protocol, root: str | None) -> tuple[list[str], list[str]]:
    """(arms, datasets present): every objective must be registered (a given checkpoint must
    have the protocol's architecture); absent datasets are logged and skipped."""
    from graphpfm.datasets import available_datasets
    from graphpfm.objectives import OBJECTIVES
    for objective in proto.objectives:
        if is_given_checkpoint(objective):
            from graphpfm import load_checkpoint
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


def _write_state(out: Path, proto: Protocol, requested: list[str]) -> None:
    """Write ``<out>/protocol.json``; a run already there must have the same protocol except
    for its arms (arms may be added: each arm's records carry their own hash)."""
    state = {**asdict(proto), 'requested_datasets': requested,
             'present_datasets': proto.datasets}
    path = out / 'protocol.json'
    if path.is_file():
        before = json.loads(path.read_text())
        differ = differing(before, state, ignore=('objectives',))
        if differ:
            raise SystemExit(f'error: {out} holds a run under another protocol '
                             f"({', '.join(differ)} differ; see {path}). Use a new "
                             '--out, or the same flags')
        state['objectives'] = before['objectives'] + [
            o for o in proto.objectives if o not in before['objectives']]
    path.write_text(json.dumps(state, indent=1))


def _pretrain(proto: Protocol, arms: list[str], out: Path, root: str | None,
              args: argparse.Namespace, threads: int) -> None:
    """Pretrain every arm whose checkpoint of the same protocol is missing, then write the
    model cards that are missing."""
    pdict = asdict(proto)
    todo = []
    for arm in arms:
        if is_given_checkpoint(arm):
            continue
        key = proto.pretrain_key(arm)
        h = protocol_hash(key)
        adir = arm_dir(out, arm)
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
        from graphpfm import load_dataset
        from graphpfm.objectives import required_targets
        corpora: dict[tuple[str, Any], list[str]] = {}
        for t in todo:
            need = corpora.setdefault((t['key']['corpus'], t['key'].get('limit')), [])
            need += [k for k in required_targets(t['arm']) if k not in need]
        for (corpus, limit), targets in corpora.items():
            load_dataset(corpus, root=root, limit=limit, progress=args.progress,
                         targets=targets)
        with pool(args.jobs, len(todo), threads, root) as executor:
            for res in unordered(executor, pretrain_arm, todo):
                log.info('pretrained %s in %.0f s', res['arm'], res['wall_s'])
    overlaps: dict[tuple[str, Any], dict[str, dict[str, int]]] = {}
    for arm in arms:
        adir = arm_dir(out, arm)
        if is_given_checkpoint(arm) or (adir / 'model_card.json').is_file():
            continue
        key = proto.pretrain_key(arm)
        ck = (key['corpus'], key.get('limit'))
        if ck not in overlaps:  # once per corpus
            overlaps[ck] = corpus_overlap(key['corpus'], key.get('limit'), proto.datasets, root)
        write_model_card(adir, overlaps[ck])


def run_benchmark(args: argparse.Namespace) -> int:
    """Pretrain and fine-tune what ``<out>`` lacks, then print the report."""
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
    args.jobs = max(1, args.jobs)
    key = size_key(proto.num_layers, proto.hidden_channels)
    if key in COSTS:
        e = estimate(replace(proto, datasets=datasets), train_sizes(datasets, root),
                     jobs=args.jobs)
        log.info('estimated (calibration of gin %s, %d jobs): pretraining %s, fine-tuning %s, '
                 'total %s of wall time, if nothing is done yet', key, e['jobs'],
                 hms(e['wall_s']['pretrain']), hms(e['wall_s']['finetune']),
                 hms(e['total_wall_s']))
    requested = list(proto.datasets)
    proto = replace(proto, datasets=datasets)  # supervised pretraining excludes these
    _write_state(out, proto, requested)
    threads = threads_per_job(args.jobs, args.threads)
    _pretrain(proto, arms[1:], out, root, args, threads)

    # fine-tuning, seed-major so that a cut run still holds whole seeds
    path = out / 'records.jsonl'
    hashes = {arm: protocol_hash(proto.finetune_key(arm)) for arm in arms}
    done = completed(read_records(path), ('arm', 'dataset', 'seed'),
                     lambda r: hashes.get(r['arm']), path=path)
    pdict, commit = asdict(proto), git_commit()
    tasks = []
    for seed in proto.seeds:
        for dataset in datasets:
            for arm in arms:
                if (arm, dataset, seed) in done:
                    continue
                ckpt = (None if arm == SCRATCH else str(given_checkpoint(arm))
                        if is_given_checkpoint(arm) else str(arm_dir(out, arm) / 'checkpoint.pt'))
                tasks.append({'protocol': pdict, 'arm': arm, 'dataset': dataset, 'seed': seed,
                              'key': proto.finetune_key(arm), 'hash': hashes[arm],
                              'checkpoint': ckpt, 'root': root, 'device': args.device,
                              'git_commit': commit})
    log.info('fine-tuning: %d of %d runs to do', len(tasks),
             len(arms) * len(datasets) * len(proto.seeds))
    run_tasks(finetune_one, tasks, jobs=args.jobs, threads=threads, root=root, out=path,
              progress=args.progress, desc='fine-tuning', describe=lambda r: (
                  f"{r['arm']} {r['dataset']} seed {r['seed']}: test "
                  f"{r['test_at_best_valid']:.4f} at epoch {r['best_epoch']} "
                  f"({r['wall_s']:.0f} s)"))
    sys.stdout.write(report(out) + '\n')
    return 0


def plan_command(args: argparse.Namespace) -> int:
    """Print the predicted cost of a protocol's phases (:func:`.cost.estimate`)."""
    proto = resolve_protocol(args)
    root = args.root or os.environ.get('GRAPHPFM_DATA')
    present = list(proto.datasets) if args.all_datasets else plan(proto, root)[1]
    proto = replace(proto, datasets=present)
    e = estimate(proto, train_sizes(present, root), jobs=max(1, args.jobs))
    sys.stdout.write(format_estimate(e, proto) + '\n')
    return 0


def report_command(args: argparse.Namespace) -> int:
    """Print (and optionally write into the README) the tables, timing and figures."""
    out = Path(args.out)
    arms = args.arms.split(',') if args.arms else None
    text = (summary(out, arms, split=args.split) if args.summary else
            report(out, partial=args.partial, arms=arms, split=args.split))
    if args.timing:
        root = args.root or os.environ.get('GRAPHPFM_DATA')
        text += '\n\n' + timing(out, jobs=args.jobs, root=root)
    sys.stdout.write(text + '\n')
    write_readme(args, text)
    if args.figure:
        sys.stdout.write(f'figure: {figure(out, Path(args.figure), arms)}\n')
    if args.loss_figure:
        sys.stdout.write(f'loss figure: {loss_figure(out, Path(args.loss_figure))}\n')
    return 0


def compare_command(args: argparse.Namespace) -> int:
    """Print (and optionally write into the README) :func:`.report.compare`."""
    text = compare(Path(args.out), Path(args.baseline), args.arm)
    sys.stdout.write(text + '\n')
    write_readme(args, text)
    return 0


def protocol_args(r: argparse.ArgumentParser) -> None:
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
    r.add_argument('--pretrain-amp', choices=['bf16'], default=None,
                   help='bf16 autocast in pretraining (default: float32)')


def main(argv: list[str] | None = None) -> int:
    from . import __doc__ as doc
    p = argparse.ArgumentParser(description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='command', required=True)
    r = sub.add_parser('run', help='pretrain + fine-tune (resumable)')
    protocol_args(r)
    r.add_argument('--root', default=None, help='data root (default: $GRAPHPFM_DATA)')
    r.add_argument('--device', default='cpu')
    r.add_argument('--jobs', type=int, default=1, help='runs in parallel (worker processes)')
    r.add_argument('--threads', type=int, default=None, help='torch threads per job')
    r.add_argument('--out', required=True)
    r.add_argument('--no-progress', dest='progress', action='store_false')
    e = sub.add_parser('plan', help="estimated cost of a run's phases on this machine "
                       '(from the calibration in COSTS); runs nothing')
    protocol_args(e)
    e.add_argument('--root', default=None, help='data root (default: $GRAPHPFM_DATA)')
    e.add_argument('--jobs', type=int, default=2, help='single-threaded jobs')
    e.add_argument('--all-datasets', action='store_true',
                   help='estimate for every dataset of the protocol, present or not')
    q = sub.add_parser('report', help='markdown table from the records')
    q.add_argument('--out', required=True)
    q.add_argument('--partial', action='store_true', help='show incomplete cells')
    q.add_argument('--summary', action='store_true',
                   help='one line per arm: average score, average paired difference to '
                   'scratch with its interval, datasets better / worse')
    q.add_argument('--split', default='test', choices=['test', 'valid'],
                   help="the scores shown: 'test' (at the best validation epoch) or 'valid' "
                   '(that best validation score: what choosing between arms may read)')
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
    readme_args(q)
    m = sub.add_parser('compare', help='one arm of a run against the same arm of another '
                       'run (paired intervals over their shared datasets and seeds)')
    m.add_argument('--out', required=True, help='the run')
    m.add_argument('--baseline', required=True, help='the run to compare against')
    m.add_argument('--arm', required=True)
    readme_args(m)
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
    commands = {'run': run_benchmark, 'calibrate': calibrate, 'plan': plan_command,
                'report': report_command, 'compare': compare_command}
    return commands[args.command](args)
