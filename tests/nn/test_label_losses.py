import math

import pytest
import torch
import torch.nn.functional as F

from graphpfm.nn.losses import (
    loss_for_task,
    masked_bce_with_logits,
    masked_cross_entropy,
    masked_mse,
)

nan = float('nan')


def test_masked_bce_hand_computation_and_nan_gradients():
    logits = torch.tensor([[0.5, -1.0], [2.0, 0.3], [-0.7, 1.5]], requires_grad=True)
    y = torch.tensor([[1.0, nan], [0.0, 1.0], [nan, 0.0]])
    loss = masked_bce_with_logits(logits, y)

    def bce(z, t):  # -[t log s(z) + (1-t) log(1 - s(z))]
        return math.log1p(math.exp(-z)) if t == 1 else math.log1p(math.exp(z))

    observed = [(0.5, 1), (2.0, 0), (0.3, 1), (1.5, 0)]
    expected = sum(bce(z, t) for z, t in observed) / 4  # count of observed entries, not 6
    assert loss.item() == pytest.approx(expected, rel=1e-6)

    loss.backward()
    grad = logits.grad
    assert grad[0, 1] == 0 and grad[2, 0] == 0  # missing labels get no gradient
    sig = torch.sigmoid(logits.detach())
    assert grad[0, 0].item() == pytest.approx((sig[0, 0] - 1).item() / 4)
    assert grad[1, 0].item() == pytest.approx(sig[1, 0].item() / 4)


def test_masked_bce_values_in_nan_slots_do_not_matter():
    y = torch.tensor([[1.0, nan], [0.0, 1.0], [nan, 0.0]])
    a = torch.randn(3, 2)
    b = a.clone()
    b[0, 1], b[2, 0] = 100.0, -100.0
    assert masked_bce_with_logits(a, y) == masked_bce_with_logits(b, y)


def test_masked_bce_sign():
    y = torch.tensor([[1.0, 0.0], [0.0, nan]])
    towards = torch.tensor([[1.0, -1.0], [-1.0, 0.0]])
    losses = [masked_bce_with_logits(s * towards, y).item() for s in (0.0, 1.0, 3.0)]
    assert losses[0] > losses[1] > losses[2]


def test_all_missing_gives_zero_differentiable_loss():
    logits = torch.randn(2, 3, requires_grad=True)
    y = torch.full((2, 3), nan)
    for fn in (masked_bce_with_logits, masked_mse):
        loss = fn(logits, y)
        assert loss.item() == 0.0
        loss.backward()
        assert torch.all(logits.grad == 0)


def test_masked_mse_hand_computation():
    pred = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    y = torch.tensor([[1.5, nan], [nan, 3.0], [5.0, 8.0]])
    loss = masked_mse(pred, y)
    assert loss.item() == pytest.approx((0.25 + 1.0 + 0.0 + 4.0) / 4)
    loss.backward()
    assert pred.grad[0, 1] == 0 and pred.grad[1, 0] == 0
    assert pred.grad[2, 1].item() == pytest.approx(2 * (6.0 - 8.0) / 4)


def test_masked_cross_entropy_ignores_nan_rows():
    logits = torch.randn(3, 4)
    y = torch.tensor([[0.0], [nan], [2.0]])
    expected = F.cross_entropy(logits[[0, 2]], torch.tensor([0, 2]))
    assert masked_cross_entropy(logits, y).item() == pytest.approx(expected.item())


def test_shape_mismatch_and_unknown_task_type():
    with pytest.raises(ValueError, match='same shape'):
        masked_bce_with_logits(torch.zeros(3, 2), torch.zeros(3, 1))
    with pytest.raises(ValueError, match='regression'):
        loss_for_task('ranking')
    assert loss_for_task('regression') is masked_mse
