"""One pretraining run: a dataset, an encoder and an objective (or a ``+`` combination) into a
run folder holding the checkpoint, the training log and the run's configuration."""
from __future__ import annotations

import logging
import math
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Sequence

from ..datasets import DatasetBundle
from ..errors import ConfigError, DataError, GraphpfmError
from .config import DataConfig, EncoderConfig, check_width

log = logging.getLogger('graphpfm')


@dataclass
class PretrainConfig:
    r"""What to pretrain, and from where.

    Args:
        objective (str): a registered objective, or several joined with ``+`` (e.g.
            ``attr_masking+edge_pred``: one shared encoder, weighted sum of the losses).
        objective_weights (list of float, optional): the loss weights of a ``+``
            combination; :obj:`None`: all 1.
        init (str, optional): initialise the encoder from this checkpoint file or shipped
            pretrained model (two-stage pretraining): the architecture is the checkpoint's,
            and the new checkpoint records the chain of stages.
        exclude (list of str, optional): leakage control: drop the corpus molecules (same
            InChIKey) that are in the ``exclude_splits`` of these OGB datasets, e.g.
            ``ogbg-molbbbp,ogbg-moltox21``.
        exclude_splits (list of str): the downstream splits that ``exclude`` protects.
        resume (bool): continue the unfinished run of ``--out`` from its saved training state
            (bit-identical to an uninterrupted run); without one, start it.
        validate_every (int): labelled node datasets: every this many epochs (and after the
            last), probe the encoder on the validation split (a linear probe fitted on the
            training nodes; test labels never read) and keep the best epoch's encoder in
            the checkpoint (ValidationProbe); 0: the last epoch's encoder.
    """

    objective: str = 'attr_masking'
    objective_weights: Sequence[float] | None = None
    init: str | None = None
    exclude: Sequence[str] | None = None
    exclude_splits: Sequence[str] = ('valid', 'test')
    resume: bool = False
    validate_every: int = 0


@dataclass
class PretrainRun:
    """What a pretraining run made: its ``checkpoint`` and ``log`` files, the ``last`` epoch's
    log entry, its ``trainer``, the ``bundle`` it trained on (``dataset``: as it was named) and
    the ``objective``; :meth:`summary` says it in words."""

    checkpoint: Path
    log: Path
    last: dict[str, Any]
    trainer: Any
    bundle: DatasetBundle
    objective: str = ''
    dataset: str = ''

    def summary(self) -> str:
        """What the run did, as ``graphpfm pretrain`` prints it: the molecules leakage control
        removed, the final loss and speed, the epoch chosen on validation, the files."""
        lines, trainer = [], self.trainer
        leakage = self.bundle.meta.get('leakage')
        if leakage:
            per = ', '.join(f'{k}: {v}' for k, v in leakage['per_dataset'].items())
            lines.append(f"leakage control: removed {leakage['removed']} of "
                         f"{leakage['num_graphs_before']} molecules of {self.bundle.name} found "
                         f"in the {'/'.join(leakage['splits'])} split(s) of "
                         f"{', '.join(leakage['downstream'])} ({per})")
        node_level = self.bundle.level == 'node'
        unit = 'nodes' if node_level else 'graphs'
        batching = '' if not node_level else (
            ', full batch' if trainer.node_batch_size == 0 else
            f', mini-batches of {trainer.node_batch_size} seed nodes')
        lines.append(f'pretrained {self.objective} on {self.dataset} ({self.size}{batching}): '
                     f"final loss {self.last['loss']:.4f}, {self.last[f'{unit}_per_s']:.0f} "
                     f'{unit}/s')
        for cb in trainer.callbacks:
            if getattr(cb, 'best_epoch', None) is not None:
                lines.append(f'selected on validation: epoch {cb.best_epoch} of '
                             f'{trainer.config.epochs} (valid {cb.evaluator.metric} '
                             f'{cb.best_valid:.4f} by a linear probe); the checkpoint holds its '
                             'encoder')
        return '\n'.join([*lines, f'checkpoint: {self.checkpoint}', f'log: {self.log}'])

    @property
    def size(self) -> str:
        """The corpus's size in words (graphs, or nodes and edges)."""
        data = self.bundle.dataset
        return (f'{int(data.num_nodes)} nodes, {int(data.num_edges)} edges'
                if self.bundle.level == 'node' else f'{len(data)} graphs')


def check_objective(name: str) -> None:
    """Refuse an unknown objective (or part of a ``+`` combination)."""
    from ..objectives import OBJECTIVES
    unknown = [part for part in name.split('+') if part not in OBJECTIVES]
    if unknown:
        raise ConfigError(f"Unknown objective '{unknown[0]}'. Valid options: "
                          f"{', '.join(OBJECTIVES.names())}; or several joined with '+'")


def pretrain(out: str | os.PathLike, data: DataConfig, encoder: EncoderConfig,
             config: PretrainConfig, train: Any, *,
             objective_kwargs: dict[str, Any] | None = None,
             overwrite: bool = False, run_config: dict[str, Any] | None = None) -> PretrainRun:
    """Pretrain an encoder into folder ``out``: ``checkpoint.pt``, ``train_log.jsonl`` and
    ``config.yaml`` (``run_config``, the options that made the run). The folder is written
    only when the run finishes (:func:`~graphpfm.paths.staged_directory`); ``config.resume``
    continues an unfinished one.

    Args:
        out: the run folder.
        data: the corpus.
        encoder: the encoder built from scratch; its unset fields are taken from the
            ``config.init`` checkpoint, if given, else the defaults (on a copy: the caller's
            config is left as given).
        config: the objective and the run's options.
        train (TrainConfig): the training recipe (its ``seed`` also seeds the encoder's
            initialisation).
        objective_kwargs: the objective's keyword arguments.
        overwrite: replace a finished run in ``out``.
        run_config: the options that made the run, for ``config.yaml`` and the checkpoint
            (the encoder's filled in); :obj:`None`: the fields of the configs.
    """
    from ..paths import staged_directory
    from ..pretrained import resolve_checkpoint
    check_objective(config.objective)
    encoder = replace(encoder)
    if config.init:
        config = replace(config, init=str(resolve_checkpoint(config.init)))
    out = Path(out)
    if int(os.environ.get('WORLD_SIZE', '1')) > 1:  # torchrun: every rank writes to out
        out.mkdir(parents=True, exist_ok=True)
        return _pretrain(out, out, data, encoder, config, train, objective_kwargs or {},
                         run_config)
    with staged_directory(out, overwrite=overwrite, resume=config.resume) as staging:
        return _pretrain(staging, out, data, encoder, config, train, objective_kwargs or {},
                         run_config)


def _pretrain(folder: Path, out: Path, data: DataConfig, encoder: EncoderConfig,
              config: PretrainConfig, train: Any, kwargs: dict[str, Any],
              run_config: dict[str, Any] | None) -> PretrainRun:
    from ..config import plain_values, write_yaml
    from ..objectives import build_objective, data_kwargs, required_targets
    from ..train import Trainer, load_encoder
    from ..utils import seed_everything

    chain, ckpt = _chain(encoder, config.init)
    targets = required_targets(config.objective)
    try:
        bundle = data.load(targets=targets, progress=bool(train.progress))
    except ValueError as exc:
        if not targets:
            raise
        raise DataError(f"objective '{config.objective}': {exc}") from None
    if bundle.level != 'node' and len(bundle.dataset) == 0:
        raise DataError(_nothing_to_learn(data.dataset, bundle))
    if config.exclude:
        bundle = _exclude(data, config, bundle, bool(train.progress))
    seed_everything(train.seed)
    if config.init:
        check_width(config.init, bundle, ckpt)
        model = load_encoder(config.init, dropout=encoder.dropout)
        log.info('encoder initialised from %s (%s)', config.init, model)
    else:
        model = encoder.build(bundle)
        encoder.in_channels = model.kwargs.get('in_channels')
    kwargs = data_kwargs(config.objective, kwargs, bundle, _num_steps(bundle, train))
    try:
        objective = build_objective(config.objective, model, **kwargs)
    except ValueError as err:  # an option out of range, or an encoder it cannot use
        if isinstance(err, GraphpfmError):
            raise
        raise ConfigError(f"objective '{config.objective}': {err}") from None
    objective.chain = chain
    run_config = plain_values({**(run_config or {**asdict(data),
                                                 **asdict(config), **asdict(train)}),
                               **asdict(encoder)})
    write_yaml(folder / 'config.yaml', run_config)
    node_level = bundle.level == 'node'
    size = ({'num_nodes': int(bundle.dataset.num_nodes),
             'num_edges': int(bundle.dataset.num_edges), 'level': 'node'} if node_level
            else {'num_graphs': len(bundle.dataset)})
    provenance = {'corpus': bundle.name, **size,
                  **{k: v for k, v in bundle.meta.items()
                     if isinstance(v, (str, int, float, bool)) or v is None}}
    if 'leakage' in bundle.meta:
        provenance['leakage'] = bundle.meta['leakage']
    trainer = Trainer(objective, train, log_path=folder / 'train_log.jsonl',
                      checkpoint_path=folder / 'checkpoint.pt', provenance=provenance,
                      run_config=run_config, callbacks=_selection(config, bundle))
    run = PretrainRun(out / 'checkpoint.pt', out / 'train_log.jsonl', {}, trainer, bundle,
                      config.objective, data.dataset)
    log.info('pretraining %s with %s on %s (%s), %d epochs', encoder.encoder,
             config.objective, bundle.name, run.size, train.epochs)
    run.last = trainer.fit(bundle.dataset, resume=config.resume)[-1]
    return run


def _chain(encoder: EncoderConfig, init: str | None
           ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Fill the unset encoder fields (from the ``init`` checkpoint if given); return the
    checkpoint's chain of earlier stages and the checkpoint (``{}`` without one)."""
    ckpt = encoder.fill(init, '--init')
    if not init:
        return [], ckpt
    previous = ckpt.get('objective') or {}
    stage = {'objective': {'name': previous.get('name'), 'kwargs': previous.get('kwargs', {})},
             'data': ckpt.get('data', {}), 'path': str(Path(init).resolve())}
    return [*previous.get('chain', []), stage], ckpt


def _exclude(data: DataConfig, config: PretrainConfig, bundle: DatasetBundle,
             progress: bool) -> DatasetBundle:
    """Leakage control: drop corpus molecules found in downstream valid/test splits."""
    from ..datasets import exclude_overlap
    if bundle.level == 'node':
        raise ConfigError(f"--exclude (molecule leakage control) does not apply to the "
                          f"node-level dataset '{bundle.name}'")
    return exclude_overlap(bundle, config.exclude, data.root, config.exclude_splits,
                           num_workers=data.featurize_workers, progress=progress)


def _num_steps(bundle: DatasetBundle, cfg: Any) -> int:
    """The optimizer steps of the run."""
    from ..tasks import resolve_node_batching
    if bundle.level == 'node':
        size = resolve_node_batching(bundle.dataset, cfg.node_batch_size)
        return cfg.epochs * (1 if size == 0 else math.ceil(int(bundle.dataset.num_nodes) / size))
    return cfg.epochs * math.ceil(len(bundle.dataset) / cfg.batch_size)


def _nothing_to_learn(name: str, bundle: DatasetBundle) -> str:
    """Why a dataset of graphs holds none: no records, or every record invalid (the first
    one's line and reason)."""
    meta = getattr(bundle.dataset, 'meta', None) or {}
    examples = meta.get('invalid_examples') or []
    if not meta.get('count') or not examples:
        return f"'{name}' holds no molecule or graph to pretrain on"
    first = examples[0]
    where = f"line {first['line']}" if 'line' in first else f"record {first['index']}"
    return (f"'{name}' holds no valid molecule: all {meta['count']} records are invalid "
            f"(first: {where}, {first['smiles']!r}: {first['reason']})")


def _selection(config: PretrainConfig, bundle: DatasetBundle) -> list[Any]:
    """The validation-selection callback of ``validate_every``, if given."""
    if not config.validate_every:
        return []
    if config.validate_every < 0:
        raise ConfigError(f'--validate-every must be >= 0, got {config.validate_every}')
    if bundle.level != 'node' or not bundle.labelled or not bundle.split_idx:
        raise ConfigError(f"--validate-every selects on a labelled node dataset's validation "
                          f"split; '{bundle.name}' is a {bundle.level}-level dataset"
                          f"{'' if bundle.labelled else ' without labels'}")
    from ..eval import ValidationProbe
    return [ValidationProbe(bundle, every=config.validate_every)]
