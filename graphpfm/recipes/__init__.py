r"""The published configurations of the node-level objectives, per dataset, as data.

One YAML file per method (``graphmae.yaml``, ``grace.yaml``, ``bgrl.yaml``, ``dgi.yaml``)
holds, for every dataset its authors configured, the encoder, the objective's options, the
training options and the published linear-probe accuracy, each entry citing its source (the
authors' configuration file or paper); the file's comments say how the authors' names map
onto graphpfm's and what could not be verified. A ``default`` entry per method (and
``default.yaml`` for objectives without a file) serves graphs without a published
configuration: smaller and shorter than the published ones and meant to run with
validation-based selection (:class:`~graphpfm.eval.ValidationProbe`); an entry may hold a
published figure only, which then stands beside the default configuration.

    recipe = node_recipe('graphmae', 'citeseer')
    encoder = build_encoder(recipe.encoder, in_channels=data.num_features,
                            **recipe.encoder_kwargs)
    objective = build_objective('graphmae', encoder, **recipe.objective_kwargs)
    Trainer(objective, TrainConfig(**recipe.train_kwargs)).fit(data)
"""
from __future__ import annotations

import copy
import functools
import logging
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

log = logging.getLogger(__name__)

#: the sections of an entry: encoder, objective and training options, GraphMAE's own probe
SECTIONS = ('encoder', 'objective', 'train', 'probe')
_ENTRY_KEYS = {*SECTIONS, 'source', 'published', 'published_source', 'aliases', 'differences',
               'validate_every'}


@dataclass(frozen=True)
class Recipe:
    r"""A configuration of one node-level method on one dataset.

    Attributes:
        method (str): the objective's registered name.
        dataset (str): the dataset's name in the recipe file (the name asked for when the
            default is used).
        encoder (str): the registered encoder.
        encoder_kwargs (dict): its options, but for ``in_channels`` (the graph's features).
        objective_kwargs (dict): the objective's options (others keep their defaults).
        train_kwargs (dict): :class:`~graphpfm.train.TrainConfig` fields.
        published (float, optional): the published linear-probe test accuracy (%) of the
            method on this dataset, or :obj:`None`.
        source (str): where the configuration comes from.
        is_default (bool): :obj:`True` when no published configuration exists for the
            dataset and the method's default is used.
        validate_every (int): the epochs between validation probes the recipe asks for
            (:class:`~graphpfm.eval.ValidationProbe`); :obj:`0`: none asked for.
        published_source (str): where :attr:`published` comes from.
        probe_kwargs (dict): the method's own linear-probe options, where it has one
            (GraphMAE's ``lr_f``, ``weight_decay_f``, ``max_epoch_f``).
        differences (tuple of str): where graphpfm cannot follow the source.
    """

    method: str
    dataset: str
    encoder: str
    encoder_kwargs: dict[str, Any]
    objective_kwargs: dict[str, Any]
    train_kwargs: dict[str, Any]
    published: float | None
    source: str
    is_default: bool
    validate_every: int = 0
    published_source: str = ''
    probe_kwargs: dict[str, Any] = field(default_factory=dict)
    differences: tuple[str, ...] = ()


def normalize_name(name: str) -> str:
    """A dataset name as looked up: lower case, letters and digits only (``'Cora'``,
    ``'cora'`` and ``'CORA'`` agree; ``'Amazon-Photo'`` and ``'amazon_photo'`` too)."""
    return re.sub(r'[^0-9a-z]', '', str(name).lower())


@functools.lru_cache(maxsize=None)
def _read(method: str) -> dict[str, Any]:
    import yaml
    path = resources.files(__package__) / f'{method}.yaml'
    data = yaml.safe_load(path.read_text())
    _check_file(method, data)
    return data


def _check_file(method: str, data: Any) -> None:
    where = f'graphpfm/recipes/{method}.yaml'
    if not isinstance(data, dict) or 'default' not in data:
        raise ValueError(f'{where}: expected a mapping with a default entry')
    for name, entry in {**(data.get('datasets') or {}), 'default': data['default']}.items():
        unknown = sorted(set(entry) - _ENTRY_KEYS)
        if unknown:
            raise ValueError(f"{where}: entry '{name}' has unknown key(s) {', '.join(unknown)};"
                             f" valid keys: {', '.join(sorted(_ENTRY_KEYS))}")


def recipe_methods() -> list[str]:
    """The methods with a recipe file."""
    files = resources.files(__package__).iterdir()
    return sorted(f.name[:-5] for f in files
                  if f.name.endswith('.yaml') and f.name != 'default.yaml')


def recipe_datasets(method: str) -> list[str]:
    """The datasets of ``method``'s recipe file (with a configuration, a published figure, or
    both); none for a method without a file."""
    if method not in recipe_methods():
        return []
    return list(_read(method).get('datasets') or {})


def _find(datasets: dict[str, Any], dataset: str) -> tuple[str, dict[str, Any]] | None:
    key = normalize_name(dataset)
    for name, entry in datasets.items():
        names = [name, *(entry.get('aliases') or [])]
        if key in {normalize_name(n) for n in names}:
            return name, entry
    return None


def node_recipe(method: str, dataset: str) -> Recipe:
    r"""The configuration of node-level ``method`` on ``dataset``: the published one where its
    recipe file has one for the dataset (by name, case and punctuation ignored, or an alias),
    else the method's documented default (``is_default=True``; for a method without a
    recipe file, the default of ``default.yaml``). Logs which configuration is used and why.

    Args:
        method (str): a registered objective name (e.g. ``'graphmae'``).
        dataset (str): the dataset's name (e.g. ``'Cora'``, ``'citeseer'``, ``'ogbn-arxiv'``).
    """
    has_file = method in recipe_methods()
    data = _read(method if has_file else 'default')
    found = _find(data.get('datasets') or {}, dataset)
    name, entry = found if found is not None else (dataset, {})
    configured = all(s in entry for s in ('encoder', 'objective', 'train'))
    chosen = copy.deepcopy(entry if configured else data['default'])
    encoder = chosen['encoder']
    recipe = Recipe(
        method=method, dataset=name, encoder=encoder.pop('name'), encoder_kwargs=encoder,
        objective_kwargs=chosen.get('objective') or {},
        train_kwargs=chosen['train'], published=entry.get('published'),
        source=str(chosen['source']), is_default=not configured,
        validate_every=int(chosen.get('validate_every', 0)),
        published_source=str(entry.get('published_source', '')),
        probe_kwargs=chosen.get('probe') or {},
        differences=tuple(' '.join(str(d).split()) for d in chosen.get('differences') or ()))
    if configured:
        log.info("%s on '%s': the published configuration (%s)", method, dataset,
                 recipe.source)
    else:
        known = ', '.join(n for n, e in (data.get('datasets') or {}).items() if 'encoder' in e)
        why = (f'{method} has no recipe file (methods with one: {", ".join(recipe_methods())})'
               if not has_file else
               f"no published configuration of {method} for '{dataset}' (published "
               f'configurations: {known}); its default is smaller and shorter than those')
        log.warning("%s on '%s': %s. Using the default configuration (%s), meant to run with "
                    'selection on validation every %d epochs', method, dataset, why,
                    recipe.source, recipe.validate_every)
    for difference in recipe.differences:
        log.info('%s on %s differs from its source: %s', method, name, difference)
    return recipe


__all__ = ['Recipe', 'SECTIONS', 'node_recipe', 'normalize_name', 'recipe_datasets',
           'recipe_methods']
