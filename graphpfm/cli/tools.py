"""``graphpfm embed``, ``graphpfm leakage`` and ``graphpfm list``."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..config import config_from, dataclass_options
from ..errors import ConfigError
from ..runs import DataConfig, EmbedConfig, LeakageConfig
from .options import Command, Group, run_group


def embed(args: argparse.Namespace) -> Path:
    """Write one embedding per input record (input order; invalid ones are NaN rows), or
    per node of a node dataset."""
    from ..runs import embed
    table = embed(config_from(EmbedConfig, args), config_from(DataConfig, args),
                  device=args.device, progress=args.progress)
    print(table.summary(args.output))
    return Path(args.output)


def leakage(args: argparse.Namespace) -> dict[str, Any]:
    """Print how many corpus molecules are in the valid/test splits of downstream datasets."""
    from ..runs import leakage
    report = leakage(config_from(LeakageConfig, args), config_from(DataConfig, args),
                     progress=args.progress)
    print(report.summary())
    return report.to_dict()


def objective_help(name: str) -> str:
    """The options of objective ``name`` as ``graphpfm pretrain --objective NAME --help``
    shows them."""
    from ..objectives import OBJECTIVES
    from .pretrain import groups
    parser = argparse.ArgumentParser(usage=argparse.SUPPRESS, add_help=False,
                                     description=f'{name} [{OBJECTIVES.get(name).level}]')
    next(g for g in groups(name) if g.title == f'options of {name}').add_to(parser)
    return parser.format_help()


def list_all(args: argparse.Namespace) -> dict[str, Any]:
    """Print the registered objectives (with options), encoders, shipped models and the
    datasets found, or the options of one objective."""
    from ..objectives import OBJECTIVES
    from ..runs import catalogue
    if args.name:
        if args.name not in OBJECTIVES:
            raise ConfigError(f"Unknown objective '{args.name}'. Valid options: "
                              f"{', '.join(OBJECTIVES.names())}")
        print(objective_help(args.name), end='')
        return {'objective': args.name}
    found = catalogue(args.root)
    print(found.summary())
    return found.to_dict()


EMBED = Command('embed', 'embed molecules (or nodes) with a pretrained encoder', embed,
                lambda _: [Group('embedding', dataclass_options(EmbedConfig)),
                           Group('data', dataclass_options(
                               DataConfig, ('root', 'limit', 'featurize_workers', 'level'))),
                           run_group(('config', 'device', 'progress', 'verbose'))])
LEAKAGE = Command('leakage', 'count pretraining molecules that are in downstream valid/test '
                  'splits', leakage,
                  lambda _: [Group('leakage', dataclass_options(LeakageConfig)),
                             Group('data', dataclass_options(DataConfig, ('root', 'limit'))),
                             run_group(('config', 'progress', 'verbose'))])
LIST = Command('list', "list objectives, encoders and datasets found, or one objective's "
               'options', list_all,
               lambda _: [Group('data', dataclass_options(DataConfig, ('root',))),
                          run_group(('config', 'verbose'))],
               ('name', 'an objective: show its options'))
