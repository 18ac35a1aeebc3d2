"""Command-line groups and subcommands of options generated from configs
(:mod:`graphpfm.config`), and the options every command shares."""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..config import REQUIRED, Option, dataclass_options
from ..errors import ConfigError

#: extra spellings of some flags
ALIASES = {'verbose': ('-v',), 'Cs': ('--cs',)}


def checkpoint(value: Any) -> str:
    """A checkpoint file, or a shipped pretrained model's name."""
    from ..pretrained import resolve_checkpoint
    try:
        return str(resolve_checkpoint(value))
    except FileNotFoundError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def flags(option: Option) -> list[str]:
    return [option.flag, *ALIASES.get(option.name, ())]


@dataclass
class Group:
    """Options shown under ``title`` in help (hidden when :obj:`None`); with ``fill=False``
    unset options stay :obj:`None` after parsing (their defaults are applied elsewhere)."""

    title: str | None
    options: list[Option]
    description: str | None = None
    fill: bool = True

    def __post_init__(self) -> None:
        for o in self.options:  # checkpoint names resolve when parsed
            o.parse = checkpoint if o.name in ('checkpoint', 'init') else o.parse

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        """Add the options, unset (:obj:`None`) until given; see :meth:`fill_defaults`."""
        group = parser.add_argument_group(self.title, self.description) if self.title \
            else parser
        for o in self.options:
            kwargs = dict(dest=o.name, default=None,
                          help=o.help_text() if self.title else argparse.SUPPRESS)
            if o.kind is bool:
                group.add_argument(*flags(o), action=argparse.BooleanOptionalAction, **kwargs)
            else:
                metavar = {int: 'N', float: 'X'}.get(o.kind, 'A,B' if isinstance(o.kind, tuple)
                                                     else o.name.upper())
                group.add_argument(*flags(o), type=o.convert, metavar=metavar, **kwargs)

    def fill_defaults(self, args: argparse.Namespace) -> None:
        """Give the unset options of ``args`` their defaults (a required one is an error)."""
        for o in self.options if self.fill else ():
            if getattr(args, o.name) is None:
                if o.default is REQUIRED:
                    raise ConfigError(f'option {o.flag} is required')
                setattr(args, o.name, o.default)


@dataclass
class Command:
    """A subcommand: ``groups(objective)`` gives its options (for the objective named on the
    command line, if any), ``func(args)`` runs it; ``argument`` is an optional positional
    argument's ``(name, help)``."""

    name: str
    help: str
    func: Callable[[argparse.Namespace], Any]
    groups: Callable[[str | None], list[Group]]
    argument: tuple[str, str] | None = None


def apply_config(parser: argparse.ArgumentParser, groups: list[Group],
                 values: dict[str, Any], path: str) -> None:
    """Make the ``values`` of a YAML file the defaults of ``parser`` (flags override them);
    unknown keys are an error that lists the valid ones."""
    options = {o.name: o for g in groups for o in g.options}
    valid = sorted(options)
    options.update({a.lstrip('-'): options[k] for k, v in ALIASES.items() if k in options
                    for a in v})
    values = {k: v for k, v in values.items() if k not in ('config', 'command')}
    unknown = sorted(set(values) - set(options))
    if unknown:
        parser.error(f'{path}: unknown option(s) {", ".join(unknown)}; valid options: '
                     f'{", ".join(valid)}')
    try:
        parser.set_defaults(**{options[k].name: options[k].convert(v) for k, v in values.items()})
    except argparse.ArgumentTypeError as exc:
        parser.error(f'{path}: {exc}')


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
