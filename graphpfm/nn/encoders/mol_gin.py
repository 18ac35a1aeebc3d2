"""The molecular GIN of Hu et al. (2020) on OGB atom and bond features (or on float features)."""
from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric import EdgeIndex
from torch_geometric.nn import MessagePassing

from ...data.ogb_features import bond_self_loop_token
from ..precision import rowwise
from .base import ENCODERS, Encoder
from .ogb_features import AtomEncoder, BondEncoder

JK_MODES = ('last', 'sum', 'concat', 'max')


def _sparse_dtype(dtype: torch.dtype, device: torch.device) -> bool:
    return (dtype in (torch.float32, torch.float64) or
            (dtype == torch.bfloat16 and device.type == 'cpu'))


def _sparse_applies(x: Tensor) -> bool:
    """Whether :class:`MolGINConv`'s sparse neighbourhood sum takes ``x``: float32/64 on any
    device, bfloat16 on the CPU (:class:`CSRSum`), never under :func:`torch.compile`."""
    return _sparse_dtype(x.dtype, x.device) and not torch.compiler.is_compiling()


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """The reduced-precision dtype in which :class:`MolGIN` runs its layers under
    :func:`torch.autocast` on ``device``: the autocast dtype where the sparse neighbourhood
    sum takes it (bfloat16 on the CPU), else :obj:`None` (autocast off, or a device where
    the layers take their inputs' dtypes as they come)."""
    if not torch.is_autocast_enabled(device.type) or torch.compiler.is_compiling():
        return None
    dtype = torch.get_autocast_dtype(device.type)
    return dtype if _sparse_dtype(dtype, device) else None


def neighbour_structure(edge_index: Tensor, num_nodes: int, edge_attr: Tensor | None = None,
                        bond_encoder: BondEncoder | None = None
                        ) -> tuple[EdgeIndex, Tensor | None]:
    r"""What :class:`MolGINConv`'s sparse neighbourhood sum needs, built once per graph: the
    adjacency as a row-sorted :class:`~torch_geometric.EdgeIndex` of shape
    ``[num_nodes, num_nodes]`` with ``A[i, j]`` = the number of edges ``j -> i`` (so
    ``A @ h`` sums the neighbours' rows), and, given OGB bond features, each node's counts of
    every bond token over its incoming edges (``bond_encoder.token_counts``, the same for
    every layer's :class:`~graphpfm.nn.encoders.BondEncoder`; :obj:`None` without
    ``edge_attr`` and ``bond_encoder``)."""
    index = edge_index if edge_index.dtype in (torch.int32, torch.int64) else edge_index.long()
    adj = EdgeIndex(index.flip(0), sparse_size=(num_nodes, num_nodes)).sort_by('row')[0]
    counts = None
    if edge_attr is not None and bond_encoder is not None:
        counts = bond_encoder.token_counts(edge_attr, index[1], num_nodes)
    return adj, counts


def _csr(ptr: Tensor, index: Tensor, x: Tensor) -> Tensor:
    """The CSR matrix ``[x.size(0), x.size(0)]`` with ones of ``x``'s dtype at ``ptr``,
    ``index``."""
    return torch.sparse_csr_tensor(ptr, index, x.new_ones(index.numel()),
                                   (x.size(0), x.size(0)), check_invariants=False)


class CSRSum(torch.autograd.Function):
    r"""``adj @ x`` for bfloat16 ``x`` on the CPU, with its backward ``adj.T @ grad``, both
    through torch's CSR sum reduction (:func:`torch.sparse.mm` with ``reduce='sum'``, which
    adds in float32 and rounds once). Torch's own backward of that product, and the sparse
    matrix product behind :class:`~torch_geometric.EdgeIndex`'s backward, take float32/64
    only; the transpose comes from the :class:`~torch_geometric.EdgeIndex` (its cached CSC
    form), built once for all layers of a forward pass."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, adj: EdgeIndex) -> Tensor:
        (rowptr, col), _ = adj.get_csr()
        ctx.adj = adj
        return torch.sparse.mm(_csr(rowptr, col, x), x.contiguous(), 'sum')

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        (colptr, row), _ = ctx.adj.get_csc()
        return torch.sparse.mm(_csr(colptr, row, grad), grad.contiguous(), 'sum'), None


def _sparse_sum(adj: EdgeIndex, x: Tensor) -> Tensor:
    """``adj @ x`` (CSR). The structure is valid by construction, so torch's sparse invariant
    checks stay off, and its one-time notices (checks off, CSR support in beta) are not
    shown to users."""
    with warnings.catch_warnings(), torch.sparse.check_sparse_tensor_invariants(enable=False):
        warnings.filterwarnings('ignore', message='Sparse (CSR tensor support|invariant checks)')
        if x.dtype == torch.bfloat16:
            return CSRSum.apply(x, adj)
        # EdgeIndex's implicit values are float32 ones: other dtypes get their own
        return adj.matmul(x, None if x.dtype == torch.float32 else x.new_ones(adj.size(1)))


class MolGINConv(MessagePassing):
    r"""GIN layer with bond embeddings added to messages, from `"Strategies for Pre-training
    Graph Neural Networks" <https://arxiv.org/abs/1905.12265>`_.

    .. math::
        \mathbf{h}_i' = \mathrm{MLP}\Big(\mathbf{h}_i + \mathbf{e}_{\circlearrowleft}
        + \sum_{j \in \mathcal{N}(i)} (\mathbf{h}_j + \mathbf{e}_{ji})\Big)

    The self-loop term is the reference code's added self-loop edge (with its own bond
    token), computed without materialising the extra edges. Without ``edge_attr`` the
    messages are the neighbours' :math:`\mathbf{h}_j` alone (the self-loop token is still
    added).

    With ``bond_embeddings=False`` the layer has no bond embeddings at all and is the plain
    GIN layer with :math:`\epsilon = 0` of `"How Powerful are Graph Neural Networks?"
    <https://arxiv.org/abs/1810.00826>`_,
    :math:`\mathbf{h}_i' = \mathrm{MLP}(\mathbf{h}_i + \sum_{j} \mathbf{h}_j)`;
    ``edge_attr`` is then ignored (the float-input :class:`MolGIN`).

    The neighbourhood sum is computed as a sparse-dense matrix product (PyG's
    :class:`~torch_geometric.EdgeIndex`, CSR) plus the bond embeddings summed per node as
    ``token counts @ embedding table`` (:meth:`CategoricalEncoder.token_counts`), without
    materialising one message per edge: the same sum, up to float rounding, for 7 to 11% less
    CPU time per pretraining step for most objectives (``python -m benchmarks.aggregation``
    measures both paths side by side). bfloat16 inputs on the CPU take it through
    :class:`CSRSum`, their MLP on rows padded by :func:`~graphpfm.nn.precision.rowwise`. It
    falls back to PyG's message passing under :func:`torch.compile`, for other inputs than
    float32/64 and bfloat16 on the CPU, or when :attr:`sparse_aggregation` is set to
    :obj:`False`. :class:`MolGIN` builds the sparse structure once per forward pass for all
    its layers (:func:`neighbour_structure`).

    Args:
        channels (int): input and output width.
        bond_embeddings (bool): embed OGB bond features into the messages.
            (default: :obj:`True`)
    """

    #: use the sparse-matrix neighbourhood sum where it applies (see above)
    sparse_aggregation: bool = True

    def __init__(self, channels: int, bond_embeddings: bool = True) -> None:
        super().__init__(aggr='add')
        self.mlp = torch.nn.Sequential(torch.nn.Linear(channels, 2 * channels), torch.nn.ReLU(),
                                       torch.nn.Linear(2 * channels, channels))
        self.bond_encoder = BondEncoder(channels) if bond_embeddings else None
        if bond_embeddings:
            self.register_buffer('self_loop_attr', bond_self_loop_token().view(1, -1),
                                 persistent=False)

    def reset_parameters(self) -> None:
        for m in self.mlp:
            if hasattr(m, 'reset_parameters'):
                m.reset_parameters()
        if self.bond_encoder is not None:
            self.bond_encoder.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor | None = None,
                structure: tuple[EdgeIndex, Tensor | None] | None = None) -> Tensor:
        """``structure``: :func:`neighbour_structure` of this graph, when the caller has it
        (built here otherwise)."""
        bonds = self.bond_encoder is not None and edge_attr is not None
        if self.sparse_aggregation and _sparse_applies(x):
            if structure is None:
                structure = neighbour_structure(edge_index, x.size(0), edge_attr,
                                                self.bond_encoder)
            adj, counts = structure
            out = _sparse_sum(adj, x)
            if bonds:
                out = out + rowwise(self._bond_sum, counts).to(out.dtype)
        else:
            edge_emb = self.bond_encoder(edge_attr) if bonds else None
            out = self.propagate(edge_index, x=x, edge_emb=edge_emb,
                                 size=(x.size(0), x.size(0)))
        if self.bond_encoder is None:
            return rowwise(self.mlp, out + x)
        # in the dtype of the sum (under autocast on the CPU: bfloat16)
        return rowwise(self.mlp, out + x + self.bond_encoder(self.self_loop_attr).to(out.dtype))

    def _bond_sum(self, counts: Tensor) -> Tensor:
        return counts @ self.bond_encoder.weight

    def message(self, x_j: Tensor, edge_emb: Tensor | None) -> Tensor:
        return x_j if edge_emb is None else x_j + edge_emb

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.mlp[0].in_features})'


@ENCODERS.register('gin')
class MolGIN(Encoder):
    r"""The molecular GIN of `Hu et al. (2020) <https://arxiv.org/abs/1905.12265>`_ on OGB's
    atom and bond features (one extra ``[MASK]`` token per categorical column), or, with
    ``in_channels``, the same network on float node features.

    Each layer: :class:`MolGINConv` -> batch norm -> ReLU (not after the last layer) -> dropout
    (-> ``+`` the layer's input, with ``residual``).

    Under :func:`torch.autocast` to bfloat16 on the CPU the input embedding is cast once and
    every layer runs in bfloat16 (:func:`autocast_dtype`), sparse sums included, so that no
    activation goes back and forth between float32 and bfloat16; parameters stay float32.

    Two input kinds (:attr:`input_kind`):

    * ``in_channels=None`` (``'ogb_atom'``): categorical OGB atom features embedded by an
      :class:`~graphpfm.nn.encoders.AtomEncoder`, bond features added to the messages.
    * ``in_channels=F`` (``'float'``): float features ``[N, F]`` mapped by a
      :class:`torch.nn.Linear` to ``hidden_channels``; the layers have no bond embeddings
      (plain GIN layers, :obj:`edge_attr` is ignored, as by the GCN/GraphSAGE encoders).

    :attr:`kwargs` records ``in_channels`` and ``residual`` only when they are set, so the
    configuration, the state dict and the outputs of the molecular network are those of
    earlier versions.

    Args:
        num_layers (int): message-passing layers. (default: :obj:`5`)
        hidden_channels (int): width of every layer. (default: :obj:`300`)
        dropout (float): dropout after every layer. (default: :obj:`0.0`)
        jk (str): jumping knowledge over the input embedding and every layer's output:
            ``'last'``, ``'sum'``, ``'concat'`` or ``'max'``. (default: :obj:`'last'`)
        norm (str): ``'batch'`` or ``'none'``. (default: :obj:`'batch'`)
        in_channels (int, optional): float input width; :obj:`None` for OGB atom features.
            (default: :obj:`None`)
        residual (bool): add every layer's input to its output (after the dropout, as OGB's
            ``GNN_node(residual=True)``). (default: :obj:`False`)
    """

    input_kind = 'ogb_atom'

    def __init__(self, num_layers: int = 5, hidden_channels: int = 300, dropout: float = 0.0,
                 jk: str = 'last', norm: str = 'batch', in_channels: int | None = None,
                 residual: bool = False) -> None:
        extra: dict[str, Any] = {}
        if in_channels is not None:
            extra['in_channels'] = int(in_channels)
        if residual:
            extra['residual'] = True
        super().__init__(num_layers=num_layers, hidden_channels=hidden_channels, dropout=dropout,
                         jk=jk, norm=norm, **extra)
        if in_channels is not None and in_channels < 1:
            raise ValueError(f'in_channels must be >= 1 (or None for OGB atom features), got '
                             f'{in_channels}')
        if num_layers < 1:
            raise ValueError(f'num_layers must be >= 1, got {num_layers}')
        if jk not in JK_MODES:
            raise ValueError(f"jk '{jk}' invalid; valid options: {', '.join(JK_MODES)}")
        if norm not in ('batch', 'none'):
            raise ValueError(f"norm '{norm}' invalid; valid options: batch, none")
        self.num_layers = num_layers
        self.dropout = dropout
        self.jk = jk
        self.residual = bool(residual)
        self.in_channels = in_channels
        self.input_kind = 'ogb_atom' if in_channels is None else 'float'
        if in_channels is None:
            self.atom_encoder = AtomEncoder(hidden_channels)
        else:
            self.node_encoder = torch.nn.Linear(in_channels, hidden_channels)
        self.convs = torch.nn.ModuleList(
            MolGINConv(hidden_channels, bond_embeddings=in_channels is None)
            for _ in range(num_layers))
        self.norms = torch.nn.ModuleList(
            torch.nn.BatchNorm1d(hidden_channels) if norm == 'batch' else torch.nn.Identity()
            for _ in range(num_layers))
        self.out_channels = hidden_channels * (num_layers + 1 if jk == 'concat' else 1)

    def forward(self, x: Tensor, edge_index: Tensor, *, edge_attr: Tensor | None = None,
                batch: Tensor | None = None) -> Tensor:
        if self.in_channels is None:
            h = self.atom_encoder(x)
        else:
            h = self.node_encoder(x.float())
            edge_attr = None
        low = autocast_dtype(h.device) if self.convs[0].sparse_aggregation else None
        if low is not None:  # every layer in the autocast dtype, the casts made once here
            h = h.to(low)
        hs = [h]
        structure = None  # the sparse neighbourhood structure, shared by the layers
        if self.convs[0].sparse_aggregation and _sparse_applies(h):
            structure = neighbour_structure(edge_index, h.size(0), edge_attr,
                                            self.convs[0].bond_encoder)
            if low is not None and structure[1] is not None:  # counts up to 256: exact
                structure = (structure[0], structure[1].to(low))
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            out = norm(conv(h, edge_index, edge_attr, structure))
            if i < self.num_layers - 1:
                out = F.relu(out)
            out = F.dropout(out, self.dropout, training=self.training)
            h = out + h if self.residual else out
            hs.append(h)
        if self.jk == 'last':
            return h
        if self.jk == 'concat':
            return torch.cat(hs, dim=-1)
        stacked = torch.stack(hs, dim=0)
        return stacked.sum(0) if self.jk == 'sum' else stacked.max(0).values
