"""Contrastive and reconstruction losses against direct computations, plus sign tests."""
import math

import pytest
import torch

from graphpfm.nn.losses import nt_xent, sce_loss


def _direct_nt_xent(z1, z2, t, intra, symmetric):
    """Loop-per-anchor computation straight from the formula."""
    def cos(u, v):
        return float(u @ v / (u.norm() * v.norm()))

    def one_side(a, b):
        total = 0.0
        n = a.size(0)
        for i in range(n):
            num = math.exp(cos(a[i], b[i]) / t)
            den = sum(math.exp(cos(a[i], b[j]) / t) for j in range(n))
            if intra:
                den += sum(math.exp(cos(a[i], a[j]) / t) for j in range(n) if j != i)
            total += -math.log(num / den)
        return total / n
    loss = one_side(z1, z2)
    return 0.5 * (loss + one_side(z2, z1)) if symmetric else loss


@pytest.mark.parametrize('intra', [True, False])
@pytest.mark.parametrize('symmetric', [True, False])
def test_nt_xent_matches_the_formula(intra, symmetric):
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(3, 4, generator=g), torch.randn(3, 4, generator=g)
    got = float(nt_xent(z1, z2, 0.5, intra_view_negatives=intra, symmetric=symmetric))
    assert got == pytest.approx(_direct_nt_xent(z1, z2, 0.5, intra, symmetric), rel=1e-5)


def test_nt_xent_hand_value_two_orthogonal_pairs():
    # z1 = z2 = identity rows: positives cos 1, negatives cos 0, t = 1, no intra negatives:
    # loss = -log(e / (e + 1))
    z = torch.eye(2)
    got = float(nt_xent(z, z.clone(), 1.0, intra_view_negatives=False))
    assert got == pytest.approx(-math.log(math.e / (math.e + 1)), rel=1e-6)


def test_nt_xent_falls_when_positives_move_closer():
    g = torch.Generator().manual_seed(1)
    z1 = torch.randn(8, 16, generator=g)
    noise = torch.randn(8, 16, generator=g)
    losses = [float(nt_xent(z1, z1 + s * noise)) for s in (2.0, 1.0, 0.5, 0.1)]
    assert all(a > b for a, b in zip(losses, losses[1:]))


def test_nt_xent_rejects_bad_input():
    with pytest.raises(ValueError, match='same shape'):
        nt_xent(torch.randn(3, 4), torch.randn(2, 4))
    with pytest.raises(ValueError, match='temperature'):
        nt_xent(torch.randn(3, 4), torch.randn(3, 4), 0.0)


def test_sce_zero_for_perfect_reconstruction_and_hand_value():
    t = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    assert float(sce_loss(3 * t, t)) == pytest.approx(0.0, abs=1e-7)
    p = torch.tensor([[1.0, 1.0], [0.0, -2.0]])  # cos = 1/sqrt(2) and -1
    for gamma in (1.0, 2.0, 3.0):
        expected = ((1 - 1 / math.sqrt(2)) ** gamma + 2.0 ** gamma) / 2
        assert float(sce_loss(p, t, gamma)) == pytest.approx(expected, rel=1e-6)


def test_sce_falls_as_prediction_approaches_target():
    g = torch.Generator().manual_seed(2)
    t, noise = torch.randn(10, 6, generator=g), torch.randn(10, 6, generator=g)
    losses = [float(sce_loss(t + s * noise, t, 2.0)) for s in (3.0, 1.0, 0.3, 0.0)]
    assert all(a > b for a, b in zip(losses, losses[1:]))
    with pytest.raises(ValueError, match='gamma'):
        sce_loss(t, t, 0.5)
