"""The molecular GIN of Hu et al. (2020) on OGB atom and bond features."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import MessagePassing

from .base import ENCODERS, Encoder
from .ogb_features import AtomEncoder, BondEncoder, bond_self_loop_token

JK_MODES = ('last', 'sum', 'concat', 'max')


class MolGINConv(MessagePassing):
    r"""GIN layer with bond embeddings added to messages, from `"Strategies for Pre-training
    Graph Neural Networks" <https://arxiv.org/abs/1905.12265>`_.

    .. math::
        \mathbf{h}_i' = \mathrm{MLP}\Big(\mathbf{h}_i + \mathbf{e}_{\circlearrowleft}
        + \sum_{j \in \mathcal{N}(i)} (\mathbf{h}_j + \mathbf{e}_{ji})\Big)

    The self-loop term is the reference code's added self-loop edge (with its own bond
    token), computed without materialising the extra edges.

    Args:
        channels (int): input and output width.
    """

    def __init__(self, channels: int) -> None:
        super().__init__(aggr='add')
        self.mlp = torch.nn.Sequential(torch.nn.Linear(channels, 2 * channels), torch.nn.ReLU(),
                                       torch.nn.Linear(2 * channels, channels))
        self.bond_encoder = BondEncoder(channels)
        self.register_buffer('self_loop_attr', bond_self_loop_token().view(1, -1),
                             persistent=False)

    def reset_parameters(self) -> None:
        for m in self.mlp:
            if hasattr(m, 'reset_parameters'):
                m.reset_parameters()
        self.bond_encoder.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor | None = None) -> Tensor:
        edge_emb = None if edge_attr is None else self.bond_encoder(edge_attr)
        out = self.propagate(edge_index, x=x, edge_emb=edge_emb, size=(x.size(0), x.size(0)))
        out = out + x + self.bond_encoder(self.self_loop_attr)
        return self.mlp(out)

    def message(self, x_j: Tensor, edge_emb: Tensor | None) -> Tensor:
        return x_j if edge_emb is None else x_j + edge_emb

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.mlp[0].in_features})'


@ENCODERS.register('gin')
class MolGIN(Encoder):
    r"""The molecular GIN of `Hu et al. (2020) <https://arxiv.org/abs/1905.12265>`_ on OGB's
    atom and bond features (one extra ``[MASK]`` token per categorical column).

    Each layer: :class:`MolGINConv` -> batch norm -> ReLU (not after the last layer) -> dropout.

    Args:
        num_layers (int): message-passing layers. (default: :obj:`5`)
        hidden_channels (int): width of every layer. (default: :obj:`300`)
        dropout (float): dropout after every layer. (default: :obj:`0.0`)
        jk (str): jumping knowledge over the input embedding and every layer's output:
            ``'last'``, ``'sum'``, ``'concat'`` or ``'max'``. (default: :obj:`'last'`)
        norm (str): ``'batch'`` or ``'none'``. (default: :obj:`'batch'`)
    """

    input_kind = 'ogb_atom'

    def __init__(self, num_layers: int = 5, hidden_channels: int = 300, dropout: float = 0.0,
                 jk: str = 'last', norm: str = 'batch') -> None:
        super().__init__(num_layers=num_layers, hidden_channels=hidden_channels, dropout=dropout,
                         jk=jk, norm=norm)
        if num_layers < 1:
            raise ValueError(f'num_layers must be >= 1, got {num_layers}')
        if jk not in JK_MODES:
            raise ValueError(f"jk '{jk}' invalid; valid options: {', '.join(JK_MODES)}")
        if norm not in ('batch', 'none'):
            raise ValueError(f"norm '{norm}' invalid; valid options: batch, none")
        self.num_layers = num_layers
        self.dropout = dropout
        self.jk = jk
        self.atom_encoder = AtomEncoder(hidden_channels)
        self.convs = torch.nn.ModuleList(MolGINConv(hidden_channels) for _ in range(num_layers))
        self.norms = torch.nn.ModuleList(
            torch.nn.BatchNorm1d(hidden_channels) if norm == 'batch' else torch.nn.Identity()
            for _ in range(num_layers))
        self.out_channels = hidden_channels * (num_layers + 1 if jk == 'concat' else 1)

    def forward(self, x: Tensor, edge_index: Tensor, *, edge_attr: Tensor | None = None,
                batch: Tensor | None = None) -> Tensor:
        h = self.atom_encoder(x)
        hs = [h]
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            h = norm(conv(h, edge_index, edge_attr))
            if i < self.num_layers - 1:
                h = F.relu(h)
            h = F.dropout(h, self.dropout, training=self.training)
            hs.append(h)
        if self.jk == 'last':
            return h
        if self.jk == 'concat':
            return torch.cat(hs, dim=-1)
        stacked = torch.stack(hs, dim=0)
        return stacked.sum(0) if self.jk == 'sum' else stacked.max(0).values
