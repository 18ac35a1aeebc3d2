"""Attribute masking (Hu et al., 2020)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch_geometric.data import Data

from ..nn.encoders.base import Encoder
from ..nn.encoders.ogb_features import atom_feature_dims, bond_feature_dims
from ..transforms.mask_atoms import MaskAtoms
from .base import OBJECTIVES, Objective, ObjectiveOutput


@OBJECTIVES.register('attr_masking')
class AttrMasking(Objective):
    r"""Attribute masking from `"Strategies for Pre-training Graph Neural Networks"
    <https://arxiv.org/abs/1905.12265>`_: mask a fraction of the atoms of every molecule with
    the ``[MASK]`` token, encode, and predict each masked atom's type with a linear head and
    cross-entropy. With ``mask_edges=True`` the bonds touching masked atoms are masked too and
    their bond type is predicted from the sum of the two endpoint embeddings.

    Args:
        encoder (Encoder): an encoder on OGB atom features.
        mask_rate (float): fraction of atoms masked per molecule. (default: :obj:`0.15`)
        mask_edges (bool): also mask and predict incident bonds. (default: :obj:`False`)
    """

    input_kinds = ('ogb_atom',)

    def __init__(self, encoder: Encoder, mask_rate: float = 0.15, mask_edges: bool = False) -> None:
        super().__init__(encoder, mask_rate=mask_rate, mask_edges=mask_edges)
        self.transform = MaskAtoms(mask_rate, mask_edges)
        self.atom_head = torch.nn.Linear(encoder.out_channels, atom_feature_dims()[0])
        self.bond_head = (torch.nn.Linear(encoder.out_channels, bond_feature_dims()[0])
                          if mask_edges else None)

    def prepare(self, batch: Data, generator: torch.Generator | None = None) -> Data:
        return self.transform(batch, generator)

    def compute(self, masked: Data) -> ObjectiveOutput:
        h = self.encode(masked)
        logits = self.atom_head(h[masked.masked_atom_mask])
        loss = F.cross_entropy(logits, masked.masked_atom_label)
        logs = {'atom_loss': float(loss.detach()),
                'atom_acc': float((logits.argmax(-1) == masked.masked_atom_label).float().mean())}
        if self.bond_head is not None and masked.masked_bond_label.numel() > 0:
            src, dst = masked.masked_bond_index
            bond_logits = self.bond_head(h[src] + h[dst])
            bond_loss = F.cross_entropy(bond_logits, masked.masked_bond_label)
            loss = loss + bond_loss
            logs['bond_loss'] = float(bond_loss.detach())
            logs['bond_acc'] = float(
                (bond_logits.argmax(-1) == masked.masked_bond_label).float().mean())
        return ObjectiveOutput(loss, logs)
