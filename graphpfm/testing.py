r"""The contract every objective meets, as public checks (in the spirit of scikit-learn's
``check_estimator``), so that an objective written outside graphpfm can be tested too:

.. code-block:: python

    from graphpfm.testing import check_objective
    check_objective(lambda: MyObjective(build_encoder('gin', num_layers=2)), batch)

Each ``check_*`` function raises :class:`AssertionError` with a message naming the objective
and what failed. ``make`` is a callable returning a fresh objective (seed inside it if its
initialisation is random: two calls must give the same weights); ``batch`` is a batch the
objective trains on (a collated :class:`~torch_geometric.data.Batch` of molecules, or one
graph for node-level objectives).
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor

from .objectives.base import Objective

MakeObjective = Callable[[], Objective]


def _name(obj: Objective) -> str:
    return getattr(type(obj), 'registry_name', type(obj).__name__)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _is_log_value(v: Any) -> bool:
    if isinstance(v, Tensor):
        return v.dim() == 0 and not v.requires_grad and v.is_floating_point()
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_finite_loss_and_gradient(make: MakeObjective, batch: Any) -> None:
    """The loss is a finite 0-dim tensor whose gradient reaches the encoder, and the logs are
    detached 0-dim float tensors or Python numbers (never booleans)."""
    obj = make().train()
    out = obj(batch, _gen(0))
    name = _name(obj)
    assert out.loss.dim() == 0 and bool(torch.isfinite(out.loss)), \
        f'{name}: the loss must be a finite scalar, got {out.loss}'
    out.loss.backward()
    grads = [p.grad for p in obj.encoder.parameters() if p.grad is not None]
    assert grads and sum(float(g.abs().sum()) for g in grads) > 0, \
        f'{name}: no gradient reaches the encoder'
    bad = {k: v for k, v in out.logs.items() if not _is_log_value(v)}
    assert out.logs and not bad, \
        f'{name}: logs must be detached 0-dim float tensors or numbers, got {bad or "none"}'


def check_same_seed_same_loss(make: MakeObjective, batch: Any) -> None:
    """Two fresh objectives and the same generator seed give the same loss."""
    losses = [make().train()(batch, _gen(9)).loss.detach() for _ in range(2)]
    assert torch.equal(losses[0], losses[1]), \
        f'{_name(make())}: same seed, different losses {losses[0]} and {losses[1]}'


def check_prepare_never_writes_into_the_batch(make: MakeObjective, batch: Any) -> None:
    """:meth:`~Objective.prepare` leaves every tensor of the batch as it was."""
    obj = make().train()
    before = {k: v.clone() for k, v in batch.to_dict().items() if isinstance(v, Tensor)}
    obj.prepare(batch, _gen(0))
    after = batch.to_dict()
    for k, v in before.items():
        same = (after[k].shape == v.shape and after[k].dtype == v.dtype
                and bool(torch.equal(torch.nan_to_num(after[k]), torch.nan_to_num(v))
                         if v.is_floating_point() else torch.equal(after[k], v)))
        assert same, f"{_name(obj)}: prepare() wrote into the batch's '{k}'"


def check_forward_is_compute_of_prepare(make: MakeObjective, batch: Any) -> None:
    """``forward(batch, g)`` equals ``compute(prepare(batch, g))`` for the same seed."""
    obj = make().eval()
    a = obj(batch, _gen(1)).loss
    b = obj.compute(obj.prepare(batch, _gen(1))).loss
    assert torch.equal(a, b), f'{_name(obj)}: forward() is not compute(prepare())'


def check_checkpoint_reproduces_embeddings(make: MakeObjective, batch: Any,
                                           directory: str | Path | None = None) -> None:
    """A checkpoint of the encoder, loaded with ``weights_only=True``, embeds exactly as the
    objective's :meth:`~Objective.embed`, and names the objective."""
    from .train.checkpoint import load_encoder, save_checkpoint
    obj = make()
    obj.train()(batch, _gen(0))  # moves batch-norm statistics
    obj.eval()
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        path = Path(tmp) / 'c.pt'
        save_checkpoint(path, obj.encoder, objective=obj.config())
        enc = load_encoder(path).eval()
        raw = torch.load(path, weights_only=True)
    emb = enc(batch.x, batch.edge_index, edge_attr=getattr(batch, 'edge_attr', None),
              batch=getattr(batch, 'batch', None))
    assert torch.equal(emb, obj.embed(batch)), \
        f'{_name(obj)}: the reloaded encoder embeds differently'
    assert raw['objective']['name'] == obj.config()['name']


def check_loss_falls_on_a_fixed_batch(make: MakeObjective, batch: Any, steps: int = 40,
                                      lr: float = 3e-3, factor: float = 0.5) -> None:
    """``steps`` Adam steps on one batch with a fixed corruption bring the loss below
    ``factor`` times its first value (calling :meth:`~Objective.on_step_end` after each)."""
    obj = make().train()
    opt = torch.optim.Adam(obj.parameters(), lr=lr)
    first = last = None
    for _ in range(steps):
        out = obj(batch, _gen(0))
        if first is None:
            first = out.loss.item()
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        obj.on_step_end()
        last = out.loss.item()
    assert last < factor * first, \
        f'{_name(obj)}: the loss went from {first:.4g} to {last:.4g} in {steps} steps'


CHECKS = (check_finite_loss_and_gradient, check_same_seed_same_loss,
          check_prepare_never_writes_into_the_batch, check_forward_is_compute_of_prepare,
          check_checkpoint_reproduces_embeddings, check_loss_falls_on_a_fixed_batch)


def check_objective(make: MakeObjective, batch: Any) -> None:
    """Run every check of :data:`CHECKS` on the objectives ``make()`` builds."""
    for check in CHECKS:
        check(make, batch)


__all__ = ['CHECKS', 'check_checkpoint_reproduces_embeddings', 'check_finite_loss_and_gradient',
           'check_forward_is_compute_of_prepare', 'check_loss_falls_on_a_fixed_batch',
           'check_objective', 'check_prepare_never_writes_into_the_batch',
           'check_same_seed_same_loss']
