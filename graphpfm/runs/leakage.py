"""One leakage check: how many molecules of a pretraining corpus are in the valid/test splits
of downstream datasets."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from .config import DataConfig


@dataclass
class LeakageConfig:
    r"""Which corpus to check against which downstream splits.

    Args:
        corpus (str): the pretraining corpus: ``'embedded'``, ``'moses'``, an OGB dataset
            name or a ``.csv``/``.smi(.gz)`` file of SMILES.
        downstream (list of str): OGB molecule datasets, e.g. ``ogbg-molbbbp,ogbg-moltox21``.
        splits (list of str): the downstream splits to check.
        examples (int): matches shown per dataset.
        workers (int, optional): processes computing InChIKeys; :obj:`None`: all cores for
            large inputs.
    """

    corpus: str
    downstream: Sequence[str]
    splits: Sequence[str] = ('valid', 'test')
    examples: int = 5
    workers: int | None = None


@dataclass
class LeakageReport:
    """The corpus (``name``, ``size``) and its ``overlap`` with each downstream dataset
    (:class:`~graphpfm.datasets.DatasetOverlap`)."""

    name: str
    size: int
    overlap: dict[str, Any]

    def summary(self) -> str:
        """The overlap table, as ``graphpfm leakage`` prints it."""
        from ..datasets import overlap_table
        return (f'corpus {self.name}: {self.size} molecules; identity = InChIKey (RDKit)\n'
                f'{overlap_table(self.overlap, self.size)}')

    def to_dict(self) -> dict[str, Any]:
        return {'corpus': self.name, 'num_corpus': self.size,
                'overlap': {k: v.to_dict() for k, v in self.overlap.items()}}


def leakage(config: LeakageConfig, data: DataConfig | None = None, *,
            progress: bool = False) -> LeakageReport:
    """Find the molecules of ``config.corpus`` (its first ``data.limit``; ``data.root``: the
    data root) that are, by InChIKey, in ``config.splits`` of each downstream dataset."""
    from ..datasets import dataset_smiles, find_overlap
    data = data or DataConfig()
    smiles = dataset_smiles(config.corpus, data.root, data.limit)
    overlap = find_overlap(smiles, config.downstream, data.root, config.splits,
                           num_workers=config.workers, max_examples=config.examples,
                           progress=progress)
    return LeakageReport(str(config.corpus), len(smiles), overlap)
