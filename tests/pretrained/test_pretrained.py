"""Shipped pretrained models: loaded offline by name, weights_only, exactly as load_encoder."""
import pytest
import torch

import graphpfm
from graphpfm.nn import build_encoder
from graphpfm.pretrained import (
    available_pretrained,
    export_pretrained,
    model_card,
    pretrained_path,
    resolve_checkpoint,
)
from graphpfm.train import load_encoder, save_checkpoint


@pytest.fixture
def shipped(tmp_path):
    """A folder holding one exported model 'tiny' (and a checkpoint without a card)."""
    torch.manual_seed(0)
    enc = build_encoder('gin', num_layers=2, hidden_channels=16)
    with torch.no_grad():
        for bn in enc.modules():
            if isinstance(bn, torch.nn.BatchNorm1d):
                bn.running_mean.uniform_(-1, 1)
                bn.running_var.uniform_(0.5, 2)
    full = tmp_path / 'run' / 'checkpoint.pt'
    save_checkpoint(full, enc, objective={'name': 'attr_masking', 'kwargs': {}},
                    objective_state_dict={'head.weight': torch.ones(3, 3)},
                    history=[{'epoch': 1, 'loss': 1.5}])
    folder = tmp_path / 'models'
    export_pretrained(full, folder / 'tiny.pt')
    (folder / 'tiny.md').write_text('# tiny\n')
    export_pretrained(full, folder / 'nocard.pt')
    return folder, full, enc


def test_from_pretrained_equals_load_encoder_on_the_same_file(shipped, mol_store):
    folder, full, enc = shipped
    assert available_pretrained(folder) == {'tiny': folder / 'tiny.pt'}
    raw = torch.load(folder / 'tiny.pt', weights_only=True)
    assert raw['encoder_state_dict']['convs.0.mlp.0.weight'].dtype == torch.float16
    assert raw['objective_state_dict'] is None and raw['history'] == [{'epoch': 1, 'loss': 1.5}]
    b = mol_store.collate(range(len(mol_store)))
    ours = graphpfm.from_pretrained('tiny', directory=folder).eval()
    ref = load_encoder(folder / 'tiny.pt').eval()
    args = (b.x, b.edge_index)
    kw = {'edge_attr': b.edge_attr, 'batch': b.batch}
    assert all(p.dtype == torch.float32 for p in ours.parameters())
    assert torch.equal(ours(*args, **kw), ref(*args, **kw))
    # half-precision storage: the weights are the float32 ones rounded to float16
    for (k, p), (_, q) in zip(ours.state_dict().items(), enc.state_dict().items()):
        if p.is_floating_point():
            assert torch.equal(p, q.half().float()), k
    assert model_card('tiny', folder) == '# tiny\n'


def test_unknown_names_list_the_known_ones(shipped):
    folder, full, _ = shipped
    with pytest.raises(KeyError, match="Unknown pretrained model 'nope'. Valid options: tiny"):
        pretrained_path('nope', folder)
    assert resolve_checkpoint(full, folder) == full
    assert resolve_checkpoint('tiny', folder) == folder / 'tiny.pt'
    with pytest.raises(FileNotFoundError, match="'nope' is neither a file nor .* \\(tiny\\)"):
        resolve_checkpoint('nope', folder)


def test_cli_refuses_an_unknown_checkpoint_name_at_parse_time(capsys):
    from graphpfm.cli import run
    with pytest.raises(SystemExit):
        run(['embed', '--checkpoint', 'no-such-model', '--input', 'x.smi', '--output', 'e.npy'])
    assert 'neither a file nor a shipped pretrained model' in capsys.readouterr().err
