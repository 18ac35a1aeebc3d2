r"""Linear probing of frozen encoders: embed, fit a regularised linear model on the training
split, choose the regularisation on the validation split, report the test score."""
from __future__ import annotations

import logging
import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from ..datasets.bundle import check_train_limit
from ..errors import ConfigError
from ..tasks import Evaluator, Task, label_array
from ..utils import seed_everything
from .finetune import FinetuneResult, select_best_epoch

logger = logging.getLogger(__name__)

#: inverse regularisation strengths tried by default: 1e-4, 1e-3, ..., 1e4
DEFAULT_CS: tuple[float, ...] = tuple(10.0 ** k for k in range(-4, 5))
#: task types a linear probe handles
PROBE_TASK_TYPES = ('multiclass classification', 'binary classification', 'regression')
_DEFAULT_METRIC = {'multiclass classification': 'acc', 'binary classification': 'rocauc',
                   'regression': 'rmse'}


# ----------------------------------------------------------------------------- linear probe
@dataclass
class LinearProbeResult:
    r"""What :func:`linear_probe` returns.

    Attributes:
        metric (str): evaluation metric.
        higher_is_better (bool): direction of :attr:`metric`.
        best_C (float): the inverse regularisation strength chosen on the validation split.
        best_valid (float): validation score at :attr:`best_C`.
        test_at_best_valid (float): test score at :attr:`best_C`.
        scores (list of dict): one per ``C`` (ascending): ``C``, ``train``, ``valid``,
            ``test`` and ``converged``.
        task_type (str): the task type probed.
    """

    metric: str
    higher_is_better: bool
    best_C: float
    best_valid: float
    test_at_best_valid: float
    scores: list[dict[str, Any]] = field(default_factory=list)
    task_type: str = ''

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def infer_task_type(y: Tensor) -> str:
    """``'multiclass classification'`` for integer labels, ``'binary classification'`` for
    float labels in ``{0, 1}`` (NaN = missing), else ``'regression'``."""
    if not y.is_floating_point():
        return 'multiclass classification'
    observed = y[~torch.isnan(y)]
    if observed.numel() and bool(((observed == 0) | (observed == 1)).all()):
        return 'binary classification'
    return 'regression'


def _fit_predict(task_type: str, C: float, x_train: np.ndarray, y_train: np.ndarray,
                 x_eval: list[np.ndarray], seed: int, max_iter: int
                 ) -> tuple[list[np.ndarray], bool]:
    """Fit one model per task at strength ``C``; return raw predictions for every array of
    ``x_eval`` (classes ``[n, 1]``, scores or values ``[n, T]``) and whether it converged."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression, Ridge

    converged = True
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', ConvergenceWarning)
        if task_type == 'multiclass classification':
            keep = y_train[:, 0] >= 0
            clf = LogisticRegression(C=C, max_iter=max_iter, random_state=seed)
            clf.fit(x_train[keep], y_train[keep, 0])
            converged = bool(np.all(clf.n_iter_ < max_iter))
            return [clf.predict(x).reshape(-1, 1) for x in x_eval], converged
        outs = [np.zeros((x.shape[0], y_train.shape[1])) for x in x_eval]
        for t in range(y_train.shape[1]):
            keep = ~np.isnan(y_train[:, t])
            yt = y_train[keep, t]
            if task_type == 'regression':
                model: Any = Ridge(alpha=1.0 / C, random_state=seed).fit(x_train[keep], yt)
                for out, x in zip(outs, x_eval, strict=True):
                    out[:, t] = model.predict(x)
                continue
            if np.unique(yt).size < 2:  # one class in training: a constant score
                for out in outs:
                    out[:, t] = 0.0 if yt.size == 0 else (1.0 if yt[0] == 1 else -1.0)
                continue
            model = LogisticRegression(C=C, max_iter=max_iter, random_state=seed)
            model.fit(x_train[keep], yt.astype(np.int64))
            converged &= bool(np.all(model.n_iter_ < max_iter))
            for out, x in zip(outs, x_eval, strict=True):
                out[:, t] = model.decision_function(x)
    return outs, converged


def linear_probe(embeddings: Tensor | np.ndarray, y: Tensor, split_idx: dict[str, Tensor], *,
                 Cs: Sequence[float] = DEFAULT_CS, seed: int = 0, task_type: str | None = None,
                 evaluator: Any | None = None, standardize: bool = True,
                 max_iter: int = 1000) -> LinearProbeResult:
    r"""The linear evaluation protocol of self-supervised graph learning (as in `DGI
    <https://arxiv.org/abs/1809.10341>`_ and `GRACE <https://arxiv.org/abs/2006.04131>`_): a
    scikit-learn linear model on frozen embeddings, fitted on the training split for every
    inverse regularisation strength ``C`` in :obj:`Cs`; ``C`` is chosen on the **validation**
    split only (best validation score; ties go to the smaller ``C``, i.e. the stronger
    regularisation) and the test score of the model fitted at that ``C`` is reported (the
    model is not refitted on train + valid). Test scores never guide the choice.

    * multiclass labels (integers ``[n]`` or ``[n, 1]``; negative or NaN = unlabelled):
      multinomial :class:`~sklearn.linear_model.LogisticRegression`, accuracy by default;
    * binary labels (floats ``[n, T]`` in ``{0, 1}``, NaN = missing): one logistic
      regression per task on its labelled rows (one-vs-rest), scored by ROC-AUC over tasks by
      default (a task with one class in training gets a constant score);
    * regression targets: one :class:`~sklearn.linear_model.Ridge` per task with
      ``alpha = 1 / C``, RMSE by default.

    With :obj:`standardize`, features are centred and scaled by the training rows' mean and
    standard deviation (fitted on train only), so one grid of ``C`` suits encoders of any
    output scale.

    Args:
        embeddings (Tensor or ndarray): ``[n, d]`` features.
        y (Tensor): labels ``[n]`` or ``[n, T]``.
        split_idx (dict): ``'train'``, ``'valid'``, ``'test'`` row indices.
        Cs (sequence of float): inverse regularisation strengths. (default: :data:`DEFAULT_CS`,
            ``1e-4`` to ``1e4`` by powers of ten)
        seed (int): ``random_state`` of the models. (default: :obj:`0`)
        task_type (str, optional): one of :data:`PROBE_TASK_TYPES`. (default: inferred from
            :obj:`y` by :func:`infer_task_type`)
        evaluator (optional): ``metric``, ``higher_is_better`` and
            ``eval({'y_true', 'y_pred'}) -> {metric: value}``, e.g.
            :class:`~graphpfm.tasks.Evaluator`. (default: accuracy, ROC-AUC or RMSE by task
            type)
        standardize (bool): standardise features with training statistics.
            (default: :obj:`True`)
        max_iter (int): iterations of the logistic-regression solver (lbfgs).
            (default: :obj:`1000`)
    """
    if not Cs:
        raise ValueError('Cs must hold at least one value')
    if any(not c > 0 for c in Cs):
        raise ValueError(f'every C must be > 0, got {list(Cs)}')
    y = torch.as_tensor(y).cpu()
    task_type = infer_task_type(y) if task_type is None else task_type
    if task_type not in PROBE_TASK_TYPES:
        raise ValueError(f"task_type '{task_type}' invalid; valid options: "
                         f"{', '.join(PROBE_TASK_TYPES)}")
    if evaluator is None:
        evaluator = Evaluator(metric=_DEFAULT_METRIC[task_type])
    for split in ('train', 'valid', 'test'):
        if split not in split_idx:
            raise ValueError(f"split_idx lacks '{split}'; it has {', '.join(split_idx)}")
    x = embeddings.detach().cpu().double().numpy() if isinstance(embeddings, Tensor) \
        else np.asarray(embeddings, dtype=np.float64)
    labels = label_array(y, task_type)
    if x.shape[0] != labels.shape[0]:
        raise ValueError(f'{x.shape[0]} embeddings but {labels.shape[0]} labels')
    idx = {s: torch.as_tensor(split_idx[s]).long().cpu().numpy() for s in ('train', 'valid',
                                                                           'test')}
    xs = {s: x[i] for s, i in idx.items()}
    if standardize:
        from sklearn.preprocessing import StandardScaler
        scaler = StandardScaler().fit(xs['train'])
        xs = {s: scaler.transform(v) for s, v in xs.items()}
    ys = {s: labels[i] for s, i in idx.items()}

    def score(split: str, raw: np.ndarray) -> float:
        pred = raw
        if task_type == 'binary classification' and evaluator.metric == 'acc':
            pred = (raw > 0).astype(np.float64)
        y_true = ys[split]
        if task_type == 'multiclass classification':
            labelled = y_true[:, 0] >= 0
            y_true, pred = y_true[labelled], pred[labelled]
        return float(evaluator.eval({'y_true': y_true, 'y_pred': pred})[evaluator.metric])

    scores = []
    for C in sorted(float(c) for c in Cs):
        preds, converged = _fit_predict(task_type, C, xs['train'], ys['train'],
                                        [xs['train'], xs['valid'], xs['test']], seed, max_iter)
        row = {'C': C, **{s: score(s, p) for s, p in zip(('train', 'valid', 'test'), preds,
                                                          strict=True)},
               'converged': converged}
        logger.debug('linear probe C=%g: %s', C, row)
        scores.append(row)
    best = select_best_epoch([r['valid'] for r in scores], evaluator.higher_is_better)
    return LinearProbeResult(metric=evaluator.metric, higher_is_better=evaluator.higher_is_better,
                             best_C=scores[best]['C'], best_valid=scores[best]['valid'],
                             test_at_best_valid=scores[best]['test'], scores=scores,
                             task_type=task_type)


# ----------------------------------------------------------------------------- probe
@dataclass
class ProbeConfig:
    r"""Options of :func:`probe`.

    Args:
        seeds (tuple of int): one encoder and probe per seed. (default: :obj:`(0, 1, 2)`)
        Cs (tuple of float): inverse regularisation strengths. (default: :data:`DEFAULT_CS`)
        standardize (bool): standardise features with training statistics.
            (default: :obj:`True`)
        max_iter (int): logistic-regression iterations. (default: :obj:`1000`)
        batch_size (int, optional): node datasets: target nodes per inference mini-batch
            (all neighbours); :obj:`None` or ``0`` embeds the whole graph at once. Graph
            datasets: graphs per batch (:obj:`None`: 256). (default: :obj:`None`)
        num_neighbors (list of int, optional): node datasets with :obj:`batch_size`: embed
            from this many sampled neighbours per hop (approximate, for graphs where all
            neighbours are too many) instead of all of them. (default: :obj:`None`)
        pool (str): graph datasets: readout of node embeddings. (default: :obj:`'mean'`)
        device (str): where the encoder runs (``'auto'``: CUDA if available).
            (default: :obj:`'auto'`)
        progress (bool): progress bar over seeds. (default: :obj:`False`)
        train_limit (int, optional): fit the probe on this many labelled samples only, drawn
            at random from the training split, the same subset for every seed and encoder;
            :obj:`None`: all. (default: :obj:`None`)
    """

    seeds: Sequence[int] = (0, 1, 2)
    Cs: Sequence[float] = DEFAULT_CS
    standardize: bool = True
    max_iter: int = 1000
    batch_size: int | None = None
    num_neighbors: Sequence[int] | None = None
    pool: str = 'mean'
    device: str = 'auto'
    progress: bool = False
    train_limit: int | None = None

    def __post_init__(self) -> None:
        self.seeds = tuple(int(s) for s in self.seeds)
        if not self.seeds:
            raise ConfigError('seeds must name at least one seed')
        check_train_limit(self.train_limit)
        self.Cs = tuple(float(c) for c in self.Cs)
        if not self.Cs or any(not c > 0 for c in self.Cs):
            raise ConfigError(f'Cs must be positive numbers, got {list(self.Cs)}')
        if self.max_iter < 1:
            raise ConfigError(f'max_iter must be >= 1, got {self.max_iter}')
        if self.num_neighbors is not None:
            self.num_neighbors = [int(k) for k in self.num_neighbors]
            if not self.batch_size:
                raise ConfigError('num_neighbors (sampled inference) needs a batch_size')


class ProbeResult(FinetuneResult):
    r"""Scores of :func:`probe` over seeds: the test score at each seed's validation-chosen
    ``C``, summarised by mean and population standard deviation (``ddof=0``), like
    :class:`~graphpfm.eval.FinetuneResult` (so :func:`~graphpfm.eval.format_table` prints it).

    ``runs`` hold one dict per seed: ``seed``, ``best_C``, ``best_valid``,
    ``test_at_best_valid`` and ``scores`` (``C``, ``train``, ``valid``, ``test``,
    ``converged`` for every ``C``).
    """

    @property
    def best_Cs(self) -> list[float]:
        return [r['best_C'] for r in self.runs]


def probe(bundle: Any, make_encoder: Callable[[int], torch.nn.Module],
          seeds: Sequence[int] | None = None, *, config: ProbeConfig | None = None,
          evaluator: Any | None = None) -> ProbeResult:
    r"""Linear probing of an encoder over seeds: for each seed, seed everything, build the
    encoder (``make_encoder(seed)``: load pretrained weights or initialise randomly), embed
    the dataset with it frozen, and run :func:`linear_probe` (``C`` chosen on validation);
    report the mean ± std (``ddof=0``) of the test scores.

    Embeddings come from the bundle's :class:`~graphpfm.tasks.Task`: node-level bundles (one
    graph) by :func:`~graphpfm.tasks.embed_nodes`, graph-level bundles by pooled (see
    :attr:`ProbeConfig.pool`) :func:`~graphpfm.tasks.embed_graphs`.

    A pretrained encoder gives the same embeddings at every seed and lbfgs is deterministic,
    so its runs agree; the spread comes from randomly initialised encoders, or from
    ``make_encoder`` loading a different checkpoint per seed.

    Args:
        bundle (DatasetBundle): a labelled dataset with ``split_idx``.
        make_encoder (callable): ``seed -> Encoder``.
        seeds (sequence of int, optional): overrides ``config.seeds``.
        config (ProbeConfig, optional): options. (default: :obj:`ProbeConfig()`)
        evaluator (optional): as in :func:`linear_probe`. (default: the bundle's
            :class:`~graphpfm.tasks.Evaluator`)
    """
    config = ProbeConfig() if config is None else config
    if seeds is not None:
        config = ProbeConfig(**{**asdict(config), 'seeds': tuple(seeds)})
    if config.train_limit is not None:
        bundle = bundle.limit_train(config.train_limit)
    task = Task.from_bundle(bundle)
    task.check_labelled('a linear probe')
    evaluator = task.evaluator() if evaluator is None else evaluator
    task_type = bundle.task_type
    if task_type not in PROBE_TASK_TYPES:
        raise ValueError(f"task_type '{task_type}' invalid; valid options: "
                         f"{', '.join(PROBE_TASK_TYPES)}")
    seed_iter: Any = config.seeds
    if config.progress:
        from tqdm.auto import tqdm
        seed_iter = tqdm(config.seeds, desc=f'probe {bundle.name}', leave=False)
    runs = []
    for seed in seed_iter:
        seed_everything(seed)
        emb, y, split_idx = task.embed(make_encoder(seed), config.device,
                                       batch_size=config.batch_size,
                                       num_neighbors=config.num_neighbors, pool=config.pool)
        res = linear_probe(emb, y, split_idx, Cs=config.Cs, seed=seed,
                           task_type=task_type, evaluator=evaluator,
                           standardize=config.standardize, max_iter=config.max_iter)
        if not all(r['converged'] for r in res.scores):
            logger.info('seed %d: logistic regression hit max_iter=%d at some C', seed,
                        config.max_iter)
        runs.append({'seed': seed, 'best_C': res.best_C, 'best_valid': res.best_valid,
                     'test_at_best_valid': res.test_at_best_valid, 'scores': res.scores})
        logger.info('seed %d: C=%g valid %s %.4f test %.4f', seed, res.best_C, res.metric,
                    res.best_valid, res.test_at_best_valid)
    result = ProbeResult(metric=evaluator.metric, higher_is_better=evaluator.higher_is_better,
                         runs=runs, config=asdict(config))
    if not math.isnan(result.mean):
        logger.info('%s linear probe %s: test %s (valid %s) over seeds %s', bundle.name,
                    evaluator.metric, result.summary(), result.valid_summary(),
                    list(config.seeds))
    return result
