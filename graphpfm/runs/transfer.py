"""One transfer run: fine-tune or linearly probe encoders (a checkpoint's, a randomly
initialised one of its architecture to compare against) on a labelled dataset, and write the
results table (``results.md``, ``.json``, ``.csv``) into a folder."""
from __future__ import annotations

import csv
import json
import logging
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from ..datasets import DatasetBundle
from ..errors import ConfigError, DataError
from .config import DataConfig, EncoderConfig, check_width

log = logging.getLogger('graphpfm')

#: the encoder's dropout by default: in fine-tuning (as Hu et al.), in probing
FINETUNE_DROPOUT, PROBE_DROPOUT = 0.5, 0.0

#: how each comparison arm is named in sentences
BASELINES = {'random': 'a randomly initialised encoder of the same architecture',
             'scratch': 'the same architecture trained from scratch with the same recipe and '
                        'seeds'}


@dataclass
class TransferConfig:
    r"""Which encoders to transfer.

    Args:
        checkpoint (str, optional): a pretrained checkpoint file or shipped pretrained model
            (``graphpfm list``); :obj:`None`: a randomly initialised encoder of the encoder
            options only.
        compare_scratch (bool): also fine-tune a randomly initialised encoder of the
            checkpoint's architecture with the same recipe and seeds.
        compare_random (bool): also probe a randomly initialised encoder of the checkpoint's
            architecture with the same seeds.
        jobs (int): fine-tuning runs (one encoder and seed each) made at once, each in a
            process of its own with an equal share of this process's torch threads (a seed
            scores as it would alone with that many threads); 1: one after another in this
            process. Scripts that use more than one must guard their entry point with
            ``if __name__ == '__main__':`` (processes are spawned). Fine-tuning only, and not
            under ``torchrun`` (its processes already split the seeds).
    """

    checkpoint: str | None = None
    compare_scratch: bool = False
    compare_random: bool = False
    jobs: int = 1

    def __post_init__(self) -> None:
        if self.jobs < 1:
            raise ConfigError(f'--jobs must be >= 1, got {self.jobs}')


@dataclass
class TransferReport:
    """A transfer run's ``results`` per arm, what they are (``description``), the
    comparison of the pretrained arm with the ``baseline`` arm (:obj:`None` without one) and
    the ``payload`` written to ``results.json``."""

    bundle: DatasetBundle
    results: dict[str, Any]
    description: str
    payload: dict[str, Any]
    baseline: str | None = None
    comparison: Any = None
    #: printed under the verdict: what the numbers mean
    note: str = ''

    def verdict(self) -> str:
        """Whether the pretrained encoder beat its baseline by more than the spread over seeds,
        with the rule ('' without a comparison)."""
        if self.comparison is None:
            return ''
        rule = (f'rule: pretrained minus {self.baseline} per seed, its mean with a 95% Student '
                't interval over the seeds; pretraining helped only if the interval lies above 0')
        text = self.comparison.message(baseline=BASELINES[self.baseline])
        return f'{text} ({rule})' if self.comparison.helped else f'WARNING: {text} ({rule}).'

    def summary(self, out: str | os.PathLike | None = None) -> str:
        """The results table with what it shows, then the verdict, as ``graphpfm finetune``
        prints them (``out``: the folder the results were written to)."""
        from ..eval import format_table
        files = f'\nresults: {out}/results.json, {out}/results.csv' if out is not None else ''
        return '\n'.join(t for t in (f'{self.bundle.name}: {self.description}\n'
                                      f'{format_table(self.results)}{files}', self.verdict(),
                                     self.note) if t)


def finetune(out: str | os.PathLike, data: DataConfig, encoder: EncoderConfig,
             transfer: TransferConfig, config: Any) -> TransferReport:
    """Fine-tune the encoders of ``transfer`` (``config``: a
    :class:`~graphpfm.eval.FinetuneConfig`) on the labelled dataset of ``data``; the unset
    fields of ``encoder`` come from the checkpoint, else the defaults."""
    import torch.distributed as dist

    from ..eval import finetune as run
    distributed = dist.is_available() and dist.is_initialized()
    if distributed and transfer.jobs > 1:
        raise ConfigError(f'--jobs {transfer.jobs} runs the seeds in processes of their own; '
                          'under torchrun the processes are already there: use --jobs 1')
    transfer, config, encoder = *_settled(transfer, config), replace(encoder)
    ckpt = encoder.fill(transfer.checkpoint, '--checkpoint', dropout=FINETUNE_DROPOUT)
    bundle = _labelled(data, config, 'labels to fine-tune on')
    makers = _encoders(transfer, ckpt, encoder, bundle, 'scratch')
    if transfer.jobs > 1:
        results = _in_processes(out, data, encoder, transfer, config, list(makers))
    else:
        results = {}
        for name, make in makers.items():
            log.info('fine-tuning %s encoder on %s (%s, %d seeds)', name, bundle.name,
                     config.mode, len(config.seeds))
            results[name] = run(bundle, make, config, log_path=Path(out) / f'{name}.jsonl')
    if distributed and dist.get_rank() != 0:
        payload = {'results': {k: r.to_dict() for k, r in results.items()}}  # rank 0 writes
        return TransferReport(bundle, results, '', payload)
    what = (f'test {bundle.eval_metric or ""} at the best validation epoch, mean ± std over '
            f'seeds {list(config.seeds)} ({config.mode} fine-tuning, {config.epochs} epochs; '
            f'per-epoch logs: {out}/*.jsonl)')
    return _write(out, bundle, results, transfer, config, what, 'scratch')


def probe(out: str | os.PathLike, data: DataConfig, encoder: EncoderConfig,
          transfer: TransferConfig, config: Any) -> TransferReport:
    """Linearly probe the encoders of ``transfer`` (``config``: a
    :class:`~graphpfm.eval.ProbeConfig`) on the labelled dataset of ``data``."""
    from ..eval import probe as run
    if transfer.jobs > 1:
        raise ConfigError(f'jobs={transfer.jobs}: runs in processes of their own are for '
                          'fine-tuning; a linear probe runs its seeds in this process (jobs=1)')
    transfer, config, encoder = *_settled(transfer, config), replace(encoder)
    ckpt = encoder.fill(transfer.checkpoint, '--checkpoint', dropout=PROBE_DROPOUT)
    bundle = _labelled(data, config, 'labels and split to probe on')
    results = {}
    for name, make in _encoders(transfer, ckpt, encoder, bundle, 'random').items():
        log.info('linear probe of the %s encoder on %s (%d seeds)', name, bundle.name,
                 len(config.seeds))
        results[name] = run(bundle, make, config=config)
    chosen = '; '.join(f"{k}: {', '.join(f'{c:g}' for c in r.best_Cs)}"
                       for k, r in results.items())
    metric = next(iter(results.values())).metric
    what = (f'linear probe, test {metric} at the C chosen on validation, mean ± std over seeds '
            f'{list(config.seeds)} (chosen C per seed: {chosen})')
    return _write(out, bundle, results, transfer, config, what, 'random')


def _settled(transfer: TransferConfig, config: Any) -> tuple[TransferConfig, Any]:
    """Copies of the configs with a shipped model's name as its file and the device chosen
    (``'auto'``: CUDA if available), as the results record them."""
    from ..pretrained import resolve_checkpoint
    from ..utils import resolve_device
    if transfer.checkpoint:
        transfer = replace(transfer, checkpoint=str(resolve_checkpoint(transfer.checkpoint)))
    return transfer, replace(config, device=str(resolve_device(config.device)))


def _in_processes(out: str | os.PathLike, data: DataConfig, encoder: EncoderConfig,
                  transfer: TransferConfig, config: Any, arms: list[str]) -> dict[str, Any]:
    """Fine-tune every arm and seed in ``transfer.jobs`` spawned processes; the results and
    the per-arm logs are those of the sequential loop, seed by seed."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    import torch
    from tqdm.auto import tqdm

    from ..eval import FinetuneResult
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs = [(arm, seed) for arm in arms for seed in config.seeds]
    jobs = min(transfer.jobs, len(runs))
    threads = max(1, torch.get_num_threads() // jobs)
    log.info('fine-tuning %s on %s: %d runs, %d at a time (torch threads each: %d)',
             ', '.join(arms), data.dataset, len(runs), jobs, threads)
    single = replace(config, progress=False)
    done: dict[tuple[str, int], Any] = {}
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context('spawn'),
                             initializer=_init_worker, initargs=(threads,)) as pool:
        futures = {pool.submit(_finetune_one, data, encoder, transfer,
                               replace(single, seeds=(seed,)), arm,
                               out / f'.{arm}.seed{seed}.jsonl'): (arm, seed)
                   for arm, seed in runs}
        try:
            for future in tqdm(as_completed(futures), total=len(runs), desc='fine-tuning runs',
                               disable=not config.progress):
                done[futures[future]] = future.result()
        finally:
            for future in futures:  # after a failure, start no more
                future.cancel()
    results = {}
    for arm in arms:
        parts = [done[arm, seed] for seed in config.seeds]
        logs = [out / f'.{arm}.seed{seed}.jsonl' for seed in config.seeds]
        (out / f'{arm}.jsonl').write_text(''.join(p.read_text(encoding='utf-8') for p in logs),
                                          encoding='utf-8')
        for p in logs:
            p.unlink()
        results[arm] = FinetuneResult(parts[0].metric, parts[0].higher_is_better,
                                      [r for part in parts for r in part.runs],
                                      asdict(config), parts[0].skipped_tasks)
        log.info('%s: %s %s over seeds %s', arm, results[arm].metric, results[arm].summary(),
                 list(config.seeds))
    return results


def _init_worker(threads: int) -> None:
    """Set up a fine-tuning process: ``threads`` torch threads; errors only in its log (the
    calling process has logged what loading the data says)."""
    import torch
    torch.set_num_threads(threads)
    logging.getLogger('graphpfm').setLevel(logging.ERROR)


def _finetune_one(data: DataConfig, encoder: EncoderConfig, transfer: TransferConfig,
                  config: Any, arm: str, log_path: Path) -> Any:
    """One arm's fine-tuning (``config.seeds``) in a worker process."""
    from ..eval import finetune as run
    ckpt = encoder.fill(transfer.checkpoint, '--checkpoint')
    bundle = _labelled(data, config, 'labels to fine-tune on')
    return run(bundle, _encoders(transfer, ckpt, encoder, bundle, 'scratch')[arm], config,
               log_path=log_path)


def _labelled(data: DataConfig, config: Any, what: str) -> DatasetBundle:
    """The labelled dataset of ``data``."""
    bundle = data.load(progress=bool(config.progress))
    if not bundle.labelled or bundle.split_idx is None:
        raise DataError(f"dataset '{bundle.name}' has no {what}")
    return bundle


def _encoders(transfer: TransferConfig, ckpt: dict[str, Any], encoder: EncoderConfig,
              bundle: DatasetBundle, compare: str) -> dict[str, Callable[[int], Any]]:
    """``{name: seed -> encoder}``: the checkpoint's (``ckpt``, loaded; and with
    ``compare_<compare>`` a random one of its architecture), or a random one of ``encoder``."""
    from ..nn import build_encoder
    from ..train import load_encoder
    dropout = {'dropout': encoder.dropout}
    if not transfer.checkpoint:
        if getattr(transfer, f'compare_{compare}'):
            raise ConfigError(f'--compare-{compare} needs --checkpoint (without one, a randomly '
                              'initialised encoder of the encoder options is used)')
        return {compare: lambda seed: encoder.build(bundle)}
    spec = check_width(transfer.checkpoint, bundle, ckpt)
    makers = {'pretrained': lambda seed: load_encoder(transfer.checkpoint, **dropout)}
    if getattr(transfer, f'compare_{compare}'):
        makers[compare] = lambda seed: build_encoder(spec['name'],
                                                     **{**spec['kwargs'], **dropout})
    return makers


def _write(out: str | os.PathLike, bundle: DatasetBundle, results: dict[str, Any],
           transfer: TransferConfig, config: Any, what: str, baseline: str) -> TransferReport:
    """Write the results table (and the comparison with ``baseline``, if both arms ran)."""
    from ..eval import compare_to_random, format_table
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    split = int(bundle.split_idx['train'].numel())
    used = int(bundle.limit_train(config.train_limit).split_idx['train'].numel())
    payload = {'dataset': bundle.name, 'checkpoint': transfer.checkpoint,
               'train_size': used, 'train_split_size': split,
               'results': {k: r.to_dict() for k, r in results.items()}}
    report = TransferReport(bundle, results, what, payload)
    if 'pretrained' in results and baseline in results:
        report.baseline = baseline
        report.comparison = compare_to_random(results['pretrained'], results[baseline])
        payload['comparison'] = report.comparison.to_dict()
    (out / 'results.md').write_text(format_table(results) + '\n')
    (out / 'results.json').write_text(json.dumps(payload, indent=1))
    with (out / 'results.csv').open('w', newline='') as f:  # one row per method
        writer = csv.writer(f)
        writer.writerow(['dataset', 'method', 'metric', 'test_mean', 'test_std', 'valid_mean',
                         'valid_std', 'std_ddof', 'seeds'])
        for name, r in results.items():
            writer.writerow([bundle.name, name, r.metric, r.mean, r.std, r.valid_mean,
                             r.valid_std, 0, ' '.join(map(str, r.seeds))])
    return report


@dataclass
class QuickstartConfig:
    r"""What the quick start fine-tunes, and for how long.

    Args:
        checkpoint (str, optional): the pretrained encoder: a checkpoint file or a shipped
            model's name; :obj:`None`: the model that ships with graphpfm.
        dataset (str, optional): the labelled dataset; :obj:`None`: ``ogbg-molbbbp`` if it is
            under the data root, else ``embedded-polar`` (RDKit's molecules, labelled by
            whether their polar surface area exceeds 90: nothing to download).
        root (str, optional): the data root.
        limit (int, optional): only the first ``limit`` molecules of the dataset.
        train_limit (int, optional): fine-tune on this many labelled training molecules, drawn
            at random (the same for both arms and every seed); valid and test stay whole.
            :obj:`None`: all.
        finetune_epochs (int): fine-tuning epochs per seed.
        seeds (list of int): fine-tuning seeds, or their number.
        jobs (int, optional): fine-tuning runs made at once, each in a process of its own
            (:attr:`TransferConfig.jobs`); :obj:`None`: one per torch thread of this process
            (as many as the cores), at most the number of runs; 1 under ``torchrun``.
    """

    checkpoint: str | None = None
    dataset: str | None = None
    root: str | None = None
    limit: int | None = None
    train_limit: int | None = None
    finetune_epochs: int = 3
    seeds: Sequence[int] = (0, 1, 2, 3, 4)
    jobs: int | None = None


def quickstart(out: str | os.PathLike, config: QuickstartConfig, *, device: Any = 'auto',
               progress: bool = False) -> TransferReport:
    """Fine-tune a pretrained encoder (by default the shipped one) and the same architecture
    from scratch, with the same recipe and seeds, on a classification dataset (by default
    ``ogbg-molbbbp`` if found, else one built from what ships)."""
    import torch

    from ..datasets import available_datasets
    from ..eval import FinetuneConfig
    from ..pretrained import default_pretrained
    if config.finetune_epochs < 1:
        raise ConfigError(f'--finetune-epochs must be >= 1, got {config.finetune_epochs}')
    try:
        checkpoint = config.checkpoint or str(default_pretrained())
    except ValueError as err:
        raise ConfigError(f'{err} (--checkpoint)') from None
    dataset = config.dataset or ('ogbg-molbbbp' if available_datasets(config.root).get(
        'ogbg-molbbbp') else 'embedded-polar')
    recipe = FinetuneConfig(epochs=config.finetune_epochs, seeds=tuple(config.seeds),
                            device=device, progress=progress, train_limit=config.train_limit)
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    jobs = config.jobs or (1 if distributed else min(torch.get_num_threads(),
                                                     2 * len(recipe.seeds)))
    transfer = TransferConfig(checkpoint, compare_scratch=True, jobs=jobs)
    report = finetune(out, DataConfig(dataset, config.root, config.limit),
                      EncoderConfig.unset(), transfer, recipe)
    if not report.description:  # under torchrun, rank 0 reports
        return report
    used, split = report.payload['train_size'], report.payload['train_split_size']
    labels = (f'{used} labelled training molecules' if used == split else
              f"{used} labelled training molecules, drawn at random from the training split's "
              f'{split}')
    model = (f'the shipped model {Path(checkpoint).stem}' if config.checkpoint is None
             else checkpoint)
    report.note = MEANING.format(metric=report.results['pretrained'].metric,
                                 seeds=list(config.seeds), model=model, labels=labels)
    return report


#: what the quick start's numbers mean
MEANING = ("What the numbers mean: {metric} on the test split, whose molecules have scaffolds "
           "(ring systems) that training never saw, at each seed's epoch of best validation "
           "score, mean ± std over seeds {seeds}, after fine-tuning on {labels}. ROC-AUC is "
           "the chance that a random positive molecule is ranked above a random negative one "
           "(1.0 perfect, 0.5 guessing). 'pretrained' starts from {model}; 'scratch' from "
           "random weights of the same architecture, with the same recipe and seeds.")
