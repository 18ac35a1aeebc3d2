r"""Sparse input features for the first linear map of an encoder."""
from __future__ import annotations

import warnings

import torch
from torch import Tensor
from torch_geometric.nn.dense.linear import Linear

#: the largest share of non-zero input values at which :class:`SparseInputLinear` multiplies
#: sparsely when it is switched on with ``True`` (bag-of-words features hold 1 to 2 %)
DEFAULT_MAX_DENSITY = 0.05


def _csr_pair(x: Tensor) -> tuple[Tensor, Tensor]:
    """CSR matrices of ``x`` and of its transpose, from a dense or sparse ``[N, F]`` ``x``
    (one scan for the non-zeros, a stable sort of their columns for the transpose)."""
    n, f = x.shape
    if x.layout == torch.strided:
        row, col = x.nonzero(as_tuple=True)
        val = x[row, col]
    else:
        coo = x.to_sparse_coo().coalesce() if x.layout != torch.sparse_coo else x.coalesce()
        (row, col), val = coo.indices(), coo.values()
    device = x.device

    def pointers(index: Tensor, size: int) -> Tensor:
        out = torch.zeros(size + 1, dtype=torch.long, device=device)
        out[1:] = torch.bincount(index, minlength=size).cumsum(0)
        return out
    order = torch.argsort(col, stable=True)
    with warnings.catch_warnings():  # torch's notice that CSR support is in beta
        warnings.filterwarnings('ignore', message='Sparse CSR tensor support is in beta')
        csr = torch.sparse_csr_tensor(pointers(row, n), col, val, (n, f),
                                      check_invariants=False)
        csr_t = torch.sparse_csr_tensor(pointers(col, f), row[order], val[order], (f, n),
                                        check_invariants=False)
    return csr, csr_t


class _SparseInputMatmul(torch.autograd.Function):
    r""":math:`\mathbf{X}\mathbf{W}^\top` with :math:`\mathbf{X}` multiplied as a sparse
    matrix, forward and for the weight's gradient; the gradient of a dense :math:`\mathbf{X}`
    that requires one is the dense :math:`\mathbf{G}\mathbf{W}`, as the dense product's."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor) -> Tensor:  # type: ignore[override]
        csr, csr_t = _csr_pair(x.detach())
        ctx.save_for_backward(weight)
        ctx.csr_t = csr_t
        ctx.sparse_x = x.layout != torch.strided
        ctx.x = x if ctx.sparse_x and ctx.needs_input_grad[0] else None
        return torch.sparse.mm(csr, weight.t())

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, Tensor | None]:  # type: ignore
        (weight,) = ctx.saved_tensors
        grad_x = grad_w = None
        if ctx.needs_input_grad[1]:
            grad_w = torch.sparse.mm(ctx.csr_t, grad).t()
        if ctx.needs_input_grad[0]:
            grad_x = grad @ weight
            if ctx.sparse_x:  # the gradient of a sparse input lives on its non-zeros
                grad_x = grad_x.sparse_mask(ctx.x.to_sparse_coo().coalesce())
        return grad_x, grad_w


def sparse_linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    r"""``F.linear(x, weight, bias)`` with ``x`` multiplied as a sparse matrix: ``x`` dense or
    a :mod:`torch.sparse` COO/CSR matrix ``[N, F]``; ``weight`` ``[out, F]``. Equal to the
    dense product up to float rounding, with its gradients (a dense ``x`` gets a dense
    gradient; a sparse ``x`` one on its non-zeros)."""
    out = _SparseInputMatmul.apply(x, weight)
    return out if bias is None else out + bias


class SparseInputLinear(Linear):
    r"""PyG's :class:`~torch_geometric.nn.dense.linear.Linear` that multiplies a mostly-zero
    input as a sparse matrix (:func:`sparse_linear`): bag-of-words node features (Cora,
    CiteSeer, PubMed) are more than 98 % zeros, and the first layer's
    :math:`\mathbf{X}\mathbf{W}^\top` then costs the non-zeros times the output width instead
    of :math:`N F` times it, forward and for the weight's gradient.

    The sparse product runs when the input is a :mod:`torch.sparse` matrix, or when
    :attr:`max_density` is positive and at most that share of a dense 2-D float input is
    non-zero (counted at every call); otherwise, and under :func:`torch.autocast`, the dense
    product runs. Same parameters, state dict and initialisation as
    :class:`~torch_geometric.nn.dense.linear.Linear`.

    Attributes:
        max_density (float): the largest share of non-zeros multiplied sparsely; :obj:`0`
            switches the dense input path off. (default: :obj:`0.0`)
    """

    max_density: float = 0.0

    @classmethod
    def convert(cls, linear: Linear, max_density: float = 0.0) -> 'SparseInputLinear':
        """Turn a PyG :class:`~torch_geometric.nn.dense.linear.Linear` into this class in
        place (its parameters kept, nothing re-initialised, no random draw) and return it."""
        if not isinstance(linear, Linear):
            raise TypeError(f'expected a torch_geometric Linear, got {type(linear).__name__}')
        linear.__class__ = cls
        linear.max_density = float(max_density)
        return linear

    def sparse_path(self, x: Tensor) -> bool:
        """Whether :meth:`forward` multiplies ``x`` sparsely."""
        if x.layout != torch.strided:
            return True
        if not self.max_density or x.dim() != 2 or not x.is_floating_point() or \
                x.numel() == 0 or torch.is_autocast_enabled(x.device.type):
            return False
        return int(torch.count_nonzero(x)) <= self.max_density * x.numel()

    def forward(self, x: Tensor) -> Tensor:
        if self.sparse_path(x):
            return sparse_linear(x, self.weight, self.bias)
        return super().forward(x)


def resolve_max_density(sparse_input: bool | float) -> float:
    """``True`` -> :data:`DEFAULT_MAX_DENSITY`; ``False`` -> 0; a share in ``[0, 1]`` as is."""
    if isinstance(sparse_input, bool):
        return DEFAULT_MAX_DENSITY if sparse_input else 0.0
    value = float(sparse_input)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f'sparse_input must be a bool or a share of non-zeros in [0, 1], got '
                         f'{sparse_input!r}')
    return value
