"""Is the pretrained encoder better than a random one by more than the spread over seeds?"""
import math

import pytest

from graphpfm.eval import ProbeResult, compare_to_random


def _result(scores, metric='acc', higher=True):
    return ProbeResult(metric=metric, higher_is_better=higher,
                       runs=[{'seed': s, 'best_valid': v, 'test_at_best_valid': v}
                             for s, v in scores.items()])


def test_a_gain_above_the_spread_helped():
    c = compare_to_random(_result({0: 0.82, 1: 0.83, 2: 0.81}),
                          _result({0: 0.72, 1: 0.74, 2: 0.73}))
    assert c.verdict == 'helped' and c.helped and c.seeds == [0, 1, 2]
    assert c.mean == pytest.approx(0.09) and c.low > 0
    # d = (.10, .09, .08): sd .01, t(0.975, 2) = 4.303, half-width .01 * 4.303 / sqrt(3)
    assert c.high - c.mean == pytest.approx(0.01 * 4.302653 / math.sqrt(3), rel=1e-5)
    assert 'beats' in c.message()


def test_the_reported_regression_warns():
    """Pretrained 60.2 +- 2.5 against random 64.0 +- 1.2 over two seeds: not better."""
    c = compare_to_random(_result({0: 0.577, 1: 0.627}), _result({0: 0.628, 1: 0.652}))
    assert not c.helped and c.mean == pytest.approx(-0.038)
    assert c.verdict == 'unclear'  # two seeds: the interval is wide and holds 0
    text = c.message()
    assert 'did not clearly help' in text and '-3.8' in text and 'spread over seeds' in text


def test_a_loss_beyond_the_spread_hurt():
    c = compare_to_random({0: 0.60, 1: 0.61, 2: 0.59, 3: 0.60},
                          {0: 0.70, 1: 0.70, 2: 0.71, 3: 0.69}, metric='acc',
                          higher_is_better=True)
    assert c.verdict == 'hurt' and c.high < 0 and 'pretraining hurt' in c.message()


def test_within_the_spread_or_on_one_seed_is_unclear():
    c = compare_to_random({0: 0.75, 1: 0.70, 2: 0.72}, {0: 0.71, 1: 0.73, 2: 0.72},
                          metric='acc', higher_is_better=True)
    assert c.verdict == 'unclear' and c.low < 0 < c.high
    one = compare_to_random({0: 0.9}, {0: 0.5}, metric='acc', higher_is_better=True)
    assert one.verdict == 'unclear' and math.isnan(one.low)
    assert 'one seed gives no spread' in one.message()


def test_lower_is_better_metrics_and_unpaired_seeds():
    # RMSE: the pretrained encoder's lower error is a gain; only common seeds are paired
    c = compare_to_random(_result({0: 0.50, 1: 0.52, 2: 0.51, 7: 9.0}, 'rmse', False),
                          _result({0: 0.80, 1: 0.83, 2: 0.81}, 'rmse', False))
    assert c.seeds == [0, 1, 2] and c.mean == pytest.approx(0.3033333) and c.helped
    with pytest.raises(ValueError, match='no seed in common'):
        compare_to_random({0: 0.5}, {1: 0.5}, metric='acc', higher_is_better=True)
    with pytest.raises(ValueError, match='metric= and higher_is_better='):
        compare_to_random({0: 0.5}, {0: 0.5})
    assert c.to_dict()['verdict'] == 'helped'
