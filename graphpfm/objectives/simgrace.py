"""SimGRACE: contrast a graph's embedding with that of a weight-perturbed encoder
(Xia et al., 2022)."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.func import functional_call
from torch_geometric.data import Data

from ..nn.encoders.base import Encoder
from ..nn.heads import projection_head, resolve_pool
from ..nn.losses import nt_xent
from .base import OBJECTIVES, Objective, ObjectiveOutput


@OBJECTIVES.register('simgrace')
class SimGRACE(Objective):
    r"""SimGRACE from `"SimGRACE: A Simple Framework for Graph Contrastive Learning without
    Data Augmentation" <https://arxiv.org/abs/2202.03104>`_: no augmentation of the data;
    the second view of every graph comes from a copy of the encoder whose weights are
    perturbed,

    .. math::
        \boldsymbol\theta'_l = \boldsymbol\theta_l + \eta \, \boldsymbol\epsilon_l, \qquad
        \boldsymbol\epsilon_l \sim \mathcal{N}(0, \sigma_l^2), \quad
        \sigma_l = \mathrm{std}(\boldsymbol\theta_l),

    one :math:`\sigma_l` per parameter tensor. Both views are pooled, passed through the same
    projection head and contrasted with NT-Xent (:func:`~graphpfm.nn.losses.nt_xent`) over
    the batch. As in the reference code the perturbed view is a fixed target: no gradient
    flows through it (it is computed under :func:`torch.no_grad`), and its batch-norm layers
    normalise with the statistics of the batch without moving the encoder's running
    statistics.

    The standard-normal noise is drawn in :meth:`prepare` from the trainer's generator (so a
    seed fixes it); :meth:`compute` scales it by the current :math:`\sigma_l`.

    Args:
        encoder (Encoder): any encoder.
        eta (float): perturbation magnitude :math:`\eta`. (default: :obj:`1.0`)
        temperature (float): NT-Xent temperature (the reference uses 0.2). (default: :obj:`0.2`)
        pool (str): graph readout, ``'mean'``, ``'sum'`` or ``'max'``. (default: :obj:`'mean'`)
        intra_view_negatives (bool): also use the other graphs of the anchor's own view as
            negatives (SimCLR); the reference uses only the other view's.
            (default: :obj:`False`)
    """

    def __init__(self, encoder: Encoder, eta: float = 1.0, temperature: float = 0.2,
                 pool: str = 'mean', intra_view_negatives: bool = False) -> None:
        super().__init__(encoder, eta=eta, temperature=temperature, pool=pool,
                         intra_view_negatives=intra_view_negatives)
        if eta <= 0:
            raise ValueError(f'eta must be > 0, got {eta}')
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        self._pool = resolve_pool(pool)
        self.proj = projection_head(encoder.out_channels)

    def prepare(self, batch: Data, generator: torch.Generator | None = None) -> dict[str, Any]:
        """The batch and one standard-normal noise tensor per encoder parameter."""
        noise = {name: torch.randn(p.shape, generator=generator, dtype=p.dtype).to(p.device)
                 for name, p in self.encoder.named_parameters()}
        return {'batch': batch, 'noise': noise}

    def graph_embedding(self, batch: Data, params: dict[str, Tensor] | None = None) -> Tensor:
        """Pooled embeddings, with the encoder's own weights or with ``params``."""
        args = (batch.x, batch.edge_index)
        kwargs = {'edge_attr': getattr(batch, 'edge_attr', None), 'batch': batch.batch}
        if params is None:
            h = self.encoder(*args, **kwargs)
        else:
            # private copies of the buffers: the perturbed pass must not move running stats
            buffers = {n: b.clone() for n, b in self.encoder.named_buffers()}
            h = functional_call(self.encoder, {**params, **buffers}, args, kwargs)
        return self._pool(h, batch.batch, size=batch.num_graphs)

    def perturbed_parameters(self, noise: dict[str, Tensor]) -> dict[str, Tensor]:
        r""":math:`\boldsymbol\theta + \eta\,\sigma(\boldsymbol\theta)\,\boldsymbol\epsilon`
        for every encoder parameter (detached)."""
        eta = self.kwargs['eta']
        out = {}
        for name, p in self.encoder.named_parameters():
            p = p.detach()
            std = p.std() if p.numel() > 1 else p.new_zeros(())
            out[name] = p + eta * std * noise[name]
        return out

    def compute(self, prepared: dict[str, Any]) -> ObjectiveOutput:
        batch = prepared['batch']
        if batch.num_graphs < 2:
            raise ValueError('SimGRACE contrasts graphs within a batch: it needs at least 2 '
                             f'graphs per batch, got {batch.num_graphs}')
        z1 = self.proj(self.graph_embedding(batch))
        with torch.no_grad():
            z2 = self.proj(self.graph_embedding(
                batch, self.perturbed_parameters(prepared['noise'])))
        loss = nt_xent(z1, z2, self.kwargs['temperature'],
                       intra_view_negatives=self.kwargs['intra_view_negatives'],
                       symmetric=False)
        with torch.no_grad():
            pos = torch.nn.functional.cosine_similarity(z1, z2, dim=-1).mean()
        return ObjectiveOutput(loss, {'nt_xent': loss.detach(), 'pos_cos': pos})
