"""BGRL: bootstrapped node representations without negatives (Thakoor et al., 2021)."""
from __future__ import annotations

import copy
import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Data

from ..nn.encoders.base import Encoder
from ..transforms.node_views import node_view
from .base import OBJECTIVES, Objective, ObjectiveOutput, seed_count


def bootstrap_loss(q: Tensor, y: Tensor) -> Tensor:
    r"""The BYOL / BGRL regression loss of online predictions ``q`` on target embeddings
    ``y``, the squared distance of the normalised vectors,

    .. math::
        \mathcal{L} = \frac{1}{N} \sum_i \Big\| \frac{\mathbf{q}_i}{\|\mathbf{q}_i\|}
        - \frac{\mathbf{y}_i}{\|\mathbf{y}_i\|} \Big\|^2
        = 2 - \frac{2}{N} \sum_i \cos(\mathbf{q}_i, \mathbf{y}_i),

    from `"Large-Scale Representation Learning on Graphs via Bootstrapping"
    <https://arxiv.org/abs/2102.06514>`_. ``y`` is detached (the stop-gradient of the target).

    Args:
        q (Tensor): predictions ``[N, D]``.
        y (Tensor): targets ``[N, D]``, row-aligned with ``q``.
    """
    if q.shape != y.shape or q.dim() != 2 or q.size(0) == 0:
        raise ValueError(f'q and y must be non-empty [N, D] of the same shape, got '
                         f'{tuple(q.shape)} and {tuple(y.shape)}')
    return 2.0 - 2.0 * F.cosine_similarity(q, y.detach(), dim=-1).mean()


@OBJECTIVES.register('bgrl')
class BGRL(Objective):
    r"""BGRL from `"Large-Scale Representation Learning on Graphs via Bootstrapping"
    <https://arxiv.org/abs/2102.06514>`_: two views of the graph (edge dropping and
    feature-column masking, as :class:`~graphpfm.objectives.GRACE`); the online encoder
    :math:`f_\theta` and a predictor :math:`p_\theta` predict, node by node, the embedding that
    a target encoder :math:`f_\xi` gives the other view, with no negatives,

    .. math::
        \mathcal{L} = \tfrac{1}{2}\Big[\mathcal{B}\big(p_\theta(f_\theta(\mathbf{v}_1)),
        f_\xi(\mathbf{v}_2)\big) + \mathcal{B}\big(p_\theta(f_\theta(\mathbf{v}_2)),
        f_\xi(\mathbf{v}_1)\big)\Big]
        = 2 - \overline{\cos}(\mathbf{q}_1, \mathbf{y}_2) - \overline{\cos}(\mathbf{q}_2,
        \mathbf{y}_1),

    :math:`\mathcal{B}` the :func:`bootstrap_loss` (:math:`2 - 2\cos`, a mean over nodes);
    the reference code's loss. The target gets no gradient: it is a copy of the online
    encoder (:attr:`target_encoder`, ``requires_grad=False``, run under
    :func:`torch.no_grad`) that moves only by an exponential moving average in
    :meth:`on_step_end`, which the trainer calls after every optimizer step,

    .. math::
        \xi \leftarrow \mu_t \, \xi + (1 - \mu_t) \, \theta, \qquad
        \mu_t = 1 - (1 - \mu_0) \frac{1 + \cos(\pi t / T)}{2},

    the cosine schedule from :obj:`momentum` :math:`\mu_0` at step :math:`t = 0` to
    :math:`1` at :math:`t = T` (:obj:`total_steps`; later steps keep :math:`\mu = 1`). When
    the number of steps is not known (``total_steps=None``) the momentum stays
    :math:`\mu_0`. The target's parameters have no gradient, so an optimizer over
    :meth:`parameters` leaves them alone (optimizers skip parameters whose ``grad`` is
    :obj:`None`); its batch-norm statistics move with its own forward passes, as in the
    reference. The step count :attr:`num_steps` is a buffer, saved with the objective's state.

    **Mini-batches.** On a neighbour-sampled mini-batch (an integer ``batch_size``, see
    :func:`~graphpfm.objectives.base.seed_count`) both encoders run on the whole view and the
    loss is computed on the seed nodes only.

    :meth:`prepare` returns the two views
    (:func:`~graphpfm.transforms.node_views.node_view`, view 1 first; the batch is never
    written). :meth:`embed` uses the online encoder, which checkpoints save.

    Differences from the reference code: the target starts as a copy of the online encoder
    (BYOL; the reference re-initialises it); if the online encoder's weights are replaced after
    the objective is built (a pretrained initialisation), call :meth:`reset_target`. The
    schedule counts optimizer steps, not epochs. The defaults are the reference's WikiCS
    configuration (augmentations, :math:`\mu_0 = 0.99`, predictor width 512); the reference
    trains for 10,000 full-graph steps with ``total_steps`` equal to that.

    Args:
        encoder (Encoder): an encoder on float node features (the online encoder).
        pe1 (float): edge drop probability of view 1. (default: :obj:`0.2`)
        pe2 (float): edge drop probability of view 2. (default: :obj:`0.3`)
        pf1 (float): feature-column masking probability of view 1. (default: :obj:`0.2`)
        pf2 (float): feature-column masking probability of view 2. (default: :obj:`0.1`)
        momentum (float): the EMA momentum :math:`\mu_0` at step 0, in :math:`[0, 1]`.
            (default: :obj:`0.99`)
        total_steps (int, optional): :math:`T`, the optimizer steps of the cosine schedule;
            :obj:`None` keeps the momentum constant (:meth:`data_kwargs` gives the run's
            steps). (default: :obj:`None`)
        predictor_channels (int): hidden width of the predictor
            ``Linear -> PReLU -> Linear``. (default: :obj:`512`)
        predictor_norm (bool): put batch norm (momentum 0.01) after the predictor's first
            layer, as PyGCL's BGRL example does (BGRL's reference predictor, nerdslab/bgrl,
            has none). (default: :obj:`False`)
    """

    level: ClassVar[str] = 'node'
    input_kinds: ClassVar[tuple[str, ...]] = ('float',)

    @classmethod
    def data_kwargs(cls, data: Any, num_steps: int) -> dict[str, Any]:
        """``total_steps``: the momentum schedule spans the run's optimizer steps."""
        return {'total_steps': num_steps}

    def __init__(self, encoder: Encoder, pe1: float = 0.2, pe2: float = 0.3, pf1: float = 0.2,
                 pf2: float = 0.1, momentum: float = 0.99, total_steps: int | None = None,
                 predictor_channels: int = 512, predictor_norm: bool = False) -> None:
        for name, rate in (('pe1', pe1), ('pe2', pe2), ('pf1', pf1), ('pf2', pf2)):
            if not 0.0 <= rate < 1.0:
                raise ValueError(f'{name} must be in [0, 1), got {rate}')
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f'momentum must be in [0, 1], got {momentum}')
        total_steps = None if total_steps is None else int(total_steps)
        if total_steps is not None and total_steps < 1:
            raise ValueError(f'total_steps must be >= 1 (or None for a constant momentum), '
                             f'got {total_steps}')
        if predictor_channels < 1:
            raise ValueError(f'predictor_channels must be >= 1, got {predictor_channels}')
        super().__init__(encoder, pe1=float(pe1), pe2=float(pe2), pf1=float(pf1),
                         pf2=float(pf2), momentum=float(momentum),
                         total_steps=total_steps,
                         predictor_channels=int(predictor_channels),
                         **({'predictor_norm': True} if predictor_norm else {}))
        channels = encoder.out_channels
        # optional batch norm between the predictor's layers (PyGCL's BGRL example)
        norm = ([torch.nn.BatchNorm1d(predictor_channels, momentum=0.01)] if predictor_norm
                else [])
        self.predictor = torch.nn.Sequential(torch.nn.Linear(channels, predictor_channels),
                                             *norm, torch.nn.PReLU(1),
                                             torch.nn.Linear(predictor_channels, channels))
        self.target_encoder = copy.deepcopy(encoder)
        self.target_encoder.requires_grad_(False)
        self.register_buffer('num_steps', torch.zeros((), dtype=torch.long))

    def reset_parameters(self) -> None:
        """Re-initialise the predictor, copy the online encoder into the target and reset the
        step count (the online encoder is left alone)."""
        for module in self.predictor:
            if hasattr(module, 'reset_parameters'):
                module.reset_parameters()
        self.reset_target()

    @torch.no_grad()
    def reset_target(self) -> None:
        """Copy the online encoder's parameters and buffers into the target encoder and set
        the step count to zero."""
        self.target_encoder.load_state_dict(self.encoder.state_dict())
        self.num_steps.zero_()

    def momentum_at(self, step: int) -> float:
        r"""The EMA momentum :math:`\mu_t` of optimizer step :math:`t` (``step``)."""
        base = self.kwargs['momentum']
        total = self.kwargs['total_steps']
        if total is None:
            return base
        t = min(max(step, 0), total)
        return 1.0 - (1.0 - base) * (1.0 + math.cos(math.pi * t / total)) / 2.0

    def momentum_log(self) -> Tensor | float:
        r"""The momentum :math:`\mu_t` of the current step for the logs, without reading
        :attr:`num_steps` back to the host: :obj:`momentum` itself when it is constant
        (``total_steps=None``), else a 0-dim float32 tensor computed on the buffer's device
        (:meth:`momentum_at` of :attr:`num_steps`)."""
        base, total = self.kwargs['momentum'], self.kwargs['total_steps']
        if total is None:
            return base
        t = self.num_steps.detach().clamp(0, total).float()
        return 1.0 - (1.0 - base) * (1.0 + torch.cos(t * (math.pi / total))) / 2.0

    @torch.no_grad()
    def on_step_end(self) -> None:
        r"""Move the target towards the online encoder,
        :math:`\xi \leftarrow \mu_t \xi + (1 - \mu_t) \theta` with :math:`t` =
        :attr:`num_steps`, then count the step."""
        m = self.momentum_at(int(self.num_steps))
        for target, online in zip(self.target_encoder.parameters(),
                                  self.encoder.parameters()):
            target.mul_(m).add_(online.detach(), alpha=1.0 - m)
        self.num_steps += 1

    def prepare(self, batch: Data, generator: torch.Generator | None = None
                ) -> tuple[Data, Data]:
        """The two augmented views (new batches; ``batch`` is not written)."""
        kw = self.kwargs
        return (node_view(batch, kw['pe1'], kw['pf1'], generator),
                node_view(batch, kw['pe2'], kw['pf2'], generator))

    def target(self, view: Data) -> Tensor:
        """Target embeddings of the seed nodes of a view (no gradient)."""
        with torch.no_grad():
            h = self.target_encoder(view.x, view.edge_index,
                                    edge_attr=getattr(view, 'edge_attr', None),
                                    batch=getattr(view, 'batch', None))
        return h[:seed_count(view)].detach()

    def predict(self, view: Data) -> Tensor:
        """Online predictions of the seed nodes of a view."""
        return self.predictor(self.encode(view)[:seed_count(view)])

    def compute(self, views: tuple[Data, Data]) -> ObjectiveOutput:
        v1, v2 = views
        q1, q2 = self.predict(v1), self.predict(v2)
        y1, y2 = self.target(v1), self.target(v2)
        loss = 0.5 * (bootstrap_loss(q1, y2) + bootstrap_loss(q2, y1))
        return ObjectiveOutput(loss, {'bootstrap': loss.detach(),
                                      'momentum': self.momentum_log()})
