"""The published configurations per dataset: lookup, defaults, and every entry buildable."""
import logging

import pytest

from graphpfm.nn import build_encoder
from graphpfm.objectives import build_objective
from graphpfm.recipes import node_recipe, normalize_name, recipe_datasets, recipe_methods
from graphpfm.train import TrainConfig


def test_a_known_dataset_gets_its_files_values(caplog):
    with caplog.at_level(logging.INFO, logger='graphpfm.recipes'):
        r = node_recipe('graphmae', 'CiteSeer')
    assert not r.is_default and r.dataset == 'CiteSeer' and r.published == 73.4
    assert 'configs.yml' in r.source and 'citeseer' in r.source
    assert r.encoder == 'gat' and r.encoder_kwargs['heads'] == 2
    assert r.encoder_kwargs['hidden_channels'] == 512
    assert r.objective_kwargs == {'mask_rate': 0.5, 'replace_rate': 0.1, 'gamma': 1.0,
                                  'decoder': 'gat', 'decoder_dropout': 0.2,
                                  'decoder_attn_dropout': 0.1, 'decoder_init': 'dgl'}
    assert r.train_kwargs == {'epochs': 300, 'lr': 1e-3, 'weight_decay': 2e-5,
                              'lr_schedule': 'cosine'}
    assert r.probe_kwargs == {'lr': 1e-2, 'weight_decay': 1e-2, 'epochs': 300}
    assert 'published configuration' in caplog.text and 'CiteSeer' in caplog.text
    cora = node_recipe('graphmae', 'Cora')
    assert (cora.published, cora.train_kwargs['epochs'], cora.encoder_kwargs['heads']) == \
        (84.2, 1500, 4)


@pytest.mark.parametrize('method,asked,found', [
    ('graphmae', 'cora', 'Cora'), ('graphmae', 'CITESEER', 'CiteSeer'),
    ('graphmae', 'arxiv', 'ogbn-arxiv'), ('grace', 'pub_med', 'PubMed'),
    ('bgrl', 'amazon-photos', 'Amazon-Photo'), ('bgrl', 'wiki-cs', 'WikiCS'),
    ('bgrl', 'Coauthor CS', 'Coauthor-CS'), ('dgi', 'Cora', 'Cora')])
def test_names_ignore_case_and_punctuation_and_know_aliases(method, asked, found):
    assert node_recipe(method, asked).dataset == found
    assert normalize_name(asked) != '' and normalize_name('Cora') == normalize_name('CORA')


def test_an_unknown_dataset_gets_the_default_with_a_log_line(caplog):
    with caplog.at_level(logging.INFO, logger='graphpfm.recipes'):
        r = node_recipe('graphmae', 'MyOwnGraph')
    assert r.is_default and r.published is None and r.dataset == 'MyOwnGraph'
    assert r.validate_every > 0  # the default is meant for selection on validation
    cora = node_recipe('graphmae', 'Cora')
    # not Cora's recipe: smaller and shorter
    assert r.encoder_kwargs['hidden_channels'] < cora.encoder_kwargs['hidden_channels']
    assert r.train_kwargs['epochs'] < cora.train_kwargs['epochs']
    record = next(x for x in caplog.records if 'MyOwnGraph' in x.getMessage())
    assert record.levelno == logging.WARNING
    text = record.getMessage()
    assert 'no published configuration' in text and 'default' in text
    assert 'Cora, CiteSeer, PubMed, ogbn-arxiv' in text  # the configured ones are listed


def test_a_published_figure_without_configuration_stands_beside_the_default(caplog):
    with caplog.at_level(logging.INFO, logger='graphpfm.recipes'):
        r = node_recipe('bgrl', 'citeseer')
    assert r.is_default and r.published == 71.1 and r.dataset == 'CiteSeer'
    assert 'GraphMAE README' in r.published_source
    assert 'no published configuration of bgrl' in caplog.text


def test_an_objective_without_a_recipe_file_gets_the_generic_default(caplog):
    with caplog.at_level(logging.INFO, logger='graphpfm.recipes'):
        r = node_recipe('attr_masking', 'Cora')
    assert r.is_default and r.published is None and r.objective_kwargs == {}
    assert 'has no recipe file' in caplog.text and 'graphmae' in caplog.text


def test_differences_from_the_source_are_logged(caplog):
    with caplog.at_level(logging.INFO, logger='graphpfm.recipes'):
        r = node_recipe('graphmae', 'ogbn-arxiv')
    assert r.differences and 'drop_edge_rate' in r.differences[0]
    assert 'differs from its source' in caplog.text


def test_recipes_are_copies():
    a = node_recipe('graphmae', 'ogbn-arxiv')
    a.encoder_kwargs['norm_kwargs']['mode'] = 'graph'
    a.train_kwargs['epochs'] = 1
    b = node_recipe('graphmae', 'ogbn-arxiv')
    assert b.encoder_kwargs['norm_kwargs'] == {'mode': 'node'} and b.train_kwargs['epochs'] == 1000


def _every_recipe():
    for method in recipe_methods():
        for dataset in [*recipe_datasets(method), 'an-unknown-graph']:
            yield method, dataset


@pytest.mark.parametrize('method,dataset', list(_every_recipe()))
def test_every_entry_builds_its_encoder_objective_and_training_options(method, dataset):
    """Numbers are numbers (YAML reads ``1e-3`` as a string), keys are the options' names."""
    r = node_recipe(method, dataset)
    assert r.source and (r.published is None or 0 < r.published < 100)
    encoder = build_encoder(r.encoder, in_channels=12, **r.encoder_kwargs)
    kwargs = dict(r.objective_kwargs)
    if method == 'bgrl':
        kwargs['total_steps'] = r.train_kwargs['epochs']
    objective = build_objective(method, encoder, **kwargs)
    assert objective.encoder is encoder
    cfg = TrainConfig(**r.train_kwargs)
    assert cfg.epochs >= 1 and isinstance(cfg.lr, float)
    for key in ('lr', 'weight_decay', 'epochs'):
        assert isinstance(r.probe_kwargs.get(key, 0.0), (int, float))
