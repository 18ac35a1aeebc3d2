"""``graphpfm pretrain``: pretrain an encoder with one objective or a ``+`` combination."""
from __future__ import annotations

import argparse
import logging
import math
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Sequence

from ..errors import ConfigError, DataError, GraphpfmError
from .common import (
    DataOptions,
    EncoderOptions,
    RunOptions,
    build_encoder,
    check_width,
    fill_architecture,
    load,
    run_group,
)
from .options import Command, Group, Option, dataclass_options, objective_options, summary

log = logging.getLogger('graphpfm')


@dataclass
class PretrainOptions:
    r"""What to pretrain, and from where.

    Args:
        objective (str): a registered objective, or several joined with ``+`` (e.g.
            ``attr_masking+edge_pred``: one shared encoder, weighted sum of the losses).
        objective_weights (list of float, optional): the loss weights of a ``+``
            combination; :obj:`None`: all 1.
        init (str, optional): initialise the encoder from this checkpoint file or shipped
            pretrained model (two-stage pretraining): the architecture is the checkpoint's,
            and the new checkpoint records the chain of stages.
        exclude (list of str, optional): leakage control: drop the corpus molecules (same
            InChIKey) that are in the ``exclude_splits`` of these OGB datasets, e.g.
            ``ogbg-molbbbp,ogbg-moltox21``.
        exclude_splits (list of str): the downstream splits that ``exclude`` protects.
        resume (bool): continue the unfinished run of ``--out`` from its saved training state
            (bit-identical to an uninterrupted run); without one, start it.
        validate_every (int): labelled node datasets: every this many epochs (and after the
            last), probe the encoder on the validation split (a linear probe fitted on the
            training nodes; test labels never read) and keep the best epoch's encoder in
            the checkpoint (ValidationProbe); 0: the last epoch's encoder.
    """

    objective: str = 'attr_masking'
    objective_weights: Sequence[float] | None = None
    init: str | None = None
    exclude: Sequence[str] | None = None
    exclude_splits: Sequence[str] = ('valid', 'test')
    resume: bool = False
    validate_every: int = 0


def all_objective_options() -> dict[str, dict[str, Option]]:
    """``{option name: {objective name: Option}}`` over the registered objectives (but for
    options named like one of the command's own)."""
    from ..objectives import OBJECTIVES
    from ..train import TrainConfig
    reserved = {f.name for c in (DataOptions, EncoderOptions, PretrainOptions, RunOptions,
                                 TrainConfig) for f in fields(c)}
    out: dict[str, dict[str, Option]] = {}
    for name in OBJECTIVES.names():
        for o in objective_options(name):
            if o.name not in reserved:
                out.setdefault(o.name, {})[name] = o
    return out


def groups(objective: str | None) -> list[Group]:
    """The options of ``graphpfm pretrain``; those of ``objective`` (its parts, for a ``+``
    combination) are shown, the other objectives' are parsed but hidden."""
    from ..objectives import OBJECTIVES
    from ..train import TrainConfig
    options, shown = all_objective_options(), []
    for part in [p for p in (objective or '').split('+') if p in OBJECTIVES]:
        mine = [per[part] for per in options.values() if part in per]
        shown.append(Group(f'options of {part}', mine, summary(OBJECTIVES.get(part)), False))
        options = {k: v for k, v in options.items() if part not in v}  # each shown once
    how = ('each objective has its own options: graphpfm pretrain --objective NAME --help, or '
           f"graphpfm list NAME; objectives: {', '.join(OBJECTIVES.names())}")
    hidden = [next(iter(per.values())) for per in options.values()]
    return [Group('data', dataclass_options(DataOptions)),
            Group('objective', dataclass_options(PretrainOptions), None if shown else how),
            *shown, Group(None, hidden, fill=False),
            Group("encoder (default: the --init checkpoint's architecture, if given)",
                  dataclass_options(EncoderOptions), fill=False),
            Group('training', dataclass_options(TrainConfig, progress=None)),
            run_group(('out', 'overwrite', 'config', 'verbose'), out='runs/pretrain')]


def objective_kwargs(args: argparse.Namespace, objective: str) -> dict[str, Any]:
    """The objective's keyword arguments from the options given. For a ``+`` combination every
    option goes to each part that takes it, giving ``{'weights', 'options': {part: {...}}}``."""
    options, parts = all_objective_options(), objective.split('+')
    per_part: dict[str, dict[str, Any]] = {part: {} for part in parts}
    for name, per in options.items():
        if getattr(args, name, None) is None:
            continue
        if not any(part in per for part in parts):
            valid = sorted(o for o, p in options.items() if any(part in p for part in parts))
            raise ConfigError(f"option --{name.replace('_', '-')} does not apply to objective "
                             f"'{objective}'; its options: {', '.join(valid) or 'none'}")
        for part in parts:
            per_part[part].update({name: getattr(args, name)} if part in per else {})
    weights = args.objective_weights
    if len(parts) == 1 and weights is not None:
        raise ConfigError('--objective-weights applies to a combination of objectives '
                         f"(e.g. {objective}+edge_pred), not to '{objective}' alone")
    if len(parts) == 1:
        return per_part[objective]
    kwargs: dict[str, Any] = {'options': {k: v for k, v in per_part.items() if v}}
    return kwargs if weights is None else {**kwargs, 'weights': weights}


def _architecture(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Fill the unset encoder options (:func:`fill_architecture`, from the ``--init``
    checkpoint if given); return the checkpoint's chain of earlier stages."""
    ckpt = fill_architecture(args, args.init, '--init')
    if not args.init:
        return []
    previous = ckpt.get('objective') or {}
    stage = {'objective': {'name': previous.get('name'), 'kwargs': previous.get('kwargs', {})},
             'data': ckpt.get('data', {}), 'path': str(Path(args.init).resolve())}
    return [*previous.get('chain', []), stage]


def _exclude(args: argparse.Namespace, bundle: Any) -> Any:
    """Leakage control: drop corpus molecules found in downstream valid/test splits."""
    from ..datasets import exclude_overlap
    if bundle.level == 'node':
        raise ConfigError(f"--exclude (molecule leakage control) does not apply to the "
                         f"node-level dataset '{bundle.name}'")
    before = len(bundle.dataset)
    bundle = exclude_overlap(bundle, args.exclude, args.root, args.exclude_splits,
                             num_workers=args.featurize_workers, progress=args.progress)
    info = bundle.meta['leakage']
    per = ', '.join(f'{k}: {v}' for k, v in info['per_dataset'].items())
    print(f"leakage control: removed {info['removed']} of {before} molecules of {bundle.name} "
          f"found in the {'/'.join(info['splits'])} split(s) of {', '.join(info['downstream'])} "
          f'({per})')
    return bundle


def _num_steps(bundle: Any, cfg: Any) -> int:
    """The optimizer steps of the run."""
    from ..tasks import resolve_node_batching
    if bundle.level == 'node':
        size = resolve_node_batching(bundle.dataset, cfg.node_batch_size)
        return cfg.epochs * (1 if size == 0 else math.ceil(int(bundle.dataset.num_nodes) / size))
    return cfg.epochs * math.ceil(len(bundle.dataset) / cfg.batch_size)


def _check_objective(name: str) -> None:
    """Refuse an unknown objective (or part of a ``+`` combination)."""
    from ..objectives import OBJECTIVES
    unknown = [part for part in name.split('+') if part not in OBJECTIVES]
    if unknown:
        raise ConfigError(f"Unknown objective '{unknown[0]}'. Valid options: "
                          f"{', '.join(OBJECTIVES.names())}; or several joined with '+'")


def _nothing_to_learn(name: str, bundle: Any) -> str:
    """Why a dataset of graphs holds none: no records, or every record invalid (the first
    one's line and reason)."""
    meta = getattr(bundle.dataset, 'meta', None) or {}
    examples = meta.get('invalid_examples') or []
    if not meta.get('count') or not examples:
        return f"'{name}' holds no molecule or graph to pretrain on"
    first = examples[0]
    where = f"line {first['line']}" if 'line' in first else f"record {first['index']}"
    return (f"'{name}' holds no valid molecule: all {meta['count']} records are invalid "
            f"(first: {where}, {first['smiles']!r}: {first['reason']})")


def pretrain(args: argparse.Namespace) -> Path:
    """Pretrain an encoder; returns the checkpoint path."""
    from ..paths import staged_directory

    _check_objective(args.objective)
    out = Path(args.out)
    if int(os.environ.get('WORLD_SIZE', '1')) > 1:  # torchrun: every rank writes to --out
        out.mkdir(parents=True, exist_ok=True)
        last, trainer, what, node_level = _pretrain(args, out)
    else:
        with staged_directory(out, overwrite=args.overwrite, resume=args.resume) as staging:
            last, trainer, what, node_level = _pretrain(args, staging)
    if trainer.rank != 0:  # under torchrun, rank 0 reports (and alone wrote the files)
        return out / 'checkpoint.pt'
    unit = 'nodes' if node_level else 'graphs'
    batching = '' if not node_level else (
        ', full batch' if trainer.node_batch_size == 0 else
        f', mini-batches of {trainer.node_batch_size} seed nodes')
    print(f"pretrained {args.objective} on {args.dataset} ({what}{batching}): "
          f"final loss {last['loss']:.4f}, {last[f'{unit}_per_s']:.0f} {unit}/s")
    for cb in trainer.callbacks:
        if hasattr(cb, 'best_epoch') and cb.best_epoch is not None:
            print(f'selected on validation: epoch {cb.best_epoch} of {args.epochs} (valid '
                  f'{cb.evaluator.metric} {cb.best_valid:.4f} by a linear probe); the checkpoint '
                  'holds its encoder')
    print(f'checkpoint: {out / "checkpoint.pt"}\nlog: {out / "train_log.jsonl"}')
    return out / 'checkpoint.pt'


def _selection(args: argparse.Namespace, bundle: Any) -> list[Any]:
    """The validation-selection callback of ``--validate-every``, if given."""
    if not args.validate_every:
        return []
    if args.validate_every < 0:
        raise ConfigError(f'--validate-every must be >= 0, got {args.validate_every}')
    if bundle.level != 'node' or not bundle.labelled or not bundle.split_idx:
        raise ConfigError(f"--validate-every selects on a labelled node dataset's validation "
                          f"split; '{bundle.name}' is a {bundle.level}-level dataset"
                          f"{'' if bundle.labelled else ' without labels'}")
    from ..eval import ValidationProbe
    return [ValidationProbe(bundle, every=args.validate_every)]


def _pretrain(args: argparse.Namespace, out: Path) -> tuple[dict[str, Any], Any, str, bool]:
    from ..config import namespace_to_dict, write_yaml
    from ..objectives import build_objective, data_kwargs, required_targets
    from ..train import TrainConfig, Trainer, load_encoder
    from ..utils import seed_everything
    from .options import config_from

    chain = _architecture(args)
    kwargs = objective_kwargs(args, args.objective)
    cfg = config_from(TrainConfig, args)
    targets = required_targets(args.objective)
    try:
        bundle = load(args, targets=targets)
    except ValueError as exc:
        if not targets:
            raise
        raise DataError(f"objective '{args.objective}': {exc}") from None
    if bundle.level != 'node' and len(bundle.dataset) == 0:
        raise DataError(_nothing_to_learn(args.dataset, bundle))
    if args.exclude:
        bundle = _exclude(args, bundle)
    seed_everything(args.seed)
    if args.init:
        check_width(args.init, bundle)
        encoder = load_encoder(args.init, dropout=args.dropout)
        log.info('encoder initialised from %s (%s)', args.init, encoder)
    else:
        encoder = build_encoder(args, bundle)
        args.in_channels = encoder.kwargs.get('in_channels')
    kwargs = data_kwargs(args.objective, kwargs, bundle, _num_steps(bundle, cfg))
    try:
        objective = build_objective(args.objective, encoder, **kwargs)
    except ValueError as err:  # an option out of range, or an encoder it cannot use
        if isinstance(err, GraphpfmError):
            raise
        raise ConfigError(f"objective '{args.objective}': {err}") from None
    objective.chain = chain
    run_config = namespace_to_dict(args)
    write_yaml(out / 'config.yaml', run_config)
    node_level = bundle.level == 'node'
    size = ({'num_nodes': int(bundle.dataset.num_nodes),
             'num_edges': int(bundle.dataset.num_edges), 'level': 'node'} if node_level
            else {'num_graphs': len(bundle.dataset)})
    provenance = {'corpus': bundle.name, **size,
                  **{k: v for k, v in bundle.meta.items()
                     if isinstance(v, (str, int, float, bool)) or v is None}}
    if 'leakage' in bundle.meta:
        provenance['leakage'] = bundle.meta['leakage']
    trainer = Trainer(objective, cfg, log_path=out / 'train_log.jsonl',
                      checkpoint_path=out / 'checkpoint.pt', provenance=provenance,
                      run_config=run_config, callbacks=_selection(args, bundle))
    what = (f"{size['num_nodes']} nodes, {size['num_edges']} edges" if node_level
            else f"{size['num_graphs']} graphs")
    log.info('pretraining %s with %s on %s (%s), %d epochs', args.encoder, args.objective,
             bundle.name, what, args.epochs)
    last = trainer.fit(bundle.dataset, resume=args.resume)[-1]
    return last, trainer, what, node_level


PRETRAIN = Command('pretrain', 'pretrain an encoder with a self-supervised objective', pretrain,
                   groups)
