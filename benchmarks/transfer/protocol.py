"""The transfer protocol: what is pretrained and fine-tuned, and the profiles that name it."""
# ruff: noqa: C408 (configuration tables are written as dict(key=value))
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

#: the arm fine-tuned from random initialisation, with the same recipe and seeds
SCRATCH = 'scratch'
#: Hu et al.'s eight downstream molecule datasets
MOLECULE_BENCHMARK = ('ogbg-molbbbp', 'ogbg-moltox21', 'ogbg-moltoxcast', 'ogbg-molsider',
                      'ogbg-molclintox', 'ogbg-molmuv', 'ogbg-molhiv', 'ogbg-molbace')
#: the value of a profile's ``objectives`` (or of ``--objectives``) that stands for every
#: registered graph-level objective (:func:`graph_objectives`)
ALL_OBJECTIVES = 'all'
#: prefix of an arm that fine-tunes a given encoder instead of pretraining one:
#: ``pretrained:<shipped model name or checkpoint path>``
GIVEN = 'pretrained:'


@dataclass
class Protocol:
    """Everything that determines the numbers of a transfer run (hashed into each record).

    ``objectives`` may be ``'all'`` (:data:`ALL_OBJECTIVES`): it is resolved on construction
    to the graph-level objectives registered then (:func:`resolve_objectives`), so that the
    protocol, and the ``protocol.json`` written from it, names the arms that actually run.
    """

    objectives: list[str] | str
    datasets: list[str]
    seeds: list[int]
    corpus: str = 'moses'
    corpus_limit: int | None = 100_000
    pretrain_epochs: int = 2
    pretrain_batch_size: int = 256
    pretrain_lr: float = 1e-3
    #: mixed precision of the pretraining forward pass ('bf16'), or None for float32; part of
    #: the pretraining key only when set, so float32 runs keep their hashes
    pretrain_amp: str | None = None
    supervised_corpus: str = 'ogbg-moltoxcast'
    supervised_epochs: int = 20
    exclude_from_supervised: bool = True
    encoder: str = 'gin'
    num_layers: int = 5
    hidden_channels: int = 300
    jk: str = 'last'
    finetune_epochs: int = 30
    finetune_batch_size: int = 32
    finetune_lr: float = 1e-3
    finetune_dropout: float = 0.5
    pool: str = 'mean'
    pretrain_seed: int = 0
    objective_options: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.objectives = resolve_objectives(self.objectives)

    def pretrain_key(self, arm: str) -> dict[str, Any]:
        """What determines the pretrained encoder of ``arm`` (a given checkpoint: its bytes)."""
        if is_given_checkpoint(arm):
            return {'checkpoint': given_checkpoint_digest(arm)}
        keys = ['encoder', 'num_layers', 'hidden_channels', 'jk', 'pretrain_batch_size',
                'pretrain_lr', 'pretrain_seed']
        d = {k: getattr(self, k) for k in keys}
        if arm == 'supervised':
            d.update(corpus=self.supervised_corpus, epochs=self.supervised_epochs,
                     exclude=self.datasets if self.exclude_from_supervised else [])
        else:
            d.update(corpus=self.corpus, limit=self.corpus_limit, epochs=self.pretrain_epochs)
        d['objective'] = arm
        d['options'] = self.objective_options.get(arm, {})
        if self.pretrain_amp is not None:
            d['amp'] = self.pretrain_amp
        return d

    def finetune_key(self, arm: str) -> dict[str, Any]:
        """What determines a fine-tuning record of ``arm`` (its hash keys the record)."""
        keys = ['encoder', 'num_layers', 'hidden_channels', 'jk', 'finetune_epochs',
                'finetune_batch_size', 'finetune_lr', 'finetune_dropout', 'pool']
        d = {k: getattr(self, k) for k in keys}
        d['pretrain'] = None if arm == SCRATCH else self.pretrain_key(arm)
        return d


#: Each profile gives every dataset the same seeds and the same number of epochs (one recipe
#: for all). ``objectives='all'`` follows the registry: registering a graph-level objective
#: adds an arm to the profile's next run (records carry the protocol of their own arm, so the
#: arms already run keep their records). ``python -m benchmarks.transfer plan --profile NAME``
#: prints what a profile costs on this machine (:mod:`.cost`).
PROFILES: dict[str, dict[str, Any]] = {
    # GIN 5 x 300 pretrained on 100k MOSES molecules for 2 epochs; bbbp, bace, tox21; 3 seeds
    # x 30 fine-tuning epochs, for eight objectives named here.
    'small': dict(objectives=['attr_masking', 'context_pred', 'edge_pred', 'infomax',
                              'supervised', 'graphcl', 'graphmae', 'simgrace'],
                  datasets=['ogbg-molbbbp', 'ogbg-molbace', 'ogbg-moltox21'], seeds=[0, 1, 2],
                  corpus_limit=100_000, pretrain_epochs=2, finetune_epochs=30),
    # Hu et al.'s protocol on MOSES's 1.58M training molecules (they used 2M ZINC15), for every
    # registered graph-level objective: meant for a GPU.
    'full': dict(objectives=ALL_OBJECTIVES, datasets=list(MOLECULE_BENCHMARK),
                 seeds=list(range(10)), corpus_limit=1_584_663, pretrain_epochs=100,
                 supervised_epochs=100, finetune_epochs=100),
    # The same protocol scaled to about 70 minutes on 2 CPU cores (2 single-threaded jobs), by
    # the calibrated costs in cost.COSTS. Fine-tuning is ~90% of the cost: one (arm, seed)
    # epoch over the five datasets present here is 1631 x 0.72 + 1210 x 0.64 + 6264 x 0.40 +
    # 6860 x 0.93 + 32901 x 0.75 ms = 35.5 s of one core, x 8 epochs x 9 arms x 3 seeds = 65
    # min on two jobs; pretraining 5 min; featurisation and the model cards 2 min. One recipe
    # for every dataset (no fewer epochs for HIV); GIN 5 x 300 (4.19 ms per graph) would allow
    # one fine-tuning epoch in the same time, 3 x 128 six.
    'quick': dict(objectives=ALL_OBJECTIVES, datasets=list(MOLECULE_BENCHMARK), seeds=[0, 1, 2],
                  num_layers=3, hidden_channels=64, corpus_limit=50_000, pretrain_epochs=4,
                  supervised_epochs=20, finetune_epochs=8),
    # Graph property prediction objectives against the four arms of `quick` with the best mean
    # validation score over its datasets (infomax, supervised, attr_masking, graphmae), with
    # five seeds and `quick`'s recipe: the three RDKit-target objectives and KPGT's masking +
    # descriptors. Fine-tuning is ~221 CPU s per (arm, seed): 9 arms x 5 seeds = 83 min on two
    # jobs.
    'property': dict(objectives=['infomax', 'supervised', 'attr_masking', 'graphmae',
                                 'motif_pred', 'descriptor_pred', 'fingerprint_pred',
                                 'attr_masking+descriptor_pred'],
                     datasets=list(MOLECULE_BENCHMARK), seeds=[0, 1, 2, 3, 4], num_layers=3,
                     hidden_channels=64, corpus_limit=50_000, pretrain_epochs=4,
                     supervised_epochs=20, finetune_epochs=8),
}


def is_given_checkpoint(arm: str) -> bool:
    """Whether ``arm`` names a given checkpoint (``pretrained:<name or path>``)."""
    return arm.startswith(GIVEN)


def given_checkpoint(arm: str) -> Path:
    """The checkpoint file of a ``pretrained:<name or path>`` arm (a shipped model's name or
    a file; neither is an error naming both)."""
    from graphpfm.pretrained import resolve_checkpoint
    try:
        return resolve_checkpoint(arm[len(GIVEN):])
    except FileNotFoundError as exc:
        raise SystemExit(f'error: arm {arm}: {exc}') from None


def given_checkpoint_digest(arm: str) -> str:
    """SHA-256 of a given checkpoint's bytes (its identity in the protocol)."""
    return hashlib.sha256(given_checkpoint(arm).read_bytes()).hexdigest()


def arm_dir(out: Path, arm: str) -> Path:
    """Where a run keeps the pretrained encoder of ``arm`` (its checkpoint, log and card)."""
    return Path(out) / 'pretrain' / arm.replace('+', '_plus_')


def graph_objectives() -> list[str]:
    """The graph-level objectives in graphpfm's registry (sorted): what ``objectives='all'``
    resolves to."""
    from graphpfm.objectives import OBJECTIVES
    return [n for n in OBJECTIVES.names() if getattr(OBJECTIVES.get(n), 'level', None) == 'graph']


def resolve_objectives(objectives: str | Sequence[str]) -> list[str]:
    """The arms named by ``objectives``: ``'all'`` (:data:`ALL_OBJECTIVES`, alone) is every
    registered graph-level objective (:func:`graph_objectives`); a comma-separated string or a
    list is taken as given, in its order. Names are checked against the registry by
    :func:`benchmarks.transfer.cli.plan`."""
    names = ([o for o in objectives.split(',') if o] if isinstance(objectives, str)
             else list(objectives))
    if ALL_OBJECTIVES in names:
        if len(names) > 1:
            raise SystemExit(f"error: '{ALL_OBJECTIVES}' stands for every registered "
                             'graph-level objective and cannot be combined with names '
                             f"({', '.join(names)}); give either '{ALL_OBJECTIVES}' or a "
                             'comma list of objectives')
        return graph_objectives()
    return names
