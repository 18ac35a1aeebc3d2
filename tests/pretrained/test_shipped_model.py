"""The model that ships inside the package: found offline, loaded with weights_only, small,
described by its card, and usable by name wherever a checkpoint is taken."""
import pytest
import torch

import graphpfm
from graphpfm.pretrained import PRETRAINED_DIR, available_pretrained, default_pretrained
from graphpfm.train import load_encoder

NAME = 'gin-moses-motif'


def test_the_shipped_model_is_listed_small_and_plain():
    path = available_pretrained()[NAME]
    assert path == PRETRAINED_DIR / f'{NAME}.pt' == default_pretrained()
    assert path.stat().st_size <= 10 * 2 ** 20
    raw = torch.load(path, weights_only=True)  # tensors and plain values only
    assert raw['encoder'] == {'name': 'gin', 'kwargs': raw['encoder']['kwargs']}
    kwargs = raw['encoder']['kwargs']
    assert (kwargs['num_layers'], kwargs['hidden_channels']) == (5, 300)
    assert raw['objective']['name'] == 'motif_pred' and raw['objective_state_dict'] is None
    assert raw['data']['num_graphs'] == 1_584_663
    weights = raw['encoder_state_dict']
    assert all(torch.isfinite(w).all() for w in weights.values() if w.is_floating_point())
    assert raw['extra']['weights_dtype'] == 'float32'


def test_from_pretrained_embeds_exactly_as_load_encoder(mol_store):
    ours = graphpfm.from_pretrained(NAME).eval()
    ref = load_encoder(PRETRAINED_DIR / f'{NAME}.pt').eval()
    b = mol_store.collate(range(len(mol_store)))
    with torch.no_grad():
        a = ours(b.x, b.edge_index, edge_attr=b.edge_attr, batch=b.batch)
        c = ref(b.x, b.edge_index, edge_attr=b.edge_attr, batch=b.batch)
    assert a.shape == (b.num_nodes, 300) and torch.equal(a, c)
    # trained: not the embedding of a freshly initialised encoder of the same architecture
    torch.manual_seed(0)
    fresh = graphpfm.build_encoder('gin', num_layers=5, hidden_channels=300).eval()
    with torch.no_grad():
        assert not torch.allclose(a, fresh(b.x, b.edge_index, edge_attr=b.edge_attr,
                                           batch=b.batch), atol=1e-3)


def test_the_card_says_how_it_was_built_and_what_it_gives():
    card = graphpfm.pretrained.model_card(NAME)
    epochs = len(graphpfm.load_checkpoint(PRETRAINED_DIR / f'{NAME}.pt')['history'])
    for needed in ('motif_pred', 'MOSES', '1584663', f'epochs: {epochs}',
                   'benchmarks.shipped_model', 'graphpfm pretrain', 'commit', '| scratch |',
                   'vs scratch'):
        assert needed in card, needed


def test_the_cli_takes_the_name(capsys):
    from graphpfm.cli import parse_args, run
    args = parse_args(['finetune', '--checkpoint', NAME, '--dataset', 'embedded-polar'])
    assert args.checkpoint == str(PRETRAINED_DIR / f'{NAME}.pt')
    run(['list'])
    assert NAME in capsys.readouterr().out
    with pytest.raises(KeyError, match=f'Valid options: {NAME}'):
        graphpfm.from_pretrained('gin-moses-motifs')
