"""Configuration: dataclass/argparse defaults < a YAML file (``--config``) < command-line flags."""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, Sequence


def read_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML mapping; keys may use dashes or underscores."""
    import yaml
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'config file not found: {path}')
    with path.open() as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict):
        raise ValueError(f'{path}: expected a mapping of option names to values, '
                         f'got {type(data).__name__}')
    return {str(k).replace('-', '_'): v for k, v in data.items()}


def parse_with_config(parser: argparse.ArgumentParser, argv: Sequence[str] | None
                      ) -> argparse.Namespace:
    """Parse ``argv``; values from ``--config FILE`` become defaults that flags override.

    Unknown keys in the file are an error that lists the valid option names.
    """
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument('--config')
    known, _ = pre.parse_known_args(argv)
    if known.config:
        values = read_yaml(known.config)
        valid = {a.dest for a in parser._actions if a.dest not in ('help', 'config')}
        unknown = sorted(set(values) - valid)
        if unknown:
            parser.error(f'{known.config}: unknown option(s) {", ".join(unknown)}; '
                         f'valid options: {", ".join(sorted(valid))}')
        parser.set_defaults(**values)
    return parser.parse_args(argv)


def namespace_to_dict(ns: argparse.Namespace) -> dict[str, Any]:
    """Plain-value dict of a namespace (paths become strings; the subcommand handler dropped)."""
    out = {}
    for k, v in vars(ns).items():
        if callable(v):
            continue
        out[k] = str(v) if isinstance(v, Path) else v
    return out


def write_yaml(path: str | os.PathLike, values: dict[str, Any]) -> None:
    import yaml
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'w') as f:
        yaml.safe_dump(values, f, sort_keys=True)
