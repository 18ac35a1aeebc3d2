"""Embeddings of OGB's categorical atom and bond features, with one [MASK] token per column."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ...data.ogb_features import atom_feature_dims, bond_feature_dims


class CategoricalEncoder(torch.nn.Module):
    r"""Sum of one embedding per categorical column, as OGB's ``AtomEncoder``/``BondEncoder``,
    with ``extra_tokens`` reserved rows per column (mask token, self-loop token).

    All columns share one weight matrix with per-column offsets, so the lookup is a single
    :func:`torch.nn.functional.embedding_bag` call instead of one lookup per column.

    Args:
        out_channels (int): embedding width.
        feature_dims (list[int]): vocabulary size of every column.
        extra_tokens (int): reserved indices after each column's vocabulary. (default: :obj:`1`)
    """

    def __init__(self, out_channels: int, feature_dims: list[int], extra_tokens: int = 1) -> None:
        super().__init__()
        sizes = torch.tensor(feature_dims) + extra_tokens
        self.feature_dims = list(feature_dims)
        self.extra_tokens = extra_tokens
        self.register_buffer('offset', torch.cumsum(sizes, 0) - sizes, persistent=False)
        self.weight = torch.nn.Parameter(torch.empty(int(sizes.sum()), out_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Xavier-uniform per column table, as OGB's encoders do.
        sizes = (torch.tensor(self.feature_dims) + self.extra_tokens).tolist()
        with torch.no_grad():
            for chunk in torch.split(self.weight, sizes, 0):
                torch.nn.init.xavier_uniform_(chunk)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 2 or x.size(1) != len(self.feature_dims):
            raise ValueError(f'expected categorical features of shape [*, {len(self.feature_dims)}]'
                             f', got {tuple(x.shape)}')
        return F.embedding_bag(x + self.offset, self.weight, mode='sum')

    def token_counts(self, x: Tensor, index: Tensor, num_rows: int) -> Tensor:
        r"""How often each token occurs among the rows of ``x`` grouped by ``index``: a float
        ``[num_rows, vocabulary]`` matrix ``C`` with
        ``C @ self.weight == scatter_sum(self(x), index, dim_size=num_rows)`` (the sum of the
        embeddings of every group as one small matrix product, whatever the width)."""
        vocab = self.weight.size(0)
        tokens = x.long() + self.offset
        flat = (index.long().view(-1, 1) * vocab + tokens).view(-1)
        return torch.bincount(flat, minlength=num_rows * vocab).view(num_rows, vocab).to(
            self.weight.dtype)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}({self.weight.size(1)}, dims={self.feature_dims}, '
                f'extra_tokens={self.extra_tokens})')


class AtomEncoder(CategoricalEncoder):
    """OGB atom features -> embedding, with a ``[MASK]`` token per column."""

    def __init__(self, out_channels: int) -> None:
        super().__init__(out_channels, atom_feature_dims(), extra_tokens=1)


class BondEncoder(CategoricalEncoder):
    """OGB bond features -> embedding, with ``[MASK]`` and self-loop tokens per column."""

    def __init__(self, out_channels: int) -> None:
        super().__init__(out_channels, bond_feature_dims(), extra_tokens=2)
