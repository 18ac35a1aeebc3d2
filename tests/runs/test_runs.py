"""Runs from Python (graphpfm.runs) are the command line's runs: same files, same weights,
same scores; their configs check what they are given."""
import json
import re

import numpy as np
import pandas as pd
import pytest
import torch

from graphpfm.cli import run
from graphpfm.errors import ConfigError
from graphpfm.eval import FinetuneConfig, ProbeConfig
from graphpfm.runs import (
    DataConfig,
    EmbedConfig,
    EncoderConfig,
    LeakageConfig,
    PretrainConfig,
    QuickstartConfig,
    TransferConfig,
    catalogue,
    embed,
    finetune,
    leakage,
    pretrain,
    probe,
    quickstart,
)
from graphpfm.train import TrainConfig, load_checkpoint

TINY = ['--num-layers', '2', '--hidden-channels', '16', '--no-progress', '--device', 'cpu']


@pytest.fixture
def corpus(tmp_path, small_smiles):
    path = tmp_path / 'corpus.csv'
    pd.DataFrame({'smiles': small_smiles}).to_csv(path, index=False)
    return path


def test_pretrain_from_python_equals_the_command_line(corpus, tmp_path, capsys):
    cli = run(['pretrain', '--dataset', str(corpus), '--epochs', '2', '--batch-size', '4',
               '--featurize-workers', '0', '--mask-rate', '0.3', '--seed', '3',
               '--out', str(tmp_path / 'cli'), *TINY])
    made = pretrain(tmp_path / 'py', DataConfig(str(corpus), featurize_workers=0),
                    EncoderConfig(num_layers=2, hidden_channels=16),
                    PretrainConfig('attr_masking'),
                    TrainConfig(epochs=2, batch_size=4, device='cpu', seed=3),
                    objective_kwargs={'mask_rate': 0.3})
    assert made.checkpoint == tmp_path / 'py' / 'checkpoint.pt' and made.log.is_file()
    a, b = load_checkpoint(cli), load_checkpoint(made.checkpoint)
    assert a['encoder'] == b['encoder'] and a['objective'] == b['objective']
    for key, value in a['encoder_state_dict'].items():
        assert torch.equal(value, b['encoder_state_dict'][key]), key
    assert made.last['loss'] == json.loads(
        (tmp_path / 'cli' / 'train_log.jsonl').read_text().splitlines()[-1])['loss']
    assert made.size == '16 graphs'
    # what the command printed is the run's summary (for its own folder; speeds differ)
    def speedless(text):
        return re.sub(r'\d+ graphs/s', 'N graphs/s', text).strip()
    printed = capsys.readouterr().out
    assert speedless(printed) == speedless(
        made.summary().replace(str(tmp_path / 'py'), str(tmp_path / 'cli')))
    assert made.summary().startswith(f'pretrained attr_masking on {corpus} (16 graphs): '
                                     f"final loss {made.last['loss']:.4f}, ")
    # the run's configuration holds every config's fields, the encoder's as built
    saved = b['config']
    assert (saved['num_layers'], saved['objective'], saved['epochs'], saved['seed']) == \
        (2, 'attr_masking', 2, 3)
    assert saved['in_channels'] is None and saved['exclude_splits'] == ['valid', 'test']


def test_finetune_from_python_equals_the_command_line(corpus, tmp_path, capsys):
    ckpt = run(['pretrain', '--dataset', str(corpus), '--epochs', '1', '--batch-size', '8',
                '--featurize-workers', '0', '--out', str(tmp_path / 'pre'), *TINY])
    args = ['--dataset', 'embedded-polar', '--limit', '600']
    cli = run(['finetune', *args, '--checkpoint', str(ckpt), '--compare-scratch', '--epochs',
               '2', '--seeds', '2', '--train-limit', '60', '--out', str(tmp_path / 'cli'),
               '--no-progress', '--device', 'cpu'])
    transfer = TransferConfig(str(ckpt), compare_scratch=True)
    recipe = FinetuneConfig(epochs=2, seeds=(0, 1), train_limit=60, device='auto')
    report = finetune(tmp_path / 'py', DataConfig('embedded-polar', limit=600),
                      EncoderConfig.unset(), transfer, recipe)
    assert report.payload['results'] == cli['results']
    # the caller's configs are left as given; the results record the device chosen
    assert recipe.device == 'auto' and transfer == TransferConfig(str(ckpt), compare_scratch=True)
    assert report.results['pretrained'].config['device'] == 'cpu'
    printed = capsys.readouterr().out
    assert report.verdict() and report.verdict() in printed
    table = report.summary().split('\n')[1:5]
    assert table[0].startswith('| method') and all(line in printed for line in table)
    files = f"results: {tmp_path / 'py'}/results.json"
    assert files in report.summary(tmp_path / 'py') and files not in report.summary()
    assert report.baseline == 'scratch' and report.payload['train_size'] == 60
    assert json.loads((tmp_path / 'py' / 'results.json').read_text()) == json.loads(
        json.dumps(report.payload))
    rows = pd.read_csv(tmp_path / 'py' / 'results.csv')
    assert list(rows['method']) == ['pretrained', 'scratch']
    np.testing.assert_allclose(rows['test_mean'], [report.results['pretrained'].mean,
                                                   report.results['scratch'].mean])


def test_encoder_config_takes_the_checkpoints_architecture(corpus, tmp_path):
    ckpt = run(['pretrain', '--dataset', str(corpus), '--epochs', '1', '--batch-size', '8',
                '--featurize-workers', '0', '--out', str(tmp_path / 'pre'), *TINY])
    encoder = EncoderConfig.unset(dropout=0.2)
    encoder.fill(str(ckpt))
    assert (encoder.num_layers, encoder.hidden_channels, encoder.dropout) == (2, 16, 0.2)
    with pytest.raises(ConfigError, match=r'conflicting options: --num-layers 5 \(checkpoint: 2'):
        EncoderConfig().fill(str(ckpt))  # the defaults are given values: they must match
    with pytest.raises(ConfigError, match="Unknown encoder 'gcnn'. Valid options: .*gin"):
        EncoderConfig(encoder='gcnn').fill()


def test_embed_checks_its_options_before_any_work(tmp_path, corpus):
    base = dict(checkpoint='no-such-model', input=str(corpus))
    with pytest.raises(ConfigError, match=r'--output must end in .*\.npy'):
        embed(EmbedConfig(**base, output=str(tmp_path / 'e.txt')))
    with pytest.raises(ConfigError, match="--pool 'median' invalid; valid options: mean"):
        embed(EmbedConfig(**base, output=str(tmp_path / 'e.npy'), pool='median'))
    blocker = tmp_path / 'afile'
    blocker.write_text('')
    with pytest.raises(ConfigError, match='afile is a file, not a folder'):
        embed(EmbedConfig(**base, output=str(blocker / 'e.npy')))
    with pytest.raises(FileNotFoundError, match="'no-such-model' is neither a file nor"):
        embed(EmbedConfig(**base, output=str(tmp_path / 'e.npy')))
    assert not (tmp_path / 'e.npy').exists()


def test_leakage_and_catalogue_from_python_are_what_the_command_line_prints(
        corpus, data_root, capsys, small_smiles):
    cli = run(['leakage', '--corpus', str(corpus), '--downstream', 'ogbg-molbbbp',
               '--root', str(data_root), '--examples', '2', '--no-progress'])
    printed = capsys.readouterr().out
    report = leakage(LeakageConfig(str(corpus), ['ogbg-molbbbp'], examples=2),
                     DataConfig(root=str(data_root)))
    assert report.to_dict() == cli and report.size == len(small_smiles)
    assert printed.strip() == report.summary()
    found = report.overlap['ogbg-molbbbp']
    assert f'| ogbg-molbbbp | valid/test | {found.num_checked} | {found.num_overlap} of ' \
        f'{len(small_smiles)} |' in report.summary()
    listed = run(['list', '--root', str(data_root)])
    printed = capsys.readouterr().out
    found = catalogue(str(data_root))
    assert printed.strip() == found.summary() and listed == found.to_dict()
    assert 'motif_pred' in found.objectives and found.datasets['ogbg-molbbbp']
    assert '  motif_pred       [graph] ' in found.summary()  # each objective with its level


def test_embedding_summary_names_the_invalid_records(tmp_path):
    from graphpfm.tasks.embed import EmbeddingTable
    rows = pd.DataFrame({'index': range(12), 'line': range(2, 14), 'valid': [True] + [False] * 11,
                         'reason': ['', *(f'bad {i}' for i in range(11))]})
    table = EmbeddingTable(np.zeros((12, 4), np.float32), rows, 'molecules (mean pooling)')
    text = table.summary(tmp_path / 'e.npy').splitlines()
    assert text[0] == (f"12 molecules (mean pooling) -> {tmp_path / 'e.npy'} (4 dims); rows: "
                       f"{tmp_path / 'e.rows.csv'}")
    assert text[1].startswith('11 invalid record(s) left as NaN rows (line 3: bad 0; line 4:')
    assert text[1].endswith('line 12: bad 9 ...)')  # ten shown
    assert table.summary(tmp_path / 'e.csv') == f"12 molecules (mean pooling) -> " \
        f"{tmp_path / 'e.csv'} (4 dims)\n" + text[1]


def test_finetune_in_processes_equals_one_after_another(corpus, tmp_path):
    ckpt = run(['pretrain', '--dataset', str(corpus), '--epochs', '1', '--batch-size', '8',
                '--featurize-workers', '0', '--out', str(tmp_path / 'pre'), *TINY])
    data = DataConfig('embedded-polar', limit=600)
    recipe = FinetuneConfig(epochs=2, seeds=(0, 1), train_limit=40, device='cpu')
    one = finetune(tmp_path / 'one', data, EncoderConfig.unset(),
                   TransferConfig(str(ckpt), compare_scratch=True), recipe)
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the workers' share: one thread each
    try:
        two = finetune(tmp_path / 'two', data, EncoderConfig.unset(),
                       TransferConfig(str(ckpt), compare_scratch=True, jobs=2), recipe)
    finally:
        torch.set_num_threads(torch_threads)
    if torch_threads == 1:  # the same threads as the workers: the same numbers, seed by seed
        assert two.payload == one.payload
    for arm in ('pretrained', 'scratch'):
        assert two.results[arm].seeds == [0, 1]
        assert two.results[arm].config == one.results[arm].config
        logs = [(tmp_path / run_ / f'{arm}.jsonl').read_text().splitlines()
                for run_ in ('one', 'two')]
        assert [json.loads(x)['seed'] for x in logs[1]] == [0, 0, 1, 1]
        if torch_threads == 1:
            assert logs[0] == logs[1]
    assert sorted(p.name for p in (tmp_path / 'two').iterdir()) == [
        'pretrained.jsonl', 'results.csv', 'results.json', 'results.md', 'scratch.jsonl']
    with pytest.raises(ConfigError, match='--jobs must be >= 1, got 0'):
        TransferConfig(jobs=0)


def test_jobs_are_refused_where_processes_of_their_own_cannot_apply(tmp_path):
    data = DataConfig('embedded-polar', limit=600)
    with pytest.raises(ConfigError, match='a linear probe runs its seeds in this process'):
        probe(tmp_path / 'probe', data, EncoderConfig.unset(), TransferConfig(jobs=2),
              ProbeConfig(seeds=(0,)))
    torch.distributed.init_process_group('gloo', init_method=f'file://{tmp_path / "store"}',
                                         rank=0, world_size=1)
    try:
        with pytest.raises(ConfigError, match='under torchrun the processes are already there'):
            finetune(tmp_path / 'ft', data, EncoderConfig.unset(), TransferConfig(jobs=2),
                     FinetuneConfig(epochs=1, seeds=(0,), device='cpu'))
        # the quick start's default under torchrun: one run at a time, in this process
        report = quickstart(tmp_path / 'qs', QuickstartConfig(
            dataset='embedded-polar', limit=600, finetune_epochs=1, seeds=(0,)), device='cpu')
    finally:
        torch.distributed.destroy_process_group()
    assert sorted(report.results) == ['pretrained', 'scratch']
    assert report.results['pretrained'].seeds == [0]
