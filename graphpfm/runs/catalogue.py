"""What graphpfm offers on this machine: the registered objectives and encoders, the shipped
pretrained models and the datasets found under the data root."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Catalogue:
    """The registered ``objectives`` and ``encoders`` (names), the shipped ``pretrained``
    models (name: file) and the known ``datasets`` (name: where found, or :obj:`False`) under
    ``root``."""

    objectives: list[str]
    encoders: list[str]
    pretrained: dict[str, Path]
    datasets: dict[str, Any]
    root: Path

    def summary(self) -> str:
        """The catalogue in plain text, as ``graphpfm list`` prints it: each objective with
        its level, first sentence and options."""
        from ..config import summary
        from ..nn import ENCODERS
        from ..objectives import OBJECTIVES, objective_options
        lines = ['objectives (options: graphpfm list NAME):']
        for name in self.objectives:
            cls = OBJECTIVES.get(name)
            opts = ', '.join(f'{o.name}={o.default!r}' for o in objective_options(name))
            lines += [f'  {name:16s} [{cls.level}] {summary(cls)}',
                      f'  {"":16s} options: {opts or "none"}']
        lines += ["  combinations: join names with '+' (e.g. --objective attr_masking+context_pred"
                  ' --objective-weights 1,0.5): one shared encoder, weighted sum of the losses',
                  'encoders:', *(f'  {n:16s} {summary(ENCODERS.get(n))}' for n in self.encoders),
                  'pretrained models (--checkpoint NAME, graphpfm.from_pretrained(NAME)):',
                  *(f'  {n:16s} {p}' for n, p in self.pretrained.items())]
        lines += [] if self.pretrained else ['  (none shipped)']
        lines += [f'datasets (data root: {self.root}):',
                  *(f"  {n:20s} {where or 'absent'}" for n, where in self.datasets.items())]
        return '\n'.join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {'objectives': self.objectives, 'encoders': self.encoders,
                'pretrained': self.pretrained, 'datasets': self.datasets}


def catalogue(root: str | os.PathLike | None = None) -> Catalogue:
    """The objectives, encoders, shipped models and datasets (under the data root ``root``)."""
    from ..datasets import available_datasets
    from ..nn import ENCODERS
    from ..objectives import OBJECTIVES
    from ..paths import data_root
    from ..pretrained import available_pretrained
    return Catalogue(OBJECTIVES.names(), ENCODERS.names(), available_pretrained(),
                     available_datasets(root), data_root(root))
