"""The shipped-model builder end to end on a tiny run: pretrain, export, card."""
import json

import torch

import graphpfm
import graphpfm.pretrained as pretrained
from benchmarks import shipped_model


def test_pretrain_export_and_card(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, 'PRETRAINED_DIR', tmp_path / 'shipped')
    (tmp_path / 'shipped').mkdir()
    run = tmp_path / 'run'
    shipped_model.main(['pretrain', '--name', 'tiny', '--objective', 'descriptor_pred',
                        '--epochs', '1', '--dataset', 'embedded', '--limit', '48',
                        '--num-layers', '2', '--hidden-channels', '16', '--batch-size', '16',
                        '--log-every', '1', '--out', str(run)])
    build = json.loads((run / 'build.json').read_text())
    assert build['command'].startswith('graphpfm pretrain --dataset embedded --limit 48')
    assert build['wall_s'] > 0 and build['cpu_s'] > 0
    shipped_model.main(['export', '--name', 'tiny', '--run', str(run)])
    assert graphpfm.available_pretrained() == {'tiny': tmp_path / 'shipped' / 'tiny.pt'}
    # a candidate goes elsewhere (no card); its bytes are the package's export of the same run
    # only when named alike (the archive inside a checkpoint carries the file's name)
    shipped_model.main(['export', '--name', 'tiny', '--run', str(run), '--dest',
                        str(tmp_path / 'candidates' / 'tiny.pt')])
    assert (tmp_path / 'candidates' / 'tiny.pt').read_bytes() == \
        (tmp_path / 'shipped' / 'tiny.pt').read_bytes()
    assert not (tmp_path / 'candidates' / 'tiny.md').exists()
    assert graphpfm.available_pretrained() == {'tiny': tmp_path / 'shipped' / 'tiny.pt'}
    enc = graphpfm.from_pretrained('tiny')
    ref = graphpfm.load_encoder(run / 'checkpoint.pt')
    for (k, a), (_, b) in zip(enc.state_dict().items(), ref.state_dict().items()):
        assert torch.equal(a, b), k  # float32 export: the weights exactly
    text = (tmp_path / 'shipped' / 'tiny.md').read_text()
    assert '`descriptor_pred`' in text
    threads = build['hardware']['torch_threads']
    assert f'rebuild: `OMP_NUM_THREADS={threads} graphpfm pretrain --dataset embedded' in text
    assert "graphpfm.from_pretrained('tiny')" in text and 'loss per epoch: ' in text
    assert f"compute: {build['train_s'] / 3600:.2f} h of training" in text
    # a build continued with --resume is rebuilt from nothing by the same line without it
    (run / 'build.json').write_text(json.dumps({**build, 'command': build['command'] +
                                                ' --resume'}))
    resumed = shipped_model.card_text('tiny', run, None)
    assert '--resume' not in resumed and build['command'] in resumed
    # 48 molecules in batches of 16: three windows of one step; the last is after step 3
    windows = torch.load(run / 'checkpoint.pt', weights_only=True)['history'][0]['step_loss']
    assert len(windows) == 3
    assert f'after step N): 1: {windows[0]:.4f}' in text and f'3: {windows[2]:.4f}' in text
    png = shipped_model.loss_figure(run, tmp_path / 'loss.png')
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' and png.stat().st_size > 5000


def test_the_card_gives_the_transfer_run_of_its_table(tmp_path):
    (tmp_path / 'protocol.json').write_text(json.dumps({
        'num_layers': 5, 'hidden_channels': 300, 'seeds': [0, 1, 2, 3, 4],
        'finetune_epochs': 8, 'datasets': ['ogbg-molbbbp'],
        'requested_datasets': ['ogbg-molbbbp', 'ogbg-molhiv']}))
    assert shipped_model.transfer_command('m', tmp_path) == (
        'OMP_NUM_THREADS=1 python -m benchmarks.transfer run --objectives pretrained:m '
        '--num-layers 5 --hidden-channels 300 --datasets ogbg-molbbbp,ogbg-molhiv --seeds 5 '
        f'--finetune-epochs 8 --jobs 2 --threads 1 --out {tmp_path}')
