"""Configuration files: YAML mappings of option names to values (``--config``)."""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any


def read_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML mapping; keys may use dashes or underscores."""
    import yaml

    from .errors import ConfigError
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f'config file not found: {path}')
    try:
        with path.open(encoding='utf-8') as f:
            data = yaml.safe_load(f) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        where = getattr(err, 'problem_mark', None)
        at = f' (line {where.line + 1})' if where is not None else ''
        raise ConfigError(f'{path} is not valid YAML{at}: '
                          f"{getattr(err, 'problem', None) or err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f'{path}: expected a mapping of option names to values, '
                          f'got {type(data).__name__}')
    return {str(k).replace('-', '_'): v for k, v in data.items()}


def namespace_to_dict(ns: argparse.Namespace) -> dict[str, Any]:
    """Plain-value dict of a namespace (paths become strings, tuples lists; the subcommand
    handler dropped)."""
    out = {}
    for k, v in vars(ns).items():
        if callable(v):
            continue
        out[k] = str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v
    return out


def write_yaml(path: str | os.PathLike, values: dict[str, Any]) -> None:
    """Write ``values`` as a YAML mapping (``read_yaml`` reads it back)."""
    import yaml
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'w') as f:
        yaml.safe_dump(values, f, sort_keys=True)
