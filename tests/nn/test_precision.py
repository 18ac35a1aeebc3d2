"""Row padding for bfloat16 matrix products on the CPU: the counts it rounds to, and the same
results as without it."""
import torch

from graphpfm.nn.precision import row_padding, rowwise


def test_row_padding_rounds_bfloat16_rows_to_64_steps_per_power_of_two():
    assert row_padding(torch.zeros(5271, 3)) == 0  # float32: no per-shape kernels
    assert row_padding(torch.zeros(5271, 3, dtype=torch.bfloat16)) == 41  # 5312 = 83 * 64
    assert [row_padding(torch.zeros(n, 1, dtype=torch.bfloat16)) for n in (0, 1, 127, 129)] == \
        [0, 0, 0, 1]
    for n in range(1, 20000, 37):
        pad = row_padding(torch.empty(n, 0, dtype=torch.bfloat16))
        step = 1 << max(n.bit_length() - 7, 0)
        assert (n + pad) % step == 0 and 0 <= pad < step and pad <= n / 64
    with torch.autocast('cpu', dtype=torch.bfloat16):  # float32 inputs of bfloat16 products
        assert row_padding(torch.zeros(5271, 3)) == 41
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=False):
        assert row_padding(torch.zeros(5271, 3)) == 0


def test_rowwise_equals_the_function_on_the_unpadded_rows():
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(5, 9), torch.nn.ReLU(), torch.nn.Linear(9, 4))
    x = torch.randn(301, 5)
    assert row_padding(x.bfloat16()) == 3
    results = []
    for fn in (mlp, lambda h: rowwise(mlp, h)):
        mlp.zero_grad()
        h = x.clone().requires_grad_()
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out = fn(h)
        out.float().pow(2).sum().backward()
        results.append([out, h.grad] + [p.grad for p in mlp.parameters()])
    assert results[1][0].shape == (301, 4) and results[1][0].dtype == torch.bfloat16
    for got, want in zip(results[1], results[0]):
        assert torch.allclose(got.float(), want.float(), rtol=1e-2, atol=1e-3)
    assert rowwise(mlp, x) is not None and torch.equal(rowwise(mlp, x), mlp(x))  # float32
