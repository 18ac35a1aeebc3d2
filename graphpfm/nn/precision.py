"""Reduced-precision helpers: row counts that let bfloat16 matrix products reuse their
kernels on the CPU."""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor


def row_padding(x: Tensor) -> int:
    r"""The number of zero rows to append to ``x`` before a bfloat16 matrix product on the
    CPU: it makes the row count :math:`n` a multiple of :math:`2^{\max(b - 7, 0)}`, with
    :math:`b` the bit length of :math:`n` (64 steps per power of two, so at most 1/64 more
    rows).

    oneDNN, which runs bfloat16 products on the CPU, builds and compiles a kernel for every
    new shape (2 to 6 ms each), and the node count of a batch of molecules is new almost
    every step; rounded up, a few dozen shapes serve a whole run. Returns :obj:`0` off the
    CPU, under :func:`torch.compile`, and for inputs that neither are bfloat16 nor meet
    autocast to bfloat16 (float32 products go to a BLAS without per-shape kernels).

    Args:
        x (Tensor): the input of the product, rows first.
    """
    if x.device.type != 'cpu' or torch.compiler.is_compiling():
        return 0
    if x.dtype != torch.bfloat16 and not (torch.is_autocast_enabled('cpu') and
                                          torch.get_autocast_dtype('cpu') == torch.bfloat16):
        return 0
    n = x.size(0)
    return -n % (1 << max(n.bit_length() - 7, 0))


def rowwise(fn: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    r"""``fn(x)`` for a function acting on every row of ``x`` on its own (a linear layer, an
    MLP), computed on ``x`` with :func:`row_padding`'s zero rows appended and cut off again;
    plainly ``fn(x)`` where no padding applies (float32, GPUs).

    Args:
        fn (callable): the row-wise function, e.g. a :class:`torch.nn.Sequential` MLP.
        x (Tensor): its input ``[N, *]``.
    """
    pad = row_padding(x)
    if pad == 0:
        return fn(x)
    return fn(torch.cat([x, x.new_zeros((pad, *x.shape[1:]))]))[:x.size(0)]
