"""``graphpfm embed``, ``graphpfm leakage`` and ``graphpfm list``."""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ..errors import ConfigError
from .common import DataOptions, check_width, load, run_group
from .options import Command, Group, dataclass_options, summary


@dataclass
class EmbedOptions:
    r"""What to embed, and where to.

    Args:
        checkpoint (str): a pretrained checkpoint file or shipped pretrained model.
        input (str): a ``.csv``/``.smi(.gz)`` file of SMILES, a networkx graph file
            (node-link ``.json(.gz)``, ``.gml``, ``.graphml``; ``--level`` says whether its
            graphs or its nodes are the rows) or a dataset name (a node dataset such as Cora
            gives one row per node).
        output (str): a ``.npy`` (rows described in a ``.rows.csv`` beside it: index, input
            line, validity, reason), ``.csv`` or ``.parquet`` file (those columns first).
        pool (str): graph readout: ``'mean'``, ``'sum'`` or ``'max'``.
        batch_size (int): graphs per batch.
    """

    checkpoint: str
    input: str
    output: str
    pool: str = 'mean'
    batch_size: int = 256


OUTPUT_SUFFIXES = ('.npy', '.csv', '.parquet')


def embed(args: argparse.Namespace) -> Path:
    """Write one embedding per input record (input order; invalid ones are NaN rows), or
    per node of a node dataset; beside a ``.npy``, a ``.rows.csv`` of each row's input line,
    validity and reason."""
    import logging

    import numpy as np
    import pandas as pd

    from ..datasets.smiles import _invalid_reason, _text_problem, is_smiles_file, read_smiles_file
    from ..eval import embed_graphs, embed_nodes
    from ..nn.heads import POOLS
    from ..tasks import resolve_node_batching
    from ..train import load_encoder
    from ..utils import resolve_device

    output = Path(args.output)
    if output.is_dir():
        raise ConfigError(f'--output {output} is a folder; name a file ending in '
                          f"{', '.join(OUTPUT_SUFFIXES)}")
    if output.suffix not in OUTPUT_SUFFIXES:
        raise ConfigError(f"--output must end in {', '.join(OUTPUT_SUFFIXES)}, got "
                          f"'{output.name}'")
    if output.suffix == '.parquet':
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ConfigError('--output .parquet needs pyarrow (pip install pyarrow); or write '
                              '.npy or .csv') from None
    if args.pool not in POOLS:
        raise ConfigError(f"--pool '{args.pool}' invalid; valid options: {', '.join(POOLS)}")
    if args.batch_size < 1:
        raise ConfigError(f'--batch-size must be >= 1, got {args.batch_size}')
    _check_writable(output)
    device = resolve_device(args.device)
    encoder = load_encoder(args.checkpoint, map_location=device)
    bundle = load(args, args.input)
    check_width(args.checkpoint, bundle)
    lines = reasons = None
    if bundle.level == 'node':
        full = embed_nodes(encoder, bundle.dataset, device, resolve_node_batching(
            bundle.dataset, None), progress=args.progress).numpy()
        valid, what = np.ones(len(full), dtype=bool), f'nodes of {bundle.name}'
    else:
        store = bundle.dataset
        source = getattr(store, 'source_index', None)
        source = np.arange(len(store)) if source is None else np.asarray(source)
        count = int(getattr(store, 'meta', {}).get('count', len(store)))
        width = int(encoder.out_channels)
        full = np.full((count, width), np.nan, dtype=np.float32)
        if len(store):
            full[source] = embed_graphs(encoder, store, device, args.batch_size,
                                        args.pool)[0].numpy()
        else:
            logging.getLogger('graphpfm').warning('no valid molecule in %s: every row is NaN',
                                                  args.input)
        valid = np.isin(np.arange(count), source)
        what = f'molecules ({args.pool} pooling)'
        reasons = [''] * count
        known = dict(getattr(store, 'invalid', []) or [])
        smiles = None
        if is_smiles_file(args.input):
            smiles, numbers = read_smiles_file(args.input, args.limit)
            lines = numbers.tolist() if len(numbers) == count else None
        for i in np.flatnonzero(~valid).tolist():
            reasons[i] = known.get(i) or (
                (_text_problem(smiles[i], len(smiles[i]) if isinstance(smiles[i], str) else 0)
                 or _invalid_reason(smiles[i])) if smiles is not None and i < len(smiles)
                else 'invalid')
    output.parent.mkdir(parents=True, exist_ok=True)
    index = 'node' if bundle.level == 'node' else 'index'
    rows = pd.DataFrame({index: np.arange(len(full))})
    if lines is not None:
        rows['line'] = lines
    if bundle.level != 'node':
        rows['valid'] = valid
        rows['reason'] = reasons
    if output.suffix == '.npy':
        np.save(output, full)
        rows.to_csv(output.with_suffix('.rows.csv'), index=False)
    else:
        table = pd.concat([rows, pd.DataFrame(full, columns=[f'e{i}' for i in
                                                             range(full.shape[1])])], axis=1)
        if output.suffix == '.csv':
            table.to_csv(output, index=False)
        else:
            table.to_parquet(output, index=False)
    print(f'{len(full)} {what} -> {output} ({full.shape[1]} dims)'
          + (f"; rows: {output.with_suffix('.rows.csv')}" if output.suffix == '.npy' else ''))
    invalid = np.flatnonzero(~valid).tolist()
    if invalid:
        where = [f'line {lines[i]}' if lines is not None else f'record {i}' for i in invalid]
        shown = '; '.join(f'{w}: {reasons[i]}' for w, i in zip(where[:10], invalid[:10]))
        print(f'{len(invalid)} invalid record(s) left as NaN rows ({shown}'
              + (' ...' if len(invalid) > 10 else '') + ')')
    return output


def _check_writable(output: Path) -> None:
    """Fail before any work when ``output`` cannot be written."""
    import os
    folder = output.parent if str(output.parent) else Path('.')
    probe = folder / f'.{output.name}.write-test.{os.getpid()}'
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b'')
        probe.unlink()
    except OSError as err:
        existing = next((p for p in (folder, *folder.parents) if p.exists()), folder)
        why = (f'{existing} is a file, not a folder' if existing.exists() and
               not existing.is_dir() else err.strerror or err)
        raise ConfigError(f'cannot write --output {output} ({why})') from None


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
    from ..objectives import OBJECTIVES
    from ..paths import data_root
    from ..pretrained import available_pretrained
    from .options import objective_options
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
                lambda _: [Group('embedding', dataclass_options(EmbedOptions)),
                           Group('data', dataclass_options(
                               DataOptions, ('root', 'limit', 'featurize_workers', 'level'))),
                           run_group(('config', 'device', 'progress', 'verbose'))])
LEAKAGE = Command('leakage', 'count pretraining molecules that are in downstream valid/test '
                  'splits', leakage,
                  lambda _: [Group('leakage', dataclass_options(LeakageOptions)),
                             Group('data', dataclass_options(DataOptions, ('root', 'limit'))),
                             run_group(('config', 'progress', 'verbose'))])
LIST = Command('list', "list objectives, encoders and datasets found, or one objective's "
               'options', list_all,
               lambda _: [Group('data', dataclass_options(DataOptions, ('root',))),
                          run_group(('config', 'verbose'))],
               ('name', 'an objective: show its options'))
