"""Node-level linear-probe benchmark: pretrain each node objective on one graph with its
published configuration, probe the frozen encoder with logistic regression (regularisation
chosen on the validation split only), beside randomly initialised encoders of the same
architectures probed the same way, in one run.

    python -m benchmarks.node_probe run --dataset Cora --seeds 10 --jobs 2 \\
        --out benchmarks/results/node-probe-cora
    python -m benchmarks.node_probe report --out benchmarks/results/node-probe-cora

Each seed seeds the encoder initialisation and the pretraining corruption (so seeds differ in
the pretrained encoder, as in the published protocols). One JSON line per (arm, seed) in
``<out>/records.jsonl``, written as it finishes; rerunning the same command does only what is
missing. Each record carries the hash of its arm's configuration (``arm_hash``: dataset,
features, architecture, method settings, epochs): changing one method's settings reruns that
method only; records of superseded configurations stay in the file but out of the table.

Configurations (the papers' Cora settings where they have one; differences stated):

* ``graphmae``: 2-layer GAT, 512 hidden (4 heads x 128), PReLU on every layer, input-feature
  dropout 0.2 on each layer's input, attention dropout 0.1, no norm, DGL's GAT initialisation
  (xavier normal, gain sqrt(2); ``weight_init='dgl'``); mask rate 0.5, replace rate 0.05,
  gamma 3, one-layer GAT decoder with its own input dropout 0.2, attention dropout 0.1 and
  the same initialisation; Adam lr 1e-3, weight decay 2e-4, cosine schedule, 1500 epochs
  (GraphMAE's configs.yml for Cora and its models/gat.py). Its probe (a torch logistic
  regression, Adam lr 1e-2, weight decay 1e-4, 300 epochs) is not the table's probe; it is
  run on every arm, beside it, by ``torch-probe`` (below).
* ``grace``: 2-layer GCN, 128 hidden, Adam lr 5e-4, weight decay 1e-5, 200 epochs,
  temperature 0.4, edge drop 0.2/0.4, feature drop 0.3/0.4 (GRACE's config.yaml for Cora).
* ``bgrl``: 2-layer GCN, 512 hidden, batch norm, Adam lr 5e-4 with 100 epochs of linear
  warm-up then cosine decay (as BGRL's own schedule), weight decay 1e-5, 1000 epochs, EMA
  0.99 -> 1 over the run; BGRL has no Cora configuration (the 82.7 cited is from later
  benchmarks), so this is our choice, made on validation accuracy with ``sweep`` on seed 0
  (constant lr 1e-3: 71.8; warm-up + cosine at 1e-3: 75.8, 5e-4: 79.8, 1e-4: 79.4;
  ``benchmarks/results/node-probe-cora-sweep``).
* ``dgi``: 1-layer GCN, 512 hidden, PReLU, Adam lr 1e-3, 300 epochs (DGI stops early on the
  training loss with patience 20; a fixed budget here).
* ``attr_masking`` (node level: masked rows zeroed plus a learnt ``[MASK]`` vector, a linear
  head regressing the original rows, mean squared error; mask rate 0.15, Hu et al.'s): BGRL's
  2-layer GCN with batch norm, Adam lr 1e-3, 200 epochs. ``edge_pred`` (dot-product decoder,
  edges against uniformly sampled non-edges): GRACE's 2-layer GCN, Adam lr 1e-2, 200 epochs
  (the graph autoencoder's recipe, Kipf & Welling 2016). Neither paper has a Cora
  configuration or a linear-probe figure: both were chosen on validation accuracy with
  ``sweep`` on seed 0 (``benchmarks/results/node-probe-cora-sweep``; GRACE's encoder at lr
  1e-2, our first choice for both, collapsed attr_masking to 18.2 validation).
* ``random-gat`` / ``random-gcn1`` / ``random-gcn2`` / ``random-gcn2-bn``: the architectures
  above, randomly initialised, probed identically.

Full fine-tuning (the second column of the table), after ``run`` has saved the encoders:

    python -m benchmarks.node_probe finetune --out benchmarks/results/node-probe-cora --jobs 2

For each method and seed, the encoder pretrained by ``run`` (``<out>/encoders/<arm>-seed<seed>.pt``)
is fine-tuned with a linear head on the same row-normalised features; each ``random-<arch>`` arm
fine-tunes a freshly initialised encoder of that architecture (the no-pretraining baseline;
seeded as the probe's random encoder, so it starts from the same weights). One recipe for every
arm (:data:`FINETUNE`): Adam, head lr 1e-2, encoder lr 5e-3, weight decay 5e-4, dropout 0.5 on
the encoder's hidden layers and on the embedding before the head, 200 full-batch epochs on the
140 training nodes, test accuracy at the epoch of best validation accuracy (ties: the earlier
epoch), through :func:`graphpfm.eval.finetune`. A missing encoder checkpoint is an error that
names it (rerun ``run`` with the same ``--out``; it pretrains only what is missing), as is a
checkpoint made under another probe protocol. Records: one JSON line per (arm, seed) in
``<out>/finetune.jsonl``, resumable; the recipe and the probe protocol's hash are hashed into
``<out>/finetune_protocol.json``, and another recipe in the same ``--out`` is refused.
``report`` prints the linear-probe and fine-tuning columns in one table.

GraphMAE's own probe, the protocol of its published figures, on the same encoders:

    python -m benchmarks.node_probe torch-probe --out benchmarks/results/node-probe-cora

For every (arm, seed) of the run, the saved pretrained encoder or the random arm's encoder
(rebuilt from its seed; the first seed is checked against the run's probe score), frozen,
embeds the graph; a ``torch.nn.Linear`` on the raw embeddings is trained with full-batch Adam
(:data:`TORCH_PROBE`: GraphMAE's ``lr_f``, ``weight_decay_f``, ``max_epoch_f`` for Cora) and
scored on every split after every step: test accuracy at the last epoch of best validation
accuracy (GraphMAE's ``early-stopping_acc``) and after the last epoch (its ``final_acc``).
Records in ``<out>/torch_probe.jsonl`` (recomputed whole, about a minute for 100 encoders).
"""
# ruff: noqa: C408 (configuration tables are written as dict(key=value))
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from .transfer import git_commit, hardware

log = logging.getLogger('benchmarks.node_probe')

ARCHITECTURES: dict[str, dict[str, Any]] = {
    # every encoder normalises and activates its last layer too (act_last), as all four
    # methods' own encoders do; PyG's BasicGNN alone would leave it linear
    'gat': dict(name='gat', num_layers=2, hidden_channels=512, heads=4, dropout=0.2, norm=None,
                act='prelu', act_last=True, input_dropout=0.2, attn_dropout=0.1,
                weight_init='dgl'),
    'gcn2': dict(name='gcn', num_layers=2, hidden_channels=256, out_channels=128, norm=None,
                 act_last=True),
    'gcn2-bn': dict(name='gcn', num_layers=2, hidden_channels=512, norm='batch_norm',
                    act='prelu', act_last=True),
    'gcn1': dict(name='gcn', num_layers=1, hidden_channels=512, norm=None, act='prelu',
                 act_last=True),
}
METHODS: dict[str, dict[str, Any]] = {
    'graphmae': dict(arch='gat', epochs=1500, lr=1e-3, weight_decay=2e-4,
                     options=dict(mask_rate=0.5, replace_rate=0.05, gamma=3.0, decoder='gat',
                                  decoder_dropout=0.2, decoder_attn_dropout=0.1,
                                  decoder_init='dgl'),
                     lr_schedule='cosine',
                     published=84.2),
    'grace': dict(arch='gcn2', epochs=200, lr=5e-4, weight_decay=1e-5,
                  options=dict(temperature=0.4, pe1=0.2, pe2=0.4, pf1=0.3, pf2=0.4),
                  published=81.9),
    'bgrl': dict(arch='gcn2-bn', epochs=1000, lr=5e-4, weight_decay=1e-5,
                 options=dict(momentum=0.99), lr_schedule='cosine', warmup_epochs=100,
                 published=82.7),
    'dgi': dict(arch='gcn1', epochs=300, lr=1e-3, weight_decay=0.0, options={},
                published=82.3),
    # the molecular objectives that make sense at node level; neither paper has a Cora
    # configuration or a linear-probe figure: chosen on validation accuracy with `sweep` on
    # seed 0 (benchmarks/README.md); Hu et al.'s mask rate, GAE's recipe for edge_pred
    'attr_masking': dict(arch='gcn2-bn', epochs=200, lr=1e-3, weight_decay=0.0,
                         options=dict(mask_rate=0.15), published=None),
    'edge_pred': dict(arch='gcn2', epochs=200, lr=1e-2, weight_decay=0.0, options={},
                      published=None),
}


#: node features are row-normalised (PyG's NormalizeFeatures) before pretraining and probing,
#: as the four methods' own code does for Cora
FEATURES = 'row-normalised'


def normalise_features(bundle: Any) -> Any:
    """A copy of ``bundle`` whose graph has row-normalised features (the input untouched)."""
    import dataclasses

    from torch_geometric.transforms import NormalizeFeatures
    return dataclasses.replace(bundle, dataset=NormalizeFeatures()(bundle.dataset.clone()))


def arms_for(methods: list[str]) -> list[str]:
    """The methods, then one random-encoder arm per architecture they use."""
    archs = []
    for m in methods:
        if METHODS[m]['arch'] not in archs:
            archs.append(METHODS[m]['arch'])
    return [*methods, *(f'random-{a}' for a in archs)]


def protocol(args: argparse.Namespace, methods: list[str]) -> dict[str, Any]:
    epochs = {m: (args.epochs if args.epochs else METHODS[m]['epochs']) for m in methods}
    return {'dataset': args.dataset, 'features': FEATURES, 'methods': methods, 'epochs': epochs,
            'seeds': list(range(args.seeds)), 'architectures': ARCHITECTURES,
            'configs': {m: {k: v for k, v in METHODS[m].items() if k != 'epochs'}
                        for m in methods}}


def arm_key(proto: dict[str, Any], arm: str) -> dict[str, Any]:
    """What determines the records of one arm: the dataset and its features, the arm's
    architecture, its method's configuration and epochs (:obj:`None` and 0 for a random
    arm). Changing one method's settings reruns that method only."""
    method = None if arm.startswith('random-') else arm
    arch = arm[len('random-'):] if method is None else proto['configs'][method]['arch']
    return {'dataset': proto['dataset'], 'features': proto.get('features'),
            'architecture': proto['architectures'][arch],
            'method': proto['configs'][method] if method else None,
            'epochs': proto['epochs'].get(method, 0) if method else 0}


def arm_hash(proto: dict[str, Any], arm: str) -> str:
    return _hash(arm_key(proto, arm))


def _backfill_arm_hashes(path: Path, before: dict[str, Any] | None) -> None:
    """Give records written before arm hashes existed the ``arm_hash`` of the protocol they
    were made under (``before``, the previous ``protocol.json``; their ``protocol_hash`` must
    be its hash), rewriting ``path`` once; records of another protocol are an error."""
    records = _read_jsonl(path)
    if all('arm_hash' in r for r in records):
        return
    if before is None:
        raise SystemExit(f'error: {path} has records without arm_hash and no protocol.json')
    old = _hash({k: v for k, v in before.items() if k != 'seeds'})
    for r in records:
        if 'arm_hash' in r:
            continue
        if r.get('protocol_hash') != old:
            raise SystemExit(f'error: {path}: a record of {r["arm"]} seed {r["seed"]} was made '
                             f'under another protocol than protocol.json')
        r['arm_hash'] = arm_hash(before, r['arm'])
    tmp = path.with_suffix('.tmp')
    tmp.write_text(''.join(json.dumps(r) + '\n' for r in records))
    tmp.replace(path)


#: the fine-tuning recipe, one for every arm (see the module docstring)
FINETUNE: dict[str, Any] = dict(epochs=200, lr=1e-2, encoder_lr=5e-3, weight_decay=5e-4,
                                dropout=0.5, encoder_dropout=0.5)


def _init_worker(threads: int) -> None:
    import torch

    from graphpfm.utils import tune_malloc
    tune_malloc()  # keep freed buffers (see benchmarks/malloc.py)
    torch.set_num_threads(threads)
    logging.basicConfig(level=logging.WARNING)


def run_arm(task: dict[str, Any]) -> dict[str, Any]:
    """Pretrain (unless a random arm) and probe one (arm, seed)."""
    import torch

    from graphpfm import (
        TrainConfig,
        Trainer,
        build_encoder,
        build_objective,
        load_dataset,
    )
    from graphpfm.eval import ProbeConfig, probe
    from graphpfm.train.checkpoint import package_versions
    from graphpfm.utils import seed_everything

    arm, seed = task['arm'], task['seed']
    bundle = normalise_features(load_dataset(task['dataset'], root=task['root'],
                                             progress=False))
    data = bundle.dataset
    method = None if arm.startswith('random-') else task.get('method', METHODS[arm])
    arch = dict(task.get('architecture') or ARCHITECTURES[
        arm[len('random-'):] if method is None else method['arch']])
    name = arch.pop('name')
    seed_everything(seed)
    encoder = build_encoder(name, in_channels=data.num_features, **arch)
    start, cpu = time.perf_counter(), time.process_time()
    history: list[dict[str, Any]] = []
    if method is not None:
        options = dict(method['options'])
        if arm == 'bgrl':
            options['total_steps'] = task['epochs']
        objective = build_objective(arm, encoder, **options)
        cfg = TrainConfig(epochs=task['epochs'], lr=method['lr'],
                          weight_decay=method['weight_decay'], seed=seed, device=task['device'],
                          progress=False, node_batch_size=0,
                          lr_schedule=method.get('lr_schedule'),
                          warmup_epochs=method.get('warmup_epochs', 0))
        history = Trainer(objective, cfg).fit(data)
        encoder = objective.encoder
    pretrain_s = time.perf_counter() - start
    if method is not None and task.get('out'):
        # the pretrained encoder, kept (git-ignored) for the fine-tuning table and for audit
        from graphpfm.train.checkpoint import save_checkpoint
        save_checkpoint(Path(task['out']) / 'encoders' / f'{arm}-seed{seed}.pt', encoder,
                        objective={'name': arm, 'kwargs': dict(method['options'])},
                        data={'corpus': bundle.name, 'features': FEATURES},
                        history=history, extra={'protocol_hash': task['hash'],
                                                'arm_hash': task.get('arm_hash')})
    result = probe(bundle, lambda s: encoder, seeds=[seed],
                   config=ProbeConfig(device=task['device']))
    run = result.runs[0]
    return {'arm': arm, 'seed': seed, 'dataset': bundle.name, 'metric': result.metric,
            'epochs': task['epochs'] if method else 0, 'best_C': run['best_C'],
            'best_valid': run['best_valid'], 'test_at_best_valid': run['test_at_best_valid'],
            'scores': run['scores'], 'pretrain_seconds': round(pretrain_s, 2),
            'final_loss': history[-1]['loss'] if history else None,
            'loss_curve': [h['loss'] for h in history][:: max(1, len(history) // 50)],
            'versions': package_versions(), 'threads': torch.get_num_threads(),
            'hardware': hardware(torch.get_num_threads()), 'git_commit': task.get('git_commit'),
            'cpu_s': round(time.process_time() - cpu, 2),
            'protocol_hash': task['hash'], 'arm_hash': task.get('arm_hash')}


def _run_tasks(fn: Any, tasks: list[dict[str, Any]], path: Path, args: argparse.Namespace,
               describe: Any) -> None:
    """Run ``fn`` on every task in ``args.jobs`` worker processes, appending each record to
    ``path`` (one JSON line, flushed) as it finishes."""
    if not tasks:
        return
    threads = args.threads or max(1, (os.cpu_count() or 1) // args.jobs)
    with ProcessPoolExecutor(args.jobs, initializer=_init_worker,
                             initargs=(threads,)) as pool, path.open('a') as f:
        for fut in as_completed([pool.submit(fn, t) for t in tasks]):
            rec = fut.result()
            f.write(json.dumps(rec) + '\n')
            f.flush()
            log.info('%s', describe(rec))


def _hash(d: dict[str, Any]) -> str:
    import hashlib
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def run_benchmark(args: argparse.Namespace) -> int:
    methods = [m for m in args.methods.split(',') if m]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise SystemExit(f"error: unknown method(s) {', '.join(unknown)}; valid: "
                         f"{', '.join(METHODS)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    proto = protocol(args, methods)
    state = out / 'protocol.json'
    path = out / 'records.jsonl'
    before = json.loads(state.read_text()) if state.is_file() else None
    if path.is_file():
        _backfill_arm_hashes(path, before)
    if before is not None and before.get('dataset') != proto['dataset']:
        raise SystemExit(f"error: {out} holds a run on {before.get('dataset')}; use another "
                         '--out')
    state.write_text(json.dumps(proto, indent=1))
    h = _hash({k: v for k, v in proto.items() if k != 'seeds'})
    current = {a: arm_hash(proto, a) for a in arms_for(methods)}
    done, superseded = set(), 0
    for r in _read_jsonl(path):
        if current.get(r['arm']) == r['arm_hash']:
            done.add((r['arm'], r['seed']))
        elif r['arm'] in current:  # records of methods not named this time are not counted
            superseded += 1
    if superseded:
        log.warning('%d record(s) in %s belong to arm configurations other than the current '
                    'ones: kept in the file, left out of the table, their arms rerun',
                    superseded, path)
    root = args.root or os.environ.get('GRAPHPFM_DATA')
    # cheapest arms first (all their seeds), so that a cut run holds whole rows; arms named
    # by --first go before them (the order does not change any result)
    first = [a for a in (getattr(args, 'first', None) or '').split(',') if a]
    if set(first) - set(arms_for(methods)):
        raise SystemExit(f"error: --first {','.join(first)}: valid arms are "
                         f"{', '.join(arms_for(methods))}")
    cost = {a: (first.index(a) - len(first) - 1e9 if a in first else 0)
            + proto['epochs'].get(a, 0) * (4 if METHODS.get(a, {}).get('arch') == 'gat' else 1)
            for a in arms_for(methods)}
    tasks = [{'arm': a, 'seed': s, 'dataset': args.dataset, 'root': root,
              'device': args.device, 'hash': h, 'arm_hash': current[a], 'out': str(out),
              'epochs': proto['epochs'].get(a, 0), 'git_commit': git_commit()}
             for a in sorted(arms_for(methods), key=lambda a: cost[a])
             for s in proto['seeds'] if (a, s) not in done]
    log.info('%d (arm, seed) runs to do', len(tasks))
    _run_tasks(run_arm, tasks, path, args, lambda r: (
        f"{r['arm']} seed {r['seed']}: test {r['metric']} {r['test_at_best_valid']:.4f} "
        f"(C={r['best_C']:g}, pretraining {r['pretrain_seconds']:.0f} s)"))
    sys.stdout.write(report(out) + '\n')
    return 0


# ----------------------------------------------------------------------------- fine-tuning
def encoder_path(out: Path, arm: str, seed: int) -> Path:
    """Where ``run`` keeps the encoder it pretrained for (``arm``, ``seed``)."""
    return Path(out) / 'encoders' / f'{arm}-seed{seed}.pt'


def _check_encoders(out: Path, probe: dict[str, Any], wanted: list[tuple[str, int]],
                    verb: str) -> None:
    """Every (method arm, seed) of ``wanted`` has its encoder checkpoint in ``out``, made under
    the probe protocol now in ``out/protocol.json`` (``probe``); otherwise an error naming
    them."""
    from graphpfm.train import load_checkpoint
    run_hash = _hash({k: v for k, v in probe.items() if k != 'seeds'})
    # checkpoints saved before per-arm hashes carry only the protocol hash of their run: valid
    # when the probe record of the same (arm, seed), its arm hash backfilled, is current
    legacy = {(r['arm'], r['seed']): r.get('protocol_hash')
              for r in _read_jsonl(out / 'records.jsonl')
              if r['arm'] in probe['methods'] and r.get('arm_hash') == arm_hash(probe, r['arm'])}

    def current(extra: dict, arm: str, seed: int) -> bool:
        """Was this checkpoint pretrained under the probe protocol now in ``out``?"""
        if 'arm_hash' in extra:
            return extra['arm_hash'] == arm_hash(probe, arm) or \
                extra.get('protocol_hash') == run_hash
        run = extra.get('protocol_hash')  # saved before per-arm hashes: the run's hash alone
        return run is not None and run in (run_hash, legacy.get((arm, seed)))
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


def finetune_protocol(probe: dict[str, Any], recipe: dict[str, Any]) -> dict[str, Any]:
    """The fine-tuning protocol: the probe run it starts from (its hash names the encoders)
    and the recipe."""
    return {'dataset': probe['dataset'], 'features': FEATURES, 'methods': probe['methods'],
            'seeds': probe['seeds'], 'architectures': probe['architectures'],
            'probe_protocol_hash': _hash({k: v for k, v in probe.items() if k != 'seeds'}),
            'recipe': recipe, 'selection': 'test at the best validation epoch (ties: earlier)'}


def finetune_arm(task: dict[str, Any]) -> dict[str, Any]:
    """Fine-tune one (arm, seed): the saved pretrained encoder, or for a ``random-`` arm a
    fresh encoder of that architecture, with a linear head on every node."""
    import torch

    from graphpfm import build_encoder, load_dataset, load_encoder
    from graphpfm.eval import FinetuneConfig, finetune
    from graphpfm.train.checkpoint import package_versions

    arm, seed, recipe = task['arm'], task['seed'], task['recipe']
    bundle = normalise_features(load_dataset(task['dataset'], root=task['root'],
                                             progress=False))
    pretrained = not arm.startswith('random-')
    if pretrained:
        path = task['checkpoint']

        def make(_seed: int) -> Any:
            return load_encoder(path, dropout=recipe['encoder_dropout'])
    else:
        arch = dict(ARCHITECTURES[arm[len('random-'):]])
        name = arch.pop('name')
        arch['dropout'] = recipe['encoder_dropout']

        def make(_seed: int) -> Any:  # called by finetune right after seed_everything(seed)
            return build_encoder(name, in_channels=bundle.dataset.num_features, **arch)
    config = FinetuneConfig(epochs=recipe['epochs'], lr=recipe['lr'],
                            encoder_lr=recipe['encoder_lr'],
                            weight_decay=recipe['weight_decay'], dropout=recipe['dropout'],
                            seeds=(seed,), device=task['device'], node_batch_size=0)
    start, cpu = time.perf_counter(), time.process_time()
    result = finetune(bundle, make, config)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    run = result.runs[0]
    return {'arm': arm, 'seed': seed, 'dataset': bundle.name, 'metric': result.metric,
            'pretrained': pretrained, 'checkpoint': task.get('checkpoint'),
            'best_epoch': run['best_epoch'], 'best_valid': run['best_valid'],
            'test_at_best_valid': run['test_at_best_valid'], 'curves': run['curves'],
            'finetune_config': result.config, 'wall_s': round(wall, 2),
            'cpu_s': round(cpu, 2), 'versions': package_versions(),
            'threads': torch.get_num_threads(), 'hardware': hardware(torch.get_num_threads()),
            'git_commit': task.get('git_commit'), 'protocol_hash': task['hash']}


def _a_run(args: argparse.Namespace, defaults: dict[str, Any]
           ) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """``--out`` of a ``run``, its probe protocol, and ``defaults`` with the options given."""
    out = Path(args.out)
    state = out / 'protocol.json'
    if not state.is_file():
        raise SystemExit(f'error: {state} not found: run `python -m benchmarks.node_probe run '
                         f'--out {out}` first (it pretrains and saves the encoders)')
    recipe = {**defaults, **{k: getattr(args, k) for k in defaults
                             if getattr(args, k, None) is not None}}
    return out, json.loads(state.read_text()), recipe


def run_finetune(args: argparse.Namespace) -> int:
    """Fine-tune every (arm, seed) of the probe run in ``args.out`` (resumable)."""
    out, probe, recipe = _a_run(args, FINETUNE)
    proto = finetune_protocol(probe, recipe)
    seeds = proto['seeds'] if args.seeds is None else proto['seeds'][:args.seeds]
    h = _hash({k: v for k, v in proto.items() if k != 'seeds'})
    fstate = out / 'finetune_protocol.json'
    if fstate.is_file():
        before = json.loads(fstate.read_text())
        if before.get('hash') != h:
            raise SystemExit(f'error: {out} holds fine-tuning records under another recipe or '
                             f'probe protocol; see {fstate}')
    fstate.write_text(json.dumps({**proto, 'hash': h}, indent=1))
    path = out / 'finetune.jsonl'
    done = set()
    for r in _read_jsonl(path):
        if r['protocol_hash'] != h:
            raise SystemExit(f'error: {path} holds a record made under another protocol')
        done.add((r['arm'], r['seed']))
    arms = arms_for(probe['methods'])
    # checkpoints saved before per-arm hashes carry only the protocol hash of their run: valid
    # when the probe record of the same (arm, seed), its arm hash backfilled, is current
    _check_encoders(out, probe, [(a, s) for a in probe['methods'] for s in seeds
                                 if (a, s) not in done], 'fine-tune')
    root = args.root or os.environ.get('GRAPHPFM_DATA')
    tasks = [{'arm': a, 'seed': s, 'dataset': probe['dataset'], 'root': root,
              'device': args.device, 'hash': h, 'recipe': recipe, 'git_commit': git_commit(),
              'checkpoint': None if a.startswith('random-') else str(encoder_path(out, a, s))}
             for a in arms for s in seeds if (a, s) not in done]
    log.info('%d (arm, seed) fine-tunings to do', len(tasks))
    _run_tasks(finetune_arm, tasks, path, args, lambda r: (
        f"{r['arm']} seed {r['seed']}: fine-tuned test {r['metric']} "
        f"{r['test_at_best_valid']:.4f} at epoch {r['best_epoch']} ({r['wall_s']:.0f} s)"))
    sys.stdout.write(report(out, partial=len(seeds) < len(proto['seeds'])) + '\n')
    return 0


# ----------------------------------------------------------------------------- GraphMAE's probe
#: GraphMAE's own linear-probe recipe for Cora (its configs.yml: lr_f, weight_decay_f,
#: max_epoch_f; graphmae/evaluation.py)
TORCH_PROBE: dict[str, Any] = dict(lr=1e-2, weight_decay=1e-4, epochs=300)


def last_best(curve: list[float]) -> int:
    """The index of the *last* maximum of ``curve`` (GraphMAE keeps the model of epoch
    ``e`` whenever ``valid[e] >= best``, so a tie goes to the later epoch)."""
    best = max(curve)
    return max(i for i, v in enumerate(curve) if v == best)


def torch_probe(z: Any, y: Any, split: dict[str, Any], *, seed: int, lr: float,
                weight_decay: float, epochs: int) -> dict[str, Any]:
    """GraphMAE's linear probe on frozen embeddings ``z`` (``graphmae/evaluation.py``): a
    ``torch.nn.Linear`` on the raw embeddings (no standardisation, no choice of
    regularisation), cross-entropy on the training nodes, full-batch Adam for ``epochs``
    steps; after every step the accuracy on every split. Returns the test accuracy after the
    last step (GraphMAE's ``final_acc``) and at the last epoch of best validation accuracy
    (its ``early-stopping_acc``), with the curves."""
    import torch
    import torch.nn.functional as F

    z = z.detach().float()
    y = y.view(-1).long()
    idx = {k: split[k].long() for k in ('train', 'valid', 'test')}
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        head = torch.nn.Linear(z.size(1), int(y.max()) + 1)
    opt = torch.optim.Adam(head.parameters(), lr=lr, weight_decay=weight_decay)
    curves: dict[str, list[float]] = {'valid': [], 'test': []}
    for _ in range(epochs):
        head.train()
        loss = F.cross_entropy(head(z[idx['train']]), y[idx['train']])
        opt.zero_grad()
        loss.backward()
        opt.step()
        head.eval()
        with torch.no_grad():
            pred = head(z).argmax(-1)
        for k in curves:
            curves[k].append(int((pred[idx[k]] == y[idx[k]]).sum()) / idx[k].numel())
    best = last_best(curves['valid'])
    return {'final_test': curves['test'][-1], 'early_stopping_test': curves['test'][best],
            'best_valid': curves['valid'][best], 'best_epoch': best, 'curves': curves}


def run_torch_probe(args: argparse.Namespace) -> int:
    """GraphMAE's probe (:func:`torch_probe`) on every (arm, seed) of the run in ``args.out``:
    the saved pretrained encoders and the random arms' encoders (rebuilt as ``run`` built
    them; the first seed of each is probed again as ``run`` probed it, and a different score
    is an error), written to ``<out>/torch_probe.jsonl`` (recomputed whole: a few seconds per
    encoder), and a table beside this benchmark's own probe."""
    import numpy as np
    import torch

    from graphpfm import build_encoder, load_dataset, load_encoder
    from graphpfm.eval import ProbeConfig, embed_nodes
    from graphpfm.eval import probe as probe_fn
    from graphpfm.utils import seed_everything

    out, probe, recipe = _a_run(args, TORCH_PROBE)
    seeds = probe['seeds'] if args.seeds is None else probe['seeds'][:args.seeds]
    _check_encoders(out, probe, [(a, s) for a in probe['methods'] for s in seeds], 'probe')
    if args.threads:
        torch.set_num_threads(args.threads)
    root = args.root or os.environ.get('GRAPHPFM_DATA')
    bundle = normalise_features(load_dataset(probe['dataset'], root=root, progress=False))
    data = bundle.dataset
    ours = {(r['arm'], r['seed']): r['test_at_best_valid']
            for r in _read_jsonl(out / 'records.jsonl')
            if r.get('arm_hash') == arm_hash(probe, r['arm'])}
    records, commit = [], git_commit()
    for arm in arms_for(probe['methods']):
        for seed in seeds:
            if arm.startswith('random-'):
                arch = dict(probe['architectures'][arm[len('random-'):]])
                name = arch.pop('name')
                seed_everything(seed)  # as `run` built it: the same weights
                encoder = build_encoder(name, in_channels=data.num_features, **arch)
            else:
                encoder = load_encoder(encoder_path(out, arm, seed))
            z = embed_nodes(encoder, data, args.device).cpu()
            if arm.startswith('random-') and seed == seeds[0] and (arm, seed) in ours:
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
                            'arm_hash': arm_hash(probe, arm), 'git_commit': commit,
                            **res})
    tmp = out / 'torch_probe.tmp'
    tmp.write_text(''.join(json.dumps(r) + '\n' for r in records))
    tmp.replace(out / 'torch_probe.jsonl')

    def cell(vals: list[float]) -> str:
        v = np.array(vals, dtype=float) * 100
        return f'{v.mean():.1f} ± {v.std():.1f}' if v.size else '—'
    lines = ['| arm | this benchmark\'s probe | GraphMAE\'s probe, test at best valid | '
             'GraphMAE\'s probe, test after the last epoch | seeds |', '|---|---|---|---|---|']
    for arm in arms_for(probe['methods']):
        rows = [r for r in records if r['arm'] == arm]
        mine = [ours[(arm, r['seed'])] for r in rows if (arm, r['seed']) in ours]
        lines.append(f"| {arm} | {cell(mine)} | {cell([r['early_stopping_test'] for r in rows])}"
                     f" | {cell([r['final_test'] for r in rows])} | {len(rows)} |")
    sys.stdout.write('\n'.join(lines) + '\n')
    return 0


# ----------------------------------------------------------------------------- sweep
def parse_variant(spec: str) -> dict[str, Any]:
    """``'lr=5e-4,warmup_epochs=100,options.pe1=0.3,arch.hidden_channels=256'`` as a dict of
    overrides; values are read as JSON where they parse (numbers, true/false/null), else kept
    as strings. An empty spec is the method's configuration as it stands."""
    out: dict[str, Any] = {}
    for item in (x.strip() for x in spec.split(',')):
        if not item:
            continue
        key, sep, value = item.partition('=')
        if not sep or not key:
            raise SystemExit(f"error: variant item '{item}' is not KEY=VALUE (KEY: a method "
                             "setting, options.NAME or arch.NAME)")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def apply_variant(method: str, overrides: dict[str, Any]) -> tuple[dict[str, Any],
                                                                     dict[str, Any]]:
    """The method's configuration and architecture with ``overrides`` applied (copies);
    unknown method settings are an error that lists the valid ones."""
    config = {**METHODS[method], 'options': dict(METHODS[method]['options'])}
    arch = dict(ARCHITECTURES[config['arch']])
    settings = ('epochs', 'lr', 'weight_decay', 'lr_schedule', 'warmup_epochs')
    for key, value in overrides.items():
        if key.startswith('options.'):
            config['options'][key[len('options.'):]] = value
        elif key.startswith('arch.'):
            arch[key[len('arch.'):]] = value
        elif key in settings:
            config[key] = value
        else:
            raise SystemExit(f"error: unknown variant key '{key}'; valid: "
                             f"{', '.join(settings)}, options.NAME, arch.NAME")
    return config, arch


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
    done = {(r['variant_hash'], r['seed']) for r in _read_jsonl(path)}
    root = args.root or os.environ.get('GRAPHPFM_DATA')
    tasks = []
    for spec in args.variant or ['']:
        config, arch = apply_variant(args.method, parse_variant(spec))
        vkey = {'dataset': args.dataset, 'features': FEATURES, 'method': args.method,
                'config': config, 'architecture': arch}
        vh = _hash(vkey)
        tasks += [{'arm': args.method, 'seed': s, 'dataset': args.dataset, 'root': root,
                   'device': args.device, 'hash': vh, 'method': config,
                   'architecture': arch, 'epochs': config['epochs'], 'variant': spec,
                   'variant_hash': vh} for s in seeds if (vh, s) not in done]
    log.info('%d (variant, seed) runs to do', len(tasks))
    _run_tasks(_sweep_task, tasks, path, args, lambda r: (
        f"{r['arm']} [{r['variant']}] seed {r['seed']}: valid {r['best_valid']:.4f}"))
    sys.stdout.write(sweep_report(out, show_test=args.show_test) + '\n')
    return 0


def _sweep_task(task: dict[str, Any]) -> dict[str, Any]:
    return {**run_arm(task), 'variant': task['variant'], 'variant_hash': task['variant_hash'],
            'config': task['method'], 'architecture': task['architecture']}


def sweep_report(out: Path, show_test: bool = False) -> str:
    """Markdown table of ``<out>/sweep.jsonl``: one row per variant, validation accuracy
    mean ± std (ddof=0) over its seeds, best first; test only with ``show_test``."""
    import numpy as np
    rows: dict[str, list[dict[str, Any]]] = {}
    for r in _read_jsonl(Path(out) / 'sweep.jsonl'):
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


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def report(out: Path, partial: bool = False) -> str:
    """Markdown table: arm, linear-probe and fine-tuning test metric, mean ± std (ddof=0)
    over seeds, the published (linear-probe) figure, pretraining epochs and mean pretraining
    time. Missing records are an error unless ``partial``; the fine-tuning column reads
    "not run" until ``finetune`` has been started in ``out``."""
    import numpy as np
    proto = json.loads((out / 'protocol.json').read_text())
    current = {a: arm_hash(proto, a) for a in arms_for(proto['methods'])}
    whole = _hash({k: v for k, v in proto.items() if k != 'seeds'})
    records = [r for r in _read_jsonl(out / 'records.jsonl')
               if current.get(r['arm']) == r.get('arm_hash')
               or ('arm_hash' not in r and r.get('protocol_hash') == whole)]  # before arm hashes
    fstate = out / 'finetune_protocol.json'
    fine = None
    if fstate.is_file():
        fh = json.loads(fstate.read_text())['hash']
        fine = [r for r in _read_jsonl(out / 'finetune.jsonl') if r['protocol_hash'] == fh]
    seeds = proto['seeds']
    metric = records[0]['metric'] if records else '?'
    lines = [(f"| arm | {proto['dataset']} linear probe (test {metric}, %) "
             f"| {proto['dataset']} fine-tune (test {metric}, %) | published (linear probe) "
             '| epochs | pretraining s/seed | seeds (probe, fine-tune) |'),
             '|---|---|---|---|---|---|---|']
    missing: list[tuple[str, str, int]] = []

    def cell(rows: list[dict[str, Any]]) -> str:
        if not rows:
            return '—'
        vals = np.array([r['test_at_best_valid'] for r in rows], dtype=float) * 100
        return f'{vals.mean():.1f} ± {vals.std():.1f}'

    for arm in arms_for(proto['methods']):
        rows = [r for r in records if r['arm'] == arm and r['seed'] in seeds]
        got = {r['seed'] for r in rows}
        missing += [('probe', arm, s) for s in seeds if s not in got]
        if fine is None:
            ft, ft_seeds = 'not run', '—'
        else:
            frows = [r for r in fine if r['arm'] == arm and r['seed'] in seeds]
            fgot = {r['seed'] for r in frows}
            missing += [('fine-tune', arm, s) for s in seeds if s not in fgot]
            ft, ft_seeds = cell(frows), f'{len(frows)}/{len(seeds)}'
        pub = METHODS[arm]['published'] if arm in METHODS else None
        pub = '' if pub is None else pub
        epochs = rows[0]['epochs'] if rows else ''
        secs = f"{np.mean([r['pretrain_seconds'] for r in rows]):.0f}" if rows else ''
        lines.append(f'| {arm} | {cell(rows)} | {ft} | {pub} | {epochs} | {secs} | '
                     f'{len(rows)}/{len(seeds)}, {ft_seeds} |')
    if missing and not partial:
        raise SystemExit(f'error: {len(missing)} (table, arm, seed) records missing in {out}, '
                         f'e.g. {missing[:5]}; rerun `run` / `finetune`, or report --partial')
    return '\n'.join(lines)


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
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='command', required=True)
    r = sub.add_parser('run', help='pretrain + probe (resumable)')
    r.add_argument('--dataset', default='Cora')
    r.add_argument('--methods', default=','.join(METHODS), help='comma list')
    r.add_argument('--seeds', type=int, default=10)
    r.add_argument('--epochs', type=int, default=None,
                   help='override every method\'s pretraining epochs (smoke tests)')
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
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(name)s: %(message)s')
    if args.command == 'run':
        return run_benchmark(args)
    if args.command == 'finetune':
        return run_finetune(args)
    if args.command == 'sweep':
        return run_sweep(args)
    if args.command == 'torch-probe':
        return run_torch_probe(args)
    sys.stdout.write(report(Path(args.out), partial=args.partial) + '\n')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
