"""Transfer benchmark: pretrain each objective, fine-tune on downstream molecule datasets, and
always compare with the same fine-tuning recipe from random initialisation, in one run.

    python -m benchmarks.transfer plan --profile quick --jobs 2      # predicted cost, runs nothing
    python -m benchmarks.transfer run --profile quick --jobs 2 \\
        --out benchmarks/results/transfer-quick
    python -m benchmarks.transfer report --out benchmarks/results/transfer-quick --timing \\
        --figure benchmarks/results/transfer-quick/table.png --readme-section transfer-quick

Profiles (:data:`PROFILES`): ``quick`` (Hu et al.'s protocol scaled to about an hour on 2 CPU
cores), ``full`` (Hu et al.'s protocol, meant for a GPU), both over every registered
graph-level objective (``objectives='all'``, resolved when the run starts and recorded in
``<out>/protocol.json``); ``small`` and ``property`` name their objectives. ``--objectives
a,b`` names the arms instead; ``pretrained:<shipped name or file>`` fine-tunes a given
encoder. ``plan`` prints the predicted cost of a profile (:mod:`.cost`).

``report`` gives the mean ± std over seeds of every (arm, dataset), and the paired difference
of every pretrained arm to ``scratch`` (same seeds) with a Student's *t* confidence interval
over seeds; ``--readme-section NAME`` also writes them into the marked section NAME of
``benchmarks/README.md``.

``run`` is resumable: every (arm, dataset, seed) fine-tuning is one JSON line in
``<out>/records.jsonl``, written as soon as it finishes, keyed by the hash of its protocol
(:meth:`Protocol.finetune_key`), and pretrained checkpoints stay in ``<out>/pretrain/<arm>/``
with their model cards; run the same command again and only the missing work is done. A
different protocol in the same ``--out`` is an error, never a silent mix; arms may be added.

Protocol, enforced here and in :func:`graphpfm.eval.finetune`: each seed seeds the
initialisation, the head and the training-set order; the test score reported is the one at the
epoch of best *validation* score (ties: the earlier epoch); the validation split is used for
nothing else; splits are OGB's scaffold splits from the dataset files. The no-pretraining arm
(``scratch``) uses the identical recipe and seeds. Datasets absent under the data root are
reported and skipped, never faked. Tasks with a single class in a split are left out of the
metric as OGB's Evaluator does; each record lists them and ``report`` counts them.

``--jobs N`` runs N pretrainings / fine-tunings at once in worker processes with
``--threads`` torch threads each (default: cores // jobs). On 2 cores, two single-threaded
fine-tunings at batch 32 do about 1.33x the work of one two-threaded one; on a busy machine,
pass ``--threads 1``.

Modules: :mod:`.protocol` (the protocol and profiles), :mod:`.jobs` (the worker jobs),
:mod:`.cards` (model cards), :mod:`.cost` (cost model), :mod:`.calibrate`, :mod:`.report`,
:mod:`.figures`, :mod:`.cli`; the runner, records and tables they share are in
:mod:`benchmarks.harness`.
"""
from ..harness.records import protocol_hash
from .cards import corpus_overlap
from .cli import main, plan, resolve_protocol
from .cost import (
    COSTS,
    MOLECULE_SIZES,
    SUPERVISED_GRAPHS,
    estimate,
    format_estimate,
    makespan,
    pretrain_rate,
    train_sizes,
)
from .figures import figure, loss_curves, loss_figure
from .protocol import (
    ALL_OBJECTIVES,
    MOLECULE_BENCHMARK,
    PROFILES,
    SCRATCH,
    Protocol,
    graph_objectives,
    resolve_objectives,
)
from .report import compare, report, skipped_tasks_table, summary, timed_runs, timing

__all__ = ['ALL_OBJECTIVES', 'COSTS', 'MOLECULE_BENCHMARK', 'MOLECULE_SIZES', 'PROFILES',
           'SCRATCH', 'SUPERVISED_GRAPHS', 'Protocol', 'compare', 'corpus_overlap', 'estimate',
           'figure', 'format_estimate', 'graph_objectives', 'loss_curves', 'loss_figure', 'main',
           'makespan', 'plan', 'pretrain_rate', 'protocol_hash', 'report', 'resolve_objectives',
           'resolve_protocol', 'skipped_tasks_table', 'summary', 'timed_runs', 'timing',
           'train_sizes']
