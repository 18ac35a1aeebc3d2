"""Command line for combinations, two-stage pretraining (--init), leakage control."""
import pandas as pd
import pytest
import torch
from rdkit import Chem

from graphpfm.cli import run
from graphpfm.datasets.leakage import downstream_smiles

TINY = ['--num-layers', '2', '--hidden-channels', '16', '--epochs', '1', '--no-progress',
        '--device', 'cpu', '--featurize-workers', '0', '--batch-size', '8']


@pytest.fixture
def bbbp_test_smiles(data_root):
    smiles, _, _ = downstream_smiles('ogbg-molbbbp', data_root, ('test',))
    return next(s for s in smiles if Chem.MolFromSmiles(s) is not None and len(s) > 20)


@pytest.fixture
def corpus(tmp_path, small_smiles, bbbp_test_smiles):
    mol = Chem.MolFromSmiles(bbbp_test_smiles)
    respelled = next(a for a in (Chem.MolToRandomSmilesVect(mol, 1, randomSeed=s)[0]
                                 for s in range(20)) if a != bbbp_test_smiles)
    path = tmp_path / 'corpus.csv'
    pd.DataFrame({'smiles': small_smiles + [respelled]}).to_csv(path, index=False)
    return path


def test_combination_then_supervised_second_stage(corpus, tmp_path, data_root, capsys):
    stage1 = run(['pretrain', '--dataset', str(corpus), '--objective', 'attr_masking+edge_pred',
                  '--objective-weights', '1,0.5', '--mask-rate', '0.3', '--neg-ratio', '2',
                  '--exclude', 'ogbg-molbbbp', '--root', str(data_root),
                  '--out', str(tmp_path / 's1'), *TINY])
    assert 'leakage control: removed 1 of 17' in capsys.readouterr().out
    raw1 = torch.load(stage1, weights_only=True)
    assert raw1['objective'] == {'name': 'attr_masking+edge_pred', 'kwargs': {
        'weights': [1.0, 0.5], 'options': {'attr_masking': {'mask_rate': 0.3, 'mask_edges': False},
                                           'edge_pred': {'neg_ratio': 2.0}}}}
    assert raw1['data']['num_graphs'] == 16
    assert raw1['data']['leakage']['removed'] == 1
    assert raw1['data']['leakage']['downstream'] == ['ogbg-molbbbp']
    assert 'edge_pred/auc' in raw1['history'][0]

    # stage 2: supervised on a labelled dataset, encoder from stage 1
    stage2 = run(['pretrain', '--dataset', 'ogbg-molbbbp', '--limit', '48', '--root',
                  str(data_root), '--objective', 'supervised', '--init', str(stage1),
                  '--out', str(tmp_path / 's2'), '--epochs', '1', '--no-progress', '--device',
                  'cpu', '--batch-size', '16', '--num-layers', '2'])  # matching flag: fine
    raw2 = torch.load(stage2, weights_only=True)
    assert raw2['encoder'] == raw1['encoder']
    obj = raw2['objective']
    assert obj['name'] == 'supervised' and obj['kwargs'] == {'num_tasks': 1, 'pool': 'mean'}
    (first,) = obj['chain']
    assert first['objective'] == raw1['objective'] and first['data'] == raw1['data']
    assert first['path'] == str(stage1.resolve())
    # a third stage keeps the whole chain, oldest first
    stage3 = run(['pretrain', '--dataset', str(corpus), '--objective', 'infomax', '--init',
                  str(stage2), '--out', str(tmp_path / 's3'), '--epochs', '1', '--no-progress',
                  '--device', 'cpu', '--featurize-workers', '0'])
    chain = torch.load(stage3, weights_only=True)['objective']['chain']
    assert [c['objective']['name'] for c in chain] == ['attr_masking+edge_pred', 'supervised']


def test_init_rejects_conflicting_architecture_and_bad_options(corpus, tmp_path, data_root):
    ckpt = run(['pretrain', '--dataset', str(corpus), '--objective', 'infomax',
                '--out', str(tmp_path / 'a'), *TINY])
    with pytest.raises(SystemExit, match='--hidden-channels 32'):
        run(['pretrain', '--dataset', str(corpus), '--init', str(ckpt), '--hidden-channels',
             '32', '--out', str(tmp_path / 'b'), '--no-progress', '--device', 'cpu'])
    with pytest.raises(SystemExit, match='needs labels'):
        run(['pretrain', '--dataset', str(corpus), '--objective', 'supervised',
             '--out', str(tmp_path / 'c'), *TINY])
    with pytest.raises(SystemExit, match='--mask-rate does not apply'):
        run(['pretrain', '--dataset', str(corpus), '--objective', 'edge_pred+infomax',
             '--mask-rate', '0.2', '--out', str(tmp_path / 'd'), *TINY])
    with pytest.raises(SystemExit, match='one weight per objective'):
        run(['pretrain', '--dataset', str(corpus), '--objective', 'edge_pred+infomax',
             '--objective-weights', '1', '--out', str(tmp_path / 'e'), *TINY])
    with pytest.raises(SystemExit):
        run(['pretrain', '--objective', 'edge_pred+nope'])


@pytest.mark.parametrize('command', ['finetune', 'probe'])
def test_transfer_refuses_architecture_flags_the_checkpoint_overrides(corpus, tmp_path,
                                                                      command):
    ckpt = run(['pretrain', '--dataset', str(corpus), '--objective', 'infomax',
                '--out', str(tmp_path / 'a'), *TINY])
    base = [command, '--checkpoint', str(ckpt), '--dataset', 'embedded-tpsa', '--limit', '60',
            '--seeds', '1', '--device', 'cpu', '--no-progress', '--out', str(tmp_path / 'b')]
    base += ['--epochs', '1'] if command == 'finetune' else []
    with pytest.raises(SystemExit) as err:
        run([*base, '--hidden-channels', '64', '--num-layers', '5'])
    assert err.value.code == 2
    assert ('conflicting options: --num-layers 5 (checkpoint: 2); --hidden-channels 64 '
            '(checkpoint: 16)') in str(err.value)
    # the checkpoint's own values, and options that are not architecture, are accepted
    payload = run([*base, '--hidden-channels', '16', '--dropout', '0.1'])
    assert set(payload['results']) == {'pretrained'}


def test_leakage_command_prints_the_overlap(corpus, data_root, capsys):
    result = run(['leakage', '--corpus', str(corpus), '--downstream',
                  'ogbg-molbbbp,ogbg-moltox21', '--root', str(data_root), '--no-progress'])
    out = capsys.readouterr().out
    assert '| ogbg-molbbbp | valid/test |' in out and '| ogbg-moltox21 | valid/test |' in out
    assert result['overlap']['ogbg-molbbbp']['num_overlap'] >= 1
    assert result['num_corpus'] == 17
