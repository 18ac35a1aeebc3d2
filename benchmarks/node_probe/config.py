"""The node benchmark's configurations: architectures, methods and their published settings,
the fine-tuning and GraphMAE-probe recipes, and the hashes that key its records."""
# ruff: noqa: C408 (configuration tables are written as dict(key=value))
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

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
METHODS: dict[str, dict[str, Any]] = {
    'graphmae': dict(arch='gat', epochs=1500, lr=1e-3, weight_decay=2e-4,
                     options=dict(mask_rate=0.5, replace_rate=0.05, gamma=3.0, decoder='gat',
                                  decoder_dropout=0.2, decoder_attn_dropout=0.1,
                                  decoder_init='dgl'),
                     lr_schedule='cosine',
                     published=84.2),
    'grace': dict(arch='gcn2', epochs=200, lr=5e-4, weight_decay=1e-5,
                  options=dict(temperature=0.4, pe1=0.2, pe2=0.4, pf1=0.3, pf2=0.4),
                  published=81.9),
    'bgrl': dict(arch='gcn2-bn', epochs=1000, lr=5e-4, weight_decay=1e-5,
                 options=dict(momentum=0.99), lr_schedule='cosine', warmup_epochs=100,
                 published=82.7),
    'dgi': dict(arch='gcn1', epochs=300, lr=1e-3, weight_decay=0.0, options={},
                published=82.3),
    # the molecular objectives that make sense at node level; neither paper has a Cora
    # configuration or a linear-probe figure: chosen on validation accuracy with `sweep` on
    # seed 0; Hu et al.'s mask rate, GAE's recipe for edge_pred
    'attr_masking': dict(arch='gcn2-bn', epochs=200, lr=1e-3, weight_decay=0.0,
                         options=dict(mask_rate=0.15), published=None),
    'edge_pred': dict(arch='gcn2', epochs=200, lr=1e-2, weight_decay=0.0, options={},
                      published=None),
}
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


def random_arm(method: str, configs: dict[str, Any] | None = None) -> str:
    """The randomly initialised encoder of ``method``'s architecture (its baseline arm)."""
    return RANDOM + (configs or METHODS)[method]['arch']


def arms_for(methods: list[str]) -> list[str]:
    """The methods, then one random-encoder arm per architecture they use."""
    randoms = []
    for m in methods:
        if random_arm(m) not in randoms:
            randoms.append(random_arm(m))
    return [*methods, *randoms]


def protocol(args: argparse.Namespace, methods: list[str]) -> dict[str, Any]:
    """The probe protocol of ``run`` (written to ``<out>/protocol.json``)."""
    epochs = {m: (args.epochs if args.epochs else METHODS[m]['epochs']) for m in methods}
    return {'dataset': args.dataset, 'features': FEATURES, 'methods': methods, 'epochs': epochs,
            'seeds': list(range(args.seeds)), 'architectures': ARCHITECTURES,
            'configs': {m: {k: v for k, v in METHODS[m].items() if k != 'epochs'}
                        for m in methods}}


def run_hash(proto: dict[str, Any]) -> str:
    """The hash of a protocol without its seeds (seeds may be added to a run)."""
    return protocol_hash({k: v for k, v in proto.items() if k != 'seeds'})


def arm_key(proto: dict[str, Any], arm: str) -> dict[str, Any]:
    """What determines the records of one arm: the dataset and its features, the arm's
    architecture, its method's configuration and epochs (:obj:`None` and 0 for a random
    arm). Changing one method's settings reruns that method only."""
    method = None if arm.startswith(RANDOM) else arm
    arch = arm[len(RANDOM):] if method is None else proto['configs'][method]['arch']
    return {'dataset': proto['dataset'], 'features': proto.get('features'),
            'architecture': proto['architectures'][arch],
            'method': proto['configs'][method] if method else None,
            'epochs': proto['epochs'].get(method, 0) if method else 0}


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


def apply_variant(method: str, overrides: dict[str, Any]) -> tuple[dict[str, Any],
                                                                     dict[str, Any]]:
    """The method's configuration and architecture with ``overrides`` applied (copies);
    unknown method settings are an error that lists the valid ones."""
    config = {**METHODS[method], 'options': dict(METHODS[method]['options'])}
    arch = dict(ARCHITECTURES[config['arch']])
    settings = ('epochs', 'lr', 'weight_decay', 'lr_schedule', 'warmup_epochs')
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
