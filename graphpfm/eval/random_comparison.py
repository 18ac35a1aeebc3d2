r"""Does pretraining beat a randomly initialised encoder? A paired test over seeds."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Mapping

import numpy as np

#: the verdicts of :class:`RandomComparison`
VERDICTS = ('helped', 'unclear', 'hurt')


@dataclass
class RandomComparison:
    r"""The paired comparison of a pretrained encoder with a randomly initialised one of the
    same architecture, evaluated over the same seeds (:func:`compare_to_random`).

    Attributes:
        metric (str): the metric compared.
        seeds (list of int): the seeds both were evaluated on.
        differences (list of float): per seed, pretrained minus random where higher is better,
            random minus pretrained where lower is better: positive means pretraining helped.
        mean (float): the mean difference.
        low (float): the lower end of its confidence interval (:obj:`nan` with one seed).
        high (float): the upper end.
        confidence (float): the interval's confidence level.
    """

    metric: str
    seeds: list[int]
    differences: list[float]
    mean: float
    low: float
    high: float
    confidence: float = 0.95

    @property
    def verdict(self) -> str:
        """``'helped'`` when the interval lies above 0, ``'hurt'`` when it lies below 0,
        else (it holds 0, or one seed gives no spread) ``'unclear'``."""
        if math.isnan(self.low):
            return 'unclear'
        if self.low > 0:
            return 'helped'
        return 'hurt' if self.high < 0 else 'unclear'

    @property
    def helped(self) -> bool:
        """Whether pretraining beat the random encoder by more than the spread over seeds."""
        return self.verdict == 'helped'

    def message(self, what: str = 'the pretrained encoder',
                baseline: str = 'a randomly initialised encoder of the same architecture') -> str:
        """One sentence on the outcome, with the numbers (in points, x 100)."""
        diff = f'{100 * self.mean:+.1f}'
        if not math.isnan(self.low):
            diff += (f' [{100 * self.confidence:g}% interval {100 * self.low:+.1f}, '
                     f'{100 * self.high:+.1f}]')
        where = f'{self.metric} over seeds {self.seeds}'
        if self.verdict == 'helped':
            return f'{what} beats {baseline}: {diff} points of {where}.'
        if self.verdict == 'hurt':
            return (f'pretraining hurt: {what} does worse than {baseline}: {diff} points of '
                    f'{where}.')
        why = ('one seed gives no spread to judge by' if len(self.seeds) < 2 else
               'the difference is within the spread over seeds')
        return (f'pretraining did not clearly help: {what} is not better than {baseline} '
                f'by more than the spread over seeds ({diff} points of {where}; {why}).')

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), 'verdict': self.verdict}


def _scores(result: Any) -> dict[int, float]:
    if isinstance(result, Mapping):
        return {int(s): float(v) for s, v in result.items()}
    return {int(r['seed']): float(r['test_at_best_valid']) for r in result.runs}


def compare_to_random(pretrained: Any, random: Any, *, metric: str | None = None,
                      higher_is_better: bool | None = None,
                      confidence: float = 0.95) -> RandomComparison:
    r"""Compare a pretrained encoder with a randomly initialised one of the same architecture,
    seed by seed: with :math:`d_s` the pretrained score minus the random one on seed
    :math:`s` (the other way round where lower is better) over the :math:`n` seeds both
    have, the mean :math:`\bar d` and its Student's *t* interval
    :math:`\bar d \pm t_{(1 + c) / 2,\, n - 1}\, s_d / \sqrt{n}` (:math:`s_d` the standard
    deviation with :math:`n - 1` degrees of freedom). Pretraining **helped** when the interval
    lies above 0, **hurt** when it lies below 0, and is **unclear** otherwise, or with one
    seed: only the first is a gain larger than the spread over seeds.

    Args:
        pretrained: a :class:`~graphpfm.eval.ProbeResult` or
            :class:`~graphpfm.eval.FinetuneResult` (its test scores at the best validation
            choice), or a mapping ``{seed: score}``.
        random: the same for the randomly initialised encoder.
        metric (str, optional): the metric (default: the results').
        higher_is_better (bool, optional): its direction (default: the results').
        confidence (float): the interval's confidence level. (default: :obj:`0.95`)
    """
    from scipy import stats
    metric = metric or getattr(pretrained, 'metric', None) or getattr(random, 'metric', None)
    if higher_is_better is None:
        higher_is_better = getattr(pretrained, 'higher_is_better',
                                   getattr(random, 'higher_is_better', None))
    if metric is None or higher_is_better is None:
        raise ValueError('score mappings need metric= and higher_is_better=')
    if not 0 < confidence < 1:
        raise ValueError(f'confidence must be in (0, 1), got {confidence}')
    a, b = _scores(pretrained), _scores(random)
    seeds = sorted(set(a) & set(b))
    if not seeds:
        raise ValueError(f'no seed in common: pretrained has {sorted(a)}, random {sorted(b)}')
    sign = 1.0 if higher_is_better else -1.0
    d = np.array([sign * (a[s] - b[s]) for s in seeds])
    mean, low, high = float(d.mean()), math.nan, math.nan
    if len(d) > 1:
        half = float(stats.t.ppf((1 + confidence) / 2, len(d) - 1) * d.std(ddof=1)
                     / math.sqrt(len(d)))
        low, high = mean - half, mean + half
    return RandomComparison(metric=metric, seeds=seeds, differences=[float(x) for x in d],
                            mean=mean, low=low, high=high, confidence=confidence)
