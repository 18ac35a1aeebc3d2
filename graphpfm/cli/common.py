"""Options and helpers that several commands share: data, encoder, run."""
from __future__ import annotations

import argparse
import dataclasses
import inspect
from dataclasses import dataclass
from typing import Any, Sequence

from ..errors import CheckpointError, ConfigError, DataError, GraphpfmError
from .options import Group, dataclass_options


@dataclass
class DataOptions:
    r"""Where the data come from.

    Args:
        dataset (str): a dataset name (``graphpfm list`` shows those found): an OGB molecule
            dataset, ``'embedded'`` (RDKit's 5,000 molecules), ``'embedded-tpsa'``,
            ``'moses'``, a node dataset (``'Cora'``, ``'ogbn-arxiv'``, ...), a
            ``.csv``/``.smi(.gz)`` file of SMILES, or a networkx graph file (node-link
            ``.json(.gz)``, ``.gml``, ``.graphml``).
        root (str, optional): the data root; :obj:`None`: ``$GRAPHPFM_DATA``, else
            ``~/.cache/graphpfm/data``.
        limit (int, optional): only the first ``limit`` molecules of a SMILES corpus.
        featurize_workers (int, optional): processes for SMILES featurisation; :obj:`None`:
            all cores.
        level (str, optional): a graph file's samples: ``'graph'`` (its graphs) or ``'node'``
            (the nodes of its one graph); unset: node for a file of one graph whose nodes have
            float features x, else graph.
        normalize_features (bool): node datasets: row-normalise the node features (PyG's
            ``NormalizeFeatures``, as DGI, GRACE and GraphMAE do on Planetoid); give it to
            pretraining and transfer alike.
    """

    dataset: str = 'embedded'
    root: str | None = None
    limit: int | None = None
    featurize_workers: int | None = None
    level: str | None = None
    normalize_features: bool = False


@dataclass
class EncoderOptions:
    r"""The encoder built from scratch.

    Args:
        encoder (str): a registered encoder (``graphpfm list``).
        num_layers (int): message-passing layers.
        hidden_channels (int): width of every layer.
        dropout (float): dropout inside the encoder.
        jk (str): jumping knowledge (gin: last, sum, concat, max; others: last, cat, max).
        in_channels (int, optional): float input width; :obj:`None`: the feature width of a
            node dataset, OGB atom features for molecules.
        act_last (bool): gcn, sage, gat: normalise and activate the last layer too (the
            encoders of DGI, GRACE, BGRL and GraphMAE do; PyG leaves it linear).
    """

    encoder: str = 'gin'
    num_layers: int = 5
    hidden_channels: int = 300
    dropout: float = 0.0
    jk: str = 'last'
    in_channels: int | None = None
    act_last: bool = False


@dataclass
class RunOptions:
    r"""What every command shares.

    Args:
        out (str): output directory.
        config (str, optional): YAML file of option values (its keys are the option names);
            flags override it.
        device (str): ``'cpu'``, ``'cuda'``, ``'cuda:N'`` or ``'auto'``.
        seed (int): random seed.
        progress (bool, optional): show progress bars; unset: only when standard error (where
            the bars go) is a terminal.
        verbose (bool): debug logging, and tracebacks of errors.
        quiet (bool): no progress bars, and only warnings and errors logged.
        overwrite (bool): replace a finished run in ``out`` (it stays until the new run
            finishes), or discard an unfinished one.
    """

    out: str = 'runs'
    config: str | None = None
    device: str = 'auto'
    seed: int = 0
    progress: bool | None = None
    verbose: bool = False
    quiet: bool = False
    overwrite: bool = False


#: encoder options that fix the architecture (a checkpoint's, when one is given)
ARCHITECTURE = ('encoder', 'num_layers', 'hidden_channels', 'jk', 'in_channels', 'act_last')


def fill_architecture(args: argparse.Namespace, checkpoint: str | None, flag: str,
                      **defaults: Any) -> dict[str, Any]:
    """Fill the unset encoder options of ``args`` (an encoder group parsed with
    ``fill=False``): the architecture from ``checkpoint``, if given, where options given on
    the command line must match it (a :class:`ConfigError` lists those that do not; ``flag``
    names the checkpoint's option), the rest from ``defaults`` over
    :class:`EncoderOptions`'s. Returns the checkpoint (``{}`` without one)."""
    from ..train import load_checkpoint
    ckpt = load_checkpoint(checkpoint) if checkpoint else {}
    spec = ckpt.get('encoder', {})
    found = {'encoder': spec.get('name'), 'act_last': False, **spec.get('kwargs', {})}
    conflicts = []
    for f in dataclasses.fields(EncoderOptions):
        value = getattr(args, f.name)
        if not checkpoint or f.name not in ARCHITECTURE:
            setattr(args, f.name, defaults.get(f.name, f.default) if value is None else value)
        elif value is None:
            setattr(args, f.name, found.get(f.name))
        elif value != found.get(f.name, value):
            conflicts.append(f"--{f.name.replace('_', '-')} {value} (checkpoint: "
                             f'{found[f.name]!r})')
    if conflicts:
        raise ConfigError(f'the architecture comes from the {flag} checkpoint {checkpoint}; '
                          f"conflicting options: {'; '.join(conflicts)}. Drop them or match the "
                          'checkpoint')
    from ..nn import ENCODERS
    if args.encoder not in ENCODERS:
        raise ConfigError(f"Unknown encoder '{args.encoder}'. Valid options: "
                          f"{', '.join(ENCODERS.names())}")
    return ckpt


def run_group(names: Sequence[str], **defaults: Any) -> Group:
    """The run options ``names`` (and ``quiet`` beside ``verbose``), with new ``defaults``."""
    names = [*names, 'quiet'] if 'verbose' in names and 'quiet' not in names else names
    return Group('run', dataclass_options(RunOptions, names, **defaults))


def load(args: argparse.Namespace, name: str | None = None, targets: Sequence[str] = ()) -> Any:
    """The dataset of the data options (``name`` instead of ``--dataset``, if given)."""
    from ..datasets import GRAPH_FILE_SUFFIXES, is_graph_file, load_dataset
    level = getattr(args, 'level', None)
    if level is not None and not is_graph_file(name or args.dataset):
        raise ConfigError(f"--level is for graph files ({', '.join(GRAPH_FILE_SUFFIXES)}), "
                          f"not for '{name or args.dataset}'")
    bundle = load_dataset(name or args.dataset, root=args.root, limit=args.limit,
                          num_workers=args.featurize_workers, progress=args.progress,
                          targets=targets, level=level)
    return normalize_features(bundle) if getattr(args, 'normalize_features', False) else bundle


def normalize_features(bundle: Any) -> Any:
    """A copy of a node-level bundle with row-normalised features (the input untouched)."""
    from torch_geometric.transforms import NormalizeFeatures
    if bundle.level != 'node' or not bundle.dataset.x.is_floating_point():
        raise ConfigError(f"--normalize-features is for node datasets with float features; "
                         f"'{bundle.name}' has none")
    meta = {**bundle.meta, 'features': 'row-normalised'}
    return dataclasses.replace(bundle, dataset=NormalizeFeatures()(bundle.dataset.clone()),
                               meta=meta)


def feature_width(bundle: Any) -> int | None:
    """The float node feature width of a dataset (:obj:`None` for OGB atom features)."""
    import torch
    x = getattr(bundle.dataset, 'x', None)
    if bundle.level != 'node':
        return int(x.size(1)) if isinstance(x, torch.Tensor) and x.is_floating_point() \
            and x.dim() == 2 else None
    if x is None or not x.is_floating_point() or x.dim() != 2:
        raise DataError(f"node dataset '{bundle.name}' has no float node features "
                         '[num_nodes, F] for a float-input encoder')
    return int(x.size(1))


def _takers(name: str) -> list[str]:
    from ..nn import ENCODERS
    return [n for n in ENCODERS.names()
            if name in inspect.signature(ENCODERS.get(n).__init__).parameters]


def build_encoder(args: argparse.Namespace, bundle: Any, **overrides: Any) -> Any:
    """The encoder of the encoder options, taking the node features of ``bundle``."""
    from ..nn import build_encoder
    kwargs = {'num_layers': args.num_layers, 'hidden_channels': args.hidden_channels,
              'dropout': args.dropout, 'jk': args.jk, **overrides}
    if args.act_last:
        if args.encoder not in _takers('act_last'):
            raise ConfigError(f"--act-last is an option of the {', '.join(_takers('act_last'))}"
                             f" encoders, not of '{args.encoder}'")
        kwargs['act_last'] = True
    width = feature_width(bundle)
    if width is not None:
        if args.in_channels is not None and args.in_channels != width:
            raise ConfigError(f"--in-channels {args.in_channels} does not match the {width} "
                             f"node features of '{bundle.name}'; leave it unset")
        if args.encoder not in _takers('in_channels'):
            raise ConfigError(f"encoder '{args.encoder}' has no float input (in_channels), which "
                             f"the float node features of '{bundle.name}' need; valid options: "
                             f"{', '.join(_takers('in_channels'))}")
        kwargs['in_channels'] = width
    elif args.in_channels is not None:
        kwargs['in_channels'] = args.in_channels
    try:
        return build_encoder(args.encoder, **kwargs)
    except ValueError as err:  # an option out of range: the encoder says which
        if isinstance(err, GraphpfmError):
            raise
        raise ConfigError(f"encoder '{args.encoder}': {err}") from None


def check_width(path: str, bundle: Any) -> dict[str, Any]:
    """The encoder spec of checkpoint ``path``, checked to take the node features of
    ``bundle``."""
    from ..train import load_checkpoint
    spec = load_checkpoint(path)['encoder']
    width, given = feature_width(bundle), spec['kwargs'].get('in_channels')
    if given != width:
        def what(n: int | None) -> str:
            return 'OGB atom features' if n is None else f'{n} float features'
        raise CheckpointError(f"the encoder of {path} takes {what(given)}, but '{bundle.name}' "
                              f'has {what(width)}')
    return spec
