"""``graphpfm embed``, ``graphpfm leakage`` and ``graphpfm list``."""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ..config import config_from, dataclass_options, summary
from ..errors import ConfigError
from ..runs import DataConfig, EmbedConfig
from .options import Command, Group, run_group


def embed(args: argparse.Namespace) -> Path:
    """Write one embedding per input record (input order; invalid ones are NaN rows), or
    per node of a node dataset; beside a ``.npy``, a ``.rows.csv`` of each row's input line,
    validity and reason."""
    from ..runs import embed
    output = Path(args.output)
    table = embed(config_from(EmbedConfig, args), config_from(DataConfig, args),
                  device=args.device, progress=args.progress)
    rows = f"; rows: {output.with_suffix('.rows.csv')}" if output.suffix == '.npy' else ''
    print(f'{len(table.values)} {table.what} -> {output} ({table.values.shape[1]} dims){rows}')
    invalid = table.invalid
    if invalid:
        lines = table.rows['line'].tolist() if 'line' in table.rows else None
        shown = '; '.join(f"{f'line {lines[i]}' if lines else f'record {i}'}: "
                          f"{table.rows['reason'][i]}" for i in invalid[:10])
        print(f'{len(invalid)} invalid record(s) left as NaN rows ({shown}'
              + (' ...' if len(invalid) > 10 else '') + ')')
    return output


@dataclass
class LeakageOptions:
    r"""Which corpus to check against which downstream splits.

    Args:
        corpus (str): the pretraining corpus: ``'embedded'``, ``'moses'``, an OGB dataset
            name or a ``.csv``/``.smi(.gz)`` file of SMILES.
        downstream (list of str): OGB molecule datasets, e.g. ``ogbg-molbbbp,ogbg-moltox21``.
        splits (list of str): the downstream splits to check.
        examples (int): matches shown per dataset.
        workers (int, optional): processes computing InChIKeys; :obj:`None`: all cores for
            large inputs.
    """

    corpus: str
    downstream: Sequence[str]
    splits: Sequence[str] = ('valid', 'test')
    examples: int = 5
    workers: int | None = None


def leakage(args: argparse.Namespace) -> dict[str, Any]:
    """Print how many corpus molecules are in the valid/test splits of downstream datasets."""
    from ..datasets import dataset_smiles, find_overlap, overlap_table
    smiles = dataset_smiles(args.corpus, args.root, args.limit)
    report = find_overlap(smiles, args.downstream, args.root, args.splits,
                          num_workers=args.workers, max_examples=args.examples,
                          progress=args.progress)
    print(f'corpus {args.corpus}: {len(smiles)} molecules; identity = InChIKey (RDKit)')
    print(overlap_table(report, len(smiles)))
    return {'corpus': str(args.corpus), 'num_corpus': len(smiles),
            'overlap': {k: v.to_dict() for k, v in report.items()}}


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
    """Print the registered objectives (with options), encoders and the datasets found, or
    the options of one objective."""
    from ..datasets import available_datasets
    from ..nn import ENCODERS
    from ..objectives import OBJECTIVES, objective_options
    from ..paths import data_root
    from ..pretrained import available_pretrained
    if args.name:
        if args.name not in OBJECTIVES:
            raise ConfigError(f"Unknown objective '{args.name}'. Valid options: "
                              f"{', '.join(OBJECTIVES.names())}")
        print(objective_help(args.name), end='')
        return {'objective': args.name}
    print('objectives (options: graphpfm list NAME):')
    for name in OBJECTIVES.names():
        opts = ', '.join(f'{o.name}={o.default!r}' for o in objective_options(name))
        print(f'  {name:16s} [{OBJECTIVES.get(name).level}] {summary(OBJECTIVES.get(name))}\n'
              f'  {"":16s} options: {opts or "none"}')
    print("  combinations: join names with '+' (e.g. --objective attr_masking+context_pred "
          '--objective-weights 1,0.5): one shared encoder, weighted sum of the losses')
    print('encoders:')
    for name in ENCODERS.names():
        print(f'  {name:16s} {summary(ENCODERS.get(name))}')
    shipped = available_pretrained()
    print('pretrained models (--checkpoint NAME, graphpfm.from_pretrained(NAME)):')
    for name, path in shipped.items():
        print(f'  {name:16s} {path}')
    if not shipped:
        print('  (none shipped)')
    found = available_datasets(args.root)
    print(f'datasets (data root: {data_root(args.root)}):')
    for name, where in found.items():
        print(f"  {name:20s} {where or 'absent'}")
    return {'objectives': OBJECTIVES.names(), 'encoders': ENCODERS.names(), 'datasets': found,
            'pretrained': shipped}


EMBED = Command('embed', 'embed molecules (or nodes) with a pretrained encoder', embed,
                lambda _: [Group('embedding', dataclass_options(EmbedConfig)),
                           Group('data', dataclass_options(
                               DataConfig, ('root', 'limit', 'featurize_workers', 'level'))),
                           run_group(('config', 'device', 'progress', 'verbose'))])
LEAKAGE = Command('leakage', 'count pretraining molecules that are in downstream valid/test '
                  'splits', leakage,
                  lambda _: [Group('leakage', dataclass_options(LeakageOptions)),
                             Group('data', dataclass_options(DataConfig, ('root', 'limit'))),
                             run_group(('config', 'progress', 'verbose'))])
LIST = Command('list', "list objectives, encoders and datasets found, or one objective's "
               'options', list_all,
               lambda _: [Group('data', dataclass_options(DataConfig, ('root',))),
                          run_group(('config', 'verbose'))],
               ('name', 'an objective: show its options'))
