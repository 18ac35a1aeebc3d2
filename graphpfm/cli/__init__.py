"""The ``graphpfm`` command line: pretrain, finetune, probe, embed, leakage, list, quickstart.

Each command calls the library (:mod:`graphpfm.runs`) and prints what it made. Its options
are generated (:mod:`graphpfm.config`) from the fields of the library's configs
(:class:`~graphpfm.runs.DataConfig`, :class:`~graphpfm.runs.EncoderConfig`,
:class:`~graphpfm.train.TrainConfig`, :class:`~graphpfm.eval.FinetuneConfig`, ...) and from
the registered objectives' constructors, with the help text of their ``Args:`` docstrings.
``graphpfm pretrain --objective NAME --help`` (or ``graphpfm list NAME``) shows an objective's
options. Every subcommand accepts ``--config file.yaml`` whose keys are the option names;
flags override the file, which overrides the defaults shown by ``--help``.
"""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Any, Sequence

from ..config import command_parser, parse_command_line
from .options import ALIASES, checkpoint
from .pretrain import PRETRAIN
from .tools import EMBED, LEAKAGE, LIST
from .transfer import FINETUNE, PROBE, QUICKSTART

__all__ = ['build_parser', 'parse_args', 'run', 'main', 'COMMANDS']


#: the subcommands, by name
COMMANDS = {c.name: c for c in (PRETRAIN, FINETUNE, PROBE, EMBED, LEAKAGE, LIST, QUICKSTART)}


class _Version(argparse.Action):
    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        from ..utils import versions
        print(versions())
        parser.exit()


def _build(objective: str | None = None
           ) -> tuple[argparse.ArgumentParser, dict[str, tuple[Any, list[Any]]]]:
    parser, parsers = command_parser(  # no abbreviations: --seed is not --seeds
        COMMANDS.values(), objective, aliases=ALIASES,
        parsers={'checkpoint': checkpoint, 'init': checkpoint}, prog='graphpfm',
        description='Pretrain graph neural networks and transfer them.')
    parser.add_argument('--version', action=_Version, nargs=0, default=argparse.SUPPRESS,
                        help='show the versions of graphpfm, torch, PyG, ogb and RDKit and the '
                        'device, and exit')
    return parser, parsers


def build_parser(objective: str | None = None) -> argparse.ArgumentParser:
    """The command-line parser; ``objective`` (a name, or several joined with ``+``) selects
    the objective options that ``graphpfm pretrain --help`` shows."""
    return _build(objective)[0]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The options of a command line (``sys.argv`` by default): flags over the values of its
    ``--config`` file over the defaults."""
    try:
        return parse_command_line(list(sys.argv[1:] if argv is None else argv), _build,
                                  'objective', ALIASES)
    except (OSError, ValueError) as err:  # the --config file cannot be read
        raise CommandError(f'error: {err}', 2) from None


class CommandError(SystemExit):
    """An expected failure of a command: one line for the user and an exit status (2: the
    options are wrong, 1: the data, a file or the run failed)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(status)
        self.message = message

    def __str__(self) -> str:
        return self.message


def _status(err: BaseException) -> int | None:
    """The exit status of an expected failure, or :obj:`None` for a bug (which keeps its
    traceback)."""
    from ..errors import CheckpointError, ConfigError, DataError
    if isinstance(err, ConfigError):
        return 2
    if isinstance(err, (DataError, CheckpointError, OSError, FloatingPointError, KeyError,
                        ValueError)):
        return 1
    return None


def resolve_output(args: argparse.Namespace, terminal: bool) -> int:
    """Settle ``args.progress`` (unset: bars only when standard error is a ``terminal``;
    ``--quiet``: none) and return the logging level (``--verbose``: DEBUG, ``--quiet``:
    WARNING, else INFO)."""
    quiet = getattr(args, 'quiet', False)
    if quiet and args.verbose:
        raise CommandError('error: --quiet and --verbose contradict each other; give one', 2)
    if hasattr(args, 'progress') and (quiet or args.progress is None):
        args.progress = False if quiet else terminal
    return logging.DEBUG if args.verbose else logging.WARNING if quiet else logging.INFO


def run(argv: Sequence[str] | None = None) -> Any:
    """Run the command line on ``argv`` and return the subcommand's result (for Python use).

    Expected failures raise :class:`CommandError` (a :class:`SystemExit` whose text is the one
    line to show); ``--debug`` (anywhere on the line) re-raises them with their traceback.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = '--debug' in argv
    args = parse_args([a for a in argv if a != '--debug'])
    logging.basicConfig(level=resolve_output(args, sys.stderr.isatty()),
                        format='%(asctime)s %(levelname)s %(name)s: %(message)s',
                        datefmt='%H:%M:%S')
    try:
        return args.func(args)
    except Exception as err:
        status = _status(err)
        if status is None or debug or args.verbose:
            raise
        text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
        raise CommandError(f'error: {text}', status) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: exit status 0 on success, 2 for wrong options, 1 when the data,
    a file or the run fails (one line on stderr; ``--debug`` shows the traceback)."""
    from ..utils import tune_malloc
    tune_malloc()  # the process is ours: keep freed buffers (GRAPHPFM_TUNE_MALLOC=0: off)
    try:
        run(argv)
    except CommandError as err:
        print(err.message, file=sys.stderr)
        return int(err.code)
    return 0
