"""Achieved GFLOP/s of a pretraining step beside its matrix multiplies alone, and where the
rest of the step goes.

    python -m benchmarks.flops --root ../shared/data --objectives all

For each objective, with a GIN encoder on batches of MOSES molecules, in one process:

1. **FLOPs per step** (forward + backward) counted by
   :class:`torch.utils.flop_counter.FlopCounterMode`. It counts the matmul family (``mm``,
   ``addmm``, ``bmm``, ``baddbmm``), convolutions and attention kernels only: embeddings,
   gathers, scatters, norms, elementwise ops, losses and the Adam update count zero. The
   GFLOP/s below are therefore matmul FLOPs per second of the whole step. FLOPs and the
   replayed matmuls (3.) are taken with the GIN's message-passing neighbourhood sum (the
   sparse CSR product would be counted as a dense ``[nodes x nodes]`` matmul); the step is
   timed and profiled as it runs, with the sparse sum.
2. **Step time**: median ms of ``objective.compute`` + backward + Adam step on batches
   prepared (corrupted) beforehand, cycling over ``--batches`` batches, after 2 warm-up steps.
3. **Matmuls alone**: every aten ``mm``/``addmm``/``bmm``/... call of a step is recorded (shapes,
   strides, scalars) and replayed on fresh tensors of the same layout and dtype on the same
   threads: matmul-only ms and GFLOP/s, and ``step_ms / matmul_ms``.
4. **Reference**: a square ``--reference-size`` float32 matmul's GFLOP/s on the same threads.
5. **Where the rest goes**: ``torch.profiler`` over ``--profile-steps`` steps; the self CPU
   time of every op inside a step, summed into categories (matmul; gather; scatter;
   normalisation; elementwise/activations/reductions/losses; optimizer; copies/cat/allocation;
   views; autograd engine; other), in ms and % of the profiled step, with the top ops. Ops
   called inside a matmul, gather, scatter or norm op (its allocations, sorts, views) count as
   that op's; everything inside ``optimizer.zero_grad``/``step`` counts as optimizer (the
   self time of ``Optimizer.step#Adam.step`` is Adam's Python loop over parameters). What no
   op covers (Python between ops, module calls, the profiler's own cost) is
   ``python_overhead``. Profiling adds a few microseconds per op, so profiled steps are slower
   than the timed ones; the shares are what to read.
6. ``--compile``: the same step with ``torch.compile(..., dynamic=True)`` applied to the
   objective's ``compute`` (falling back to the encoder's forward if that fails; see
   ``--compile-target``): the first two steps' time (compilation) and the median step against
   eager, with the graph breaks. A compilation error is recorded in the row, not raised.

Rows are appended as JSON lines to ``--out``; markdown tables are printed.
"""
from __future__ import annotations

import argparse
import functools
import inspect
import logging
import shlex
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_map
from torch.utils.flop_counter import FlopCounterMode

from graphpfm.datasets import load_dataset
from graphpfm.nn import build_encoder
from graphpfm.objectives import OBJECTIVES, build_objective

from .harness.env import git_commit, versions
from .harness.records import append_jsonl

log = logging.getLogger('benchmarks.flops')
aten = torch.ops.aten

#: the matrix-multiply family recorded and replayed (as seen below autograd)
MATMUL_OPS = {aten.mm, aten.addmm, aten.bmm, aten.baddbmm, aten.addbmm, aten._addmm_activation,
              aten.mv, aten.addmv, aten.dot}
CATEGORIES = ('matmul', 'gather', 'scatter', 'normalisation', 'elementwise', 'optimizer',
              'copies/alloc', 'views', 'autograd engine', 'other')
_NAMES = {
    'matmul': {'mm', 'addmm', 'bmm', 'baddbmm', 'addbmm', '_addmm_activation', 'matmul',
               'linear', 'mv', 'addmv', 'dot', 'einsum', 'bilinear'},
    'gather': {'index_select', 'embedding', 'embedding_bag', '_embedding_bag',
               '_embedding_bag_forward_only', 'gather', 'index', 'take', 'take_along_dim',
               'masked_select', 'nonzero', 'searchsorted', 'repeat_interleave'},
    'scatter': {'scatter', 'scatter_', 'scatter_add', 'scatter_add_', 'scatter_reduce',
                'scatter_reduce_', 'index_add', 'index_add_', 'index_put', 'index_put_',
                '_index_put_impl_', 'index_reduce', 'index_reduce_', 'index_copy',
                'index_copy_', 'index_fill', 'index_fill_', 'segment_reduce',
                '_segment_reduce_backward', 'embedding_backward', 'embedding_dense_backward',
                '_embedding_bag_backward', '_embedding_bag_dense_backward',
                '_embedding_bag_sparse_backward', '_embedding_bag_per_sample_weights_backward',
                'index_select_backward', 'gather_backward', 'bincount', 'masked_scatter',
                'masked_fill', 'masked_fill_', 'unique', '_unique2', 'unique_consecutive'},
    'normalisation': {'batch_norm', 'native_batch_norm', '_batch_norm_impl_index',
                      '_native_batch_norm_legit', '_native_batch_norm_legit_no_training',
                      '_batch_norm_with_update', '_batch_norm_no_update',
                      'native_batch_norm_backward', 'batch_norm_backward', 'layer_norm',
                      'native_layer_norm', 'native_layer_norm_backward', 'group_norm',
                      'native_group_norm', 'native_group_norm_backward', 'norm',
                      'linalg_vector_norm', 'normalize', 'batch_norm_stats',
                      'batch_norm_elemt', 'rms_norm', '_fused_rms_norm'},
    'copies/alloc': {'copy_', 'to', '_to_copy', 'clone', 'contiguous', 'cat', 'stack',
                     'hstack', 'vstack', 'empty', 'empty_like', 'empty_strided', 'new_empty',
                     'new_empty_strided', 'zeros', 'zeros_like', 'new_zeros', 'ones',
                     'ones_like', 'new_ones', 'full', 'full_like', 'new_full', 'fill_',
                     'zero_', 'resize_', 'arange', 'repeat', 'tensor', 'scalar_tensor',
                     'lift_fresh', 'lift_fresh_copy', 'flip', 'roll', 'pad',
                     'constant_pad_nd', 'where', 'tril', 'triu', 'eye'},
    'views': {'view', 'reshape', '_reshape_alias', 't', 'transpose', 'permute', 'expand',
              'expand_as', 'as_strided', 'slice', 'select', 'narrow', 'unsqueeze', 'squeeze',
              'detach', 'detach_', 'alias', '_unsafe_view', 'unbind', 'split', 'split_with_sizes',
              'chunk', 'flatten', 'unflatten', 'view_as', 'numpy_T', 'mT', 'resolve_conj',
              'resolve_neg', '_has_compatible_shallow_copy_type', 'is_nonzero', 'item',
              '_local_scalar_dense', 'broadcast_tensors', 'result_type', 'requires_grad_',
              'diagonal', 'movedim', 'swapaxes', 'matrix_H', 'unfold', 'contiguous_'},
}
#: name tokens (``aten::_log_softmax_backward_data`` -> log, softmax, ...) of elementwise ops,
#: activations, reductions, losses and random fills
_ELEMENTWISE = set("""add sub rsub mul div relu threshold sigmoid tanh softmax exp exp2 expm1 log
    log1p log2 pow sqrt rsqrt neg abs clamp clip max min maximum minimum sum mean prod std var
    eq ne lt gt le ge logical bitwise dropout gelu elu prelu leaky silu hardtanh loss nll mse
    entropy sign sgn reciprocal lerp addcmul addcdiv square any all argmax argmin isnan isinf cos
    sin erf round floor ceil trunc frac fmod remainder logsumexp softplus cosine amax amin cdist
    cumsum logit logaddexp xlogy hypot atan2 bernoulli rand randn randint normal uniform
    randperm""".split())
#: categories whose ops' children (allocations, sorts, views inside the kernel) count as theirs
KERNEL_CATEGORIES = ('matmul', 'gather', 'scatter', 'normalisation')


@functools.lru_cache(maxsize=None)
def categorize(name: str) -> str:
    """The category of a profiler event by name (``aten::index_add_`` -> ``'scatter'``).
    Optimizer ops are recognised by their parent event, not here; ops with no category are
    ``'other'``."""
    if name.startswith('autograd::') or name.endswith(('Backward0', 'Backward1')) or \
            'AccumulateGrad' in name:
        return 'autograd engine'
    if not name.startswith('aten::'):
        return 'other'
    op = name[len('aten::'):]
    for candidate in (op, op.rstrip('_')):
        for cat, names in _NAMES.items():
            if candidate in names:
                return cat
    if '_backward' in op:  # the backward of a known op: its category (a view's: a copy)
        stem = op.split('_backward')[0]
        for candidate in (stem, stem.lstrip('_')):
            for cat, names in _NAMES.items():
                if candidate in names:
                    return 'copies/alloc' if cat == 'views' else cat
    if set(op.strip('_').split('_')) & _ELEMENTWISE:
        return 'elementwise'
    return 'other'


# -- one training step ------------------------------------------------------------------------

def train_step(objective, prepared, optimizer) -> None:
    """``objective.compute`` + backward + optimizer step (the model path only)."""
    loss = objective.compute(prepared).loss
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    objective.on_step_end()


def count_flops(forward: Callable[[], torch.Tensor]) -> dict[str, Any]:
    """FLOPs of ``forward()`` (which returns a scalar loss) and of the loss's backward, counted
    by :class:`~torch.utils.flop_counter.FlopCounterMode` (matmuls, convolutions and attention
    only). Returns ``{'forward', 'backward', 'total', 'by_op'}``; gradients are left on the
    parameters (zero them before an optimizer step)."""
    with FlopCounterMode(display=False) as fwd:
        loss = forward()
    with FlopCounterMode(display=False) as bwd:
        loss.backward()
    by_op: dict[str, int] = defaultdict(int)
    for mode in (fwd, bwd):
        for op, n in mode.get_flop_counts().get('Global', {}).items():
            by_op[str(op)] += int(n)
    f, b = int(fwd.get_total_flops()), int(bwd.get_total_flops())
    return {'forward': f, 'backward': b, 'total': f + b, 'by_op': dict(by_op)}


# -- the step's matmuls alone -----------------------------------------------------------------

@dataclass(frozen=True)
class TensorSpec:
    size: tuple[int, ...]
    stride: tuple[int, ...]
    dtype: torch.dtype

    def materialize(self, gen: torch.Generator) -> torch.Tensor:
        """A fresh tensor of exactly this size, stride (transposition) and dtype."""
        if any(s == 0 for s in self.size):
            return torch.empty_strided(self.size, self.stride, dtype=self.dtype)
        storage = 1 + sum((s - 1) * abs(st) for s, st in zip(self.size, self.stride))
        base = torch.randn(storage, generator=gen).to(self.dtype)
        return base.as_strided(self.size, self.stride)


class MatmulRecorder(TorchDispatchMode):
    """Records every dense matmul-family aten call (op, tensor layouts, scalars) below autograd.
    Calls with a sparse operand (the GIN's CSR neighbourhood sum) are counted in
    :attr:`sparse_calls`, not recorded: they are not dense matmul work to replay."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Any, tuple, dict]] = []
        self.sparse_calls = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func.overloadpacket in MATMUL_OPS and any(
                isinstance(t, torch.Tensor) and t.layout != torch.strided
                for t in (*args, *kwargs.values())):
            self.sparse_calls += 1
        elif func.overloadpacket in MATMUL_OPS:
            spec = lambda t: TensorSpec(tuple(t.shape), tuple(t.stride()), t.dtype) \
                if isinstance(t, torch.Tensor) else t  # noqa: E731
            self.calls.append((func, tree_map(spec, args), tree_map(spec, kwargs)))
        return func(*args, **kwargs)


def record_matmuls(objective, prepared) -> list[tuple[Any, tuple, dict]]:
    """The matmul calls of one forward + backward of ``objective`` on ``prepared``."""
    with MatmulRecorder() as rec:
        loss = objective.compute(prepared).loss
        loss.backward()
    objective.zero_grad(set_to_none=True)
    return rec.calls


def materialize_calls(calls, seed: int = 0) -> list[tuple[Any, tuple, dict]]:
    gen = torch.Generator().manual_seed(seed)
    make = lambda a: a.materialize(gen) if isinstance(a, TensorSpec) else a  # noqa: E731
    return [(f, tree_map(make, a), tree_map(make, k)) for f, a, k in calls]


def time_calls(calls, repeats: int) -> float:
    """Median ms of running ``calls`` (materialised) once, after one warm-up pass."""
    times = []
    with torch.no_grad():
        for i in range(repeats + 1):
            start = time.perf_counter()
            for f, a, k in calls:
                f(*a, **k)
            if i:
                times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def reference_gflops(n: int, repeats: int = 5) -> float:
    """GFLOP/s of a square ``n x n`` float32 matmul on the current threads."""
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(n, n, generator=gen), torch.randn(n, n, generator=gen)
    ms = time_calls([(torch.mm, (a, b), {})], repeats)
    return 2 * n ** 3 / (ms / 1000) / 1e9


# -- where the rest goes ----------------------------------------------------------------------

STEP_EVENT = 'flops::step'


def profile_steps(objective, prepared: list, optimizer, steps: int,
                  top: int = 10) -> dict[str, Any]:
    """Self CPU time of the ops of ``steps`` training steps, by category and top op."""
    from torch.profiler import ProfilerActivity, profile, record_function
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for i in range(steps):
            with record_function(STEP_EVENT):
                train_step(objective, prepared[i % len(prepared)], optimizer)
    events = list(prof.events())
    step_events = [e for e in events if e.name == STEP_EVENT]
    wall_us = sum(e.cpu_time_total for e in step_events)
    cats: dict[str, float] = dict.fromkeys(CATEGORIES, 0.0)
    ops: dict[str, list] = defaultdict(lambda: [0.0, 0, None])
    for e in events:
        if e.name == STEP_EVENT:
            continue
        # the outermost enclosing optimizer step, or kernel-category op, claims the event
        cat = 'optimizer' if e.name.startswith('Optimizer.') else categorize(e.name)
        parent = e.cpu_parent
        while parent is not None and parent.name != STEP_EVENT:
            outer = categorize(parent.name)
            if parent.name.startswith('Optimizer.'):
                cat = 'optimizer'
            elif outer in KERNEL_CATEGORIES and cat != 'optimizer':
                cat = outer
            parent = parent.cpu_parent
        if parent is None:  # not inside a step (another thread, or the profiler itself)
            continue
        cats[cat] += e.self_cpu_time_total
        ops[e.name][0] += e.self_cpu_time_total
        ops[e.name][1] += 1
        ops[e.name][2] = ops[e.name][2] or cat
    per_step = lambda us: us / 1000 / steps  # noqa: E731
    pct = lambda us: 100 * us / wall_us if wall_us else 0.0  # noqa: E731
    covered = sum(cats.values())
    top_ops = sorted(ops.items(), key=lambda kv: -kv[1][0])[:top]
    return {
        'profiled_step_ms': round(per_step(wall_us), 2),
        'categories': {c: {'ms': round(per_step(us), 2), 'pct': round(pct(us), 1)}
                       for c, us in cats.items()},
        'python_overhead': {'ms': round(per_step(wall_us - covered), 2),
                            'pct': round(pct(wall_us - covered), 1)},
        'top_ops': [{'op': name, 'category': cat, 'ms': round(per_step(us), 2),
                     'pct': round(pct(us), 1), 'calls_per_step': n / steps}
                    for name, (us, n, cat) in top_ops],
    }


# -- one objective ----------------------------------------------------------------------------

def needs_num_tasks(name: str) -> bool:
    return name in OBJECTIVES and \
        'num_tasks' in inspect.signature(OBJECTIVES.get(name).__init__).parameters


def build(name: str, args, bundle):
    torch.manual_seed(0)
    enc = build_encoder('gin', num_layers=args.num_layers, hidden_channels=args.hidden_channels)
    options = {'num_tasks': bundle.num_tasks} if needs_num_tasks(name) else {}
    objective = build_objective(name, enc, **options)
    objective.train()
    return objective


def prepare_all(objective, batches) -> list:
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        return [objective.prepare(b, gen) for b in batches]


def timed_steps(objective, prepared, optimizer, steps: int, warmup: int = 2) -> list[float]:
    """ms of each of ``warmup + steps`` training steps cycling over ``prepared``."""
    times = []
    for i in range(warmup + steps):
        start = time.perf_counter()
        train_step(objective, prepared[i % len(prepared)], optimizer)
        times.append(1000 * (time.perf_counter() - start))
    return times


def compiled_run(name: str, args, bundle, batches, eager_ms: float) -> dict[str, Any]:
    """The step with ``torch.compile(dynamic=True)``; errors are recorded, not raised."""
    import torch._dynamo
    from torch._dynamo.utils import counters
    targets = ['compute', 'encoder'] if args.compile_target == 'auto' else [args.compile_target]
    result: dict[str, Any] = {'backend': args.compile_backend, 'errors': {}}
    for target in targets:
        torch._dynamo.reset()
        counters.clear()
        objective = build(name, args, bundle)
        prepared = prepare_all(objective, batches)
        opt = torch.optim.Adam(objective.parameters(), lr=1e-3)
        try:
            if target == 'compute':
                objective.compute = torch.compile(objective.compute, dynamic=True,
                                                  backend=args.compile_backend)
            else:
                objective.encoder.compile(dynamic=True, backend=args.compile_backend)
            times = timed_steps(objective, prepared, opt, args.steps)
        except Exception as err:  # noqa: BLE001 - any compiler failure is a result
            msg = f'{type(err).__name__}: {err}'.strip()
            result['errors'][target] = msg[:2000]
            log.warning('torch.compile of %s failed for %s: %s', target, name,
                        msg.splitlines()[0][:300])
            continue
        ms = statistics.median(times[2:])
        result.update({
            'target': target, 'ok': True, 'compile_s': round(sum(times[:2]) / 1000, 2),
            'first_step_s': round(times[0] / 1000, 2), 'step_ms': round(ms, 2),
            'eager_step_ms': round(eager_ms, 2), 'speedup': round(eager_ms / ms, 3),
            'graph_breaks': int(sum(counters['graph_break'].values())),
            'graph_break_reasons': [str(k)[:300] for k in list(counters['graph_break'])[:5]],
            'unique_graphs': int(counters['stats'].get('unique_graphs', 0))})
        break
    else:
        result.update({'target': None, 'ok': False})
    torch._dynamo.reset()
    return result


def measure(name: str, args, bundle, batches, ref: float) -> dict[str, Any]:
    objective = build(name, args, bundle)
    prepared = prepare_all(objective, batches)
    opt = torch.optim.Adam(objective.parameters(), lr=1e-3)
    # 1. FLOPs of every batch's forward + backward (gradients discarded). FlopCounterMode
    # would count the GIN's sparse CSR neighbourhood sum as a dense [nodes x nodes] matmul:
    # counted on the message-passing path, which has the same dense matmuls and sums
    from .aggregation import set_sparse
    # neighbours without matmul FLOPs (the sparse path's extra [nodes x 19] @ [19 x width]
    # bond-count products are negligible); the matmuls replayed in 3. come from that path too
    flops = []
    set_sparse(objective, False)
    for p in prepared:
        flops.append(count_flops(lambda p=p: objective.compute(p).loss))
        objective.zero_grad(set_to_none=True)
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    step_flops = mean([f['total'] for f in flops])
    # 3. the same matmuls alone, batch by batch (inputs of one batch alive at a time)
    matmul_ms, matmul_flops, n_calls = [], [], []
    for p in prepared:
        calls = materialize_calls(record_matmuls(objective, p))
        n_calls.append(len(calls))
        with FlopCounterMode(display=False) as fc, torch.no_grad():
            for f, a, k in calls:
                f(*a, **k)
        matmul_flops.append(fc.get_total_flops())
        matmul_ms.append(time_calls(calls, max(args.steps, 3)))
        del calls
    set_sparse(objective, True)  # the step as it runs: the sparse neighbourhood sum
    # 2. step time
    times = timed_steps(objective, prepared, opt, args.steps)
    step_ms = statistics.median(times[2:])
    # 5. where the rest goes
    prof = profile_steps(objective, prepared, opt, args.profile_steps)
    mm_ms, mm_flops = mean(matmul_ms), mean(matmul_flops)
    row = {
        'objective': name, 'dataset': bundle.name,
        'encoder': f'gin {args.num_layers}x{args.hidden_channels}',
        'batch_size': args.batch_size, 'batches': len(batches),
        'mean_nodes': round(mean([b.num_nodes for b in batches]), 1),
        'mean_edges': round(mean([b.num_edges for b in batches]), 1),
        'threads': torch.get_num_threads(), 'dtype': str(torch.get_default_dtype()),
        'flops_per_step': int(step_flops),
        'forward_flops': int(mean([f['forward'] for f in flops])),
        'backward_flops': int(mean([f['backward'] for f in flops])),
        'flops_by_op': flops[0]['by_op'],
        'step_ms': round(step_ms, 2), 'step_trials_ms': [round(t, 2) for t in times[2:]],
        'warmup_ms': [round(t, 2) for t in times[:2]],
        'gflops_per_s': round(step_flops / (step_ms / 1000) / 1e9, 3),
        'matmul_calls_per_step': mean(n_calls), 'matmul_flops_per_step': int(mm_flops),
        'matmul_ms': round(mm_ms, 2),
        'matmul_gflops_per_s': round(mm_flops / (mm_ms / 1000) / 1e9, 3),
        'step_over_matmul': round(step_ms / mm_ms, 2),
        'reference_gflops_per_s': round(ref, 1), 'reference_size': args.reference_size,
        **prof,
        'profile_steps': args.profile_steps,
    }
    if args.compile:
        row['compile'] = compiled_run(name, args, bundle, batches, step_ms)
    return row


# -- tables -----------------------------------------------------------------------------------

def _num(x: float) -> str:
    return f'{x:.1f}' if abs(x) >= 10 else f'{x:.3g}'


def tables(rows: list[dict[str, Any]]) -> str:
    out = ['| objective | GFLOP/step | step ms | GFLOP/s | matmul ms | matmul GFLOP/s | '
           'step / matmul | reference GFLOP/s |', '|---|---|---|---|---|---|---|---|']
    for r in rows:
        cells = [r['flops_per_step'] / 1e9, r['step_ms'], r['gflops_per_s'], r['matmul_ms'],
                 r['matmul_gflops_per_s'], r['step_over_matmul'], r['reference_gflops_per_s']]
        out.append(f"| {r['objective']} | " + ' | '.join(map(_num, cells)) + ' |')
    out += ['', '% of the profiled step (self CPU time; python = time outside every op):', '',
            '| objective | profiled ms | ' + ' | '.join(CATEGORIES) + ' | python |',
            '|---|---|' + '---|' * (len(CATEGORIES) + 1)]
    for r in rows:
        cells = [f"{r['categories'][c]['pct']:.1f}" for c in CATEGORIES]
        out.append(f"| {r['objective']} | {_num(r['profiled_step_ms'])} | " + ' | '.join(cells) +
                   f" | {r['python_overhead']['pct']:.1f} |")
    for r in rows:
        out += ['', f"top ops, {r['objective']}: " + ', '.join(
            f"{o['op']} {o['pct']:.1f}%" for o in r['top_ops'])]
    compiled = [r for r in rows if 'compile' in r]
    if compiled:
        out += ['', '| objective | compiled | compile s | eager ms | compiled ms | speedup | '
                'graph breaks |', '|---|---|---|---|---|---|---|']
        for r in compiled:
            c = r['compile']
            if c['ok']:
                out.append(f"| {r['objective']} | {c['target']} | {_num(c['compile_s'])} | "
                           f"{_num(c['eager_step_ms'])} | {_num(c['step_ms'])} | "
                           f"x{c['speedup']:.2f} | {c['graph_breaks']} |")
            else:
                err = '; '.join(f'{t}: {e.splitlines()[0][:80]}' for t, e in c['errors'].items())
                out.append(f"| {r['objective']} | failed ({err}) | | {_num(r['step_ms'])} | | "
                           "| |")
    return '\n'.join(out)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--dataset', default='moses')
    p.add_argument('--root', default=None)
    p.add_argument('--objectives', default='attr_masking',
                   help="comma list or 'all' (every graph-level objective)")
    p.add_argument('--batch-size', type=int, default=256)
    p.add_argument('--batches', type=int, default=4, help='prepared batches cycled over')
    p.add_argument('--num-layers', type=int, default=5)
    p.add_argument('--hidden-channels', type=int, default=300)
    p.add_argument('--steps', type=int, default=10, help='timed steps (after 2 warm-up steps)')
    p.add_argument('--profile-steps', type=int, default=2)
    p.add_argument('--reference-size', type=int, default=2048)
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--compile', action='store_true')
    p.add_argument('--compile-target', default='auto', choices=('auto', 'compute', 'encoder'),
                   help="what --compile compiles; 'auto': compute, else the encoder")
    p.add_argument('--compile-backend', default='inductor',
                   help="torch.compile backend ('aot_eager' or 'eager' isolate the tracing)")
    p.add_argument('--out', default='benchmarks/results/flops.jsonl')
    argv = sys.argv[1:] if argv is None else list(argv)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.objectives == 'all':
        names = [n for n in OBJECTIVES.names() if OBJECTIVES.get(n).level == 'graph']
    else:
        names = args.objectives.split(',')
    bundle = load_dataset(args.dataset, root=args.root, limit=args.batch_size * args.batches,
                          progress=False)
    store = bundle.dataset
    batches = [store.collate(range(i, min(i + args.batch_size, len(store))))
               for i in range(0, len(store), args.batch_size)]
    ref = reference_gflops(args.reference_size)
    common = {'threads': torch.get_num_threads(), 'versions': versions(),
              'git_sha': git_commit(), 'command': shlex.join(['python', '-m', 'benchmarks.flops',
                                                           *argv])}
    rows = []
    for name in names:
        if needs_num_tasks(name) and not bundle.num_tasks:
            log.warning("skipping '%s': it needs a labelled --dataset (e.g. ogbg-moltoxcast); "
                        "'%s' has no labels", name, bundle.name)
            continue
        print(f'{name}: measuring', file=sys.stderr, flush=True)
        row = {**measure(name, args, bundle, batches, ref), **common}
        rows.append(row)
        print(f"{name}: {row['step_ms']:.1f} ms/step, {row['gflops_per_s']:.1f} GFLOP/s, "
              f"matmuls alone {row['matmul_ms']:.1f} ms", file=sys.stderr, flush=True)
    append_jsonl(args.out, rows)
    print(tables(rows))
    return rows


if __name__ == '__main__':
    main()
