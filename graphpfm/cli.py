"""The ``graphpfm`` command line: pretrain, finetune, probe, embed, leakage, list, quickstart.

Every subcommand accepts ``--config file.yaml``; flags given on the command line override the
file, which overrides the defaults shown by ``--help``.
"""
from __future__ import annotations

import argparse
import inspect
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any, Sequence

log = logging.getLogger('graphpfm')

_PLAIN_TYPES = (bool, int, float, str)


# ----------------------------------------------------------------------------- helpers
def plain_text(rst: str) -> str:
    """reST markup as plain text: links keep their title, roles (``:class:`~a.B```,
    ``:math:`x```) their text (the last dotted part after ``~``), literals lose their
    backquotes, bold and emphasis their stars."""
    import re
    text = re.sub(r'`"?([^`<]*?)"?\s*<[^>]+>`_', r'"\1"', rst)
    text = re.sub(r':[a-z]+:`~?([^`]*?)`', lambda m: m.group(1).rsplit('.', 1)[-1]
                  if m.group(0).split('`')[1].startswith('~') else m.group(1), text)
    text = re.sub(r'``([^`]*)``', r'\1', text)
    text = re.sub(r'\*\*([^*]+)\*\*|\*([^*]+)\*', lambda m: m.group(1) or m.group(2), text)
    return re.sub(r'\s+', ' ', text).strip()


def _summary(obj: Any) -> str:
    """The first sentence of a docstring, as plain text on one line (a sentence ends at a
    full stop or colon outside quotes)."""
    text = plain_text((inspect.getdoc(obj) or '').split('\n\n')[0])
    quoted = False
    for i, c in enumerate(text):
        quoted ^= c == '"'
        if not quoted and c in '.:' and (i + 1 == len(text) or text[i + 1] == ' '):
            return text[:i] + '.'
    return text


def _objective_options() -> dict[str, dict[str, Any]]:
    """``{option: {objective name: default}}`` from every registered objective's signature."""
    from .objectives import OBJECTIVES
    options: dict[str, dict[str, Any]] = {}
    for name in OBJECTIVES.names():
        sig = inspect.signature(OBJECTIVES.get(name).__init__)
        for p in list(sig.parameters.values())[2:]:  # skip self, encoder
            if p.default is inspect.Parameter.empty or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                continue
            options.setdefault(p.name, {})[name] = p.default
    return options


def _objective_option_types() -> dict[str, type]:
    """``{option: int or float}`` for options whose default is :obj:`None` but whose annotation
    names a number (e.g. ``total_steps: int | None = None``)."""
    import re

    from .objectives import OBJECTIVES
    types: dict[str, type] = {}
    for name in OBJECTIVES.names():
        sig = inspect.signature(OBJECTIVES.get(name).__init__)
        for p in list(sig.parameters.values())[2:]:
            if p.default is not None:
                continue
            text = p.annotation if isinstance(p.annotation, str) else str(p.annotation)
            for typ in (int, float):
                if re.search(rf'\b{typ.__name__}\b', text):
                    types.setdefault(p.name, typ)
                    break
    return types


def _add_objective_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        'objective options (only those the chosen objective takes apply; default: the '
        "objective's own, listed per objective)")
    none_types = _objective_option_types()
    for opt, per_obj in sorted(_objective_options().items()):
        defaults = ', '.join(f'{k}: {v!r}' for k, v in per_obj.items())
        sample = next(iter(per_obj.values()))
        flag = '--' + opt.replace('_', '-')
        if isinstance(sample, bool):
            group.add_argument(flag, dest=opt, action=argparse.BooleanOptionalAction,
                               default=None, help=f'({defaults})')
        else:
            typ = (type(sample) if isinstance(sample, _PLAIN_TYPES) and sample is not None
                   else none_types.get(opt, str))
            group.add_argument(flag, dest=opt, type=typ, default=None, help=f'({defaults})')


def _objective_name(value: str) -> str:
    """``--objective``: a registered name, or several joined with ``+``."""
    from .objectives import OBJECTIVES
    for part in value.split('+'):
        if part not in OBJECTIVES:
            raise argparse.ArgumentTypeError(
                f"unknown objective '{part}'; valid options: {', '.join(OBJECTIVES.names())} "
                "(join several with '+', e.g. attr_masking+edge_pred)")
    return value


def _comma_list(value: Any, kind: type) -> list[Any]:
    """``'1,2'`` or ``[1, 2]`` -> ``[kind(1), kind(2)]``; raises :class:`ValueError`."""
    items = value if isinstance(value, (list, tuple)) else str(value).split(',')
    return [kind(v) for v in items if str(v).strip()]


def _parse_weights(value: Any) -> list[float] | None:
    """``'1,0.5'`` or ``[1, 0.5]`` -> ``[1.0, 0.5]``; :obj:`None` stays :obj:`None`."""
    if value is None:
        return None
    try:
        return _comma_list(value, float)
    except ValueError:
        raise SystemExit(f'error: --objective-weights must be numbers separated by commas, '
                         f'got {value!r}') from None


def _objective_kwargs(args: argparse.Namespace, objective: str) -> dict[str, Any]:
    """The objective's keyword arguments from the flags given. For a ``+`` combination every
    option goes to each part that takes it, giving ``{'weights', 'options': {part: {...}}}``."""
    options = _objective_options()
    parts = objective.split('+')
    per_part: dict[str, dict[str, Any]] = {part: {} for part in parts}
    for opt, per_obj in options.items():
        value = getattr(args, opt, None)
        if value is None:
            continue
        takers = [part for part in parts if part in per_obj]
        if not takers:
            valid = sorted(o for o, p in options.items() if any(part in p for part in parts))
            raise SystemExit(f"error: option --{opt.replace('_', '-')} does not apply to objective "
                             f"'{objective}'; its options: {', '.join(valid) or 'none'}")
        for part in takers:
            per_part[part][opt] = value
    weights = _parse_weights(getattr(args, 'objective_weights', None))
    if len(parts) == 1:
        if weights is not None:
            raise SystemExit('error: --objective-weights applies to a combination of objectives '
                             f"(e.g. {objective}+edge_pred), not to '{objective}' alone")
        return per_part[objective]
    kwargs: dict[str, Any] = {'options': {k: v for k, v in per_part.items() if v}}
    if weights is not None:
        kwargs['weights'] = weights
    return kwargs


def _fill_from_bundle(objective: str, kwargs: dict[str, Any], bundle: Any) -> dict[str, Any]:
    """Fill the options an objective requires that the dataset determines (``num_tasks``)."""
    from .objectives import OBJECTIVES
    parts = objective.split('+')
    for part in parts:
        sig = inspect.signature(OBJECTIVES.get(part).__init__)
        required = [p.name for p in list(sig.parameters.values())[2:]
                    if p.default is inspect.Parameter.empty
                    and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
        target = kwargs if len(parts) == 1 else kwargs.setdefault('options', {}).setdefault(
            part, {})
        for name in required:
            if name in target:
                continue
            if name != 'num_tasks':
                raise SystemExit(f"error: objective '{part}' requires option '{name}', which "
                                 'the command line cannot provide')
            if not bundle.labelled:
                raise SystemExit(f"error: objective '{part}' needs labels, but dataset "
                                 f"'{bundle.name}' is unlabelled; use a labelled dataset, e.g. "
                                 'ogbg-moltoxcast, ogbg-moltox21 or ogbg-molhiv')
            if bundle.task_type != 'binary classification':
                raise SystemExit(f"error: objective '{part}' predicts binary labels, but "
                                 f"'{bundle.name}' is a {bundle.task_type} dataset; valid "
                                 'datasets are binary classification ones, e.g. '
                                 'ogbg-moltoxcast, ogbg-moltox21, ogbg-molhiv')
            target[name] = int(bundle.num_tasks)
    return kwargs


def _add_data_flags(parser: argparse.ArgumentParser, default: str | None,
                    help_: str) -> None:
    parser.add_argument('--dataset', default=default, help=help_)
    parser.add_argument('--root', default=None,
                        help='data root (default: $GRAPHPFM_DATA, else ~/.cache/graphpfm/data)')
    parser.add_argument('--limit', type=int, default=None,
                        help='use only the first N molecules of a SMILES corpus (default: all)')
    parser.add_argument('--featurize-workers', type=int, default=None,
                        help='processes for SMILES featurisation (default: all cores)')
    parser.add_argument('--normalize-features', action='store_true',
                        help='node datasets: row-normalise the node features (PyG\'s '
                        'NormalizeFeatures, as DGI/GRACE/GraphMAE do on Planetoid); give it '
                        'to pretraining and transfer alike')


def _checkpoint_arg(value: Any) -> str:
    """A ``--checkpoint``/``--init`` value: a checkpoint file, or a shipped model's name."""
    from .pretrained import resolve_checkpoint
    try:
        return str(resolve_checkpoint(value))
    except FileNotFoundError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class _Unset:
    """Default of an architecture flag that ``--init`` may fill instead; ``--help`` shows the
    fallback value. A flag or config value that is given replaces it."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __str__(self) -> str:
        return f"{self.value}, or the --init checkpoint's"


#: encoder flags that fix the architecture (``--dropout`` does not change the parameters)
_ARCH_FLAGS = {'num_layers': '--num-layers', 'hidden_channels': '--hidden-channels',
               'jk': '--jk', 'in_channels': '--in-channels', 'act_last': '--act-last'}


def _add_encoder_flags(parser: argparse.ArgumentParser, dropout: float,
                       from_init: bool = False) -> None:
    from .nn import ENCODERS
    d = _Unset if from_init else (lambda v: v)
    g = parser.add_argument_group('encoder')
    g.add_argument('--encoder', default=d('gin'), choices=ENCODERS.names(), help='encoder')
    g.add_argument('--num-layers', type=int, default=d(5), help='message-passing layers')
    g.add_argument('--hidden-channels', type=int, default=d(300), help='width of every layer')
    g.add_argument('--dropout', type=float, default=dropout, help='dropout inside the encoder')
    g.add_argument('--jk', default=d('last'),
                   help="jumping knowledge (gin: last/sum/concat/max; others: last/cat/max)")
    g.add_argument('--in-channels', type=int, default=d(None),
                   help='float input width; None: the feature width of a node-level dataset '
                   '(e.g. 1433 for Cora), OGB atom features for molecules')
    g.add_argument('--act-last', action='store_const', const=True, default=d(False),
                   help='gcn/sage/gat: normalise and activate the last layer too (the '
                   'encoders of DGI, GRACE, BGRL and GraphMAE do; PyG leaves it linear)')


def _encoder_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kwargs = {'num_layers': args.num_layers, 'hidden_channels': args.hidden_channels,
              'dropout': args.dropout, 'jk': args.jk}
    in_channels = getattr(args, 'in_channels', None)
    if in_channels is not None and not isinstance(in_channels, _Unset):
        kwargs['in_channels'] = int(in_channels)
    if getattr(args, 'act_last', False) is True:
        from .nn import ENCODERS
        takes = [n for n in ENCODERS.names()
                 if 'act_last' in inspect.signature(ENCODERS.get(n).__init__).parameters]
        if args.encoder not in takes:
            raise SystemExit(f"error: --act-last is an option of the {', '.join(takes)} "
                             f"encoders, not of '{args.encoder}'")
        kwargs['act_last'] = True
    return kwargs


def _feature_width(bundle: Any) -> int | None:
    """The float feature width of a node-level dataset (:obj:`None` for molecules)."""
    if getattr(bundle, 'level', 'graph') != 'node':
        return None
    x = getattr(bundle.dataset, 'x', None)
    if x is None or not x.is_floating_point() or x.dim() != 2:
        raise SystemExit(f"error: node dataset '{bundle.name}' has no float node features "
                         '[num_nodes, F] for a float-input encoder')
    return int(x.size(1))


def _fit_in_channels(name: str, kwargs: dict[str, Any], bundle: Any) -> dict[str, Any]:
    """Fill ``in_channels`` of encoder ``name`` from a node-level dataset's feature width (or
    check a given one against it)."""
    from .nn import ENCODERS
    width = _feature_width(bundle)
    if width is None:
        return kwargs
    given = kwargs.get('in_channels')
    if given is not None and int(given) != width:
        raise SystemExit(f"error: --in-channels {given} does not match the {width} node "
                         f"features of '{bundle.name}'; drop the flag to use the dataset's width")
    takes = [n for n in ENCODERS.names()
             if 'in_channels' in inspect.signature(ENCODERS.get(n).__init__).parameters]
    if name not in takes:
        raise SystemExit(f"error: encoder '{name}' has no float input (in_channels), which the "
                         f"node dataset '{bundle.name}' needs; valid options: {', '.join(takes)}")
    return {**kwargs, 'in_channels': width}


def _check_checkpoint_width(spec: dict[str, Any], bundle: Any, path: Any) -> None:
    """A checkpoint's encoder must take the dataset's node features."""
    width = _feature_width(bundle)
    if width is None:
        return
    given = spec['kwargs'].get('in_channels')
    if given != width:
        raise SystemExit(f"error: the encoder of {path} takes "
                         f"{'OGB atom features' if given is None else f'{given} float features'}"
                         f", but '{bundle.name}' has {width} float node features")


def _parse_node_batch_size(value: Any) -> int | None:
    """``'auto'``/None -> None; ``'full'``/0 -> 0; a positive count -> that count."""
    if value is None or str(value).strip().lower() == 'auto':
        return None
    if str(value).strip().lower() == 'full':
        return 0
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = -1
    if n < 0:
        raise SystemExit(f"error: --node-batch-size must be 'auto', 'full' or a count >= 0 "
                         f'(0 = full), got {value!r}')
    return n


def _parse_num_neighbors(value: Any) -> list[int] | None:
    """``'15,10,5'`` or ``[15, 10, 5]`` -> ``[15, 10, 5]`` (``-1``: all); None stays None."""
    if value is None:
        return None
    try:
        out = _comma_list(value, int)
    except ValueError:
        out = []
    if not out or any(k < -1 for k in out):
        raise SystemExit(f"error: --num-neighbors must be integers >= -1 separated by commas "
                         f"(one per hop, -1 = all), e.g. 15,10,5; got {value!r}")
    return out


def _add_node_flags(group: Any, seeds: str) -> None:
    group.add_argument('--node-batch-size', default='auto',
                       help=f"node-level datasets: {seeds} per mini-batch with sampled "
                       "neighbourhoods; 'full': the whole graph in every step; 'auto': full "
                       'batch unless num_nodes * num_features + num_edges > 25M, else 1024')
    group.add_argument('--num-neighbors', default=None,
                       help='node-level mini-batches: neighbours sampled per node at each hop, '
                       'e.g. 15,10,5 (-1 = all); None: 10 per encoder layer')


def _add_common_flags(parser: argparse.ArgumentParser, out: str) -> None:
    parser.add_argument('--config', default=None,
                        help='YAML file of option values (flags override it)')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument('--device', default='auto', help="'cpu', 'cuda', 'cuda:N' or 'auto'")
    parser.add_argument('--num-workers', type=int, default=0, help='data-loader workers')
    parser.add_argument('--out', default=out, help='output directory')
    parser.add_argument('--no-progress', dest='progress', action='store_false',
                        help='hide progress bars')
    parser.add_argument('-v', '--verbose', action='store_true', help='debug logging')


def _load(args: argparse.Namespace, name: str | None = None, targets: Sequence[str] = ()):
    from .datasets import load_dataset
    bundle = load_dataset(name or args.dataset, root=args.root, limit=args.limit,
                          num_workers=args.featurize_workers, progress=args.progress,
                          targets=targets)
    if getattr(args, 'normalize_features', False):
        bundle = _normalize_features(bundle)
    return bundle


def _normalize_features(bundle: Any) -> Any:
    """A copy of a node-level bundle with row-normalised features (the input untouched)."""
    import dataclasses

    from torch_geometric.transforms import NormalizeFeatures
    if getattr(bundle, 'level', 'graph') != 'node':
        raise SystemExit(f"error: --normalize-features is for node datasets; '{bundle.name}' "
                         'is a graph-level dataset (its OGB atom features are categorical)')
    x = getattr(bundle.dataset, 'x', None)
    if x is None or not x.is_floating_point():
        raise SystemExit(f"error: --normalize-features needs float node features; "
                         f"'{bundle.name}' has none")
    meta = {**bundle.meta, 'features': 'row-normalised'}
    return dataclasses.replace(bundle, dataset=NormalizeFeatures()(bundle.dataset.clone()),
                               meta=meta)


def _parse_seeds(value: Any) -> tuple[int, ...]:
    """``3`` -> (0, 1, 2); ``'0,4,7'`` or ``[0, 4, 7]`` -> those seeds."""
    if isinstance(value, (list, tuple)):
        return tuple(int(v) for v in value)
    text = str(value)
    if ',' in text:
        return tuple(int(v) for v in text.split(',') if v.strip())
    n = int(text)
    if n < 1:
        raise SystemExit(f'error: --seeds must be a count >= 1 or a list, got {value!r}')
    return tuple(range(n))


# ----------------------------------------------------------------------------- pretrain
def pretrain(args: argparse.Namespace) -> Path:
    """Pretrain an encoder; returns the checkpoint path."""
    from .config import namespace_to_dict, write_yaml
    from .nn import build_encoder
    from .objectives import build_objective
    from .train import TrainConfig, Trainer
    from .utils import seed_everything

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    init = getattr(args, 'init', None)
    chain = _resolve_architecture(args, init)
    kwargs = _objective_kwargs(args, args.objective)
    from .objectives import required_targets
    try:
        bundle = _load(args, targets=required_targets(args.objective))
    except ValueError as exc:
        if 'RDKit targets need molecules' not in str(exc):
            raise
        raise SystemExit(f"error: objective '{args.objective}': {exc}") from None
    node_level = bundle.level == 'node'
    exclude = getattr(args, 'exclude', None)
    if exclude:
        if node_level:
            raise SystemExit(f"error: --exclude (molecule leakage control) does not apply to "
                             f"the node-level dataset '{bundle.name}'")
        bundle = _exclude(args, bundle, exclude)
    kwargs = _fill_from_bundle(args.objective, kwargs, bundle)
    node_batch_size = _parse_node_batch_size(getattr(args, 'node_batch_size', None))
    num_neighbors = _parse_num_neighbors(getattr(args, 'num_neighbors', None))
    seed_everything(args.seed)
    if init:
        from .train import load_checkpoint, load_encoder
        _check_checkpoint_width(load_checkpoint(init)['encoder'], bundle, init)
        encoder = load_encoder(init, dropout=args.dropout)
        log.info('encoder initialised from %s (%s)', init, encoder)
    else:
        enc_kwargs = _fit_in_channels(args.encoder, _encoder_kwargs(args), bundle)
        args.in_channels = enc_kwargs.get('in_channels')
        encoder = build_encoder(args.encoder, **enc_kwargs)
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                      weight_decay=args.weight_decay, grad_clip=args.grad_clip, seed=args.seed,
                      device=args.device, num_workers=args.num_workers, progress=args.progress,
                      save_every=args.save_every, node_batch_size=node_batch_size,
                      num_neighbors=num_neighbors, amp=getattr(args, 'amp', None),
                      lr_schedule=getattr(args, 'lr_schedule', None),
                      warmup_epochs=getattr(args, 'warmup_epochs', 0),
                      log_every=getattr(args, 'log_every', 0))
    kwargs = _fill_total_steps(args.objective, kwargs, bundle, cfg)
    objective = build_objective(args.objective, encoder, **kwargs)
    objective.chain = chain
    run_config = namespace_to_dict(args)
    write_yaml(out / 'config.yaml', run_config)
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
                      run_config=run_config)
    what = (f"{size['num_nodes']} nodes, {size['num_edges']} edges" if node_level
            else f"{size['num_graphs']} graphs")
    log.info('pretraining %s with %s on %s (%s), %d epochs', args.encoder, args.objective,
             bundle.name, what, args.epochs)
    history = trainer.fit(bundle.dataset)
    if trainer.rank != 0:  # under torchrun, rank 0 reports (and alone wrote the files)
        return out / 'checkpoint.pt'
    last = history[-1]
    unit = 'nodes' if node_level else 'graphs'
    batching = ''
    if node_level:
        batching = (', full batch' if trainer.node_batch_size == 0 else
                    f', mini-batches of {trainer.node_batch_size} seed nodes')
    print(f"pretrained {args.objective} on {bundle.name} ({what}{batching}): "
          f"final loss {last['loss']:.4f}, {last[f'{unit}_per_s']:.0f} {unit}/s")
    print(f'checkpoint: {out / "checkpoint.pt"}\nlog: {out / "train_log.jsonl"}')
    return out / 'checkpoint.pt'


def _fill_total_steps(objective: str, kwargs: dict[str, Any], bundle: Any,
                     cfg: Any) -> dict[str, Any]:
    """Give objectives with a step schedule (``total_steps``, e.g. BGRL's momentum) the run's
    number of optimizer steps when the flag is not given."""
    import math

    from .objectives import OBJECTIVES
    from .train.trainer import resolve_node_batching
    parts = objective.split('+')
    for part in parts:
        params = inspect.signature(OBJECTIVES.get(part).__init__).parameters
        if 'total_steps' not in params:
            continue
        target = kwargs if len(parts) == 1 else kwargs.setdefault('options', {}).setdefault(
            part, {})
        if target.get('total_steps') is not None:
            continue
        if bundle.level == 'node':
            size = resolve_node_batching(bundle.dataset, cfg.node_batch_size)
            per_epoch = 1 if size == 0 else math.ceil(int(bundle.dataset.num_nodes) / size)
        else:
            per_epoch = math.ceil(len(bundle.dataset) / cfg.batch_size)
        target['total_steps'] = int(cfg.epochs * per_epoch)
        log.info("objective '%s': total_steps=%d (epochs x steps per epoch)", part,
                 target['total_steps'])
    return kwargs


def _resolve_architecture(args: argparse.Namespace, init: str | None) -> list[dict[str, Any]]:
    """Replace unset architecture flags by their defaults, or, with ``--init``, check them
    against the checkpoint's encoder; return the checkpoint's lineage (oldest stage first)."""
    flags = {'encoder': '--encoder', **_ARCH_FLAGS}
    if not init:
        for dest in flags:
            value = getattr(args, dest, None)
            if isinstance(value, _Unset):
                setattr(args, dest, value.value)
        return []
    from .train import load_checkpoint
    ckpt = load_checkpoint(init)
    spec = ckpt['encoder']
    given = {'encoder': spec['name'], 'act_last': False, **spec['kwargs']}
    conflicts = []
    for dest, flag in flags.items():
        value = getattr(args, dest, None)
        if value is None or isinstance(value, _Unset):
            setattr(args, dest, given.get(dest))
        elif dest in given and value != given[dest]:
            conflicts.append(f'{flag} {value} (checkpoint: {given[dest]!r})')
    if conflicts:
        raise SystemExit(f'error: the architecture comes from the --init checkpoint {init}; '
                         f"conflicting flags: {'; '.join(conflicts)}. Drop them or match the "
                         'checkpoint')
    previous = ckpt.get('objective') or {}
    stage = {'objective': {'name': previous.get('name'), 'kwargs': previous.get('kwargs', {})},
             'data': ckpt.get('data', {}), 'path': str(Path(init).resolve())}
    return [*previous.get('chain', []), stage]


def _exclude(args: argparse.Namespace, bundle: Any, exclude: str) -> Any:
    """Leakage control: drop corpus molecules found in downstream valid/test splits."""
    from .datasets import exclude_overlap
    splits = [s for s in str(getattr(args, 'exclude_splits', 'valid,test')).split(',') if s]
    before = len(bundle.dataset)
    bundle = exclude_overlap(bundle, exclude, args.root, splits,
                             num_workers=args.featurize_workers, progress=args.progress)
    info = bundle.meta['leakage']
    per = ', '.join(f'{k}: {v}' for k, v in info['per_dataset'].items())
    print(f"leakage control: removed {info['removed']} of {before} molecules of {bundle.name} "
          f"found in the {'/'.join(info['splits'])} split(s) of {', '.join(info['downstream'])} "
          f'({per})')
    return bundle


def _pretrain_parser(sub: Any) -> None:
    from .objectives import OBJECTIVES
    p = sub.add_parser('pretrain', help='pretrain an encoder with a self-supervised objective',
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    _add_data_flags(p, 'embedded', "corpus: 'embedded' (RDKit's 5,000 molecules), 'moses', an "
                    "OGB molecule dataset name, a .csv/.smi(.gz) file of SMILES, or a node "
                    "dataset (e.g. Cora, ogbn-arxiv: node-level pretraining on its graph)")
    p.add_argument('--exclude', default=None,
                   help='leakage control: drop corpus molecules (same InChIKey) that are in the '
                   'valid/test splits of these OGB datasets, e.g. ogbg-molbbbp,ogbg-moltox21')
    p.add_argument('--exclude-splits', default='valid,test',
                   help='downstream splits that --exclude protects')
    _add_encoder_flags(p, dropout=0.0, from_init=True)
    p.add_argument('--init', default=None, type=_checkpoint_arg,
                   help='initialise the encoder from this checkpoint file or shipped pretrained '
                   'model (two-stage pretraining); '
                   'the architecture is the checkpoint\'s, and the new checkpoint records the '
                   'chain of stages')
    p.add_argument('--objective', default='attr_masking', type=_objective_name,
                   help=f"pretraining objective: one of {', '.join(OBJECTIVES.names())}, or "
                   "several joined with '+' (e.g. attr_masking+edge_pred)")
    p.add_argument('--objective-weights', default=None,
                   help="loss weights of a '+' combination, e.g. 1,0.5 (default: all 1)")
    _add_objective_flags(p)
    g = p.add_argument_group('training')
    g.add_argument('--epochs', type=int, default=100, help='epochs')
    g.add_argument('--batch-size', type=int, default=256, help='graphs per step')
    g.add_argument('--lr', type=float, default=1e-3, help='Adam learning rate')
    g.add_argument('--weight-decay', type=float, default=0.0, help='Adam weight decay')
    g.add_argument('--grad-clip', type=float, default=None, help='max gradient norm')
    g.add_argument('--save-every', type=int, default=0,
                   help='also checkpoint every N epochs (0: only at the end)')
    g.add_argument('--amp', default=None, choices=['bf16', 'fp16'],
                   help='mixed-precision forward pass: bf16 (CPU with AMX/AVX512-BF16, or '
                   'CUDA) or fp16 (CUDA, loss-scaled); unset: float32')
    g.add_argument('--lr-schedule', default=None, choices=['cosine'],
                   help='cosine: decay the learning rate to 0 over the run, per step '
                   '(GraphMAE, BGRL); unset: constant')
    g.add_argument('--warmup-epochs', type=int, default=0,
                   help='epochs of linear learning-rate warm-up')
    g.add_argument('--log-every', type=int, default=0,
                   help="also log the mean loss of every N steps (train_log.jsonl's "
                   "'step_loss'); 0: per epoch only")
    _add_node_flags(g, 'seed nodes')
    _add_common_flags(p, 'runs/pretrain')
    p.set_defaults(func=pretrain)


# ----------------------------------------------------------------------------- finetune
def _finetune_config(args: argparse.Namespace):
    from .eval import FinetuneConfig
    from .utils import resolve_device
    return FinetuneConfig(mode=args.mode, epochs=args.epochs, batch_size=args.batch_size,
                          lr=args.lr, encoder_lr=args.encoder_lr,
                          weight_decay=args.weight_decay, dropout=args.head_dropout,
                          pool=args.pool, seeds=_parse_seeds(args.seeds),
                          device=str(resolve_device(args.device)), num_workers=args.num_workers,
                          progress=args.progress,
                          node_batch_size=_parse_node_batch_size(
                              getattr(args, 'node_batch_size', None)),
                          num_neighbors=_parse_num_neighbors(getattr(args, 'num_neighbors', None)))


def run_finetune(args: argparse.Namespace, bundle: Any = None) -> dict[str, Any]:
    """Fine-tune (pretrained and/or from scratch); prints and writes the results table."""
    from .eval import finetune, format_table
    from .nn import build_encoder
    from .train import load_checkpoint, load_encoder

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bundle = bundle if bundle is not None else _load(args)
    if not bundle.labelled:
        raise SystemExit(f"error: dataset '{bundle.name}' has no labels to fine-tune on")
    config = _finetune_config(args)
    makers = {}
    if args.checkpoint:
        ckpt = load_checkpoint(args.checkpoint)
        spec = ckpt['encoder']
        _check_checkpoint_width(spec, bundle, args.checkpoint)
        makers['pretrained'] = lambda seed: load_encoder(args.checkpoint, dropout=args.dropout)
        if args.compare_scratch:
            makers['scratch'] = lambda seed: build_encoder(
                spec['name'], **{**spec['kwargs'], 'dropout': args.dropout})
    else:
        if args.compare_scratch:
            raise SystemExit('error: --compare-scratch needs --checkpoint')
        kwargs = _fit_in_channels(args.encoder, _encoder_kwargs(args), bundle)
        makers['scratch'] = lambda seed: build_encoder(args.encoder, **kwargs)
    results = {}
    for name, make in makers.items():
        log.info('fine-tuning %s encoder on %s (%s, %d seeds)', name, bundle.name, args.mode,
                 len(config.seeds))
        results[name] = finetune(bundle, make, config, log_path=out / f'{name}.jsonl')
    table = format_table(results)
    payload = {'dataset': bundle.name, 'checkpoint': args.checkpoint,
               'results': {k: r.to_dict() for k, r in results.items()}}
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized() and dist.get_rank() != 0:
        return payload  # under torchrun, rank 0 writes and reports (every rank has the result)
    (out / 'results.md').write_text(table + '\n')
    (out / 'results.json').write_text(json.dumps(payload, indent=1))
    print(f'{bundle.name}: test {bundle.eval_metric or ""} at the best validation epoch, '
          f'mean ± std over seeds {list(config.seeds)} ({args.mode} fine-tuning, '
          f'{args.epochs} epochs)')
    print(table)
    print(f'results: {out / "results.json"}; per-epoch logs: {out}/*.jsonl')
    return payload


def _finetune_parser(sub: Any) -> None:
    from .eval.finetune import MODES
    from .nn.heads import POOLS
    p = sub.add_parser('finetune', help='fine-tune or linearly probe on a labelled dataset',
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    _add_data_flags(p, 'ogbg-molbbbp', 'labelled dataset (an OGB molecule dataset name, '
                    "'embedded-tpsa', or a node dataset such as Cora or ogbn-arxiv)")
    p.add_argument('--checkpoint', default=None, type=_checkpoint_arg,
                   help='pretrained checkpoint file or shipped pretrained model (graphpfm list); '
                   'omit to train from scratch only')
    p.add_argument('--compare-scratch', action='store_true',
                   help='also fine-tune a randomly initialised encoder of the same architecture '
                   'with the same recipe and seeds')
    _add_encoder_flags(p, dropout=0.5)
    g = p.add_argument_group('recipe (Hu et al. 2020 defaults)')
    g.add_argument('--mode', default='full', choices=MODES,
                   help='full: train encoder and head; linear: frozen encoder')
    g.add_argument('--epochs', type=int, default=100, help='epochs per seed')
    g.add_argument('--batch-size', type=int, default=32,
                   help='graphs per step (graph-level datasets)')
    g.add_argument('--lr', type=float, default=1e-3, help='head learning rate')
    g.add_argument('--encoder-lr', type=float, default=None,
                   help='encoder learning rate (default: --lr)')
    g.add_argument('--weight-decay', type=float, default=0.0, help='weight decay')
    g.add_argument('--head-dropout', type=float, default=0.0,
                   help='dropout on the pooled embedding')
    g.add_argument('--pool', default='mean', choices=POOLS, help='graph readout')
    g.add_argument('--seeds', default='3', help="number of seeds, or a list like '0,1,2'")
    _add_node_flags(g, 'training nodes')
    _add_common_flags(p, 'runs/finetune')
    p.set_defaults(func=run_finetune)


# ----------------------------------------------------------------------------- probe
def _parse_cs(value: Any) -> tuple[float, ...]:
    """``'1e-3,1,1e3'`` or a list -> positive floats."""
    items = value if isinstance(value, (list, tuple)) else str(value).split(',')
    try:
        out = tuple(float(v) for v in items if str(v).strip())
    except ValueError:
        out = ()
    if not out or any(not c > 0 for c in out):
        raise SystemExit(f'error: --cs must be positive numbers separated by commas, e.g. '
                         f'0.01,1,100; got {value!r}')
    return out


def run_probe(args: argparse.Namespace, bundle: Any = None) -> dict[str, Any]:
    """Linear probe of a pretrained (and/or randomly initialised) encoder; prints and writes
    the results table."""
    from .eval import ProbeConfig, format_table, probe
    from .nn import build_encoder
    from .train import load_checkpoint, load_encoder
    from .utils import resolve_device

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bundle = bundle if bundle is not None else _load(args)
    if not bundle.labelled or bundle.split_idx is None:
        raise SystemExit(f"error: dataset '{bundle.name}' has no labels and split to probe on")
    config = ProbeConfig(seeds=_parse_seeds(args.seeds), Cs=_parse_cs(args.cs),
                         standardize=args.standardize, max_iter=args.max_iter,
                         batch_size=args.batch_size, pool=args.pool,
                         device=str(resolve_device(args.device)), progress=args.progress)
    makers = {}
    if args.checkpoint:
        spec = load_checkpoint(args.checkpoint)['encoder']
        _check_checkpoint_width(spec, bundle, args.checkpoint)
        makers['pretrained'] = lambda seed: load_encoder(args.checkpoint)
        if args.compare_random:
            makers['random'] = lambda seed: build_encoder(spec['name'], **spec['kwargs'])
    else:
        if args.compare_random:
            raise SystemExit('error: --compare-random needs --checkpoint (without one, the '
                             'randomly initialised encoder of the encoder flags is probed)')
        kwargs = _fit_in_channels(args.encoder, _encoder_kwargs(args), bundle)
        makers['random'] = lambda seed: build_encoder(args.encoder, **kwargs)
    results = {}
    for name, make in makers.items():
        log.info('linear probe of the %s encoder on %s (%d seeds)', name, bundle.name,
                 len(config.seeds))
        results[name] = probe(bundle, make, config=config)
    table = format_table(results)
    (out / 'results.md').write_text(table + '\n')
    payload = {'dataset': bundle.name, 'checkpoint': args.checkpoint,
               'results': {k: r.to_dict() for k, r in results.items()}}
    (out / 'results.json').write_text(json.dumps(payload, indent=1))
    chosen = '; '.join(f"{k}: {', '.join(f'{c:g}' for c in r.best_Cs)}"
                       for k, r in results.items())
    print(f'{bundle.name}: linear probe, test {results[next(iter(results))].metric} at the C '
          f'chosen on validation, mean ± std over seeds {list(config.seeds)} (chosen C per '
          f'seed: {chosen})')
    print(table)
    print(f'results: {out / "results.json"}')
    return payload


def _probe_parser(sub: Any) -> None:
    from .eval.probe import DEFAULT_CS
    from .nn.heads import POOLS
    p = sub.add_parser('probe', help='linear probe of frozen encoder embeddings (C chosen on '
                       'validation)', formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    _add_data_flags(p, 'Cora', 'labelled dataset: a node dataset (Cora, ogbn-arxiv, ...) or an '
                    'OGB molecule dataset (mean-pooled graph embeddings)')
    p.add_argument('--checkpoint', default=None, type=_checkpoint_arg,
                   help='pretrained checkpoint file or shipped pretrained model (omit to probe a '
                   'randomly initialised encoder '
                   'built from the encoder flags)')
    p.add_argument('--compare-random', action='store_true',
                   help='also probe a randomly initialised encoder of the checkpoint\'s '
                   'architecture, the same way and with the same seeds')
    _add_encoder_flags(p, dropout=0.0)
    g = p.add_argument_group('probe')
    g.add_argument('--seeds', default='3', help="number of seeds, or a list like '0,1,2'")
    g.add_argument('--cs', default=','.join(f'{c:g}' for c in DEFAULT_CS),
                   help='inverse regularisation strengths of the logistic regression; the '
                   'best on validation is used (ties: the smaller C)')
    g.add_argument('--no-standardize', dest='standardize', action='store_false',
                   help='do not standardise embeddings with training-split statistics')
    g.add_argument('--max-iter', type=int, default=1000, help='lbfgs iterations')
    g.add_argument('--batch-size', type=int, default=None,
                   help='node datasets: target nodes per inference mini-batch with all '
                   'neighbours (None: the whole graph at once); molecule datasets: graphs per '
                   'batch (None: 256)')
    g.add_argument('--pool', default='mean', choices=POOLS,
                   help='graph readout (molecule datasets)')
    p.add_argument('--config', default=None,
                   help='YAML file of option values (flags override it)')
    p.add_argument('--device', default='auto', help="'cpu', 'cuda', 'cuda:N' or 'auto'")
    p.add_argument('--out', default='runs/probe', help='output directory')
    p.add_argument('--no-progress', dest='progress', action='store_false',
                   help='hide progress bars')
    p.add_argument('-v', '--verbose', action='store_true', help='debug logging')
    p.set_defaults(func=run_probe)


# ----------------------------------------------------------------------------- embed
def embed(args: argparse.Namespace) -> Path:
    """Write one graph embedding per input molecule (input order; invalid rows are NaN)."""
    import numpy as np
    import torch

    from .data import GraphLoader
    from .nn.heads import resolve_pool
    from .train import load_encoder
    from .utils import resolve_device

    output = Path(args.output)
    if output.suffix not in ('.npy', '.csv'):
        raise SystemExit(f"error: --output must end in .npy or .csv, got '{output.name}'")
    device = resolve_device(args.device)
    encoder = load_encoder(args.checkpoint, map_location=device).eval()
    bundle = _load(args, args.input)
    if bundle.level == 'node':
        return _embed_nodes(args, bundle, encoder, device, output)
    store = bundle.dataset
    num_inputs = int(getattr(store, 'meta', {}).get('count', len(store)))
    source = getattr(store, 'source_index', None)
    source = (torch.as_tensor(source, dtype=torch.long) if source is not None
              else torch.arange(len(store)))
    pool = resolve_pool(args.pool)
    chunks = []
    loader = GraphLoader(store, batch_size=args.batch_size, shuffle=False)
    with torch.no_grad():
        for batch in loader:
            batch = batch.to(device)
            h = encoder(batch.x, batch.edge_index, edge_attr=batch.edge_attr, batch=batch.batch)
            chunks.append(pool(h, batch.batch, size=batch.num_graphs).cpu())
    emb = torch.cat(chunks).numpy()
    full = np.full((num_inputs, emb.shape[1]), np.nan, dtype=np.float32)
    full[source.numpy()] = emb
    invalid = sorted(set(range(num_inputs)) - set(source.tolist()))
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix == '.npy':
        np.save(output, full)
    else:
        import pandas as pd
        df = pd.DataFrame(full, columns=[f'e{i}' for i in range(full.shape[1])])
        df.insert(0, 'valid', [i not in set(invalid) for i in range(num_inputs)])
        df.insert(0, 'index', np.arange(num_inputs))
        df.to_csv(output, index=False)
    print(f'{num_inputs} molecules -> {output} ({full.shape[1]} dims, {args.pool} pooling)')
    if invalid:
        shown = ', '.join(str(i) for i in invalid[:20]) + (' ...' if len(invalid) > 20 else '')
        print(f'{len(invalid)} invalid molecule(s) left as NaN rows, at input positions: {shown}')
    return output


def _embed_nodes(args: argparse.Namespace, bundle: Any, encoder: Any, device: Any,
                 output: Path) -> Path:
    """One embedding per node of a node-level dataset (node order)."""
    import numpy as np

    from .eval import embed_nodes
    from .train import load_checkpoint
    from .train.trainer import resolve_node_batching
    _check_checkpoint_width(load_checkpoint(args.checkpoint)['encoder'], bundle, args.checkpoint)
    batch_size = resolve_node_batching(bundle.dataset, None)
    emb = embed_nodes(encoder, bundle.dataset, device, batch_size,
                      progress=args.progress).numpy()
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix == '.npy':
        np.save(output, emb)
    else:
        import pandas as pd
        df = pd.DataFrame(emb, columns=[f'e{i}' for i in range(emb.shape[1])])
        df.insert(0, 'node', np.arange(emb.shape[0]))
        df.to_csv(output, index=False)
    print(f'{emb.shape[0]} nodes of {bundle.name} -> {output} ({emb.shape[1]} dims)')
    return output


def _embed_parser(sub: Any) -> None:
    from .nn.heads import POOLS
    p = sub.add_parser('embed', help='embed molecules with a pretrained encoder',
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--checkpoint', required=True, type=_checkpoint_arg,
                   help='pretrained checkpoint file or shipped pretrained model')
    p.add_argument('--input', required=True,
                   help='a .csv/.smi(.gz) SMILES file or a dataset name (a node dataset such '
                   'as Cora gives one row per node)')
    p.add_argument('--output', required=True, help='.npy or .csv file')
    p.add_argument('--pool', default='mean', choices=POOLS, help='graph readout')
    p.add_argument('--batch-size', type=int, default=256, help='graphs per batch')
    p.add_argument('--root', default=None, help='data root for dataset names')
    p.add_argument('--limit', type=int, default=None, help='first N molecules only')
    p.add_argument('--featurize-workers', type=int, default=None,
                   help='processes for SMILES featurisation (default: all cores)')
    p.add_argument('--config', default=None, help='YAML file of option values')
    p.add_argument('--device', default='auto', help="'cpu', 'cuda', 'cuda:N' or 'auto'")
    p.add_argument('--no-progress', dest='progress', action='store_false',
                   help='hide progress bars')
    p.add_argument('-v', '--verbose', action='store_true', help='debug logging')
    p.set_defaults(func=embed)


# ----------------------------------------------------------------------------- leakage
def leakage(args: argparse.Namespace) -> dict[str, Any]:
    """Print how many corpus molecules are in the valid/test splits of downstream datasets."""
    from .datasets import dataset_smiles, find_overlap, overlap_table

    smiles = dataset_smiles(args.corpus, args.root, args.limit)
    splits = [s for s in args.splits.split(',') if s]
    report = find_overlap(smiles, args.downstream, args.root, splits,
                          num_workers=args.workers, max_examples=args.examples,
                          progress=args.progress)
    print(f'corpus {args.corpus}: {len(smiles)} molecules; identity = InChIKey (RDKit)')
    print(overlap_table(report, len(smiles)))
    return {'corpus': str(args.corpus), 'num_corpus': len(smiles),
            'overlap': {k: v.to_dict() for k, v in report.items()}}


def _leakage_parser(sub: Any) -> None:
    p = sub.add_parser('leakage', help='count pretraining molecules that are in downstream '
                       'valid/test splits', formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--corpus', required=True,
                   help="pretraining corpus: 'embedded', 'moses', an OGB dataset name or a "
                   '.csv/.smi(.gz) file of SMILES')
    p.add_argument('--downstream', required=True,
                   help='OGB molecule datasets, comma-separated, e.g. ogbg-molbbbp,ogbg-moltox21')
    p.add_argument('--splits', default='valid,test', help='downstream splits to check')
    p.add_argument('--root', default=None, help='data root')
    p.add_argument('--limit', type=int, default=None, help='first N corpus molecules only')
    p.add_argument('--examples', type=int, default=5, help='matches shown per dataset')
    p.add_argument('--workers', type=int, default=None,
                   help='processes computing InChIKeys (default: all cores for large inputs)')
    p.add_argument('--config', default=None, help='YAML file of option values')
    p.add_argument('--no-progress', dest='progress', action='store_false',
                   help='hide progress bars')
    p.add_argument('-v', '--verbose', action='store_true', help='debug logging')
    p.set_defaults(func=leakage)


# ----------------------------------------------------------------------------- list
def list_all(args: argparse.Namespace) -> dict[str, Any]:
    """Print the registered objectives (with options), encoders and the datasets found."""
    from .datasets import available_datasets
    from .nn import ENCODERS
    from .objectives import OBJECTIVES
    from .paths import data_root

    print('objectives:')
    options = _objective_options()
    for name in OBJECTIVES.names():
        opts = ', '.join(f'{o}={p[name]!r}' for o, p in sorted(options.items()) if name in p)
        level = OBJECTIVES.get(name).level
        print(f'  {name:16s} [{level}] {_summary(OBJECTIVES.get(name))}\n'
              f'  {"":16s} options: {opts or "none"}')
    print("  combinations: join names with '+' (e.g. --objective attr_masking+context_pred "
          '--objective-weights 1,0.5): one shared encoder, weighted sum of the losses')
    print('encoders:')
    for name in ENCODERS.names():
        print(f'  {name:16s} {_summary(ENCODERS.get(name))}')
    from .pretrained import available_pretrained
    shipped = available_pretrained()
    print('pretrained models (--checkpoint NAME, graphpfm.from_pretrained(NAME)):')
    for name, path in shipped.items():
        print(f'  {name:16s} {path}')
    if not shipped:
        print('  (none shipped)')
    root = data_root(args.root)
    found = available_datasets(args.root)
    print(f'datasets (data root: {root}):')
    for name, where in found.items():
        status = str(where) if where else 'absent'
        print(f'  {name:20s} {status}')
    return {'objectives': OBJECTIVES.names(), 'encoders': ENCODERS.names(), 'datasets': found,
            'pretrained': shipped}


def _list_parser(sub: Any) -> None:
    p = sub.add_parser('list', help='list objectives, encoders and datasets found',
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--root', default=None, help='data root to look in')
    p.add_argument('--config', default=None, help='YAML file of option values')
    p.add_argument('-v', '--verbose', action='store_true', help='debug logging')
    p.set_defaults(func=list_all)


# ----------------------------------------------------------------------------- quickstart
def quickstart(args: argparse.Namespace) -> dict[str, Any]:
    """Pretrain attribute masking on the embedded molecules, fine-tune, compare to scratch."""
    from .datasets import available_datasets

    out = Path(args.out)
    found = available_datasets(args.root)
    downstream = 'ogbg-molbbbp' if found.get('ogbg-molbbbp') else 'embedded-tpsa'
    t0 = time.perf_counter()
    pre = argparse.Namespace(
        dataset='embedded', root=args.root, limit=None, featurize_workers=None,
        encoder='gin', num_layers=args.num_layers, hidden_channels=args.hidden_channels,
        dropout=0.0, jk='last', objective='attr_masking', epochs=args.pretrain_epochs,
        batch_size=256, lr=1e-3, weight_decay=0.0, grad_clip=None, save_every=0,
        seed=args.seed, device=args.device, num_workers=0, out=str(out / 'pretrain'),
        progress=args.progress, config=None, verbose=args.verbose, init=None, exclude=None,
        exclude_splits='valid,test', objective_weights=None, in_channels=None,
        node_batch_size='auto', num_neighbors=None)
    for opt in _objective_options():
        setattr(pre, opt, None)
    ckpt = pretrain(pre)
    t1 = time.perf_counter()
    fin = argparse.Namespace(
        dataset=downstream, root=args.root, limit=None, featurize_workers=None,
        checkpoint=str(ckpt), compare_scratch=True, encoder='gin',
        num_layers=args.num_layers, hidden_channels=args.hidden_channels, dropout=0.5,
        jk='last', mode='full', epochs=args.finetune_epochs, batch_size=32, lr=1e-3,
        encoder_lr=None, weight_decay=0.0, head_dropout=0.0, pool='mean', seeds=args.seeds,
        device=args.device, num_workers=0, out=str(out / 'finetune'), progress=args.progress,
        in_channels=None, node_batch_size='auto', num_neighbors=None)
    payload = run_finetune(fin)
    t2 = time.perf_counter()
    print(f'quickstart done in {t2 - t0:.0f} s (pretraining {t1 - t0:.0f} s, fine-tuning '
          f'{t2 - t1:.0f} s); everything is under {out}/')
    return payload


def _quickstart_parser(sub: Any) -> None:
    p = sub.add_parser('quickstart', help='pretrain on the embedded molecules, fine-tune, '
                       'compare with training from scratch',
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--root', default=None, help='data root (ogbg-molbbbp is used if found)')
    p.add_argument('--pretrain-epochs', type=int, default=10, help='pretraining epochs')
    p.add_argument('--finetune-epochs', type=int, default=10, help='fine-tuning epochs per seed')
    p.add_argument('--seeds', default='3', help="number of seeds, or a list like '0,1,2'")
    p.add_argument('--num-layers', type=int, default=5, help='GIN layers')
    p.add_argument('--hidden-channels', type=int, default=300, help='GIN width')
    _add_common_flags(p, 'runs/quickstart')
    p.set_defaults(func=quickstart)


# ----------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    parser = argparse.ArgumentParser(
        prog='graphpfm', description='Pretrain graph neural networks and transfer them.')
    parser.add_argument('--version', action='version', version=f'graphpfm {__version__}')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)
    for add in (_pretrain_parser, _finetune_parser, _probe_parser, _embed_parser,
                _leakage_parser, _list_parser, _quickstart_parser):
        add(sub)
    return parser


def run(argv: Sequence[str] | None = None) -> Any:
    """Run the command line on ``argv`` and return the subcommand's result (for Python use)."""
    from .config import parse_with_config
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # apply a --config file to the chosen subcommand's parser
    sub_action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if argv and argv[0] in sub_action.choices and '--config' in ' '.join(argv):
        sub = sub_action.choices[argv[0]]
        args = parse_with_config(sub, argv[1:])
        args.command = argv[0]
    else:
        args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if getattr(args, 'verbose', False) else logging.INFO,
                        format='%(asctime)s %(levelname)s %(name)s: %(message)s',
                        datefmt='%H:%M:%S')
    try:
        return args.func(args)
    except (FileNotFoundError, KeyError, ValueError) as err:
        if getattr(args, 'verbose', False):
            raise
        raise SystemExit(f'error: {err}') from None


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: exit status 0 on success."""
    from .utils import tune_malloc
    tune_malloc()  # the process is ours: keep freed buffers (GRAPHPFM_TUNE_MALLOC=0: off)
    run(argv)
    return 0


if __name__ == '__main__':  # pragma: no cover
    main()
