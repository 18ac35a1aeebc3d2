"""Encoders on float node features: the float-input GIN, residual connections, and the
BasicGNN options (norm, jk, dropout) on a float graph."""
import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.nn import GINConv
from torch_geometric.utils import to_undirected

from graphpfm.nn import build_encoder
from graphpfm.nn.encoders.mol_gin import MolGINConv
from graphpfm.objectives import build_objective

#: state-dict keys of build_encoder('gin', num_layers=2, hidden_channels=8) before the
#: float-input option was added: the molecular network must keep them
MOL_GIN_KEYS = [
    'atom_encoder.weight', 'convs.0.mlp.0.weight', 'convs.0.mlp.0.bias', 'convs.0.mlp.2.weight',
    'convs.0.mlp.2.bias', 'convs.0.bond_encoder.weight', 'convs.1.mlp.0.weight',
    'convs.1.mlp.0.bias', 'convs.1.mlp.2.weight', 'convs.1.mlp.2.bias',
    'convs.1.bond_encoder.weight', 'norms.0.weight', 'norms.0.bias', 'norms.0.running_mean',
    'norms.0.running_var', 'norms.0.num_batches_tracked', 'norms.1.weight', 'norms.1.bias',
    'norms.1.running_mean', 'norms.1.running_var', 'norms.1.num_batches_tracked']


@pytest.fixture
def graph() -> Data:
    g = torch.Generator().manual_seed(0)
    n = 30
    upper = torch.triu(torch.rand(n, n, generator=g) < 0.15, diagonal=1)
    return Data(x=torch.randn(n, 16, generator=g),
                edge_index=to_undirected(upper.nonzero().t(), num_nodes=n), num_nodes=n)


def _run(enc, data):
    return enc(data.x, data.edge_index, edge_attr=getattr(data, 'edge_attr', None),
               batch=getattr(data, 'batch', None))


def test_molecular_gin_state_dict_keys_and_config_unchanged():
    enc = build_encoder('gin', num_layers=2, hidden_channels=8)
    assert list(enc.state_dict()) == MOL_GIN_KEYS
    assert enc.input_kind == 'ogb_atom'
    assert enc.config() == {'name': 'gin', 'kwargs': {
        'num_layers': 2, 'hidden_channels': 8, 'dropout': 0.0, 'jk': 'last', 'norm': 'batch'}}


def test_float_gin(graph):
    torch.manual_seed(0)
    enc = build_encoder('gin', num_layers=2, hidden_channels=8, in_channels=16).eval()
    assert enc.input_kind == 'float'
    keys = list(enc.state_dict())
    assert not any('bond_encoder' in k or 'atom_encoder' in k for k in keys)
    assert 'node_encoder.weight' in keys
    h = _run(enc, graph)
    assert h.shape == (30, 8) and torch.isfinite(h).all()
    with_attr = enc(graph.x, graph.edge_index, edge_attr=torch.randn(graph.num_edges, 4))
    assert torch.equal(with_attr, h)  # float GIN has no bond embeddings: edge_attr ignored
    cfg = enc.config()
    assert cfg['kwargs']['in_channels'] == 16
    again = build_encoder(cfg['name'], **cfg['kwargs'])
    again.load_state_dict(enc.state_dict(), strict=True)
    assert torch.equal(_run(again.eval(), graph), h)
    wide = build_encoder('gin', num_layers=2, hidden_channels=8, in_channels=16, jk='concat')
    assert _run(wide, graph).shape == (30, 24)


def test_gin_conv_without_bond_embeddings_is_plain_gin(graph):
    torch.manual_seed(0)
    conv = MolGINConv(16, bond_embeddings=False)
    assert conv.bond_encoder is None
    ref = GINConv(conv.mlp, eps=0.0)
    assert torch.allclose(conv(graph.x, graph.edge_index), ref(graph.x, graph.edge_index),
                          atol=1e-6)


def test_molecular_gin_conv_accepts_missing_edge_attr():
    torch.manual_seed(0)
    conv = MolGINConv(4)
    h = torch.randn(2, 4)
    edge_index = torch.tensor([[0, 1], [1, 0]])
    loop = conv.bond_encoder(conv.self_loop_attr)[0]
    pre = torch.stack([h[0] + h[1] + loop, h[1] + h[0] + loop])
    assert torch.allclose(conv(h, edge_index, None), conv.mlp(pre), atol=1e-6)


def test_gin_residual(graph, mol_store):
    torch.manual_seed(0)
    enc = build_encoder('gin', num_layers=1, hidden_channels=8, in_channels=16,
                        residual=True).eval()
    h0 = enc.node_encoder(graph.x)
    expected = enc.norms[0](enc.convs[0](h0, graph.edge_index)) + h0
    assert torch.allclose(_run(enc, graph), expected, atol=1e-6)
    assert enc.config()['kwargs']['residual'] is True
    # the molecular network too, with the same state-dict keys
    mol = build_encoder('gin', num_layers=2, hidden_channels=8, residual=True)
    assert list(mol.state_dict()) == MOL_GIN_KEYS
    b = mol_store.collate(range(4))
    plain = build_encoder('gin', num_layers=2, hidden_channels=8)
    plain.load_state_dict(mol.state_dict())
    out = mol.eval()(b.x, b.edge_index, edge_attr=b.edge_attr, batch=b.batch)
    assert not torch.allclose(out, plain.eval()(b.x, b.edge_index, edge_attr=b.edge_attr,
                                                batch=b.batch))


@pytest.mark.parametrize('name', ['gcn', 'sage', 'gat'])
def test_basic_gnn_residual(name, graph):
    torch.manual_seed(0)
    res = build_encoder(name, num_layers=1, hidden_channels=16, in_channels=16, residual=True)
    plain = build_encoder(name, num_layers=1, hidden_channels=16, in_channels=16)
    assert list(res.state_dict()) == list(plain.state_dict())
    plain.load_state_dict(res.state_dict())
    res.eval(), plain.eval()
    # one layer, no norm/activation after the last layer: output = conv(x) + x
    assert torch.allclose(_run(res, graph), _run(plain, graph) + graph.x, atol=1e-6)
    assert res.config()['kwargs']['residual'] is True
    assert 'residual' not in plain.config()['kwargs']
    cfg = res.config()
    again = build_encoder(cfg['name'], **cfg['kwargs'])
    again.load_state_dict(res.state_dict())
    assert torch.equal(_run(again.eval(), graph), _run(res, graph))


def test_basic_gnn_residual_skips_a_width_changing_first_layer(graph):
    torch.manual_seed(0)
    res = build_encoder('gcn', num_layers=2, hidden_channels=8, in_channels=16, residual=True)
    plain = build_encoder('gcn', num_layers=2, hidden_channels=8, in_channels=16)
    plain.load_state_dict(res.state_dict())
    res.eval(), plain.eval()
    first = res.gnn.convs[0]
    assert not first._forward_hooks and res.gnn.convs[1]._forward_hooks
    out = _run(res, graph)
    assert out.shape == (30, 8) and not torch.allclose(out, _run(plain, graph))


@pytest.mark.parametrize('name', ['gcn', 'sage', 'gat'])
@pytest.mark.parametrize('norm,jk', [('batch_norm', 'last'), ('layer_norm', 'cat'),
                                     (None, 'max'), ('graph_norm', 'last')])
def test_basic_gnn_options_on_a_float_graph(name, norm, jk, graph):
    torch.manual_seed(0)
    enc = build_encoder(name, num_layers=2, hidden_channels=8, in_channels=16, norm=norm,
                        jk=jk, dropout=0.5)
    assert enc.input_kind == 'float'
    h = _run(enc.train(), graph)
    assert h.shape == (30, enc.out_channels) and torch.isfinite(h).all()
    assert not torch.equal(h, _run(enc, graph))  # dropout is active in training
    enc.eval()
    h = _run(enc, graph)
    assert torch.equal(h, _run(enc, graph))
    cfg = enc.config()
    assert cfg['kwargs']['norm'] == norm and cfg['kwargs']['jk'] == jk
    again = build_encoder(cfg['name'], **cfg['kwargs'])
    again.load_state_dict(enc.state_dict(), strict=True)
    assert torch.equal(_run(again.eval(), graph), h)


@pytest.mark.parametrize('objective', ['grace', 'bgrl', 'dgi', 'graphmae'])
def test_node_objectives_with_float_gin(objective, graph):
    torch.manual_seed(0)
    enc = build_encoder('gin', num_layers=2, hidden_channels=8, in_channels=16, residual=True)
    obj = build_objective(objective, enc).train()
    out = obj(graph, torch.Generator().manual_seed(0))
    assert torch.isfinite(out.loss)
    out.loss.backward()
    assert enc.node_encoder.weight.grad is not None


def test_basic_gnn_act_last(graph):
    """act_last: a 1-layer GCN with PReLU is PReLU(GCNConv(x)) (DGI's encoder); without it
    PyG's BasicGNN leaves the layer linear. Batch norm, when set, comes before the activation;
    the option survives the config round trip and refuses a JK mode."""
    torch.manual_seed(0)
    enc = build_encoder('gcn', num_layers=1, hidden_channels=8, in_channels=16, norm=None,
                        act='prelu', act_last=True)
    with torch.no_grad():
        enc.last_act.weight.fill_(0.1)
    conv = enc.gnn.convs[0]
    pre = conv(graph.x, graph.edge_index)
    assert (pre < 0).any()
    expected = torch.where(pre > 0, pre, 0.1 * pre)
    torch.testing.assert_close(_run(enc, graph), expected)

    linear = build_encoder('gcn', num_layers=1, hidden_channels=8, in_channels=16, norm=None,
                           act='prelu')
    linear.load_state_dict({k: v for k, v in enc.state_dict().items() if k.startswith('gnn.')})
    torch.testing.assert_close(_run(linear, graph), pre)  # the default stays linear
    assert 'act_last' not in linear.config()['kwargs']

    cfg = enc.config()
    assert cfg['kwargs']['act_last'] is True
    again = build_encoder(cfg['name'], **cfg['kwargs'])
    again.load_state_dict(enc.state_dict())
    torch.testing.assert_close(_run(again, graph), expected)

    bn = build_encoder('gcn', num_layers=2, hidden_channels=8, in_channels=16,
                       norm='batch_norm', act_last=True).eval()
    with torch.no_grad():
        bn.last_norm.module.running_mean.fill_(1.0)
    h = bn.gnn(graph.x, graph.edge_index)
    torch.testing.assert_close(_run(bn, graph), torch.relu(bn.last_norm(h)))
    assert (_run(bn, graph) >= 0).all()

    with pytest.raises(ValueError, match="act_last=True needs jk='last'"):
        build_encoder('gcn', num_layers=2, hidden_channels=8, in_channels=16, jk='cat',
                      act_last=True)


def test_input_and_attention_dropout(graph):
    """input_dropout drops the first layer's input in training only; attn_dropout reaches
    every GATConv (``dropout`` does not, see below); both survive the config round trip."""
    enc = build_encoder('gat', num_layers=2, hidden_channels=8, heads=2, in_channels=16,
                        norm=None, input_dropout=0.5, attn_dropout=0.1)
    assert [c.dropout for c in enc.gnn.convs] == [0.1, 0.1]
    seen = []
    enc.gnn.convs[0].register_forward_pre_hook(lambda m, args: seen.append(args[0].clone()))
    enc.train()
    torch.manual_seed(0)
    _run(enc, graph)
    zeroed = float((seen[-1] == 0).float().mean())
    assert 0.35 < zeroed < 0.65  # about half of the 30 x 16 inputs
    kept = seen[-1] != 0
    torch.testing.assert_close(seen[-1][kept], 2 * graph.x[kept])  # inverted dropout scaling
    enc.eval()
    _run(enc, graph)
    torch.testing.assert_close(seen[-1], graph.x)  # no dropout in eval mode
    cfg = enc.config()
    assert cfg['kwargs']['input_dropout'] == 0.5 and cfg['kwargs']['attn_dropout'] == 0.1
    again = build_encoder(cfg['name'], **cfg['kwargs'])
    assert [c.dropout for c in again.gnn.convs] == [0.1, 0.1] and again.input_dropout == 0.5
    plain = build_encoder('gat', num_layers=2, hidden_channels=8, in_channels=16)
    assert 'input_dropout' not in plain.config()['kwargs']
    assert 'attn_dropout' not in plain.config()['kwargs']
    with pytest.raises(ValueError, match='attn_dropout'):
        build_encoder('gat', num_layers=2, hidden_channels=8, in_channels=16, attn_dropout=1.0)
    with pytest.raises(ValueError, match='input_dropout'):
        build_encoder('gcn', num_layers=2, hidden_channels=8, in_channels=16, input_dropout=-0.1)


def test_graphmae_adds_no_second_activation_after_act_last(graph):
    """GraphMAE applies chem/'s PReLU to the encoder output only when the encoder does not
    end in an activation itself (node-level GraphMAE has one, not two)."""
    def loss_with_prelu_slope(act_last, slope):
        torch.manual_seed(0)
        enc = build_encoder('gcn', num_layers=2, hidden_channels=8, in_channels=16, norm=None,
                            act='prelu', act_last=act_last)
        obj = build_objective('graphmae', enc, mask_rate=0.5, decoder='gcn').eval()
        with torch.no_grad():
            obj.activation.weight.fill_(slope)
        return obj(graph, torch.Generator().manual_seed(1)).loss.item()

    assert loss_with_prelu_slope(True, 0.25) == loss_with_prelu_slope(True, -3.0)
    assert loss_with_prelu_slope(False, 0.25) != loss_with_prelu_slope(False, -3.0)


def test_gat_dropout_does_not_reach_the_attention():
    """``dropout`` acts between layers only: PyG's GAT hands it to every GATConv as attention
    dropout, which the encoder undoes (attention dropout is ``attn_dropout``, default 0)."""
    enc = build_encoder('gat', num_layers=2, hidden_channels=8, heads=2, in_channels=16,
                        norm=None, dropout=0.3)
    assert [c.dropout for c in enc.gnn.convs] == [0.0, 0.0]
    assert enc.gnn.dropout.p == 0.3
    again = build_encoder('gat', **enc.config()['kwargs'])
    assert [c.dropout for c in again.gnn.convs] == [0.0, 0.0]
    both = build_encoder('gat', num_layers=2, hidden_channels=8, heads=2, in_channels=16,
                         dropout=0.3, attn_dropout=0.1)
    assert [c.dropout for c in both.gnn.convs] == [0.1, 0.1]


def _std_and_max(t):
    t = t.detach().flatten()
    return float(t.std()), float(t.abs().max())


def test_gat_dgl_weight_init():
    """weight_init='dgl': Xavier normal with gain sqrt(2) on the linear maps and attention
    vectors (DGL's GATConv, GraphMAE's), bias zero; PyG's Glorot uniform by default; kept by
    reset_parameters and recorded in the config only when set."""
    import math
    kw = dict(num_layers=2, hidden_channels=256, heads=4, in_channels=200, norm=None)
    torch.manual_seed(0)
    pyg = build_encoder('gat', **kw)
    torch.manual_seed(0)
    dgl = build_encoder('gat', weight_init='dgl', **kw)
    assert 'weight_init' not in pyg.config()['kwargs']
    assert dgl.config()['kwargs']['weight_init'] == 'dgl'
    gain = math.sqrt(2.0)
    for enc in (dgl, build_encoder('gat', **dgl.config()['kwargs'])):
        for _ in range(2):  # as built, then after reset_parameters
            for conv, fan_in in zip(enc.gnn.convs, (200, 256)):
                std, biggest = _std_and_max(conv.lin.weight)
                want = gain * math.sqrt(2.0 / (fan_in + 256))
                assert abs(std - want) < 0.05 * want
                assert biggest > math.sqrt(6.0 / (fan_in + 256))  # normal, not uniform
                att_want = gain * math.sqrt(2.0 / (4 * 64 + 64))  # fans of [1, 4, 64]
                for att in (conv.att_src, conv.att_dst):
                    assert abs(_std_and_max(att)[0] - att_want) < 0.2 * att_want
                assert torch.equal(conv.bias, torch.zeros_like(conv.bias))
            enc.reset_parameters()
    for conv, fan_in in zip(pyg.gnn.convs, (200, 256)):  # Glorot uniform, gain 1
        std, biggest = _std_and_max(conv.lin.weight)
        bound = math.sqrt(6.0 / (fan_in + 256))
        assert biggest <= bound and abs(std - bound / math.sqrt(3)) < 0.05 * bound
    with pytest.raises(ValueError, match="weight_init 'xavier' invalid; valid options: glorot"):
        build_encoder('gat', weight_init='xavier', **kw)
