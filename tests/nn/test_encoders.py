import pytest
import torch

from graphpfm.data.ogb_features import atom_feature_dims
from graphpfm.errors import ConfigError
from graphpfm.nn import ENCODERS, build_encoder
from graphpfm.nn.encoders.ogb_features import AtomEncoder


def _run(enc, b):
    return enc(b.x, b.edge_index, edge_attr=b.edge_attr, batch=b.batch)


@pytest.mark.parametrize('name', ENCODERS.names())
def test_every_encoder_shapes_and_config_roundtrip(name, mol_store):
    b = mol_store.collate(range(len(mol_store)))
    torch.manual_seed(0)
    enc = build_encoder(name, num_layers=2, hidden_channels=16)
    h = _run(enc.eval(), b)
    assert h.shape == (b.num_nodes, enc.out_channels)
    assert torch.isfinite(h).all()
    cfg = enc.config()
    again = build_encoder(cfg['name'], **cfg['kwargs'])
    again.load_state_dict(enc.state_dict(), strict=True)
    assert torch.equal(_run(again.eval(), b), h)


@pytest.mark.parametrize('jk,width', [('last', 16), ('sum', 16), ('max', 16), ('concat', 48)])
def test_gin_jumping_knowledge(jk, width, mol_store):
    b = mol_store.collate([0, 1, 2])
    enc = build_encoder('gin', num_layers=2, hidden_channels=16, jk=jk).eval()
    assert enc.out_channels == width
    assert _run(enc, b).shape[1] == width


def test_gin_defaults_follow_hu_et_al():
    enc = build_encoder('gin')
    assert enc.num_layers == 5 and enc.out_channels == 300
    # one extra [MASK] row per atom column, two extra rows (mask, self-loop) per bond column
    dims = atom_feature_dims()
    assert enc.atom_encoder.weight.shape[0] == sum(d + 1 for d in dims)


def test_bad_options_list_valid_values():
    with pytest.raises(ValueError, match='last, sum, concat, max'):
        build_encoder('gin', jk='lstm')
    with pytest.raises(KeyError, match='gcn'):
        build_encoder('nope')


@pytest.mark.parametrize('name', ['gin', 'gcn', 'sage', 'gat'])
@pytest.mark.parametrize('option,value,message', [
    ('hidden_channels', 0, 'hidden_channels must be an integer >= 1, got 0'),
    ('num_layers', 0, 'num_layers must be an integer >= 1, got 0'),
    ('in_channels', -3, 'in_channels must be an integer >= 1, got -3'),
    ('dropout', 1.0, r'dropout must be in \[0, 1\), got 1.0')])
def test_sizes_out_of_range_are_config_errors(name, option, value, message):
    with pytest.raises(ConfigError, match=message):
        build_encoder(name, **{option: value})


def test_atom_encoder_equals_sum_of_column_embeddings():
    torch.manual_seed(0)
    enc = AtomEncoder(8)
    x = torch.tensor([[6, 0, 4, 5, 3, 0, 2, 0, 0], [119, 5, 12, 12, 10, 6, 6, 2, 2]])
    sizes = [d + 1 for d in atom_feature_dims()]
    tables = torch.split(enc.weight, sizes, 0)
    expected = torch.stack([sum(tables[c][x[r, c]] for c in range(9)) for r in range(2)])
    assert torch.allclose(enc(x), expected)


def test_gin_message_passing_matches_hand_computation():
    """A 2-atom molecule: each atom's pre-MLP input is h_i + h_j + e_ij + e_selfloop."""
    from graphpfm.nn.encoders.mol_gin import MolGINConv
    torch.manual_seed(0)
    conv = MolGINConv(4)
    h = torch.randn(2, 4)
    edge_index = torch.tensor([[0, 1], [1, 0]])
    edge_attr = torch.tensor([[1, 0, 0], [1, 0, 0]])
    e = conv.bond_encoder(edge_attr[:1])[0]
    loop = conv.bond_encoder(torch.tensor([[6, 7, 3]]))[0]  # bond dims [5, 6, 2] + 1
    pre = torch.stack([h[0] + h[1] + e + loop, h[1] + h[0] + e + loop])
    assert torch.allclose(conv(h, edge_index, edge_attr), conv.mlp(pre), atol=1e-6)
