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
        input (str): a ``.csv``/``.smi(.gz)`` file of SMILES or a dataset name (a node
            dataset such as Cora gives one row per node).
        output (str): a ``.npy`` or ``.csv`` file.
        pool (str): graph readout: ``'mean'``, ``'sum'`` or ``'max'``.
        batch_size (int): graphs per batch.
    """

    checkpoint: str
    input: str
    output: str
    pool: str = 'mean'
    batch_size: int = 256


def embed(args: argparse.Namespace) -> Path:
    """Write one embedding per input molecule (input order; invalid ones are NaN rows), or
    per node of a node dataset."""
    import numpy as np
    import pandas as pd

    from ..eval import embed_graphs, embed_nodes
    from ..tasks import resolve_node_batching
    from ..train import load_encoder
    from ..utils import resolve_device

    output = Path(args.output)
    if output.suffix not in ('.npy', '.csv'):
        raise ConfigError(f"--output must end in .npy or .csv, got '{output.name}'")
    device = resolve_device(args.device)
    encoder = load_encoder(args.checkpoint, map_location=device)
    bundle = load(args, args.input)
    check_width(args.checkpoint, bundle)
    if bundle.level == 'node':
        full = embed_nodes(encoder, bundle.dataset, device, resolve_node_batching(
            bundle.dataset, None), progress=args.progress).numpy()
        valid, what = np.ones(len(full), dtype=bool), f'nodes of {bundle.name}'
    else:
        emb = embed_graphs(encoder, bundle.dataset, device, args.batch_size, args.pool)[0]
        store = bundle.dataset
        source = getattr(store, 'source_index', None)
        source = np.arange(len(store)) if source is None else np.asarray(source)
        count = int(getattr(store, 'meta', {}).get('count', len(store)))
        full = np.full((count, emb.shape[1]), np.nan, dtype=np.float32)
        full[source] = emb.numpy()
        valid = np.isin(np.arange(count), source)
        what = f'molecules ({args.pool} pooling)'
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix == '.npy':
        np.save(output, full)
    else:
        df = pd.DataFrame(full, columns=[f'e{i}' for i in range(full.shape[1])])
        if bundle.level != 'node':
            df.insert(0, 'valid', valid)
        df.insert(0, 'node' if bundle.level == 'node' else 'index', np.arange(len(full)))
        df.to_csv(output, index=False)
    print(f'{len(full)} {what} -> {output} ({full.shape[1]} dims)')
    invalid = np.flatnonzero(~valid).tolist()
    if invalid:
        shown = ', '.join(map(str, invalid[:20])) + (' ...' if len(invalid) > 20 else '')
        print(f'{len(invalid)} invalid molecule(s) left as NaN rows, at input positions: {shown}')
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
    from ..objectives import OBJECTIVES
    from ..paths import data_root
    from ..pretrained import available_pretrained
    from .options import objective_options
    if args.name:
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
                               DataOptions, ('root', 'limit', 'featurize_workers'))),
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
