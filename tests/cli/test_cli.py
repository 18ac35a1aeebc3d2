"""The command line end to end on a small corpus (tiny model, few epochs)."""
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from graphpfm.cli import build_parser, parse_args, run
from graphpfm.train import load_encoder

TINY = ['--num-layers', '2', '--hidden-channels', '16', '--no-progress', '--device', 'cpu']


@pytest.fixture
def corpus(tmp_path, small_smiles):
    path = tmp_path / 'corpus.csv'
    pd.DataFrame({'smiles': small_smiles[:8] + ['not_a_smiles'] + small_smiles[8:]}).to_csv(
        path, index=False)
    return path


def test_pretrain_then_embed(corpus, tmp_path):
    out = tmp_path / 'run'
    ckpt = run(['pretrain', '--dataset', str(corpus), '--epochs', '2', '--batch-size', '4',
                '--featurize-workers', '0', '--mask-rate', '0.3', '--out', str(out), *TINY])
    assert ckpt == out / 'checkpoint.pt' and ckpt.is_file()
    raw = torch.load(ckpt, weights_only=True)
    assert raw['objective'] == {'name': 'attr_masking',
                                'kwargs': {'mask_rate': 0.3, 'mask_edges': False}}
    assert raw['data']['num_graphs'] == 16 and raw['data']['num_invalid'] == 1
    assert raw['config']['epochs'] == 2
    lines = (out / 'train_log.jsonl').read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[-1])['epoch'] == 2

    for suffix in ('.npy', '.csv'):
        dest = tmp_path / f'emb{suffix}'
        run(['embed', '--checkpoint', str(ckpt), '--input', str(corpus), '--output', str(dest),
             '--featurize-workers', '0', '--device', 'cpu', '--no-progress'])
        if suffix == '.npy':
            emb = np.load(dest)
        else:
            df = pd.read_csv(dest)
            assert df['valid'].tolist() == [True] * 8 + [False] + [True] * 8
            emb = df[[c for c in df.columns if c.startswith('e')]].to_numpy()
        assert emb.shape == (17, 16)
        assert np.isnan(emb[8]).all() and np.isfinite(np.delete(emb, 8, 0)).all()

    # embeddings are in input order: row 9 (after the invalid one) is small_smiles[8]
    from ogb.utils import smiles2graph

    from graphpfm.data import GraphStore
    enc = load_encoder(ckpt).eval()
    b = GraphStore.from_graphs([smiles2graph(pd.read_csv(corpus)['smiles'][9])]).collate([0])
    with torch.no_grad():
        ref = enc(b.x, b.edge_index, edge_attr=b.edge_attr, batch=b.batch).mean(0)
    assert np.allclose(np.load(tmp_path / 'emb.npy')[9], ref.numpy(), atol=1e-5)


def test_config_file_with_flag_override(corpus, tmp_path):
    cfg = tmp_path / 'c.yaml'
    cfg.write_text(f'dataset: {corpus}\nepochs: 3\nbatch-size: 8\nhidden_channels: 8\n'
                   f'num_layers: 1\nfeaturize_workers: 0\n')
    out = tmp_path / 'r'
    run(['pretrain', '--config', str(cfg), '--epochs', '1', '--out', str(out),
         '--no-progress', '--device', 'cpu'])
    raw = torch.load(out / 'checkpoint.pt', weights_only=True)
    assert raw['config']['epochs'] == 1            # flag beats file
    assert raw['config']['batch_size'] == 8        # file beats default
    assert raw['encoder']['kwargs']['hidden_channels'] == 8
    # the run's resolved options, written beside the checkpoint, read back as a config file
    again = parse_args(['pretrain', '--config', str(out / 'config.yaml')])
    assert {k: v for k, v in vars(again).items() if k not in ('func', 'config')} == {
        k: v for k, v in raw['config'].items() if k != 'config'}


def test_config_file_unknown_key_lists_valid(tmp_path, capsys):
    cfg = tmp_path / 'c.yaml'
    cfg.write_text('epochz: 3\n')
    with pytest.raises(SystemExit):
        run(['pretrain', '--config', str(cfg)])
    err = capsys.readouterr().err
    assert 'epochz' in err and 'epochs' in err


def test_option_of_another_objective_is_rejected(corpus, tmp_path):
    parser = build_parser()
    args = parser.parse_args(['pretrain', '--mask-rate', '0.2'])
    assert args.mask_rate == 0.2
    from graphpfm.cli.pretrain import objective_kwargs
    assert objective_kwargs(args, 'attr_masking') == {'mask_rate': 0.2}


def flat(text):
    """Help text on one line (argparse wraps lines at spaces and after hyphens)."""
    return ' '.join(text.split()).replace('- ', '-')


def help_text(capsys, *argv):
    with pytest.raises(SystemExit):
        run([*argv, '--help'])
    return flat(capsys.readouterr().out)


@pytest.mark.parametrize('objective', [None, 'graphmae', 'attr_masking+bgrl'])
def test_help_documents_every_option_with_default(capsys, objective):
    from graphpfm.cli import COMMANDS
    for name, command in COMMANDS.items():
        argv = [name] + (['--objective', objective] if objective and name == 'pretrain' else [])
        text = help_text(capsys, *argv)
        for group in command.groups(objective):
            for option in group.options:
                if group.title is None:  # other objectives' options: parsed, not shown
                    assert option.flag + ' ' not in text
                    continue
                assert option.help, (name, option.name)
                assert f'{option.flag} ' in text or f'{option.flag},' in text
                assert flat(option.help_text()) in text, (name, option.name)


def test_pretrain_help_shows_only_the_chosen_objectives_options(capsys):
    text = help_text(capsys, 'pretrain')
    assert '--mask-rate' not in text and '--objective NAME --help' in text
    assert 'graphpfm list NAME' in text and '--epochs N passes over the corpus' in text
    text = help_text(capsys, 'pretrain', '--objective', 'graphmae')
    assert 'options of graphmae' in text and '--replace-rate X fraction of the masked' in text
    assert '--mask-rate X fraction of nodes masked per graph, in (0, 1). (default: 0.25)' \
        in text and '--pe1' not in text
    run(['list', 'graphmae'])
    listed = flat(capsys.readouterr().out)
    assert listed.startswith('graphmae [graph] options of graphmae:')
    assert listed[listed.index('options of graphmae'):] in text
    with pytest.raises(SystemExit, match="Unknown objective 'nope'. Valid options: attr_masking"):
        run(['list', 'nope'])


def test_list_names_objectives_encoders_and_datasets(capsys, data_root):
    res = run(['list', '--root', str(data_root)])
    text = capsys.readouterr().out
    assert 'attr_masking' in text and 'gin' in text and 'ogbg-molbbbp' in text
    assert "combinations: join names with '+'" in text
    assert res['datasets']['ogbg-molbbbp'] and not res['datasets']['ogbg-molmuv']


def test_finetune_compare_scratch_on_real_data(tmp_path, data_root):
    enc_dir = tmp_path / 'pre'
    run(['pretrain', '--dataset', 'ogbg-molbace', '--limit', '64', '--root', str(data_root),
         '--epochs', '1', '--batch-size', '32', '--out', str(enc_dir), *TINY])
    payload = run(['finetune', '--dataset', 'ogbg-molbbbp', '--root', str(data_root),
                   '--checkpoint', str(enc_dir / 'checkpoint.pt'), '--compare-scratch',
                   '--epochs', '1', '--seeds', '2', '--batch-size', '256', '--out',
                   str(tmp_path / 'ft'), '--no-progress', '--device', 'cpu'])
    res = payload['results']
    assert set(res) == {'pretrained', 'scratch'}
    for r in res.values():
        assert [run_['seed'] for run_ in r['runs']] == [0, 1]
        assert 0.0 <= r['mean'] <= 1.0
    assert (tmp_path / 'ft' / 'results.md').read_text().count('|') > 8
    table = pd.read_csv(tmp_path / 'ft' / 'results.csv')  # the same figures, as CSV
    assert table['method'].tolist() == ['pretrained', 'scratch']
    for _, row in table.iterrows():
        assert row['test_mean'] == pytest.approx(res[row['method']]['mean'])
        assert row['valid_std'] == pytest.approx(res[row['method']]['valid_std'])
        assert row['seeds'] == '0 1' and row['metric'] == 'rocauc'


def test_unknown_dataset_is_a_clean_error(tmp_path):
    with pytest.raises(SystemExit, match='Valid options'):
        run(['pretrain', '--dataset', 'nope', '--out', str(tmp_path), *TINY])


def test_console_entry_point_help():
    res = subprocess.run([sys.executable, '-m', 'graphpfm', 'pretrain', '--objective',
                          'attr_masking', '--help'], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0
    assert '--mask-rate' in res.stdout and 'default: 256' in res.stdout


@pytest.mark.parametrize('with_data', [True, False])
def test_quickstart_tiny(corpus, tmp_path, data_root, capsys, with_data):
    ckpt = run(['pretrain', '--dataset', str(corpus), '--epochs', '1', '--batch-size', '8',
                '--featurize-workers', '0', '--out', str(tmp_path / 'pre'), '--num-layers', '1',
                '--hidden-channels', '8', '--no-progress', '--device', 'cpu'])
    root = data_root if with_data else tmp_path / 'empty-root'  # a data root without data
    root.mkdir(exist_ok=True)
    payload = run(['quickstart', '--checkpoint', str(ckpt), '--root', str(root),
                   '--finetune-epochs', '1', '--seeds', '2', '--out', str(tmp_path / 'qs'),
                   '--no-progress', '--device', 'cpu', '--train-limit', '100',
                   *([] if with_data else ['--limit', '600'])])
    # with ogbg-molbbbp under the data root it is used; without, RDKit's own molecules
    assert payload['dataset'] == ('ogbg-molbbbp' if with_data else 'embedded-polar')
    assert set(payload['results']) == {'pretrained', 'scratch'}
    assert payload['comparison']['verdict'] in ('helped', 'unclear', 'hurt')
    text = capsys.readouterr().out
    assert '| pretrained |' in text and '| scratch ' in text and '±' in text
    assert 'What the numbers mean: rocauc on the test split' in text
    # both arms fine-tuned on the same 100 of the training molecules
    split = payload['train_split_size']
    assert payload['train_size'] == 100 and split > 100
    assert ('after fine-tuning on 100 labelled training molecules, drawn at random from the '
            f"training split's {split}.") in text
    assert 'the same architecture trained from scratch' in text
    assert (tmp_path / 'qs' / 'results.csv').is_file()


def test_pretrain_property_prediction_loads_its_targets(corpus, tmp_path, data_root):
    out = tmp_path / 'kpgt'
    ckpt = run(['pretrain', '--dataset', str(corpus), '--epochs', '1', '--batch-size', '8',
                '--featurize-workers', '0', '--objective', 'attr_masking+descriptor_pred',
                '--out', str(out), *TINY])
    raw = torch.load(ckpt, weights_only=True)
    assert raw['objective']['name'] == 'attr_masking+descriptor_pred'
    assert raw['data']['num_graphs'] == 16
    log = json.loads((out / 'train_log.jsonl').read_text().splitlines()[-1])
    assert 0 < log['descriptor_pred/observed'] < 1 and np.isfinite(log['descriptor_pred/loss'])
    with pytest.raises(SystemExit, match="objective 'motif_pred'.*need molecules"):
        run(['pretrain', '--dataset', 'Cora', '--root', str(data_root), '--epochs', '1',
             '--objective', 'motif_pred', '--encoder', 'gcn', '--out', str(tmp_path / 'c'),
             *TINY])


def test_list_speaks_plain_text_with_levels(capsys):
    from graphpfm.config import plain_text, summary
    rst = ('See `"KPGT: Knowledge-Guided" <https://x.org>`_ and :class:`~graphpfm.data.GraphStore`'
           ', :math:`\\mathcal{L}`, ``batch.y`` and **bold** *it*.')
    assert plain_text(rst) == ('See "KPGT: Knowledge-Guided" and GraphStore, \\mathcal{L}, '
                               'batch.y and bold it.')

    class Doc:
        """Prediction as in `"KPGT: Knowledge" <https://x>`_: more.

        Rest."""
    assert summary(Doc) == 'Prediction as in "KPGT: Knowledge".'
    out = run(['list'])
    text = capsys.readouterr().out
    assert ':math:' not in text and ':class:' not in text and '``' not in text
    assert '[graph]' in text and '[node]' in text
    assert set(out['objectives']) >= {'grace', 'motif_pred'}


@pytest.mark.parametrize('command', ['pretrain', 'finetune', 'probe', 'embed', 'quickstart'])
def test_progress_bars_follow_the_terminal_unless_asked(command, tmp_path):
    import logging

    from graphpfm.cli import CommandError, resolve_output
    (tmp_path / 'x.pt').touch()  # parsing checks only that the file exists
    extra = (['--checkpoint', str(tmp_path / 'x.pt'), '--input', 'a.csv', '--output', 'e.npy']
             if command == 'embed' else [])

    def settle(*flags, terminal):
        args = parse_args([command, *extra, *flags])
        return resolve_output(args, terminal), args.progress

    assert settle(terminal=True) == (logging.INFO, True)
    assert settle(terminal=False) == (logging.INFO, False)  # a pipe or a log file: no bars
    assert settle('--progress', terminal=False) == (logging.INFO, True)
    assert settle('--no-progress', terminal=True) == (logging.INFO, False)
    assert settle('--quiet', terminal=True) == (logging.WARNING, False)
    assert settle('-v', terminal=False) == (logging.DEBUG, False)
    with pytest.raises(CommandError, match='--quiet and --verbose') as err:
        settle('--quiet', '--verbose', terminal=True)
    assert err.value.code == 2


def test_piped_run_has_no_bars_and_quiet_has_no_info(corpus, tmp_path):
    def pretrain(*flags):
        cmd = [sys.executable, '-m', 'graphpfm', 'pretrain', '--dataset', str(corpus),
               '--epochs', '2', '--batch-size', '4', '--featurize-workers', '0',
               '--num-layers', '2', '--hidden-channels', '16', '--device', 'cpu',
               '--out', str(tmp_path / flags[0].strip('-') if flags else tmp_path / 'plain'),
               *flags]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
        assert res.returncode == 0, res.stderr[-2000:]
        return res.stderr

    plain = pretrain()  # a tqdm bar always draws '<percent>%|'
    assert 'INFO' in plain and '%|' not in plain and '\r' not in plain
    quiet = pretrain('--quiet')
    assert 'INFO' not in quiet and '%|' not in quiet
    bars = pretrain('--progress')
    assert '%|' in bars
