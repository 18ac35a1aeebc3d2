"""GraphMAE, the masked graph autoencoder (Hou et al., 2022)."""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.nn import GATConv, GCNConv, GINConv
from torch_geometric.utils import add_self_loops, remove_self_loops, softmax

from ..data.ogb_features import atom_feature_dims, atom_mask_token
from ..nn.encoders.base import Encoder
from ..nn.encoders.basic_gnn import GAT_INITS, dgl_gat_init_
from ..nn.encoders.mol_gin import MolGINConv
from ..nn.losses import sce_loss
from ..nn.precision import rowwise
from ..transforms.mask_atoms import sample_per_graph
from .base import OBJECTIVES, Objective, ObjectiveOutput

#: decoder layer types offered per encoder input kind
DECODERS: dict[str, tuple[str, ...]] = {'ogb_atom': ('gin',), 'float': ('gin', 'gcn', 'gat')}


class MolGINDecoderConv(MolGINConv):
    r"""The one-layer decoder of `GraphMAE's transfer-learning code
    <https://arxiv.org/abs/2205.10803>`_: a :class:`~graphpfm.nn.encoders.MolGINConv` (bond
    embeddings added to messages, the self-loop bond token) on ``channels``, whose MLP ends
    in ``out_channels`` (the atom-type logits) instead of ``channels``:
    ``Linear(channels, 2 * channels) -> ReLU -> Linear(2 * channels, out_channels)``.

    Args:
        channels (int): input width (and the width of the bond embeddings).
        out_channels (int): output width.
    """

    def __init__(self, channels: int, out_channels: int) -> None:
        super().__init__(channels)
        self.mlp[2] = torch.nn.Linear(2 * channels, out_channels)

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.mlp[0].in_features}, {self.mlp[2].out_features})'


class LateProjectionGATConv(GATConv):
    r"""A one-head :class:`~torch_geometric.nn.GATConv` that sums the neighbourhood *before*
    its linear map. Messages are :math:`\alpha_{ij} \mathbf{W}\mathbf{x}_j`, so
    :math:`\sum_j \alpha_{ij} \mathbf{W}\mathbf{x}_j = \mathbf{W} \sum_j \alpha_{ij}
    \mathbf{x}_j`, and the attention logits
    :math:`\mathbf{a}^\top \mathbf{W}\mathbf{x} = (\mathbf{W}^\top\mathbf{a})^\top
    \mathbf{x}`: the same parameters and the same outputs (up to float rounding, tested), with
    per-edge work of the input width instead of the output width. GraphMAE's decoder maps the
    hidden width back to the input features (Cora: 512 -> 1433), where this cuts the message
    passing about threefold.

    Args:
        in_channels (int): input width.
        out_channels (int): output width.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(in_channels, out_channels, heads=1)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:  # type: ignore[override]
        n = x.size(0)
        edge_index, _ = remove_self_loops(edge_index)
        edge_index, _ = add_self_loops(edge_index, num_nodes=n)
        src, dst = edge_index
        weight = self.lin.weight  # [out, in]
        logit_src = x @ (self.att_src.view(-1) @ weight)
        logit_dst = x @ (self.att_dst.view(-1) @ weight)
        alpha = F.leaky_relu(logit_src[src] + logit_dst[dst], self.negative_slope)
        alpha = softmax(alpha, dst, num_nodes=n)
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        agg = torch.zeros_like(x).index_add_(0, dst, x[src] * alpha.unsqueeze(-1))
        out = self.lin(agg)
        return out if self.bias is None else out + self.bias


def _float_decoder(kind: str, channels: int, out_channels: int) -> torch.nn.Module:
    """One PyG layer ``channels -> out_channels`` for float node features."""
    if kind == 'gin':
        return GINConv(torch.nn.Sequential(torch.nn.Linear(channels, 2 * channels),
                                           torch.nn.ReLU(),
                                           torch.nn.Linear(2 * channels, out_channels)))
    if kind == 'gcn':
        return GCNConv(channels, out_channels)
    if out_channels > channels:  # the neighbourhood sum is cheaper before the projection
        return LateProjectionGATConv(channels, out_channels)
    return GATConv(channels, out_channels, heads=1)


@OBJECTIVES.register('graphmae')
class GraphMAE(Objective):
    r"""The masked graph autoencoder of `"GraphMAE: Self-Supervised Masked Graph Autoencoders"
    <https://arxiv.org/abs/2205.10803>`_: mask a fraction of the nodes of every graph, encode,
    map the node embeddings to the decoder with a bias-free linear layer, **re-mask** (set the
    masked nodes' rows to zero), decode with a single GNN layer and score the reconstruction
    of the masked nodes with the scaled cosine error
    (:func:`~graphpfm.nn.losses.sce_loss`),

    .. math::
        \mathcal{L} = \frac{1}{|\mathcal{M}|} \sum_{i \in \mathcal{M}}
        \left(1 - \frac{\mathbf{z}_i^{\top} \mathbf{x}_i}
        {\|\mathbf{z}_i\| \, \|\mathbf{x}_i\|}\right)^{\gamma},
        \qquad \mathbf{Z} = f_D\big(\mathbf{A}, \mathrm{remask}(\mathbf{W}\,
        \mathrm{PReLU}(f_E(\mathbf{A}, \tilde{\mathbf{X}})))\big).

    Two kinds of inputs, following the encoder's :attr:`input_kind`:

    * ``'ogb_atom'`` (molecules, as GraphMAE's ``chem/`` transfer-learning code): masked atoms
      get the atom ``[MASK]`` token in every OGB column; the target is the one-hot atom type
      (column 0, width ``atom_feature_dims()[0]``); the decoder is a
      :class:`MolGINDecoderConv` (GIN layer with bond embeddings whose MLP ends in the atom
      types, as ``GNNDecoder(gnn_type='gin')`` there). Logs ``atom_acc``: the accuracy of the
      decoded atom type (argmax) on the masked atoms.
    * ``'float'``: masked rows get a learnable ``[MASK]`` vector (GraphMAE's
      ``enc_mask_token``: the row is zeroed, then the token added); the target is the original
      features; the decoder is one :class:`~torch_geometric.nn.conv.GINConv`,
      :class:`~torch_geometric.nn.conv.GCNConv` or :class:`~torch_geometric.nn.conv.GATConv`
      layer to the input width, which the encoder must know (``in_channels``).

    With ``replace_rate > 0``, that fraction of the masked nodes of the batch (rounded)
    receives the features of another node of the batch, drawn uniformly among the other nodes
    (GraphMAE's random-token replacement); the rest get the ``[MASK]`` token. All masked nodes
    are reconstructed.

    :meth:`prepare` returns a shallow copy of the batch with a fresh :obj:`x` (the input batch
    is never written) and adds:

    * :obj:`masked_node_mask` (BoolTensor ``[N]``): the masked nodes,
      ``max(1, round(mask_rate * n))`` per graph (:func:`~graphpfm.transforms.sample_per_graph`).
    * :obj:`token_node_mask` (BoolTensor ``[N]``): the masked nodes carrying the ``[MASK]``
      token (the others carry another node's features).
    * :obj:`masked_node_target`: the original atom type of every masked atom (LongTensor
      ``[num_masked]``) or the original features of every masked node (``[num_masked, F]``).

    Differences from the reference code, on purpose:

    * The count of masked nodes per graph is ``max(1, round(mask_rate * n))``, as
      :class:`~graphpfm.transforms.MaskAtoms`; ``chem/`` uses ``int(mask_rate * n + 1)``,
      which over-masks small molecules, and the node-level code ``int(mask_rate * N)`` over
      the whole batch, which may leave a graph unmasked.
    * A replaced node never receives its own features (the reference may draw the node
      itself; then it is not corrupted at all).
    * The PReLU that ``chem/``'s decoder applies to the encoder output before
      ``enc_to_dec`` is applied unless the encoder already ends in an activation
      (``act_last=True``, as GraphMAE's node-level encoders, which get no second one).
    * The decoder width is the encoder's ``hidden_channels`` (its output width if it records
      none): with ``jk='concat'`` the bias-free linear layer maps the concatenation down, as
      GraphMAE's ``concat_hidden`` does.
    * One optimizer over encoder and decoder (``chem/`` uses one per module, with the same
      settings, which is equivalent for Adam).
    * The node-level code's GAT decoder drops its input features (``in_drop``) and its
      attention coefficients (``attn_drop``) and starts from DGL's initialisation; here these
      are options (:obj:`decoder_dropout`, :obj:`decoder_attn_dropout`,
      :obj:`decoder_init`), off by default.

    The defaults are ``chem/``'s: ``mask_rate=0.25``, ``alpha_l=1`` (here :obj:`gamma`), no
    replacement, a GIN decoder. GraphMAE's node-classification configs use ``alpha_l`` 1 to 3
    and ``replace_rate`` up to 0.15.

    Args:
        encoder (Encoder): an encoder on OGB atom features or on float features.
        mask_rate (float): fraction of nodes masked per graph, in :math:`(0, 1)`.
            (default: :obj:`0.25`)
        replace_rate (float): fraction of the masked nodes that get another node's features
            instead of the ``[MASK]`` token, in :math:`[0, 1)`. (default: :obj:`0.0`)
        gamma (float): the exponent :math:`\gamma \geq 1` of the scaled cosine error
            (GraphMAE's ``alpha_l``). (default: :obj:`1.0`)
        decoder (str): the decoder layer: ``'gin'`` for OGB atom inputs; ``'gin'``,
            ``'gcn'`` or ``'gat'`` for float inputs. (default: :obj:`'gin'`)
        decoder_dropout (float): dropout on the decoder's input (after the re-mask), in
            :math:`[0, 1)`: GraphMAE's GAT decoder applies its ``feat_drop`` (``in_drop``,
            0.2 in the node-level configs) there. Recorded in :attr:`kwargs` only when set.
            (default: :obj:`0.0`)
        decoder_attn_dropout (float): dropout on the GAT decoder's attention coefficients,
            in :math:`[0, 1)` (GraphMAE's ``attn_drop``, 0.1 in the node-level configs); only
            with ``decoder='gat'``. Recorded in :attr:`kwargs` only when set.
            (default: :obj:`0.0`)
        decoder_init (str): the GAT decoder's initialisation: ``'glorot'`` (PyG's) or
            ``'dgl'`` (DGL's, as GraphMAE's, :func:`~graphpfm.nn.encoders.basic_gnn.dgl_gat_init_`;
            kept by :meth:`reset_parameters`); only with ``decoder='gat'``. Recorded in
            :attr:`kwargs` only when not ``'glorot'``. (default: :obj:`'glorot'`)
    """

    def __init__(self, encoder: Encoder, mask_rate: float = 0.25, replace_rate: float = 0.0,
                 gamma: float = 1.0, decoder: str = 'gin', decoder_dropout: float = 0.0,
                 decoder_attn_dropout: float = 0.0, decoder_init: str = 'glorot') -> None:
        if not 0.0 < mask_rate < 1.0:
            raise ValueError(f'mask_rate must be in (0, 1), got {mask_rate}')
        if not 0.0 <= replace_rate < 1.0:
            raise ValueError(f'replace_rate must be in [0, 1), got {replace_rate}')
        if not gamma >= 1.0:
            raise ValueError(f'gamma must be >= 1, got {gamma}')
        if not 0.0 <= decoder_dropout < 1.0:
            raise ValueError(f'decoder_dropout must be in [0, 1), got {decoder_dropout}')
        if not 0.0 <= decoder_attn_dropout < 1.0:
            raise ValueError(f'decoder_attn_dropout must be in [0, 1), got '
                             f'{decoder_attn_dropout}')
        if decoder_init not in GAT_INITS:
            raise ValueError(f"decoder_init '{decoder_init}' invalid; valid options: "
                             f"{', '.join(GAT_INITS)}")
        if decoder != 'gat' and (decoder_attn_dropout or decoder_init != 'glorot'):
            raise ValueError(f"decoder_attn_dropout and decoder_init need decoder='gat', got "
                             f"decoder='{decoder}'")
        extra: dict[str, float | str] = {}  # recorded only when set (older configs unchanged)
        if decoder_dropout:
            extra['decoder_dropout'] = float(decoder_dropout)
        if decoder_attn_dropout:
            extra['decoder_attn_dropout'] = float(decoder_attn_dropout)
        if decoder_init != 'glorot':
            extra['decoder_init'] = decoder_init
        super().__init__(encoder, mask_rate=float(mask_rate), replace_rate=float(replace_rate),
                         gamma=float(gamma), decoder=decoder, **extra)
        kind = encoder.input_kind
        if decoder not in DECODERS[kind]:
            raise ValueError(f"decoder '{decoder}' invalid for '{kind}' inputs; valid options: "
                             f"{', '.join(DECODERS[kind])}")
        self.mask_rate = float(mask_rate)
        self.replace_rate = float(replace_rate)
        self.gamma = float(gamma)
        self.decoder_dropout = float(decoder_dropout)
        self.decoder_init = decoder_init
        self.is_molecular = kind == 'ogb_atom'
        channels = int(encoder.kwargs.get('hidden_channels') or encoder.out_channels)
        self.activation = torch.nn.PReLU()
        self.encoder_to_decoder = torch.nn.Linear(encoder.out_channels, channels, bias=False)
        self.enc_mask_token: torch.nn.Parameter | None
        if self.is_molecular:
            self.num_atom_types = atom_feature_dims()[0]
            self.decoder: torch.nn.Module = MolGINDecoderConv(channels, self.num_atom_types)
            self.enc_mask_token = None
        else:
            in_channels = encoder.kwargs.get('in_channels', getattr(encoder, 'in_channels', None))
            if not in_channels:
                raise ValueError(f'GraphMAE on float inputs reconstructs the input features and '
                                 f'needs their width: build the encoder with in_channels=..., '
                                 f'got {type(encoder).__name__} without it')
            self.in_channels = int(in_channels)
            self.decoder = _float_decoder(decoder, channels, self.in_channels)
            if decoder == 'gat':
                self.decoder.dropout = float(decoder_attn_dropout)
            self.enc_mask_token = torch.nn.Parameter(torch.zeros(1, self.in_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise the mask token, the encoder-to-decoder map and the decoder (the
        encoder is left alone)."""
        self.activation.reset_parameters()
        self.encoder_to_decoder.reset_parameters()
        self.decoder.reset_parameters()
        if self.decoder_init == 'dgl':
            dgl_gat_init_(self.decoder)
        if self.enc_mask_token is not None:
            torch.nn.init.zeros_(self.enc_mask_token)

    def prepare(self, batch: Data, generator: torch.Generator | None = None) -> Data:
        x = batch.x
        if self.is_molecular and (x.dim() != 2 or x.is_floating_point()):
            raise ValueError('GraphMAE with an OGB atom encoder expects categorical atom '
                             f'features [N, {len(atom_feature_dims())}] (long), got '
                             f'{x.dtype} {tuple(x.shape)}')
        n = x.size(0)
        device = x.device
        batch_vec = getattr(batch, 'batch', None)
        if batch_vec is None:
            batch_vec = torch.zeros(n, dtype=torch.long, device=device)
        num_graphs = int(getattr(batch, 'num_graphs', 1) or 1)
        mask = sample_per_graph(batch_vec, num_graphs, self.mask_rate, 1, generator)

        token_mask = mask
        noise_idx = source = None
        if self.replace_rate > 0 and n > 1:
            masked_idx = mask.nonzero().view(-1)
            pick = sample_per_graph(torch.zeros_like(masked_idx), 1, self.replace_rate, 0,
                                    generator)
            noise_idx = masked_idx[pick]
            # another node of the batch, uniformly: draw from n - 1 and skip the node itself
            source = torch.randint(0, n - 1, (noise_idx.numel(),), generator=generator,
                                   device=device)
            source = source + (source >= noise_idx).long()
            token_mask = mask.clone()
            token_mask[noise_idx] = False

        out = copy.copy(batch)
        if self.is_molecular:
            out.masked_node_target = x[mask, 0].clone()
            new_x = torch.where(token_mask.unsqueeze(1), atom_mask_token().to(device), x)
        else:
            out.masked_node_target = x[mask].clone()
            new_x = x.masked_fill(token_mask.unsqueeze(1), 0)
        if noise_idx is not None:
            new_x[noise_idx] = x[source]
        out.x = new_x
        out.masked_node_mask = mask
        out.token_node_mask = token_mask
        return out

    def compute(self, masked: Data) -> ObjectiveOutput:
        x = masked.x
        mask = masked.masked_node_mask
        edge_attr = getattr(masked, 'edge_attr', None)
        if self.enc_mask_token is not None:  # the token rows are zero: x[mask] = 0, + token
            x = torch.where(masked.token_node_mask.unsqueeze(1),
                            self.enc_mask_token.to(x.dtype), x)
        h = self.encoder(x, masked.edge_index, edge_attr=edge_attr,
                         batch=getattr(masked, 'batch', None))
        if not getattr(self.encoder, 'act_last', False):  # chem/'s PReLU, unless the
            h = self.activation(h)  # encoder already ends in an activation (node-level GraphMAE)
        rep = rowwise(self.encoder_to_decoder, h)  # bf16 on the CPU: bucketed row counts
        rep = rep.masked_fill(mask.unsqueeze(1), 0.0)  # re-mask
        if self.decoder_dropout:  # GraphMAE's decoder drops its input (its feat_drop)
            rep = F.dropout(rep, self.decoder_dropout, self.training)
        if self.is_molecular:
            pred = self.decoder(rep, masked.edge_index, edge_attr)[mask]
            label = masked.masked_node_target
            target = F.one_hot(label, self.num_atom_types).to(pred.dtype)
        else:
            pred = self.decoder(rep, masked.edge_index)[mask]
            target = masked.masked_node_target.to(pred.dtype)
        loss = sce_loss(pred, target, self.gamma)
        logs: dict[str, Tensor | float] = {'sce_loss': loss.detach()}
        if self.is_molecular:
            logs['atom_acc'] = (pred.detach().argmax(-1) == label).float().mean()
        return ObjectiveOutput(loss, logs)
