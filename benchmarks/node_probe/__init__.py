"""Node-level benchmark: pretrain each node objective on one graph with its published
configuration, probe the frozen encoder with logistic regression (regularisation chosen on the
validation split only) and fine-tune it, beside randomly initialised encoders of the same
architectures probed and fine-tuned the same way, in one run.

    python -m benchmarks.node_probe run --dataset Cora --seeds 10 --jobs 2 \\
        --out benchmarks/results/node-probe-cora
    python -m benchmarks.node_probe finetune --out benchmarks/results/node-probe-cora --jobs 2
    python -m benchmarks.node_probe report --out benchmarks/results/node-probe-cora

Each seed seeds the encoder initialisation and the pretraining corruption (so seeds differ in
the pretrained encoder, as in the published protocols). One JSON line per (arm, seed) in
``<out>/records.jsonl``, written as it finishes; rerunning the same command does only what is
missing. Each record carries the hash of its arm's configuration (``arm_hash``: dataset,
features, architecture, method settings, epochs): changing one method's settings reruns that
method only; records of other configurations stay in the file but out of the table.

Configurations, per dataset: for ``graphmae``, ``grace``, ``bgrl`` and ``dgi`` the papers'
own (the authors' configuration files, with sources, published figures and differences in
``graphpfm/recipes/<method>.yaml``, chosen by :func:`graphpfm.recipes.node_recipe`, which logs
which one and why); on a dataset without one, the method's documented default (smaller,
shorter, meant for selection on validation). On Cora:

* ``graphmae``: 2-layer GAT, 512 hidden (4 heads x 128), PReLU on every layer, input-feature
  dropout 0.2 on each layer's input, attention dropout 0.1, no norm, DGL's GAT initialisation
  (xavier normal, gain sqrt(2); ``weight_init='dgl'``); mask rate 0.5, replace rate 0.05,
  gamma 3, one-layer GAT decoder with its own input dropout 0.2, attention dropout 0.1 and
  the same initialisation; Adam lr 1e-3, weight decay 2e-4, cosine schedule, 1500 epochs
  (GraphMAE's configs.yml for Cora and its models/gat.py).
* ``grace``: 2-layer GCN, 128 hidden, Adam lr 5e-4, weight decay 1e-5, 200 epochs,
  temperature 0.4, edge drop 0.2/0.4, feature drop 0.3/0.4 (GRACE's config.yaml for Cora).
* ``bgrl``: 2-layer GCN, 512 hidden, batch norm, Adam lr 5e-4 with 100 epochs of linear
  warm-up then cosine decay (as BGRL's own schedule), weight decay 1e-5, 1000 epochs, EMA
  0.99 -> 1 over the run; BGRL has no Cora configuration (the 82.7 cited is from later
  benchmarks): this one was chosen on validation accuracy with ``sweep`` on seed 0.
* ``dgi``: 1-layer GCN, 512 hidden, PReLU, Adam lr 1e-3, 300 epochs (DGI stops early on the
  training loss with patience 20; a fixed budget here).
* ``attr_masking`` (node level: masked rows zeroed plus a learnt ``[MASK]`` vector, a linear
  head regressing the original rows, mean squared error; mask rate 0.15, Hu et al.'s): BGRL's
  2-layer GCN with batch norm, Adam lr 1e-3, 200 epochs. ``edge_pred`` (dot-product decoder,
  edges against uniformly sampled non-edges): GRACE's 2-layer GCN, Adam lr 1e-2, 200 epochs
  (the graph autoencoder's recipe). Neither paper has a Cora configuration or a linear-probe
  figure: both were chosen on validation accuracy with ``sweep`` on seed 0
  (``benchmarks/results/node-probe-cora-sweep``); on other datasets they get the recipes'
  default for objectives without a recipe file.
* ``random-<arch>``: the architectures above, randomly initialised, probed identically: each
  method's baseline (architectures outside the Cora ones are named by shape, e.g.
  ``gat2x512h2``).

By default (``--select-every 10``) every pretraining run selects its epoch on validation
(:class:`graphpfm.eval.ValidationProbe`: a logistic-regression probe fitted on the training
nodes every 10 epochs and after the last, the best validation score kept, test labels never
read), and the selected encoder is saved and probed; ``--select-every 0`` keeps the last
epoch (the protocol of the committed Cora records). Pretraining multiplies bag-of-words
inputs sparsely in the first layer (``--sparse-input``; equal up to float rounding).

``finetune`` fine-tunes, for each method and seed, the encoder ``run`` saved
(``<out>/encoders/<arm>-seed<seed>.pt``), and for each ``random-<arch>`` arm a freshly
initialised encoder of that architecture (seeded as the probe's random encoder), with a
linear head on the same features. One recipe for every arm (:data:`.config.FINETUNE`): Adam,
head lr 1e-2, encoder lr 5e-3, weight decay 5e-4, dropout 0.5 on the encoder's hidden layers
and before the head, 200 full-batch epochs, test accuracy at the epoch of best validation
accuracy (ties: the earlier), through :func:`graphpfm.eval.finetune`. Records in
``<out>/finetune.jsonl`` under the hash of the recipe and the probe protocol
(``<out>/finetune_protocol.json``); another recipe in the same ``--out`` is refused.

``torch-probe`` runs GraphMAE's own probe, the protocol of its published figures, on the same
encoders: a ``torch.nn.Linear`` on the raw embeddings trained with full-batch Adam
(:data:`.config.TORCH_PROBE`), test accuracy at the last epoch of best validation accuracy
and after the last epoch (``<out>/torch_probe.jsonl``, recomputed whole). ``sweep`` compares
variants of one method on validation accuracy.

``report`` prints the probe and fine-tuning columns (the published column: the method's figure
on the run's dataset, blank where none is known), then each method's paired difference to
its random encoder with 95% Student's *t* intervals over seeds (:mod:`benchmarks.harness`),
and a warning for every method whose probe does not beat its random encoder by more than the
spread over seeds (the interval does not lie above 0: :func:`graphpfm.eval.compare_to_random`).
Modules: :mod:`.config`, :mod:`.jobs`, :mod:`.report`, :mod:`.cli`.
"""
from .cli import main
from .config import (
    ARCHITECTURES,
    FINETUNE,
    METHODS,
    TORCH_PROBE,
    normalise_features,
    parse_variant,
)
from .jobs import last_best, torch_probe
from .report import report

__all__ = ['ARCHITECTURES', 'FINETUNE', 'METHODS', 'TORCH_PROBE', 'last_best', 'main',
           'normalise_features', 'parse_variant', 'report', 'torch_probe']
