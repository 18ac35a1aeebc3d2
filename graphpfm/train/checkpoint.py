"""Self-describing checkpoints: plain values and tensors, saved atomically, loaded safely."""
from __future__ import annotations

import datetime as _dt
import os
import platform
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError
from ..nn.encoders.base import Encoder, build_encoder
from ..paths import atomic_write_bytes

CHECKPOINT_FORMAT_VERSION = 1
_PLAIN = (str, int, float, bool, type(None))


def check_plain(obj: Any, where: str = 'checkpoint') -> None:
    """Raise :class:`TypeError` unless ``obj`` holds only tensors, plain scalars, lists and dicts
    with string keys (what ``torch.load(weights_only=True)`` accepts)."""
    if isinstance(obj, _PLAIN) or isinstance(obj, torch.Tensor):
        return
    if isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            check_plain(v, f'{where}[{i}]')
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(f'{where}: non-string key {k!r}')
            check_plain(v, f'{where}.{k}')
        return
    raise TypeError(f'{where}: {type(obj).__name__} is not a plain value or tensor')


def package_versions() -> dict[str, str]:
    """Versions of the packages a result depends on (plain strings)."""
    import importlib.metadata as md
    out = {'python': platform.python_version()}
    for pkg in ('graphpfm', 'torch', 'torch_geometric', 'ogb', 'rdkit', 'numpy'):
        try:
            out[pkg] = md.version(pkg.replace('_', '-') if pkg == 'torch_geometric' else pkg)
        except md.PackageNotFoundError:
            try:  # e.g. graphpfm from a source tree on sys.path
                mod = __import__(pkg)
            except ImportError:  # optional here (a GPU image without RDKit, say)
                out[pkg] = 'not installed'
                continue
            out[pkg] = str(getattr(mod, '__version__', 'unknown'))
    return out


def save_checkpoint(path: str | os.PathLike, encoder: Encoder, *,
                    objective: dict[str, Any] | None = None,
                    objective_state_dict: dict[str, torch.Tensor] | None = None,
                    config: dict[str, Any] | None = None, data: dict[str, Any] | None = None,
                    history: list[dict[str, Any]] | None = None,
                    extra: dict[str, Any] | None = None) -> Path:
    r"""Write a checkpoint atomically (temp file, then rename).

    Layout: ``{'format_version', 'graphpfm_version', 'created', 'versions',
    'encoder': {'name', 'kwargs'}, 'encoder_state_dict', 'objective', 'objective_state_dict',
    'config', 'data', 'history', 'extra'}``; every value is a tensor or a plain value, so the
    file loads with ``torch.load(path, weights_only=True)``.

    Args:
        path: destination file.
        encoder (Encoder): the encoder whose config and weights are saved.
        objective (dict, optional): the objective's ``{'name', 'kwargs'}`` (and chain).
        objective_state_dict (dict, optional): weights of the objective's heads (for resuming).
        config (dict, optional): the resolved run config.
        data (dict, optional): provenance of the pretraining data (corpus, size, ...).
        history (list, optional): per-epoch logs.
        extra (dict, optional): anything else, plain values only.
    """
    from ..version import __version__
    ckpt = {
        'format_version': CHECKPOINT_FORMAT_VERSION,
        'graphpfm_version': __version__,
        'created': _dt.datetime.now(_dt.timezone.utc).isoformat(timespec='seconds'),
        'versions': package_versions(),
        'encoder': encoder.config(),
        'encoder_state_dict': {k: v.detach().cpu() for k, v in encoder.state_dict().items()},
        'objective': objective or {},
        'objective_state_dict': ({k: v.detach().cpu() for k, v in objective_state_dict.items()}
                                 if objective_state_dict is not None else None),
        'config': config or {},
        'data': data or {},
        'history': history or [],
        'extra': extra or {},
    }
    check_plain(ckpt)
    return atomic_write_bytes(path, lambda tmp: torch.save(ckpt, tmp))


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = 'cpu'
                    ) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True`` and check its format version."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f'{path} is a folder, not a checkpoint file'
                              + ('; did you mean ' + str(path / 'checkpoint.pt') + '?'
                                 if (path / 'checkpoint.pt').is_file() else ''))
    if not path.is_file():
        raise FileNotFoundError(f'checkpoint not found: {path}')
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # truncated, empty, foreign pickle, random bytes
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f'{path} is not a readable graphpfm checkpoint ({reason[:200]}); '
                              'graphpfm writes checkpoints with `graphpfm pretrain` or '
                              'save_checkpoint') from None
    if not isinstance(ckpt, dict) or 'encoder' not in ckpt:
        raise CheckpointError(f'{path} is not a graphpfm checkpoint (no encoder config)')
    version = ckpt.get('format_version')
    if version != CHECKPOINT_FORMAT_VERSION:
        raise CheckpointError(f'{path}: checkpoint format {version} is not supported '
                              f'(this graphpfm reads format {CHECKPOINT_FORMAT_VERSION})')
    bad = [k for k, v in ckpt.get('encoder_state_dict', {}).items()
           if isinstance(v, torch.Tensor) and v.is_floating_point()
           and not bool(torch.isfinite(v).all())]
    if bad:
        raise CheckpointError(f'{path} holds non-finite encoder weights ({", ".join(bad[:5])}); '
                              'it came from a diverged run and cannot be used')
    return ckpt


def load_encoder(path: str | os.PathLike, map_location: str | torch.device = 'cpu',
                 **overrides: Any) -> Encoder:
    r"""Rebuild the encoder stored in a checkpoint, with its exact weights.

    Args:
        path: checkpoint file written by :func:`save_checkpoint`.
        map_location: device for the weights. (default: :obj:`'cpu'`)
        **overrides: constructor arguments to change that do not alter the parameters,
            e.g. ``dropout=0.5`` for fine-tuning.
    """
    ckpt = load_checkpoint(path, map_location)
    spec = ckpt['encoder']
    encoder = build_encoder(spec['name'], **{**spec['kwargs'], **overrides})
    try:
        encoder.load_state_dict(ckpt['encoder_state_dict'], strict=True)
    except RuntimeError as err:
        raise CheckpointError(f'{path}: the weights do not fit the {spec["name"]} encoder its '
                              f'config describes ({str(err).splitlines()[0]})') from None
    return encoder.to(map_location)
