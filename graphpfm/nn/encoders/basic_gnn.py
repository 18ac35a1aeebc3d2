"""GCN, GraphSAGE and GAT encoders on PyG's
:class:`~torch_geometric.nn.models.basic_gnn.BasicGNN`."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch_geometric.nn import GAT, GCN, GraphSAGE
from torch_geometric.nn.resolver import activation_resolver, normalization_resolver

from ..sparse_input import SparseInputLinear, resolve_max_density
from .base import ENCODERS, Encoder
from .ogb_features import AtomEncoder, BondEncoder

JK_MODES = ('last', 'cat', 'max')


def _add_layer_input(module: torch.nn.Module, args: tuple[Any, ...], output: Tensor) -> Tensor:
    """Forward hook of a residual layer: its output plus its input (the first argument)."""
    return output + args[0]


class _BasicGNNEncoder(Encoder):
    """Shared wrapper: OGB atom embedding (or float inputs) -> a PyG ``BasicGNN``."""

    pyg_model: type = GCN
    supports_edge_attr = False
    #: whether the first layer maps the raw input with a linear layer (so that a sparse input
    #: can be multiplied sparsely, see :attr:`sparse_input`)
    sparse_first_layer = True

    def __init__(self, num_layers: int = 5, hidden_channels: int = 300, dropout: float = 0.0,
                 jk: str = 'last', norm: str | None = 'batch_norm',
                 in_channels: int | None = None, residual: bool = False,
                 act_last: bool = False, input_dropout: float = 0.0,
                 sparse_input: bool | float = False, **model_kwargs: Any) -> None:
        extra: dict[str, Any] = {'residual': True} if residual else {}
        if act_last:
            extra['act_last'] = True
        if input_dropout:
            if not 0.0 <= input_dropout < 1.0:
                raise ValueError(f'input_dropout must be in [0, 1), got {input_dropout}')
            extra['input_dropout'] = float(input_dropout)
        super().__init__(num_layers=num_layers, hidden_channels=hidden_channels, dropout=dropout,
                         jk=jk, norm=norm, in_channels=in_channels, **extra, **model_kwargs)
        if jk not in JK_MODES:
            raise ValueError(f"jk '{jk}' invalid; valid options: {', '.join(JK_MODES)}")
        if act_last and jk != 'last':
            raise ValueError(f"act_last=True needs jk='last' (got jk='{jk}': with 'cat' or "
                             "'max' every layer, the last included, is already normalised "
                             "and activated)")
        self.input_kind = 'ogb_atom' if in_channels is None else 'float'
        self.atom_encoder = AtomEncoder(hidden_channels) if in_channels is None else None
        self.bond_encoder = (BondEncoder(hidden_channels)
                             if self.supports_edge_attr and in_channels is None else None)
        if self.bond_encoder is not None:
            model_kwargs = {**model_kwargs, 'edge_dim': hidden_channels}
        self.gnn = self.pyg_model(in_channels=in_channels or hidden_channels,
                                  hidden_channels=hidden_channels, num_layers=num_layers,
                                  dropout=dropout, norm=norm,
                                  jk=None if jk == 'last' else jk, **model_kwargs)
        self.out_channels = self.gnn.out_channels
        self.residual = bool(residual)
        self.act_last = bool(act_last)
        self.input_dropout = float(input_dropout)
        if act_last:
            # PyG's BasicGNN leaves its last layer linear unless a JK mode is set, which then
            # adds a Linear; the node-level methods (DGI, GRACE, BGRL, GraphMAE) all
            # normalise and activate the last layer too: its own norm and activation here
            self.last_norm = normalization_resolver(
                norm, self.out_channels, **(model_kwargs.get('norm_kwargs') or {})) \
                if norm is not None else torch.nn.Identity()
            self.last_act = activation_resolver(model_kwargs.get('act', 'relu'),
                                                **(model_kwargs.get('act_kwargs') or {}))
        if residual:
            # PyG's BasicGNN has no residual option: a forward hook adds every layer's input
            # to its convolution's output (no new parameters, state-dict keys unchanged);
            # a first layer that changes the width gets none
            for i, conv in enumerate(self.gnn.convs):
                if i > 0 or (in_channels or hidden_channels) == hidden_channels:
                    conv.register_forward_hook(_add_layer_input)
        first = getattr(self.gnn.convs[0], 'lin', None)
        if in_channels is not None and self.sparse_first_layer and first is not None:
            SparseInputLinear.convert(first)  # in place: same parameters, no random draws
        self.sparse_input = sparse_input

    def _first_linear(self) -> SparseInputLinear | None:
        first = getattr(self.gnn.convs[0], 'lin', None)
        return first if isinstance(first, SparseInputLinear) else None

    @property
    def sparse_input(self) -> float:
        r"""The largest share of non-zero input features at which the first layer multiplies
        its input as a sparse matrix (:class:`~graphpfm.nn.sparse_input.SparseInputLinear`);
        :obj:`0`: never (a :mod:`torch.sparse` input always is). Set it with ``True``
        (:data:`~graphpfm.nn.sparse_input.DEFAULT_MAX_DENSITY`), ``False`` or a share. An
        execution choice, like the device: outputs equal the dense path's up to float
        rounding, and checkpoints do not record it."""
        first = self._first_linear()
        return 0.0 if first is None else first.max_density

    @sparse_input.setter
    def sparse_input(self, value: bool | float) -> None:
        density, first = resolve_max_density(value), self._first_linear()
        if density and first is None:
            raise ValueError(f'sparse_input needs float inputs and a first layer that starts '
                             f'with a linear map (gcn, gat); {type(self).__name__} with '
                             f"in_channels={self.kwargs.get('in_channels')} has none")
        if first is not None:
            first.max_density = density

    def forward(self, x: Tensor, edge_index: Tensor, *, edge_attr: Tensor | None = None,
                batch: Tensor | None = None) -> Tensor:
        h = self.atom_encoder(x) if self.atom_encoder is not None else x.float()
        if self.input_dropout:  # on the first layer's input (GraphMAE's in_drop, GAT's)
            h = _dropout(h, self.input_dropout, self.training)
        kwargs: dict[str, Any] = {}
        if self.bond_encoder is not None and edge_attr is not None:
            kwargs['edge_attr'] = self.bond_encoder(edge_attr)
        out = self.gnn(h, edge_index, batch=batch, **kwargs)
        if self.act_last:  # in the order of PyG's other layers
            out = (self.last_norm(self.last_act(out)) if self.gnn.act_first
                   else self.last_act(self.last_norm(out)))
        return out


def _dropout(x: Tensor, p: float, training: bool) -> Tensor:
    """Dropout; on a :mod:`torch.sparse` input, on its non-zero values (the zeros stay zero
    either way)."""
    if x.layout == torch.strided or not training:
        return torch.nn.functional.dropout(x, p, training)
    x = x.to_sparse_coo().coalesce()
    return torch.sparse_coo_tensor(x.indices(), torch.nn.functional.dropout(x.values(), p),
                                   x.shape).coalesce()


@ENCODERS.register('gcn')
class GCNEncoder(_BasicGNNEncoder):
    r"""GCN (`Kipf and Welling, 2017 <https://arxiv.org/abs/1609.02907>`_) encoder.

    Args:
        num_layers (int): layers. (default: :obj:`5`)
        hidden_channels (int): width. (default: :obj:`300`)
        dropout (float): dropout. (default: :obj:`0.0`)
        jk (str): ``'last'``, ``'cat'`` or ``'max'``. (default: :obj:`'last'`)
        norm (str, optional): PyG normalisation name. (default: :obj:`'batch_norm'`)
        in_channels (int, optional): float input width; :obj:`None` for OGB atom features.
        residual (bool): add every layer's input to the output of its convolution, before
            the normalisation, activation and dropout (PyG's ``BasicGNN`` has no residual
            option; done by a forward hook, so the state dict is that of the plain model).
            A first layer that changes the width (``in_channels != hidden_channels``) has no
            residual. :attr:`kwargs` records it only when set. (default: :obj:`False`)
        act_last (bool): normalise and activate the output of the last layer as well (PyG's
            ``BasicGNN`` leaves it linear). DGI, GRACE, BGRL and GraphMAE encoders all do
            this; without it a 1-layer GCN is a linear map. Only with ``jk='last'``;
            recorded in :attr:`kwargs` only when set. (default: :obj:`False`)
        input_dropout (float): dropout on the encoder's input (the first layer's input;
            ``dropout`` acts between layers), as GAT and GraphMAE drop input features.
            Recorded in :attr:`kwargs` only when set. (default: :obj:`0.0`)
        sparse_input (bool or float): float inputs: multiply the input of the first layer
            as a sparse matrix when at most this share of it is non-zero (``True``: 5 %), as
            bag-of-words features are; see :attr:`sparse_input`. Not recorded in
            :attr:`kwargs`. (default: :obj:`False`)
    """

    pyg_model = GCN


@ENCODERS.register('sage')
class SAGEEncoder(_BasicGNNEncoder):
    r"""GraphSAGE (`Hamilton et al., 2017 <https://arxiv.org/abs/1706.02216>`_) encoder.

    Same arguments as :class:`GCNEncoder`.
    """

    pyg_model = GraphSAGE


#: weight initialisations of :class:`GATEncoder` (``weight_init``)
GAT_INITS = ('glorot', 'dgl')


def dgl_gat_init_(conv: torch.nn.Module) -> None:
    r"""Re-initialise a :class:`~torch_geometric.nn.GATConv` in place as DGL's ``GATConv``
    (and GraphMAE's copy of it, ``graphmae/models/gat.py``) does: Xavier *normal* with gain
    :math:`\sqrt{2}` (``calculate_gain('relu')``) on the linear map(s) and on the attention
    vectors, bias zero. PyG's own is Glorot *uniform* with gain 1, the attention vectors'
    fans taken from their last two dimensions: for Cora's GraphMAE encoder (1433 -> 4 x 128)
    the weights start :math:`\sqrt{2}` times wider and the attention vectors about 0.64
    times as wide. The tensors have the same shapes in both libraries (``[heads * out, in]``
    and ``[1, heads, out]``), so the fans agree. Edge and residual maps (absent from
    GraphMAE's Cora layers) get the same treatment, as DGL's residual map does; uninitialised
    (lazy) weights are left alone."""
    gain = torch.nn.init.calculate_gain('relu')
    for name in ('lin', 'lin_src', 'lin_dst', 'lin_edge', 'res'):
        weight = getattr(getattr(conv, name, None), 'weight', None)
        if weight is not None and not isinstance(weight, torch.nn.parameter.UninitializedParameter):
            torch.nn.init.xavier_normal_(weight, gain=gain)
    for name in ('att_src', 'att_dst', 'att_edge'):
        att = getattr(conv, name, None)
        if att is not None:
            torch.nn.init.xavier_normal_(att, gain=gain)
    if getattr(conv, 'bias', None) is not None:
        torch.nn.init.zeros_(conv.bias)


@ENCODERS.register('gat')
class GATEncoder(_BasicGNNEncoder):
    r"""GAT (`Velickovic et al., 2018 <https://arxiv.org/abs/1710.10903>`_) encoder; on
    molecules, bond embeddings enter the attention through ``edge_dim``.

    Same arguments as :class:`GCNEncoder`, plus ``heads`` (default: :obj:`1`),
    ``attn_dropout`` (dropout on the attention coefficients of every layer, GATConv's own
    ``dropout``; ``dropout`` acts between layers only: PyG's :class:`~torch_geometric.nn.GAT`
    would pass its ``dropout`` to the attention too, which is undone here; recorded in
    :attr:`kwargs` only when set; default: :obj:`0.0`), ``weight_init`` (``'glorot'``: PyG's
    initialisation; ``'dgl'``: DGL's, as GraphMAE's and DGL's GAT examples use, see
    :func:`dgl_gat_init_`; kept by :meth:`reset_parameters`; recorded in :attr:`kwargs` only
    when not ``'glorot'``; default: :obj:`'glorot'`) and other
    :class:`torch_geometric.nn.GAT` keywords.
    """

    pyg_model = GAT
    supports_edge_attr = True

    def __init__(self, *args: Any, attn_dropout: float = 0.0, weight_init: str = 'glorot',
                 **kwargs: Any) -> None:
        if not 0.0 <= attn_dropout < 1.0:
            raise ValueError(f'attn_dropout must be in [0, 1), got {attn_dropout}')
        if weight_init not in GAT_INITS:
            raise ValueError(f"weight_init '{weight_init}' invalid; valid options: "
                             f"{', '.join(GAT_INITS)}")
        super().__init__(*args, **kwargs)
        if attn_dropout:
            self.kwargs['attn_dropout'] = float(attn_dropout)
        for conv in self.gnn.convs:  # PyG's GAT hands every GATConv its `dropout`
            conv.dropout = float(attn_dropout)
        self.weight_init = weight_init
        if weight_init != 'glorot':
            self.kwargs['weight_init'] = weight_init
            self._apply_weight_init()

    def _apply_weight_init(self) -> None:
        if self.weight_init == 'dgl':
            for conv in self.gnn.convs:
                dgl_gat_init_(conv)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self._apply_weight_init()
