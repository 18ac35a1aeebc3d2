"""The ``python -m benchmarks.node_probe`` command: ``run``, ``finetune``, ``torch-probe``,
``sweep``, ``report``."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from ..harness.env import git_commit
from ..harness.records import completed, protocol_hash, read_records, write_jsonl
from ..harness.report import readme_args, write_readme
from ..harness.runner import run_tasks
from .config import (
    FEATURES,
    FINETUNE,
    METHODS,
    RANDOM,
    SELECT_EVERY,
    TORCH_PROBE,
    apply_variant,
    arm_hash,
    arms_for,
    encoder_path,
    finetune_protocol,
    normalise_features,
    parse_variant,
    protocol,
    run_hash,
    torch_probe_recipe,
)
from .jobs import finetune_arm, run_arm, sweep_task, torch_probe
from .report import report, sweep_report, torch_probe_table

log = logging.getLogger('benchmarks.node_probe')


def _root(args: argparse.Namespace) -> str | None:
    return args.root or os.environ.get('GRAPHPFM_DATA')


def run_benchmark(args: argparse.Namespace) -> int:
    """Pretrain and probe every (arm, seed) that ``<out>`` lacks under the current
    configuration of its arm, then print the report."""
    methods = [m for m in args.methods.split(',') if m]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise SystemExit(f"error: unknown method(s) {', '.join(unknown)}; valid: "
                         f"{', '.join(METHODS)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    proto = protocol(args, methods)
    state, path = out / 'protocol.json', out / 'records.jsonl'
    if state.is_file() and json.loads(state.read_text()).get('dataset') != proto['dataset']:
        raise SystemExit(f"error: {out} holds a run on another dataset than "
                         f"{proto['dataset']}; use another --out")
    state.write_text(json.dumps(proto, indent=1))
    arms = arms_for(methods, proto['configs'])
    current = {a: arm_hash(proto, a) for a in arms}
    # a method whose settings changed reruns; records of methods not named are left alone
    done = completed(read_records(path), ('arm', 'seed'), lambda r: current.get(r['arm']),
                     field='arm_hash', path=path, other='rerun')
    # cheapest arms first (all their seeds), so that a cut run holds whole rows; arms named
    # by --first go before them (the order does not change any result)
    first = [a for a in (args.first or '').split(',') if a]
    if set(first) - set(arms):
        raise SystemExit(f"error: --first {','.join(first)}: valid arms are {', '.join(arms)}")
    configs, architectures = proto['configs'], proto['architectures']

    def architecture(arm: str) -> dict[str, Any]:
        return architectures[arm[len(RANDOM):] if arm.startswith(RANDOM) else
                             configs[arm]['arch']]
    cost = {a: (first.index(a) - len(first) - 1e9 if a in first else 0)
            + proto['epochs'].get(a, 0) * (4 if architecture(a)['name'] == 'gat' else 1)
            for a in arms}
    h, commit, root = run_hash(proto), git_commit(), _root(args)
    tasks = [{'arm': a, 'seed': s, 'dataset': args.dataset, 'root': root,
              'device': args.device, 'hash': h, 'arm_hash': current[a], 'out': str(out),
              'epochs': proto['epochs'].get(a, 0), 'git_commit': commit,
              'method': configs.get(a), 'architecture': architecture(a),
              'selection': proto.get('selection') if a in configs else None,
              'sparse_input': args.sparse_input}
             for a in sorted(arms, key=lambda a: cost[a])
             for s in proto['seeds'] if (a, s) not in done]
    log.info('%d (arm, seed) runs to do', len(tasks))
    run_tasks(run_arm, tasks, jobs=args.jobs, threads=args.threads, root=root, out=path,
              describe=lambda r: (
                  f"{r['arm']} seed {r['seed']}: test {r['metric']} "
                  f"{r['test_at_best_valid']:.4f} (C={r['best_C']:g}, pretraining "
                  f"{r['pretrain_seconds']:.0f} s"
                  + (f", epoch {r['selection']['best_epoch']} selected on validation"
                     if r.get('selection') else '') + ')'))
    sys.stdout.write(report(out) + '\n')
    return 0


def check_encoders(out: Path, probe: dict[str, Any], wanted: list[tuple[str, int]],
                   verb: str) -> None:
    """Every (method arm, seed) of ``wanted`` has its encoder checkpoint in ``out``, made under
    the probe protocol now in ``out/protocol.json`` (``probe``); otherwise an error naming
    them. A checkpoint that carries only the hash of its run (no arm hash) is current when
    that hash is the run's, or that of the current probe record of the same (arm, seed)."""
    from graphpfm import load_checkpoint
    whole = run_hash(probe)
    runs = {(r['arm'], r['seed']): r.get('protocol_hash')
            for r in read_records(out / 'records.jsonl')
            if r['arm'] in probe['methods'] and r.get('arm_hash') == arm_hash(probe, r['arm'])}

    def current(extra: dict[str, Any], arm: str, seed: int) -> bool:
        if 'arm_hash' in extra:
            return extra['arm_hash'] == arm_hash(probe, arm) or \
                extra.get('protocol_hash') == whole
        run = extra.get('protocol_hash')
        return run is not None and run in (whole, runs.get((arm, seed)))
    missing, stale = [], []
    for arm, s in wanted:
        ckpt = encoder_path(out, arm, s)
        if not ckpt.is_file():
            missing.append(str(ckpt))
        elif not current(load_checkpoint(ckpt).get('extra', {}), arm, s):
            stale.append(str(ckpt))
    if missing:
        raise SystemExit(f'error: {len(missing)} pretrained encoder checkpoint(s) missing, e.g. '
                         f"{', '.join(missing[:3])}: rerun `python -m benchmarks.node_probe run` "
                         f'with the same --out (it pretrains only what is missing), or {verb} '
                         f'fewer seeds with --seeds')
    if stale:
        raise SystemExit(f"error: encoder checkpoint(s) {', '.join(stale[:3])} were made under "
                         f"another probe protocol than {out / 'protocol.json'}")


def _a_run(args: argparse.Namespace, defaults: dict[str, Any]
           ) -> tuple[Path, dict[str, Any], dict[str, Any], list[int]]:
    """``--out`` of a ``run``, its probe protocol, ``defaults`` with the options given, and
    the seeds asked for."""
    out = Path(args.out)
    state = out / 'protocol.json'
    if not state.is_file():
        raise SystemExit(f'error: {state} not found: run `python -m benchmarks.node_probe run '
                         f'--out {out}` first (it pretrains and saves the encoders)')
    recipe = {**defaults, **{k: getattr(args, k) for k in defaults
                             if getattr(args, k, None) is not None}}
    probe = json.loads(state.read_text())
    seeds = probe['seeds'] if args.seeds is None else probe['seeds'][:args.seeds]
    return out, probe, recipe, seeds


def run_finetune(args: argparse.Namespace) -> int:
    """Fine-tune every (arm, seed) of the probe run in ``args.out`` (resumable)."""
    out, probe, recipe, seeds = _a_run(args, FINETUNE)
    proto = finetune_protocol(probe, recipe)
    h = run_hash(proto)
    fstate = out / 'finetune_protocol.json'
    if fstate.is_file() and json.loads(fstate.read_text()).get('hash') != h:
        raise SystemExit(f'error: {out} holds fine-tuning records under another recipe or '
                         f'probe protocol; see {fstate}')
    fstate.write_text(json.dumps({**proto, 'hash': h}, indent=1))
    path = out / 'finetune.jsonl'
    done = completed(read_records(path), ('arm', 'seed'), lambda r: h,
                     field='protocol_hash', path=path)
    arms = arms_for(probe['methods'], probe['configs'])
    check_encoders(out, probe, [(a, s) for a in probe['methods'] for s in seeds
                                if (a, s) not in done], 'fine-tune')
    commit, root = git_commit(), _root(args)
    tasks = [{'arm': a, 'seed': s, 'dataset': probe['dataset'], 'root': root,
              'device': args.device, 'hash': h, 'recipe': recipe, 'git_commit': commit,
              'checkpoint': None if a.startswith(RANDOM) else str(encoder_path(out, a, s)),
              'architecture': probe['architectures'][a[len(RANDOM):]]
              if a.startswith(RANDOM) else None}
             for a in arms for s in seeds if (a, s) not in done]
    log.info('%d (arm, seed) fine-tunings to do', len(tasks))
    run_tasks(finetune_arm, tasks, jobs=args.jobs, threads=args.threads, root=root, out=path,
              describe=lambda r: (
                  f"{r['arm']} seed {r['seed']}: fine-tuned test {r['metric']} "
                  f"{r['test_at_best_valid']:.4f} at epoch {r['best_epoch']} "
                  f"({r['wall_s']:.0f} s)"))
    sys.stdout.write(report(out, partial=len(seeds) < len(proto['seeds'])) + '\n')
    return 0


def run_torch_probe(args: argparse.Namespace) -> int:
    """GraphMAE's probe (:func:`.jobs.torch_probe`) on every (arm, seed) of the run in
    ``args.out``: the saved pretrained encoders and the random arms' encoders (rebuilt as
    ``run`` built them; the first seed of each is probed again as ``run`` probed it, and a
    different score is an error), written to ``<out>/torch_probe.jsonl`` (recomputed whole:
    a few seconds per encoder), and a table beside this benchmark's own probe."""
    import torch
    from torch_geometric import seed_everything

    from graphpfm import build_encoder, load_dataset, load_encoder
    from graphpfm.eval import ProbeConfig, embed_nodes
    from graphpfm.eval import probe as probe_fn

    state = Path(args.out) / 'protocol.json'
    defaults = (torch_probe_recipe(json.loads(state.read_text())['dataset'])
                if state.is_file() else TORCH_PROBE)
    out, probe, recipe, seeds = _a_run(args, defaults)
    check_encoders(out, probe, [(a, s) for a in probe['methods'] for s in seeds], 'probe')
    if args.threads:
        torch.set_num_threads(args.threads)
    bundle = normalise_features(load_dataset(probe['dataset'], root=_root(args),
                                             progress=False))
    data = bundle.dataset
    ours = {(r['arm'], r['seed']): r['test_at_best_valid']
            for r in read_records(out / 'records.jsonl')
            if r.get('arm_hash') == arm_hash(probe, r['arm'])}
    records, commit = [], git_commit()
    for arm in arms_for(probe['methods'], probe['configs']):
        for seed in seeds:
            if arm.startswith(RANDOM):
                arch = dict(probe['architectures'][arm[len(RANDOM):]])
                name = arch.pop('name')
                seed_everything(seed)  # as `run` built it: the same weights
                encoder = build_encoder(name, in_channels=data.num_features, **arch)
            else:
                encoder = load_encoder(encoder_path(out, arm, seed))
            z = embed_nodes(encoder, data, args.device).cpu()
            if arm.startswith(RANDOM) and seed == seeds[0] and (arm, seed) in ours:
                # the rebuilt random encoder must be the one `run` probed: same probe score
                again = probe_fn(bundle, lambda s, enc=encoder: enc, seeds=[seed],
                                 config=ProbeConfig(device=args.device)).runs[0]
                if again['test_at_best_valid'] != ours[(arm, seed)]:
                    raise SystemExit(f'error: {arm} seed {seed} rebuilt does not reproduce the '
                                     f"run's probe ({again['test_at_best_valid']} vs "
                                     f'{ours[(arm, seed)]}): another graphpfm or torch version?')
            res = torch_probe(z, data.y, bundle.split_idx, seed=seed, **recipe)
            log.info('%s seed %d: GraphMAE probe test %.4f at epoch %d (final %.4f)', arm,
                     seed, res['early_stopping_test'], res['best_epoch'], res['final_test'])
            records.append({'arm': arm, 'seed': seed, 'recipe': recipe,
                            'arm_hash': arm_hash(probe, arm), 'git_commit': commit, **res})
    write_jsonl(out / 'torch_probe.jsonl', records)
    sys.stdout.write(torch_probe_table(records, ours, arms_for(probe['methods'],
                                                                probe['configs'])) + '\n')
    return 0


def run_sweep(args: argparse.Namespace) -> int:
    """Pretrain and probe variants of one method on the given seeds; the table shows the
    validation accuracy only (``--show-test`` adds test), so that a configuration is chosen
    on validation and then run with ``run`` on all seeds."""
    if args.method not in METHODS:
        raise SystemExit(f"error: unknown method '{args.method}'; valid: {', '.join(METHODS)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / 'sweep.jsonl'
    seeds = [int(s) for s in args.seeds.split(',') if s]
    done = completed(read_records(path), ('variant_hash', 'seed'))
    root = _root(args)
    tasks = []
    for spec in args.variant or ['']:
        config, arch = apply_variant(args.method, parse_variant(spec), args.dataset)
        vh = protocol_hash({'dataset': args.dataset, 'features': FEATURES,
                            'method': args.method, 'config': config, 'architecture': arch})
        tasks += [{'arm': args.method, 'seed': s, 'dataset': args.dataset, 'root': root,
                   'device': args.device, 'hash': vh, 'method': config,
                   'architecture': arch, 'epochs': config['epochs'], 'variant': spec,
                   'variant_hash': vh} for s in seeds if (vh, s) not in done]
    log.info('%d (variant, seed) runs to do', len(tasks))
    run_tasks(sweep_task, tasks, jobs=args.jobs, threads=args.threads, root=root, out=path,
              describe=lambda r: (f"{r['arm']} [{r['variant']}] seed {r['seed']}: valid "
                                  f"{r['best_valid']:.4f}"))
    sys.stdout.write(sweep_report(out, show_test=args.show_test) + '\n')
    return 0


def report_command(args: argparse.Namespace) -> int:
    """Print (and optionally write into the README) the table of a run."""
    text = report(Path(args.out), partial=args.partial, summary=args.summary)
    sys.stdout.write(text + '\n')
    write_readme(args, text)
    return 0


def _machine_args(p: argparse.ArgumentParser, jobs: bool = True) -> None:
    p.add_argument('--root', default=None)
    p.add_argument('--device', default='cpu')
    if jobs:
        p.add_argument('--jobs', type=int, default=1)
    p.add_argument('--threads', type=int, default=None)


def _on_a_run_args(p: argparse.ArgumentParser, recipe: dict[str, Any]) -> None:
    """``--out`` of a ``run``, ``--seeds`` (the first N of its seeds) and one option per
    setting of ``recipe``."""
    p.add_argument('--out', required=True, help='the --out of a `run`')
    p.add_argument('--seeds', type=int, default=None,
                   help="the first N of the run's seeds (default: all)")
    for k, v in recipe.items():
        p.add_argument(f"--{k.replace('_', '-')}", type=type(v), default=None,
                       help=f'(default: {v})')


def main(argv: list[str] | None = None) -> int:
    from . import __doc__ as doc
    p = argparse.ArgumentParser(description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='command', required=True)
    r = sub.add_parser('run', help='pretrain + probe (resumable)')
    r.add_argument('--dataset', default='Cora')
    r.add_argument('--methods', default=','.join(METHODS), help='comma list')
    r.add_argument('--seeds', type=int, default=10)
    r.add_argument('--epochs', type=int, default=None,
                   help='override every method\'s pretraining epochs (smoke tests)')
    r.add_argument('--select-every', type=int, default=SELECT_EVERY,
                   help='select each pretraining run\'s epoch on validation: a linear probe '
                   'fitted on the training nodes every N epochs and after the last, the best '
                   'validation score kept (test labels unread); 0: the last epoch '
                   f'(default: {SELECT_EVERY})')
    r.add_argument('--sparse-input', type=float, default=0.05,
                   help='multiply the first layer\'s input as a sparse matrix when at most '
                   'this share of it is non-zero (bag-of-words features); 0: never; equal to '
                   'the dense path up to float rounding (default: 0.05)')
    _machine_args(r)
    r.add_argument('--first', default=None,
                   help='comma list of arms to run before the others (default: cheapest first)')
    r.add_argument('--out', required=True)
    f = sub.add_parser('finetune', help='fine-tune the saved encoders and the random arms '
                       '(resumable)')
    _on_a_run_args(f, FINETUNE)
    _machine_args(f)
    w = sub.add_parser('sweep', help='variants of one method on a few seeds, compared on '
                       'validation accuracy (resumable)')
    w.add_argument('--method', required=True, help=f"one of {', '.join(METHODS)}")
    w.add_argument('--variant', action='append', default=None,
                   help="overrides, e.g. 'lr=5e-4,warmup_epochs=100,options.pe1=0.3,"
                   "arch.hidden_channels=256' (repeat for several; none: as configured)")
    w.add_argument('--dataset', default='Cora')
    w.add_argument('--seeds', default='0', help="comma list, e.g. '0,1'")
    w.add_argument('--show-test', action='store_true',
                   help='also print test accuracy (do not choose on it)')
    _machine_args(w)
    w.add_argument('--out', required=True)
    t = sub.add_parser('torch-probe', help="GraphMAE's own linear probe (torch logistic "
                       'regression, Adam) on the saved and random encoders of a run')
    _on_a_run_args(t, TORCH_PROBE)
    _machine_args(t, jobs=False)
    q = sub.add_parser('report', help='markdown table from the records')
    q.add_argument('--out', required=True)
    q.add_argument('--partial', action='store_true')
    q.add_argument('--summary', action='store_true',
                   help="without the table of GraphMAE's probe (`torch-probe`)")
    readme_args(q)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(name)s: %(message)s')
    commands = {'run': run_benchmark, 'finetune': run_finetune, 'sweep': run_sweep,
                'torch-probe': run_torch_probe, 'report': report_command}
    return commands[args.command](args)
