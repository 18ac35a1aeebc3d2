"""The node benchmark's configurations: architectures, methods and their published settings,
the fine-tuning and GraphMAE-probe recipes, and the hashes that key its records."""
# ruff: noqa: C408 (configuration tables are written as dict(key=value))
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from graphpfm.recipes import node_recipe, normalize_name

from ..harness.records import protocol_hash

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
#: the methods whose configurations come from :func:`graphpfm.recipes.node_recipe`, per
#: dataset: the published one where its recipe file has one, else the method's default
RECIPE_METHODS = ('graphmae', 'grace', 'bgrl', 'dgi')
#: the molecular objectives that make sense at node level; neither paper has a node-level
#: configuration or a linear-probe figure: on Cora these were chosen on validation accuracy
#: with `sweep` on seed 0 (Hu et al.'s mask rate, GAE's recipe for edge_pred); elsewhere the
#: recipes' default for objectives without a recipe file
OWN_CORA_CONFIGS: dict[str, dict[str, Any]] = {
    'attr_masking': dict(arch='gcn2-bn', epochs=200, lr=1e-3, weight_decay=0.0,
                         options=dict(mask_rate=0.15), published=None),
    'edge_pred': dict(arch='gcn2', epochs=200, lr=1e-2, weight_decay=0.0, options={},
                      published=None),
}
#: every method the benchmark runs
METHOD_NAMES: tuple[str, ...] = (*RECIPE_METHODS, *OWN_CORA_CONFIGS)
#: the training options a configuration may set besides epochs, lr and weight decay
SCHEDULE_KEYS = ('lr_schedule', 'warmup_epochs')
#: epochs between validation probes when selecting the pretraining epoch on validation
SELECT_EVERY = 10
#: node features are row-normalised (PyG's NormalizeFeatures) before pretraining and probing,
#: as the four methods' own code does for Cora
FEATURES = 'row-normalised'
#: the fine-tuning recipe, one for every arm (see the package docstring)
FINETUNE: dict[str, Any] = dict(epochs=200, lr=1e-2, encoder_lr=5e-3, weight_decay=5e-4,
                                dropout=0.5, encoder_dropout=0.5)
#: GraphMAE's own linear-probe recipe for Cora (its configs.yml: lr_f, weight_decay_f,
#: max_epoch_f; graphmae/evaluation.py)
TORCH_PROBE: dict[str, Any] = dict(lr=1e-2, weight_decay=1e-4, epochs=300)
RANDOM = 'random-'


def normalise_features(bundle: Any) -> Any:
    """A copy of ``bundle`` whose graph has row-normalised features (the input untouched)."""
    import dataclasses

    from torch_geometric.transforms import NormalizeFeatures
    return dataclasses.replace(bundle, dataset=NormalizeFeatures()(bundle.dataset.clone()))


def method_config(method: str, dataset: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``method``'s configuration on ``dataset`` (``arch``, ``epochs``, ``lr``,
    ``weight_decay``, ``options``, ``lr_schedule``/``warmup_epochs`` where set, ``published``)
    and its architecture (encoder ``name`` and options): the recipe's for the four node
    methods (:func:`graphpfm.recipes.node_recipe`, which logs which one and why), the
    benchmark's own Cora choices for the molecular ones. ``arch`` names the architecture:
    :func:`architecture_name`."""
    import copy
    if method in OWN_CORA_CONFIGS and normalize_name(dataset) == 'cora':
        config = copy.deepcopy(OWN_CORA_CONFIGS[method])
        return config, dict(ARCHITECTURES[config['arch']])
    if method not in METHOD_NAMES:
        raise SystemExit(f"error: unknown method '{method}'; valid: {', '.join(METHOD_NAMES)}")
    recipe = node_recipe(method, dataset)
    arch = {'name': recipe.encoder, **recipe.encoder_kwargs}
    train = dict(recipe.train_kwargs)
    config: dict[str, Any] = {'arch': architecture_name(method, arch)}
    for key in ('epochs', 'lr', 'weight_decay'):
        config[key] = train.pop(key)
    config['options'] = dict(recipe.objective_kwargs)
    for key in SCHEDULE_KEYS:
        value = train.pop(key, None)
        if value:
            config[key] = value
    if train:
        raise SystemExit(f"error: the {method} recipe for {dataset} sets {sorted(train)}, which "
                         f"the benchmark does not pass on (it passes epochs, lr, weight_decay, "
                         f"{', '.join(SCHEDULE_KEYS)})")
    config['published'] = recipe.published
    return config, arch


def architecture_name(method: str, arch: dict[str, Any]) -> str:
    """The name of architecture ``arch``: its :data:`ARCHITECTURES` name where it is one of
    those, else its shape, e.g. ``gat2x512h2`` (2 layers of 512 units, 2 heads),
    ``gcn2x256o128-bn`` (output width 128, batch norm)."""
    known = next((k for k, v in ARCHITECTURES.items() if v == arch), None)
    if known:
        return known
    name = f"{arch['name']}{arch.get('num_layers', '')}x{arch.get('hidden_channels', '')}"
    name += f"h{arch['heads']}" if arch.get('heads') else ''
    name += f"o{arch['out_channels']}" if arch.get('out_channels') else ''
    norm = {'batch_norm': '-bn', 'layer_norm': '-ln'}.get(arch.get('norm') or '', '')
    return name + norm


def method_configs(dataset: str, methods: list[str]
                   ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """``({method: configuration}, {architecture name: architecture})`` on ``dataset``
    (:func:`method_config`)."""
    configs: dict[str, dict[str, Any]] = {}
    architectures: dict[str, dict[str, Any]] = {}
    for m in methods:
        configs[m], arch = method_config(m, dataset)
        # one name (and one random arm) per distinct architecture
        name = next((k for k, v in architectures.items() if v == arch), configs[m]['arch'])
        if name in architectures and architectures[name] != arch:
            name = f'{name}-{m}'
        configs[m]['arch'] = name
        architectures[name] = arch
    return configs, architectures


def random_arm(method: str, configs: dict[str, Any] | None = None) -> str:
    """The randomly initialised encoder of ``method``'s architecture (its baseline arm), by
    ``configs`` (a protocol's; default: Cora's)."""
    configs = configs if configs is not None else method_configs('Cora', [method])[0]
    return RANDOM + configs[method]['arch']


def arms_for(methods: list[str], configs: dict[str, Any] | None = None) -> list[str]:
    """The methods, then one random-encoder arm per architecture they use (by ``configs``, a
    protocol's; default: Cora's)."""
    configs = configs if configs is not None else method_configs('Cora', methods)[0]
    randoms = []
    for m in methods:
        if random_arm(m, configs) not in randoms:
            randoms.append(random_arm(m, configs))
    return [*methods, *randoms]


def protocol(args: argparse.Namespace, methods: list[str]) -> dict[str, Any]:
    """The probe protocol of ``run`` (written to ``<out>/protocol.json``): each method's
    configuration on the dataset, the architectures (the named ones of :data:`ARCHITECTURES`
    and the methods'), the epochs, the seeds, and, when the
    pretraining epoch is selected on validation (``--select-every``), how."""
    configs, architectures = method_configs(args.dataset, methods)
    epochs = {m: (args.epochs if args.epochs else configs[m]['epochs']) for m in methods}
    proto = {'dataset': args.dataset, 'features': FEATURES, 'methods': methods,
             'epochs': epochs, 'seeds': list(range(args.seeds)),
             'architectures': {**ARCHITECTURES, **architectures},
             'configs': {m: {k: v for k, v in c.items() if k != 'epochs'}
                         for m, c in configs.items()}}
    every = getattr(args, 'select_every', 0)
    if every:
        proto['selection'] = selection(every)
    return proto


def selection(every: int) -> dict[str, Any]:
    """How the pretraining epoch is selected (:class:`graphpfm.eval.ValidationProbe`)."""
    from graphpfm.eval import VALIDATION_CS
    return {'every': int(every), 'Cs': list(VALIDATION_CS),
            'rule': 'best validation score of a logistic-regression probe fitted on the '
                    'training nodes, every `every` epochs and the last; ties: the earlier'}


def run_hash(proto: dict[str, Any]) -> str:
    """The hash of a protocol without its seeds (seeds may be added to a run)."""
    return protocol_hash({k: v for k, v in proto.items() if k != 'seeds'})


def arm_key(proto: dict[str, Any], arm: str) -> dict[str, Any]:
    """What determines the records of one arm: the dataset and its features, the arm's
    architecture, its method's configuration and epochs (:obj:`None` and 0 for a random
    arm), and for a method the selection on validation, when there is one. Changing one
    method's settings reruns that method only."""
    method = None if arm.startswith(RANDOM) else arm
    arch = arm[len(RANDOM):] if method is None else proto['configs'][method]['arch']
    key = {'dataset': proto['dataset'], 'features': proto.get('features'),
           'architecture': proto['architectures'][arch],
           'method': proto['configs'][method] if method else None,
           'epochs': proto['epochs'].get(method, 0) if method else 0}
    if method and proto.get('selection'):  # only then: earlier records keep their hashes
        key['selection'] = proto['selection']
    return key


def arm_hash(proto: dict[str, Any], arm: str) -> str:
    """The hash of :func:`arm_key` (``arm_hash`` of the arm's records)."""
    return protocol_hash(arm_key(proto, arm))


def finetune_protocol(probe: dict[str, Any], recipe: dict[str, Any]) -> dict[str, Any]:
    """The fine-tuning protocol: the probe run it starts from (its hash names the encoders)
    and the recipe."""
    return {'dataset': probe['dataset'], 'features': FEATURES, 'methods': probe['methods'],
            'seeds': probe['seeds'], 'architectures': probe['architectures'],
            'probe_protocol_hash': run_hash(probe),
            'recipe': recipe, 'selection': 'test at the best validation epoch (ties: earlier)'}


def encoder_path(out: Path, arm: str, seed: int) -> Path:
    """Where ``run`` keeps the encoder it pretrained for (``arm``, ``seed``)."""
    return Path(out) / 'encoders' / f'{arm}-seed{seed}.pt'


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


def apply_variant(method: str, overrides: dict[str, Any], dataset: str = 'Cora'
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The method's configuration and architecture on ``dataset`` (:func:`method_config`)
    with ``overrides`` applied (copies); unknown method settings are an error that lists the
    valid ones."""
    config, arch = method_config(method, dataset)
    settings = ('epochs', 'lr', 'weight_decay', *SCHEDULE_KEYS)
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


def config_source(method: str, dataset: str) -> str:
    """Where ``method``'s configuration on ``dataset`` comes from, in words."""
    if method in OWN_CORA_CONFIGS and normalize_name(dataset) == 'cora':
        return "the benchmark's own, chosen on Cora's validation accuracy (`sweep`, seed 0)"
    recipe = node_recipe(method, dataset)
    return f"{recipe.source}{' (default: no published configuration)' if recipe.is_default else ''}"


def torch_probe_recipe(dataset: str) -> dict[str, Any]:
    """GraphMAE's own probe settings for ``dataset`` (its recipe's ``lr_f``,
    ``weight_decay_f``, ``max_epoch_f``), :data:`TORCH_PROBE` where it has none."""
    recipe = node_recipe('graphmae', dataset)
    return dict(recipe.probe_kwargs) if recipe.probe_kwargs and not recipe.is_default \
        else dict(TORCH_PROBE)


#: Cora's configurations, by method (:func:`method_config`; the benchmark's first dataset)
METHODS: dict[str, dict[str, Any]] = method_configs('Cora', list(METHOD_NAMES))[0]
