"""Attribute masking (Hu et al., 2020)."""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch_geometric.data import Data

from ..data.ogb_features import atom_feature_dims, bond_feature_dims
from ..nn.encoders.base import Encoder
from ..nn.precision import rowwise
from ..transforms.mask_atoms import MaskAtoms, sample_per_graph
from .base import OBJECTIVES, Objective, ObjectiveOutput


@OBJECTIVES.register('attr_masking')
class AttrMasking(Objective):
    r"""Attribute masking from `"Strategies for Pre-training Graph Neural Networks"
    <https://arxiv.org/abs/1905.12265>`_: mask a fraction of the atoms of every molecule with
    the ``[MASK]`` token, encode, and predict each masked atom's type with a linear head and
    cross-entropy. With ``mask_edges=True`` the bonds touching masked atoms are masked too and
    their bond type is predicted from the sum of the two endpoint embeddings.

    On float node features (an encoder built with ``in_channels``, e.g. for node datasets) the
    same idea applies to continuous attributes: the masked rows are zeroed and a learnable
    ``[MASK]`` vector is added (in :meth:`compute`), and a linear head regresses the original
    rows with the mean squared error. ``mask_edges`` needs categorical bonds and is refused
    there.

    Args:
        encoder (Encoder): an encoder on OGB atom features, or on float features.
        mask_rate (float): fraction of atoms masked per molecule. (default: :obj:`0.15`)
        mask_edges (bool): also mask and predict incident bonds. (default: :obj:`False`)
    """

    input_kinds = ('ogb_atom', 'float')

    def __init__(self, encoder: Encoder, mask_rate: float = 0.15, mask_edges: bool = False) -> None:
        super().__init__(encoder, mask_rate=mask_rate, mask_edges=mask_edges)
        self.float_input = encoder.input_kind == 'float'
        self.mask_token: torch.nn.Parameter | None = None
        self.bond_head = None
        if not 0.0 < mask_rate <= 1.0:
            raise ValueError(f'mask_rate must be in (0, 1], got {mask_rate}')
        if self.float_input:
            if mask_edges:
                raise ValueError('mask_edges=True needs categorical OGB bond features; the '
                                 'encoder takes float features (valid: mask_edges=False)')
            width = encoder.kwargs.get('in_channels')
            if not width:
                raise ValueError('attribute masking on float features regresses them and '
                                 'needs their width: build the encoder with in_channels=...')
            self.mask_token = torch.nn.Parameter(torch.zeros(1, int(width)))
            self.atom_head = torch.nn.Linear(encoder.out_channels, int(width))
        else:
            self.transform = MaskAtoms(mask_rate, mask_edges)
            self.atom_head = torch.nn.Linear(encoder.out_channels, atom_feature_dims()[0])
            if mask_edges:
                self.bond_head = torch.nn.Linear(encoder.out_channels, bond_feature_dims()[0])

    def prepare(self, batch: Data, generator: torch.Generator | None = None) -> Data:
        if not self.float_input:
            return self.transform(batch, generator)
        x = batch.x
        batch_vec = getattr(batch, 'batch', None)
        if batch_vec is None:
            batch_vec = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
        num_graphs = int(batch_vec.max()) + 1 if batch_vec.numel() else 0
        mask = sample_per_graph(batch_vec, num_graphs, self.kwargs['mask_rate'], 1, generator)
        out = copy.copy(batch)
        out.masked_atom_mask = mask
        out.masked_feature_target = x[mask].float()
        out.x = x.float().masked_fill(mask.unsqueeze(1), 0.0)
        return out

    def compute(self, masked: Data) -> ObjectiveOutput:
        if self.float_input:
            mask = masked.masked_atom_mask
            x = masked.x + mask.unsqueeze(1).to(masked.x.dtype) * self.mask_token
            h = self.encoder(x, masked.edge_index, edge_attr=getattr(masked, 'edge_attr', None),
                             batch=getattr(masked, 'batch', None))
            loss = F.mse_loss(self.atom_head(h[mask]), masked.masked_feature_target)
            return ObjectiveOutput(loss, {'feature_mse': loss.detach()})
        h = self.encode(masked)
        logits = rowwise(self.atom_head, h[masked.masked_atom_mask])  # bucketed in bf16
        loss = F.cross_entropy(logits, masked.masked_atom_label)
        logs = {'atom_loss': loss.detach(),
                'atom_acc': (logits.argmax(-1) == masked.masked_atom_label).float().mean()}
        if self.bond_head is not None and masked.masked_bond_label.numel() > 0:
            src, dst = masked.masked_bond_index
            bond_logits = self.bond_head(h[src] + h[dst])
            bond_loss = F.cross_entropy(bond_logits, masked.masked_bond_label)
            loss = loss + bond_loss
            logs['bond_loss'] = bond_loss.detach()
            logs['bond_acc'] = (bond_logits.argmax(-1) == masked.masked_bond_label).float().mean()
        return ObjectiveOutput(loss, logs)
