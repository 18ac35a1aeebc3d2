"""The parts of subcommands: their option groups (generated from configs,
:mod:`graphpfm.config`) and the options every command shares."""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, Sequence

from ..config import Command, dataclass_options
from ..config import OptionGroup as Group

__all__ = ['ALIASES', 'Command', 'Group', 'RunOptions', 'checkpoint', 'run_group']

#: extra spellings of some flags
ALIASES = {'verbose': ('-v',), 'Cs': ('--cs',)}


def checkpoint(value: Any) -> str:
    """A checkpoint file, or a shipped pretrained model's name."""
    from ..pretrained import resolve_checkpoint
    try:
        return str(resolve_checkpoint(value))
    except FileNotFoundError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


@dataclass
class RunOptions:
    r"""What every command shares.

    Args:
        out (str): output directory.
        config (str, optional): YAML file of option values (its keys are the option names);
            flags override it.
        device (str): ``'cpu'``, ``'cuda'``, ``'cuda:N'`` or ``'auto'``.
        seed (int): random seed.
        progress (bool, optional): show progress bars; unset: only when standard error (where
            the bars go) is a terminal.
        verbose (bool): debug logging, and tracebacks of errors.
        quiet (bool): no progress bars, and only warnings and errors logged.
        overwrite (bool): replace a finished run in ``out`` (it stays until the new run
            finishes), or discard an unfinished one.
    """

    out: str = 'runs'
    config: str | None = None
    device: str = 'auto'
    seed: int = 0
    progress: bool | None = None
    verbose: bool = False
    quiet: bool = False
    overwrite: bool = False


def run_group(names: Sequence[str], **defaults: Any) -> Group:
    """The run options ``names`` (and ``quiet`` beside ``verbose``), with new ``defaults``."""
    names = [*names, 'quiet'] if 'verbose' in names and 'quiet' not in names else names
    return Group('run', dataclass_options(RunOptions, names, **defaults))
