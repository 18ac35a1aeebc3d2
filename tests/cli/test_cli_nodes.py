"""The command line on node datasets (Cora): pretrain, probe, finetune, embed; tiny settings."""
import argparse
import json

import numpy as np
import pytest
import torch

from graphpfm.cli import build_parser, run

TINY = ['--num-layers', '2', '--hidden-channels', '16', '--no-progress', '--device', 'cpu']


@pytest.fixture(scope='module')
def cora_ckpt(tmp_path_factory, data_root):
    out = tmp_path_factory.mktemp('cora') / 'pre'
    ckpt = run(['pretrain', '--dataset', 'Cora', '--root', str(data_root), '--encoder', 'gcn',
                '--objective', 'graphmae', '--epochs', '2', '--out', str(out), *TINY])
    return ckpt


def test_pretrain_full_batch_fills_in_channels(cora_ckpt, capsys):
    raw = torch.load(cora_ckpt, weights_only=True)
    assert raw['encoder']['name'] == 'gcn'
    assert raw['encoder']['kwargs']['in_channels'] == 1433  # Cora's feature width
    assert raw['data']['num_nodes'] == 2708 and raw['data']['level'] == 'node'
    assert raw['config']['node_batch_size'] is None  # automatic: full batch for Cora
    lines = [json.loads(x) for x in (cora_ckpt.parent / 'train_log.jsonl').read_text()
             .splitlines()]
    assert [r['nodes'] for r in lines] == [2708, 2708] and 'nodes_per_s' in lines[0]


def test_pretrain_mini_batch_and_schedule_steps(tmp_path, data_root, capsys):
    ckpt = run(['pretrain', '--dataset', 'Cora', '--root', str(data_root), '--encoder', 'sage',
                '--objective', 'bgrl', '--epochs', '2', '--node-batch-size', '1024',
                '--num-neighbors', '5,3', '--predictor-channels', '16',
                '--out', str(tmp_path), *TINY])
    assert 'mini-batches of 1024 seed nodes' in capsys.readouterr().out
    raw = torch.load(ckpt, weights_only=True)
    assert raw['objective']['kwargs']['total_steps'] == 2 * 3  # ceil(2708 / 1024) per epoch
    assert raw['config']['num_neighbors'] == [5, 3]
    lines = [json.loads(x) for x in (tmp_path / 'train_log.jsonl').read_text().splitlines()]
    assert all(r['nodes'] == 2708 for r in lines)


def test_probe_pretrained_and_random(cora_ckpt, tmp_path, data_root, capsys):
    payload = run(['probe', '--checkpoint', str(cora_ckpt), '--dataset', 'Cora', '--root',
                   str(data_root), '--seeds', '2', '--compare-random', '--cs', '0.01,1',
                   '--out', str(tmp_path), '--no-progress', '--device', 'cpu'])
    res = payload['results']
    assert set(res) == {'pretrained', 'random'}
    for r in res.values():
        assert r['metric'] == 'acc' and [x['seed'] for x in r['runs']] == [0, 1]
        assert all(x['best_C'] in (0.01, 1.0) for x in r['runs'])
        assert 0.0 <= r['mean'] <= 1.0 and r['std_ddof'] == 0
    # the pretrained encoder is the same at every seed, and so is its probe
    assert res['pretrained']['std'] == 0.0
    text = capsys.readouterr().out
    assert 'pretrained' in text and 'random' in text and 'chosen C per seed' in text
    assert (tmp_path / 'results.md').read_text().count('|') > 8


def test_probe_random_encoder_from_flags_and_mini_batch_inference(tmp_path, data_root):
    payload = run(['probe', '--dataset', 'Cora', '--root', str(data_root), '--encoder', 'gcn',
                   '--seeds', '1', '--cs', '1', '--batch-size', '1024', '--out', str(tmp_path),
                   *TINY])
    assert set(payload['results']) == {'random'}


def test_finetune_node_dataset(cora_ckpt, tmp_path, data_root):
    for nbs in ('full', '512'):
        payload = run(['finetune', '--checkpoint', str(cora_ckpt), '--dataset', 'Cora',
                       '--root', str(data_root), '--compare-scratch', '--epochs', '2',
                       '--seeds', '1', '--lr', '0.01', '--node-batch-size', nbs,
                       '--num-neighbors', '5,5', '--out', str(tmp_path / nbs), '--no-progress',
                       '--device', 'cpu'])
        res = payload['results']
        assert set(res) == {'pretrained', 'scratch'}
        for r in res.values():
            assert r['metric'] == 'acc' and 1 <= r['runs'][0]['best_epoch'] <= 2
            assert r['runs'][0]['node_batch_size'] == (0 if nbs == 'full' else 512)


def test_finetune_scratch_gin_float_input(tmp_path, data_root):
    payload = run(['finetune', '--dataset', 'Cora', '--root', str(data_root), '--encoder', 'gin',
                   '--epochs', '1', '--seeds', '1', '--out', str(tmp_path), *TINY])
    assert set(payload['results']) == {'scratch'}


def test_embed_node_dataset(cora_ckpt, tmp_path, data_root):
    dest = tmp_path / 'emb.npy'
    run(['embed', '--checkpoint', str(cora_ckpt), '--input', 'Cora', '--root', str(data_root),
         '--output', str(dest), '--device', 'cpu', '--no-progress'])
    assert np.load(dest).shape == (2708, 16)


def test_width_mismatches_are_clean_errors(cora_ckpt, tmp_path, data_root):
    with pytest.raises(SystemExit, match='does not match the 1433 node features'):
        run(['pretrain', '--dataset', 'Cora', '--root', str(data_root), '--encoder', 'gcn',
             '--in-channels', '7', '--epochs', '1', '--out', str(tmp_path), *TINY])
    mol = run(['pretrain', '--dataset', 'ogbg-molbace', '--limit', '32', '--root',
               str(data_root), '--epochs', '1', '--batch-size', '16',
               '--out', str(tmp_path / 'mol'), *TINY])
    with pytest.raises(SystemExit, match='OGB atom features'):
        run(['probe', '--checkpoint', str(mol), '--dataset', 'Cora', '--root', str(data_root),
             '--out', str(tmp_path / 'p'), '--no-progress', '--device', 'cpu'])
    with pytest.raises(SystemExit, match='--compare-random needs --checkpoint'):
        run(['probe', '--dataset', 'Cora', '--root', str(data_root), '--compare-random',
             '--out', str(tmp_path / 'p'), *TINY])
    with pytest.raises(SystemExit, match='does not apply'):
        run(['pretrain', '--dataset', 'Cora', '--root', str(data_root), '--encoder', 'gcn',
             '--exclude', 'ogbg-molbbbp', '--out', str(tmp_path / 'x'), *TINY])
    # the molecule checkpoint is probed on molecules, through mean-pooled graph embeddings
    payload = run(['probe', '--checkpoint', str(mol), '--dataset', 'ogbg-molbace', '--root',
                   str(data_root), '--seeds', '1', '--cs', '1', '--out', str(tmp_path / 'g'),
                   '--no-progress', '--device', 'cpu'])
    assert payload['results']['pretrained']['metric'] == 'rocauc'


def test_flag_parsers_and_help(capsys):
    from graphpfm.config import Option
    nbs = Option('node_batch_size', None, kind=int)
    assert nbs.convert('auto') is None and nbs.convert(None) is None
    assert nbs.convert('full') == 0 and nbs.convert('0') == 0
    assert nbs.convert('256') == 256 and nbs.convert(64) == 64
    with pytest.raises(argparse.ArgumentTypeError, match="'many' for --node-batch-size"):
        nbs.convert('many')
    ints = Option('num_neighbors', None, kind=(list, int))
    assert ints.convert('15,10,-1') == [15, 10, -1] and ints.convert([5, 5]) == [5, 5]
    with pytest.raises(argparse.ArgumentTypeError, match='int values separated by commas'):
        ints.convert('5,x')
    floats = Option('objective_weights', None, kind=(list, float))
    assert floats.convert('1, 0.5,') == [1.0, 0.5] and floats.convert((2, '3')) == [2.0, 3.0]
    seeds = Option('seeds', (0, 1, 2), kind=(list, int))
    assert seeds.convert('3') == (0, 1, 2) and seeds.convert('4,') == (4,)
    assert seeds.convert([0, 4]) == (0, 4) and seeds.help_text().endswith('(default: 0,1,2)')
    flag = Option('standardize', True, kind=bool)
    assert flag.convert('false') is False and flag.convert(True) is True
    with pytest.raises(SystemExit, match='num_neighbors must be a non-empty list of ints >= -1'):
        run(['pretrain', '--dataset', 'Cora', '--num-neighbors', '5,-3', '--epochs', '1'])
    for name in ('pretrain', 'finetune'):
        with pytest.raises(SystemExit):
            run([name, '--help'])
        text = ' '.join(capsys.readouterr().out.split())
        assert '--node-batch-size N' in text and '--num-neighbors A,B' in text
    with pytest.raises(SystemExit):
        run(['probe', '--help'])
    text = ' '.join(capsys.readouterr().out.split())
    assert '--compare-random' in text and '--Cs A,B, --cs A,B' in text
    assert '(default: 0.0001,0.001,0.01,0.1,1,10,100,1000,10000)' in text
    # an objective option whose default is None takes the annotated type
    assert build_parser().parse_args(['pretrain', '--total-steps', '50']).total_steps == 50


def test_act_last_and_normalize_features(tmp_path, data_root):
    """--act-last reaches the checkpoint's encoder config (and is refused by gin);
    --normalize-features row-normalises a node dataset, is recorded, and is refused for
    molecules. A probe from the checkpoint rebuilds the same encoder."""
    ckpt = run(['pretrain', '--dataset', 'Cora', '--root', str(data_root), '--encoder', 'gcn',
                '--objective', 'dgi', '--epochs', '1', '--act-last', '--normalize-features',
                '--out', str(tmp_path / 'pre'), *TINY])
    raw = torch.load(ckpt, weights_only=True)
    assert raw['encoder']['kwargs']['act_last'] is True
    assert raw['data']['features'] == 'row-normalised'
    assert not any('last_act' in k for k in raw['encoder_state_dict'])  # relu: no parameters
    from graphpfm import load_encoder
    enc = load_encoder(ckpt)
    assert enc.act_last

    from graphpfm.datasets import load_dataset
    from graphpfm.runs import normalize_features
    bundle = load_dataset('Cora', root=data_root)
    before = bundle.dataset.x.clone()
    normed = normalize_features(bundle)
    torch.testing.assert_close(bundle.dataset.x, before)  # input untouched
    sums = normed.dataset.x.sum(dim=1)
    nonzero = before.sum(dim=1) > 0
    torch.testing.assert_close(sums[nonzero], torch.ones(int(nonzero.sum())))
    torch.testing.assert_close(normed.dataset.x[0], before[0] / before[0].sum())

    with pytest.raises(SystemExit, match='--act-last is an option of'):
        run(['pretrain', '--dataset', 'Cora', '--root', str(data_root), '--encoder', 'gin',
             '--objective', 'dgi', '--epochs', '1', '--act-last',
             '--out', str(tmp_path / 'gin'), *TINY])
    with pytest.raises(SystemExit, match='--normalize-features is for node datasets'):
        run(['finetune', '--dataset', 'ogbg-molbace', '--root', str(data_root),
             '--normalize-features', '--epochs', '1', '--seeds', '1',
             '--out', str(tmp_path / 'ft'), *TINY])
