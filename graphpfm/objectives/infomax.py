"""Deep Graph Infomax at graph level (Velickovic et al., 2019; as in Hu et al., 2020)."""
from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.nn import global_mean_pool
from torch_geometric.nn.inits import uniform

from ..nn.encoders.base import Encoder
from .base import OBJECTIVES, Objective, ObjectiveOutput
from .discrimination import pos_neg_bce_with_logits, pos_neg_logs


@OBJECTIVES.register('infomax')
class Infomax(Objective):
    r"""`Deep Graph Infomax <https://arxiv.org/abs/1809.10341>`_ over a batch of molecules, the
    baseline of `"Strategies for Pre-training Graph Neural Networks"
    <https://arxiv.org/abs/1905.12265>`_: every atom embedding :math:`\mathbf{h}_i` is scored
    against the summary of its own molecule (positive) and against the summary of another
    molecule of the batch (negative, the batch's summaries shifted cyclically by one: graph
    :math:`g` is paired with graph :math:`g + 1 \bmod B`),

    .. math::
        \mathbf{s}_g = \sigma\Big(\frac{1}{|g|} \sum_{i \in g} \mathbf{h}_i\Big), \qquad
        D(\mathbf{h}, \mathbf{s}) = \mathbf{h}^{\top} \mathbf{W} \mathbf{s},

    .. math::
        \mathcal{L} = \mathrm{BCE}\big(D(\mathbf{h}_i, \mathbf{s}_{g(i)}), 1\big)
                    + \mathrm{BCE}\big(D(\mathbf{h}_i, \mathbf{s}_{g(i) + 1}), 0\big)

    (each term a mean over the atoms). The encoder runs once, on the clean batch: the
    corruption is the pairing, so :meth:`prepare` has nothing to do. A batch of one molecule
    pairs it with itself, and its negatives equal its positives.

    :class:`torch_geometric.nn.DeepGraphInfomax` does not fit as a module: its constructor
    owns the encoder and a feature-level corruption (a second encoder pass), and its
    :meth:`discriminate` scores all nodes against one summary (or every node against every
    summary, an ``[N, B]`` matrix). The bilinear form is therefore written here, computing
    :math:`\mathbf{W}\mathbf{s}_g` once per molecule; :math:`\mathbf{W}` is initialised like
    PyG's (and the reference's): :func:`torch_geometric.nn.inits.uniform`.

    Args:
        encoder (Encoder): any encoder.
    """

    def __init__(self, encoder: Encoder) -> None:
        super().__init__(encoder)
        channels = encoder.out_channels
        self.weight = torch.nn.Parameter(torch.empty(channels, channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise the discriminator (the encoder is left alone)."""
        uniform(self.weight.size(0), self.weight)

    def summary(self, h: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
        r"""Molecule summaries :math:`\sigma(\mathrm{mean}_{i \in g}\, \mathbf{h}_i)`,
        ``[num_graphs, channels]``."""
        return torch.sigmoid(global_mean_pool(h, batch, size=num_graphs))

    def discriminate(self, h: Tensor, summary: Tensor, batch: Tensor, shift: int = 0) -> Tensor:
        r"""Logits :math:`\mathbf{h}_i^{\top} \mathbf{W} \mathbf{s}_{(g(i) + \text{shift})
        \bmod B}` for every node, ``[num_nodes]``."""
        ws = summary @ self.weight.t()  # row g: W s_g
        if shift:
            ws = torch.roll(ws, -shift, dims=0)
        return (h * ws[batch]).sum(dim=-1)

    def compute(self, prepared: Data) -> ObjectiveOutput:
        h = self.encode(prepared)
        batch = getattr(prepared, 'batch', None)
        if batch is None:
            batch = torch.zeros(h.size(0), dtype=torch.long, device=h.device)
        num_graphs = int(getattr(prepared, 'num_graphs', 1) or 1)
        s = self.summary(h, batch, num_graphs)
        pos = self.discriminate(h, s, batch)
        neg = self.discriminate(h, s, batch, shift=1)
        return ObjectiveOutput(pos_neg_bce_with_logits(pos, neg), pos_neg_logs(pos, neg))
