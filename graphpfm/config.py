r"""Configuration: YAML files of option values, and options generated from configs.

An option is a field of a dataclass (a config such as :class:`~graphpfm.train.TrainConfig`)
or a keyword argument with a default of a constructor (an objective's). Its name is the
field's: the command-line flag is the name with dashes (``batch_size`` -> ``--batch-size``)
and the key in a YAML file is the name itself. Its help text is the name's entry in the
``Args:`` section of the class docstring, as plain text; its type comes from the default,
else from the annotation (booleans take ``--name`` / ``--no-name``, sequences are
comma-separated). :func:`command_parser` makes an :mod:`argparse` parser of subcommands
(:class:`Command`) from their groups of options (:class:`OptionGroup`), and
:func:`apply_values` makes a YAML file's values its defaults.
"""
from __future__ import annotations

import argparse
import inspect
import os
import re
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from .errors import ConfigError


def read_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML mapping; keys may use dashes or underscores."""
    import yaml
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


def plain_values(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` as YAML writes them: paths become strings, tuples lists; callables (a
    subcommand's handler) are dropped."""
    return {k: str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v
            for k, v in values.items() if not callable(v)}


def namespace_to_dict(ns: argparse.Namespace) -> dict[str, Any]:
    """Plain-value dict of a namespace (:func:`plain_values`)."""
    return plain_values(vars(ns))


def write_yaml(path: str | os.PathLike, values: dict[str, Any]) -> None:
    """Write ``values`` as a YAML mapping (``read_yaml`` reads it back)."""
    import yaml
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'w') as f:
        yaml.safe_dump(values, f, sort_keys=True)


TYPES = {'bool': bool, 'int': int, 'float': float, 'str': str}
#: the default of a field without one: the option must be given
REQUIRED = MISSING


def plain_text(rst: str) -> str:
    """reST markup as plain text: links keep their title, roles (``:class:`~a.B```,
    ``:math:`x```) their text (the last dotted part after ``~``), literals lose their
    backquotes, bold and emphasis their stars."""
    text = re.sub(r'`"?([^`<]*?)"?\s*<[^>]+>`_', r'"\1"', rst)
    text = re.sub(r':[a-z]+:`(~?)([^`]*?)`',
                  lambda m: m.group(2).rsplit('.', 1)[-1] if m.group(1) else m.group(2), text)
    text = re.sub(r'``([^`]*)``', r'\1', text)
    text = re.sub(r'\*\*([^*]+)\*\*|\*([^*]+)\*', lambda m: m.group(1) or m.group(2), text)
    return re.sub(r'\s+', ' ', text).strip()


def summary(obj: Any) -> str:
    """The first sentence of a docstring, as plain text on one line (a sentence ends at a
    full stop or colon outside quotes)."""
    text = plain_text((inspect.getdoc(obj) or '').split('\n\n')[0])
    quoted = False
    for i, c in enumerate(text):
        quoted ^= c == '"'
        if not quoted and c in '.:' and (i + 1 == len(text) or text[i + 1] == ' '):
            return text[:i] + '.'
    return text


def doc_args(obj: Any) -> dict[str, str]:
    """``{name: description}`` from the ``Args:`` section of a docstring, as plain text without
    the type and the ``(default: ...)`` note."""
    lines = (inspect.getdoc(obj) or '').splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == 'Args:'), len(lines))
    out: dict[str, str] = {}
    indent, name = None, None
    for line in lines[start + 1:]:
        depth = len(line) - len(line.lstrip())
        match = re.match(r'\s*(\w+)\s*(\([^)]*\))?:\s*(.*)', line)
        if line.strip() and indent is not None and depth < indent:
            break
        if match and depth == (indent or depth):
            indent, name = depth, match.group(1)
            out[name] = match.group(3)
        elif name and line.strip():
            out[name] += ' ' + line.strip()
    return {k: plain_text(re.sub(r'\s*\(default:.*\)\s*$', '', v)) for k, v in out.items()}


def comma_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [
        v.strip() for v in str(value).split(',') if v.strip()]


def seeds(value: Any) -> tuple[int, ...]:
    """``3`` -> ``(0, 1, 2)``; ``'0,4,7'`` (or ``'5,'``) or ``[0, 4, 7]`` -> those seeds."""
    if isinstance(value, (list, tuple)) or ',' in str(value):
        return tuple(int(v) for v in comma_list(value))
    if int(value) < 1:
        raise ValueError(value)
    return tuple(range(int(value)))


def node_batch_size(value: Any) -> int | None:
    """``'auto'`` -> :obj:`None` (chosen by graph size); ``'full'`` -> ``0``; else a count."""
    text = str(value).lower()
    return {'auto': None, 'full': 0}[text] if text in ('auto', 'full') else int(value)


#: parsers of the options whose values are more than their type, by option name
PARSERS: dict[str, Callable[[Any], Any]] = {'seeds': seeds, 'node_batch_size': node_batch_size}


@dataclass
class Option:
    """One option: ``name`` (destination and YAML key), ``default``, ``help`` and ``kind``
    (a type, or ``(list, item type)``)."""

    name: str
    default: Any
    help: str = ''
    kind: Any = str
    #: converts a value instead of the type (default: :data:`PARSERS` by name)
    parse: Callable[[Any], Any] | None = None

    @property
    def flag(self) -> str:
        """The command-line flag: the name with dashes."""
        return '--' + self.name.replace('_', '-')

    def convert(self, value: Any) -> Any:
        """``value`` (a command-line string or a YAML value) as the option's type."""
        if value is None:
            return None
        try:
            parse = self.parse or PARSERS.get(self.name)
            if parse is not None:
                return parse(value)
            if self.kind is bool:
                return value if isinstance(value, bool) else {
                    'true': True, 'false': False}[str(value).lower()]
            if isinstance(value, bool):  # YAML's true is no number
                raise TypeError(value)
            if isinstance(self.kind, tuple):
                return [self.kind[1](v) for v in comma_list(value)]
            return self.kind(value)
        except (KeyError, TypeError, ValueError):
            kind = (f'{self.kind[1].__name__} values separated by commas'
                    if isinstance(self.kind, tuple) else self.kind.__name__)
            raise argparse.ArgumentTypeError(
                f'invalid value {value!r} for {self.flag} ({kind})') from None

    def help_text(self) -> str:
        if self.default is REQUIRED:
            return f'{self.help} (required)'.lstrip()
        if self.default is None and self.kind is bool:
            return f'{self.help} (default: unset)'.lstrip()
        default = self.default
        if isinstance(default, (list, tuple)):
            default = ','.join(f'{v:g}' if isinstance(v, float) else str(v) for v in default)
        return f'{self.help} (default: {default})'.lstrip()


def kind_of(annotation: Any, default: Any) -> Any:
    """The type of an option from its default (a plain value) or its annotation (e.g.
    ``'int | None'``, ``'Sequence[float]'``)."""
    if isinstance(default, (bool, int, float, str)):
        return type(default)
    text = str(annotation)
    match = re.search(r'(?:Sequence|list|tuple)\[(\w+)', text)
    if match:
        return (list, TYPES.get(match.group(1), str))
    return next((t for n, t in TYPES.items() if re.search(rf'\b{n}\b', text)), str)


def dataclass_options(cls: type, names: Iterable[str] | None = None,
                      rename: dict[str, str] | None = None, **defaults: Any) -> list[Option]:
    """The options of the fields of dataclass ``cls`` (only ``names``, if given), some
    renamed (``{field: option name}``), with new ``defaults``."""
    docs, out = doc_args(cls), []
    for f in fields(cls):
        if names is None or f.name in names:
            default = defaults.get(f.name, f.default if f.default_factory is MISSING
                                   else f.default_factory())
            out.append(Option((rename or {}).get(f.name, f.name), default,
                              docs.get(f.name, ''), kind_of(f.type, default)))
    return out


def signature_options(cls: type, skip: int = 1) -> list[Option]:
    """The options of the keyword arguments with a default of ``cls``'s constructor (after its
    first ``skip`` parameters: ``self``, ...), documented in the ``Args:`` of its docstring."""
    docs = doc_args(cls)
    params = list(inspect.signature(cls.__init__).parameters.values())[skip:]
    return [Option(p.name, p.default, docs.get(p.name, ''), kind_of(p.annotation, p.default))
            for p in params if p.default is not p.empty]


def config_from(cls: type, args: argparse.Namespace, **rename: str) -> Any:
    """An instance of dataclass ``cls`` from the options in ``args`` (fields renamed as
    ``field='option name'``); fields that are no option keep their defaults."""
    names = {f.name: rename.get(f.name, f.name) for f in fields(cls)}
    return cls(**{k: getattr(args, v) for k, v in names.items() if hasattr(args, v)})


@dataclass
class OptionGroup:
    """Options shown under ``title`` in a parser's help (hidden when :obj:`None`); with
    ``fill=False`` unset options stay :obj:`None` after parsing (their defaults are applied
    elsewhere)."""

    title: str | None
    options: list[Option]
    description: str | None = None
    fill: bool = True

    def add_to(self, parser: argparse.ArgumentParser,
               aliases: Mapping[str, Sequence[str]] = {}) -> None:
        """Add the options (with the extra flags ``aliases[name]``), unset (:obj:`None`) until
        given; see :meth:`fill_defaults`."""
        group = parser.add_argument_group(self.title, self.description) if self.title \
            else parser
        for o in self.options:
            names = [o.flag, *aliases.get(o.name, ())]
            kwargs = dict(dest=o.name, default=None,
                          help=o.help_text() if self.title else argparse.SUPPRESS)
            if o.kind is bool:
                group.add_argument(*names, action=argparse.BooleanOptionalAction, **kwargs)
            else:
                metavar = {int: 'N', float: 'X'}.get(o.kind, 'A,B' if isinstance(o.kind, tuple)
                                                     else o.name.upper())
                group.add_argument(*names, type=o.convert, metavar=metavar, **kwargs)

    def fill_defaults(self, args: argparse.Namespace) -> None:
        """Give the unset options of ``args`` their defaults (a required one is an error)."""
        for o in self.options if self.fill else ():
            if getattr(args, o.name) is None:
                if o.default is REQUIRED:
                    raise ConfigError(f'option {o.flag} is required')
                setattr(args, o.name, o.default)


def apply_values(parser: argparse.ArgumentParser, groups: Sequence[OptionGroup],
                 values: dict[str, Any], path: str,
                 aliases: Mapping[str, Sequence[str]] = {}) -> None:
    """Make ``values`` (read from the YAML file ``path``) the defaults of ``parser``'s options
    in ``groups`` (flags override them); unknown keys are an error that lists the valid
    ones."""
    options = {o.name: o for g in groups for o in g.options}
    valid = sorted(options)
    options.update({a.lstrip('-'): options[k] for k, v in aliases.items() if k in options
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
class Command:
    """A subcommand: ``groups(context)`` gives its option groups (``context``: e.g. an
    objective named on the command line), ``func(args)`` runs it; ``argument`` is an optional
    positional argument's ``(name, help)``."""

    name: str
    help: str
    func: Callable[[argparse.Namespace], Any]
    groups: Callable[[str | None], list[OptionGroup]]
    argument: tuple[str, str] | None = None


def command_parser(commands: Sequence[Command], context: str | None = None, *,
                   aliases: Mapping[str, Sequence[str]] = {},
                   parsers: Mapping[str, Callable[[Any], Any]] = {}, **kwargs: Any
                   ) -> tuple[argparse.ArgumentParser,
                              dict[str, tuple[argparse.ArgumentParser, list[OptionGroup]]]]:
    """A parser (``kwargs``: of :class:`argparse.ArgumentParser`) with one subcommand per
    command, each with its options for ``context`` (extra flags: ``aliases``; the options named
    in ``parsers`` convert their values with those functions) and without abbreviations.
    Returns it and ``{name: (subparser, groups)}``."""
    parser = argparse.ArgumentParser(allow_abbrev=False, **kwargs)
    sub = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)
    out = {}
    for c in commands:
        p = sub.add_parser(c.name, help=c.help, description=c.help, usage='%(prog)s [options]',
                           allow_abbrev=False)
        if c.argument:
            p.add_argument(c.argument[0], nargs='?', help=c.argument[1])
        groups = c.groups(context)
        for group in groups:
            for o in group.options:
                o.parse = parsers.get(o.name, o.parse)
            group.add_to(p, aliases)
        p.set_defaults(func=c.func)
        out[c.name] = (p, groups)
    return parser, out


def parse_command_line(argv: Sequence[str], build: Callable[[Any], tuple[
        argparse.ArgumentParser, dict[str, tuple[argparse.ArgumentParser, list[OptionGroup]]]]],
        context: str, aliases: Mapping[str, Sequence[str]] = {}) -> argparse.Namespace:
    """The options of ``argv`` (a subcommand, then its options): flags over the values of its
    ``--config`` YAML file over the defaults. ``build(value)`` makes the parser
    (:func:`command_parser`) for the value of option ``context`` (a flag, else the file's);
    a file that cannot be read raises :class:`ConfigError` or :class:`OSError`."""
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument('--config')
    pre.add_argument(f'--{context}')
    known, _ = pre.parse_known_args(argv[1:])
    values = read_yaml(known.config) if known.config else {}
    parser, parsers = build(getattr(known, context) or values.get(context))
    if values and argv[0] in parsers:
        apply_values(*parsers[argv[0]], values, known.config, aliases)
    args = parser.parse_args(argv)
    try:
        for group in parsers[args.command][1]:
            group.fill_defaults(args)
    except ValueError as err:
        parsers[args.command][0].error(str(err))
    return args
