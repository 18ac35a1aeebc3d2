"""``graphpfm pretrain``: pretrain an encoder with one objective or a ``+`` combination."""
from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path
from typing import Any

from ..config import Option, config_from, dataclass_options, summary
from ..objectives import objective_options
from ..runs import DataConfig, EncoderConfig, PretrainConfig
from .options import Command, Group, RunOptions, run_group


def all_objective_options() -> dict[str, dict[str, Option]]:
    """``{option name: {objective name: Option}}`` over the registered objectives (but for
    options named like one of the command's own)."""
    from ..objectives import OBJECTIVES
    from ..train import TrainConfig
    reserved = {f.name for c in (DataConfig, EncoderConfig, PretrainConfig, RunOptions,
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
    return [Group('data', dataclass_options(DataConfig)),
            Group('objective', dataclass_options(PretrainConfig), None if shown else how),
            *shown, Group(None, hidden, fill=False),
            Group("encoder (default: the --init checkpoint's architecture, if given)",
                  dataclass_options(EncoderConfig), fill=False),
            Group('training', dataclass_options(TrainConfig, progress=None)),
            run_group(('out', 'overwrite', 'config', 'verbose'), out='runs/pretrain')]


def objective_kwargs(args: argparse.Namespace, objective: str) -> dict[str, Any]:
    """The objective's keyword arguments from the options given
    (:func:`~graphpfm.objectives.route_options`)."""
    from ..objectives import route_options
    values = {name: getattr(args, name) for name in all_objective_options()
              if getattr(args, name, None) is not None}
    return route_options(objective, values, args.objective_weights)


def pretrain(args: argparse.Namespace) -> Path:
    """Pretrain an encoder; returns the checkpoint path."""
    from ..config import namespace_to_dict
    from ..runs import check_objective, pretrain
    from ..train import TrainConfig
    check_objective(args.objective)
    run = pretrain(args.out, config_from(DataConfig, args), config_from(EncoderConfig, args),
                   config_from(PretrainConfig, args), config_from(TrainConfig, args),
                   objective_kwargs=objective_kwargs(args, args.objective),
                   overwrite=args.overwrite, run_config=namespace_to_dict(args))
    if run.trainer.rank != 0:  # under torchrun, rank 0 reports (and alone wrote the files)
        return run.checkpoint
    print(run.summary())
    return run.checkpoint


PRETRAIN = Command('pretrain', 'pretrain an encoder with a self-supervised objective', pretrain,
                   groups)
