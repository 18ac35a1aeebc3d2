r"""Pretrained encoders shipped inside the package, loaded offline by name.

Each shipped model is a checkpoint ``<name>.pt`` (:func:`~graphpfm.train.save_checkpoint`'s
layout, weights possibly stored in half precision) with its model card ``<name>.md`` beside it
in this folder: the corpus, objective, epochs, compute, commit, the command that rebuilds it
and its downstream table against scratch.

.. code-block:: python

    encoder = graphpfm.from_pretrained(name)           # an Encoder with float32 weights
    graphpfm.available_pretrained()                    # {name: path}

On the command line, ``--checkpoint <name>`` (and ``--init <name>``) accept a shipped model's
name wherever they accept a checkpoint file.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ..nn.encoders.base import Encoder

#: the folder holding the shipped models
PRETRAINED_DIR = Path(__file__).resolve().parent


def available_pretrained(directory: str | os.PathLike | None = None) -> dict[str, Path]:
    """``{name: checkpoint path}`` of the models shipped in ``directory`` (default: the
    package's own folder): every ``<name>.pt`` that has its model card ``<name>.md``."""
    folder = Path(directory) if directory is not None else PRETRAINED_DIR
    return {p.stem: p for p in sorted(folder.glob('*.pt')) if p.with_suffix('.md').is_file()}


def pretrained_path(name: str, directory: str | os.PathLike | None = None) -> Path:
    """The checkpoint of the shipped model ``name``; an unknown name raises a
    :class:`KeyError` listing the known ones."""
    models = available_pretrained(directory)
    if name not in models:
        raise KeyError(f"Unknown pretrained model '{name}'. Valid options: "
                       f"{', '.join(models) or '(none shipped)'}")
    return models[name]


def default_pretrained(directory: str | os.PathLike | None = None) -> Path:
    """The checkpoint of the one shipped model (what ``GraphEmbedder()`` and ``graphpfm
    quickstart`` use without a checkpoint); none or several shipped raise a
    :class:`ValueError` saying what to pass instead."""
    shipped = available_pretrained(directory)
    if len(shipped) == 1:
        return next(iter(shipped.values()))
    if not shipped:
        raise ValueError('no pretrained model ships with this graphpfm '
                         '(graphpfm.pretrained.available_pretrained() is empty): give a '
                         'checkpoint file written by graphpfm.Trainer or '
                         'graphpfm.save_checkpoint')
    raise ValueError(f"several pretrained models ship ({', '.join(shipped)}): name one of "
                     'them, or give a checkpoint file')


def resolve_checkpoint(value: str | os.PathLike,
                       directory: str | os.PathLike | None = None) -> Path:
    """A checkpoint argument as a file: an existing path as it is, else the shipped model of
    that name; neither raises a :class:`FileNotFoundError` naming both."""
    path = Path(value)
    if path.is_file():
        return path
    models = available_pretrained(directory)
    if str(value) in models:
        return models[str(value)]
    raise FileNotFoundError(f"checkpoint not found: '{value}' is neither a file nor a shipped "
                            f"pretrained model ({', '.join(models) or 'none shipped'})")


def from_pretrained(name: str, map_location: str | torch.device = 'cpu', *,
                    directory: str | os.PathLike | None = None, **overrides: Any) -> Encoder:
    r"""The shipped pretrained encoder ``name``, rebuilt from its checkpoint (loaded with
    ``weights_only=True``) with float32 weights, offline.

    Args:
        name (str): a name of :func:`available_pretrained`.
        map_location: device for the weights. (default: :obj:`'cpu'`)
        directory (str or Path, optional): where the models lie. (default: the package's
            folder)
        **overrides: constructor arguments that do not alter the parameters, e.g.
            ``dropout=0.5`` for fine-tuning.
    """
    from ..train.checkpoint import load_encoder
    return load_encoder(pretrained_path(name, directory), map_location, **overrides)


def export_pretrained(checkpoint: str | os.PathLike, dest: str | os.PathLike, *,
                      half: bool = True) -> Path:
    r"""Write a slim copy of ``checkpoint`` to ship: the encoder's weights (floating-point
    tensors in half precision with ``half``), its config, the run config, the data provenance
    and the loss history, without the objective's heads. :func:`from_pretrained` loads it
    back with float32 weights.

    Args:
        checkpoint (str or Path): a checkpoint written by the trainer.
        dest (str or Path): the file to write (atomically).
        half (bool, optional): store floating-point weights as ``float16``. (default:
            :obj:`True`)
    """
    from ..paths import atomic_write_bytes
    from ..train.checkpoint import check_plain, load_checkpoint
    ckpt = load_checkpoint(checkpoint)
    state = {k: (v.half() if half and v.is_floating_point() else v)
             for k, v in ckpt['encoder_state_dict'].items()}
    slim = {**ckpt, 'encoder_state_dict': state, 'objective_state_dict': None,
            'extra': {**ckpt.get('extra', {}), 'weights_dtype': 'float16' if half else 'float32'}}
    check_plain(slim)
    return atomic_write_bytes(dest, lambda tmp: torch.save(slim, tmp))


def model_card(name: str, directory: str | os.PathLike | None = None) -> str:
    """The model card (markdown) of the shipped model ``name``."""
    return pretrained_path(name, directory).with_suffix('.md').read_text()


__all__ = ['PRETRAINED_DIR', 'available_pretrained', 'default_pretrained', 'export_pretrained',
           'from_pretrained',
           'model_card',
           'pretrained_path', 'resolve_checkpoint']
