"""The node benchmark's jobs, each run in a worker process: pretrain and probe one (arm,
seed); fine-tune one (arm, seed); GraphMAE's probe on given embeddings."""
from __future__ import annotations

import time
from typing import Any

from ..harness.env import hardware, versions
from .config import FEATURES, RANDOM, encoder_path, normalise_features


def run_arm(task: dict[str, Any]) -> dict[str, Any]:
    """Pretrain (unless a random arm) and probe one (arm, seed); keep the pretrained encoder
    in ``<out>/encoders/`` when the task names an ``out``. With a ``selection`` the epoch is
    selected on validation (:class:`graphpfm.eval.ValidationProbe`) and its encoder kept and
    probed; with ``sparse_input`` pretraining multiplies the first layer's input sparsely
    (probing stays dense, so a random arm is probed exactly as before)."""
    import torch
    from torch_geometric import seed_everything

    from graphpfm import (
        TrainConfig,
        Trainer,
        build_encoder,
        build_objective,
        load_dataset,
        save_checkpoint,
    )
    from graphpfm.eval import ProbeConfig, ValidationProbe, probe

    arm, seed = task['arm'], task['seed']
    bundle = normalise_features(load_dataset(task['dataset'], root=task['root'],
                                             progress=False))
    data = bundle.dataset
    method = None if arm.startswith(RANDOM) else task['method']
    arch = dict(task['architecture'])
    name = arch.pop('name')
    seed_everything(seed)
    encoder = build_encoder(name, in_channels=data.num_features, **arch)
    start, cpu = time.perf_counter(), time.process_time()
    history: list[dict[str, Any]] = []
    selector = None
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
        selection = task.get('selection')
        selector = (ValidationProbe(bundle, every=selection['every'], Cs=selection['Cs'],
                                    device=task['device'], seed=seed)
                    if selection else None)
        encoder.sparse_input = task.get('sparse_input') or 0.0
        history = Trainer(objective, cfg, callbacks=[selector] if selector else []).fit(data)
        encoder = objective.encoder
        encoder.sparse_input = 0.0
    pretrain_s = time.perf_counter() - start
    if method is not None and task.get('out'):
        # kept (git-ignored) for the fine-tuning table, GraphMAE's probe and audit
        save_checkpoint(encoder_path(task['out'], arm, seed), encoder,
                        objective={'name': arm, 'kwargs': dict(method['options'])},
                        data={'corpus': bundle.name, 'features': FEATURES},
                        history=history, extra={'protocol_hash': task['hash'],
                                                'arm_hash': task.get('arm_hash'),
                                                **(selector.checkpoint_extra()
                                                   if selector else {})})
    result = probe(bundle, lambda s: encoder, seeds=[seed],
                   config=ProbeConfig(device=task['device']))
    run = result.runs[0]
    threads = torch.get_num_threads()
    return {'arm': arm, 'seed': seed, 'dataset': bundle.name, 'metric': result.metric,
            'epochs': task['epochs'] if method else 0, 'best_C': run['best_C'],
            'best_valid': run['best_valid'], 'test_at_best_valid': run['test_at_best_valid'],
            'scores': run['scores'], 'pretrain_seconds': round(pretrain_s, 2),
            'final_loss': history[-1]['loss'] if history else None,
            'loss_curve': [h['loss'] for h in history][:: max(1, len(history) // 50)],
            'versions': versions(), 'threads': threads, 'hardware': hardware(threads),
            'git_commit': task.get('git_commit'),
            'cpu_s': round(time.process_time() - cpu, 2),
            'protocol_hash': task['hash'], 'arm_hash': task.get('arm_hash'),
            **({'sparse_input': task['sparse_input']} if method and task.get('sparse_input')
               else {}),
            **({'selection': {'best_epoch': selector.best_epoch,
                              'best_valid': selector.best_valid, 'best_C': selector.best_C,
                              'scores': [list(x) for x in selector.scores]}}
               if selector is not None else {})}


def sweep_task(task: dict[str, Any]) -> dict[str, Any]:
    """:func:`run_arm` on one variant of a method; the record carries the variant."""
    return {**run_arm(task), 'variant': task['variant'], 'variant_hash': task['variant_hash'],
            'config': task['method'], 'architecture': task['architecture']}


def finetune_arm(task: dict[str, Any]) -> dict[str, Any]:
    """Fine-tune one (arm, seed): the saved pretrained encoder, or for a ``random-`` arm a
    fresh encoder of that architecture, with a linear head on every node."""
    import torch

    from graphpfm import build_encoder, load_dataset, load_encoder
    from graphpfm.eval import FinetuneConfig, finetune

    arm, seed, recipe = task['arm'], task['seed'], task['recipe']
    bundle = normalise_features(load_dataset(task['dataset'], root=task['root'],
                                             progress=False))
    pretrained = not arm.startswith(RANDOM)
    if pretrained:
        path = task['checkpoint']

        def make(_seed: int) -> Any:
            return load_encoder(path, dropout=recipe['encoder_dropout'])
    else:
        arch = dict(task['architecture'])
        name = arch.pop('name')
        arch['dropout'] = recipe['encoder_dropout']

        def make(_seed: int) -> Any:  # called by finetune right after seeding with the seed
            return build_encoder(name, in_channels=bundle.dataset.num_features, **arch)
    config = FinetuneConfig(epochs=recipe['epochs'], lr=recipe['lr'],
                            encoder_lr=recipe['encoder_lr'],
                            weight_decay=recipe['weight_decay'], dropout=recipe['dropout'],
                            seeds=(seed,), device=task['device'], node_batch_size=0)
    start, cpu = time.perf_counter(), time.process_time()
    result = finetune(bundle, make, config)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    run = result.runs[0]
    threads = torch.get_num_threads()
    return {'arm': arm, 'seed': seed, 'dataset': bundle.name, 'metric': result.metric,
            'pretrained': pretrained, 'checkpoint': task.get('checkpoint'),
            'best_epoch': run['best_epoch'], 'best_valid': run['best_valid'],
            'test_at_best_valid': run['test_at_best_valid'], 'curves': run['curves'],
            'finetune_config': result.config, 'wall_s': round(wall, 2),
            'cpu_s': round(cpu, 2), 'versions': versions(), 'threads': threads,
            'hardware': hardware(threads), 'git_commit': task.get('git_commit'),
            'protocol_hash': task['hash']}


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
