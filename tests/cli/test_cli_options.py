"""Options generated from dataclasses and objective signatures; YAML keys are option names."""
from dataclasses import dataclass
from typing import Sequence

import pytest

from graphpfm.cli import parse_args
from graphpfm.cli.pretrain import objective_kwargs
from graphpfm.config import (
    REQUIRED,
    Command,
    Option,
    OptionGroup,
    apply_values,
    command_parser,
    config_from,
    dataclass_options,
    doc_args,
    kind_of,
)
from graphpfm.eval import FinetuneConfig
from graphpfm.objectives import OBJECTIVES, objective_options
from graphpfm.train import TrainConfig


@dataclass
class Recipe:
    r"""A recipe.

    Args:
        steps (int): how many steps,
            over two lines. (default: :obj:`3`)
        rates (list of float, optional): see :class:`~a.b.Thing` and ``x``.
        fast (bool): go fast.

    More text that is no argument.
    """

    steps: int = 3
    rates: Sequence[float] | None = None
    fast: bool = False


def test_doc_args_and_kinds():
    assert doc_args(Recipe) == {'steps': 'how many steps, over two lines.',
                                'rates': 'see Thing and x.', 'fast': 'go fast.'}
    steps, rates, fast = dataclass_options(Recipe, rename={'fast': 'quick'}, steps=4)
    assert (steps.name, steps.default, steps.kind) == ('steps', 4, int)
    assert rates.kind == (list, float) and rates.convert('1, 2.5') == [1.0, 2.5]
    assert fast.name == 'quick' and fast.kind is bool
    assert steps.help_text() == 'how many steps, over two lines. (default: 4)'
    assert kind_of('int | None', None) is int and kind_of('str | None', None) is str
    assert kind_of('Sequence[int] | None', None) == (list, int)


def test_every_config_field_and_objective_option_is_documented():
    for cls in (TrainConfig, FinetuneConfig):
        assert all(o.help for o in dataclass_options(cls)), cls
    for name in OBJECTIVES.names():
        assert all(o.help for o in objective_options(name)), name


def test_config_keys_are_the_option_names(tmp_path):
    cfg = tmp_path / 'c.yaml'
    cfg.write_text('head_dropout: 0.2\nseeds: 2\nnode-batch-size: full\nmode: linear\n')
    args = parse_args(['finetune', '--config', str(cfg), '--mode', 'full'])
    assert (args.head_dropout, args.seeds, args.node_batch_size) == (0.2, (0, 1), 0)
    assert args.mode == 'full'  # the flag wins
    # encoder options are settled by the command (from --checkpoint, else the defaults)
    from graphpfm.runs import FINETUNE_DROPOUT, EncoderConfig
    assert args.dropout is None
    encoder = config_from(EncoderConfig, args)
    encoder.fill(None, dropout=FINETUNE_DROPOUT)
    assert (encoder.dropout, encoder.num_layers, encoder.encoder) == (0.5, 5, 'gin')
    cfg.write_text('cs: 1,10\n')
    assert parse_args(['probe', '--config', str(cfg)]).Cs == [1.0, 10.0]
    cfg.write_text('Cs: [0.5]\nstandardize: false\n')
    args = parse_args(['probe', '--config', str(cfg)])
    assert args.Cs == [0.5] and args.standardize is False and args.device == 'auto'
    cfg.write_text('objective: graphmae\nmask_rate: 0.5\n')
    args = parse_args(['pretrain', '--config', str(cfg)])
    assert objective_kwargs(args, args.objective) == {'mask_rate': 0.5}
    cfg.write_text('epochs: many\n')
    with pytest.raises(SystemExit):
        parse_args(['pretrain', '--config', str(cfg)])


def test_flags_are_never_abbreviations_of_others():
    # finetune has --seeds but no --seed: a prefix must not silently become --seeds 3
    with pytest.raises(SystemExit) as err:
        parse_args(['finetune', '--seed', '3'])
    assert err.value.code == 2
    assert parse_args(['finetune', '--seeds', '3']).seeds == (0, 1, 2)


def test_a_command_parser_from_a_config(capsys, tmp_path):
    ran = []
    options = dataclass_options(Recipe)
    options.append(Option('name', REQUIRED, 'a name.', str))
    cook = Command('cook', 'cook a recipe', ran.append, lambda context: [
        OptionGroup(f'recipe for {context}', options)])
    parser, parsers = command_parser([cook], 'soup', aliases={'steps': ('-s',)},
                                     parsers={'name': str.upper}, prog='chef')
    with pytest.raises(SystemExit):
        parser.parse_args(['cook', '--help'])
    text = capsys.readouterr().out
    assert 'recipe for soup:' in text and 'how many steps, over two lines. (default: 3)' in text
    assert '--fast, --no-fast' in text and '-s N' in text and 'a name. (required)' in text
    apply_values(*parsers['cook'], {'steps': 5, 'rates': '1,2'}, 'c.yaml', {'steps': ('-s',)})
    args = parser.parse_args(['cook', '--name', 'pea', '--fast'])
    for group in parsers['cook'][1]:
        group.fill_defaults(args)
    assert (args.steps, args.rates, args.fast, args.name) == (5, [1.0, 2.0], True, 'PEA')
    args.func(args)
    assert ran == [args] and config_from(Recipe, args) == Recipe(5, [1.0, 2.0], True)
    args = parser.parse_args(['cook', '-s', '7'])
    with pytest.raises(ValueError, match='option --name is required'):
        parsers['cook'][1][0].fill_defaults(args)
    with pytest.raises(SystemExit):  # an unknown key lists the valid ones
        apply_values(*parsers['cook'], {'stepz': 1}, 'c.yaml')
    assert 'c.yaml: unknown option(s) stepz; valid options: fast, name, rates, steps' in \
        capsys.readouterr().err
