"""GraphMAE: per-graph masking, random-token replacement, re-masking, SCE loss, float inputs."""
import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import Batch, Data

from graphpfm.data.ogb_features import atom_feature_dims, atom_mask_token
from graphpfm.nn import Encoder, build_encoder
from graphpfm.nn.losses import sce_loss
from graphpfm.objectives import GraphMAE, build_objective


def _mol(**kw):
    torch.manual_seed(0)
    return build_objective('graphmae', build_encoder('gin', num_layers=2, hidden_channels=16),
                           **kw)


def _flt(in_channels=6, decoder='gin', **kw):
    torch.manual_seed(0)
    enc = build_encoder('gcn', num_layers=2, hidden_channels=16, in_channels=in_channels)
    return build_objective('graphmae', enc, decoder=decoder, **kw)


@pytest.fixture
def mols(mol_store):
    return mol_store.collate(range(len(mol_store)))


@pytest.fixture
def float_batch():
    """Five hand-made graphs (rings of 3..11 nodes plus a chord) with distinct float rows
    whose last column is a smooth function of the position on the ring (learnable)."""
    g = torch.Generator().manual_seed(0)
    graphs = []
    for n in (3, 5, 7, 9, 11):
        i = torch.arange(n)
        ring = torch.stack([i, (i + 1) % n])
        chord = torch.tensor([[0], [n // 2]])
        edge_index = torch.cat([ring, ring.flip(0), chord, chord.flip(0)], dim=1)
        phase = 2 * torch.pi * i.float() / n
        x = torch.stack([phase.sin(), phase.cos(), torch.full((n,), n / 10.0),
                         torch.rand(n, generator=g), torch.rand(n, generator=g),
                         (phase / 2).sin()], dim=1)
        graphs.append(Data(x=x, edge_index=edge_index))
    return Batch.from_data_list(graphs)


def test_masked_count_per_graph_is_rounded_rate(mols):
    for rate in (0.25, 0.5, 0.1):
        p = _mol(mask_rate=rate).prepare(mols, torch.Generator().manual_seed(0))
        n = torch.bincount(mols.batch)
        got = torch.bincount(mols.batch[p.masked_node_mask], minlength=mols.num_graphs)
        want = torch.clamp(torch.round(n.double() * rate).long(), min=1)
        assert torch.equal(got, torch.minimum(want, n))


def test_molecules_masked_atoms_get_the_token_and_targets_are_atom_types(mols):
    p = _mol().prepare(mols, torch.Generator().manual_seed(0))
    m = p.masked_node_mask
    assert torch.equal(p.token_node_mask, m)  # replace_rate 0: every masked atom gets [MASK]
    assert (p.x[m] == atom_mask_token()).all()
    assert torch.equal(p.x[~m], mols.x[~m])
    assert torch.equal(p.masked_node_target, mols.x[m, 0])
    assert p.x is not mols.x and p.edge_index is mols.edge_index  # shallow copy, new x


@pytest.mark.parametrize('kind', ['mol', 'float'])
def test_input_batch_is_never_modified(kind, mols, float_batch, mol_store):
    obj, b = (_mol(replace_rate=0.3), mols) if kind == 'mol' else (_flt(replace_rate=0.3),
                                                                     float_batch)
    before = {k: v.clone() for k, v in b.to_dict().items() if isinstance(v, torch.Tensor)}
    store_x = mol_store.x.clone()
    p = obj.prepare(b, torch.Generator().manual_seed(0))
    obj.compute(p).loss.backward()
    after = b.to_dict()
    assert set(after) == set(before)
    for k, v in before.items():
        assert torch.equal(after[k], v), k
    assert torch.equal(mol_store.x, store_x)


def test_same_generator_seed_same_masking(mols, float_batch):
    for obj, b in ((_mol(replace_rate=0.5), mols), (_flt(replace_rate=0.5), float_batch)):
        a = obj.prepare(b, torch.Generator().manual_seed(5))
        torch.manual_seed(123)  # the global random state plays no part
        c = obj.prepare(b, torch.Generator().manual_seed(5))
        d = obj.prepare(b, torch.Generator().manual_seed(6))
        for key in ('x', 'masked_node_mask', 'token_node_mask', 'masked_node_target'):
            assert torch.equal(a[key], c[key]), key
        assert not torch.equal(a.masked_node_mask, d.masked_node_mask)


def test_replace_rate_float_rows_come_from_another_node(float_batch):
    b = float_batch
    obj = _flt(mask_rate=0.5, replace_rate=0.25)
    p = obj.prepare(b, torch.Generator().manual_seed(1))
    m, tok = p.masked_node_mask, p.token_node_mask
    noise = m & ~tok
    num_masked = int(m.sum())
    assert int(noise.sum()) == round(0.25 * num_masked) > 0
    assert not (tok & ~m).any()
    assert (p.x[tok] == 0).all()  # the token itself is added in compute()
    assert torch.equal(p.x[~m], b.x[~m])
    assert torch.equal(p.masked_node_target, b.x[m])
    for i in noise.nonzero().view(-1).tolist():
        same = (b.x == p.x[i]).all(dim=1).nonzero().view(-1).tolist()
        assert len(same) == 1 and same[0] != i  # exactly one other node's features


def test_replace_rate_molecules_token_or_a_real_atom(mols):
    p = _mol(replace_rate=0.2).prepare(mols, torch.Generator().manual_seed(0))
    m, tok = p.masked_node_mask, p.token_node_mask
    noise = m & ~tok
    assert int(noise.sum()) == round(0.2 * int(m.sum())) > 0
    assert (p.x[tok] == atom_mask_token()).all()
    assert (p.x[noise] < atom_mask_token()).all()  # real atom rows, never the token
    rows = {tuple(r) for r in mols.x.tolist()}
    assert all(tuple(r) in rows for r in p.x[noise].tolist())
    assert torch.equal(p.masked_node_target, mols.x[m, 0])


def test_encoder_sees_the_learnable_token_on_float_inputs(float_batch):
    obj = _flt(replace_rate=0.25).eval()
    with torch.no_grad():
        obj.enc_mask_token.copy_(torch.arange(6.0) + 1)
    seen = {}
    obj.encoder.register_forward_pre_hook(lambda mod, args: seen.update(x=args[0]))
    p = obj.prepare(float_batch, torch.Generator().manual_seed(0))
    obj.compute(p)
    x, tok = seen['x'], p.token_node_mask
    assert (x[tok] == obj.enc_mask_token).all()
    assert torch.equal(x[~tok], p.x[~tok])  # replaced and unmasked rows as prepared


@pytest.mark.parametrize('kind', ['mol', 'float'])
def test_decoder_sees_re_masked_rows(kind, mols, float_batch):
    obj, b = (_mol(), mols) if kind == 'mol' else (_flt(), float_batch)
    obj.train()
    seen = {}
    obj.decoder.register_forward_pre_hook(lambda mod, args: seen.update(rep=args[0]))
    p = obj.prepare(b, torch.Generator().manual_seed(0))
    obj.compute(p)
    rep, m = seen['rep'], p.masked_node_mask
    assert rep.shape == (b.num_nodes, 16)
    assert (rep[m] == 0).all()
    assert (rep[~m].abs().sum(dim=1) > 0).all()


def test_loss_is_sce_of_the_decoded_atom_types(mols):
    """Recompute the model path by hand: PReLU -> linear -> re-mask -> decoder -> SCE."""
    obj = _mol(gamma=2.0).eval()
    p = obj.prepare(mols, torch.Generator().manual_seed(0))
    out = obj.compute(p)
    with torch.no_grad():
        h = obj.encoder(p.x, p.edge_index, edge_attr=p.edge_attr, batch=p.batch)
        rep = obj.encoder_to_decoder(obj.activation(h))
        rep[p.masked_node_mask] = 0
        pred = obj.decoder(rep, p.edge_index, p.edge_attr)[p.masked_node_mask]
        target = F.one_hot(p.masked_node_target, atom_feature_dims()[0]).float()
        cos = F.cosine_similarity(pred, target, dim=-1)
    assert pred.size(1) == 119
    assert torch.allclose(out.loss, ((1 - cos) ** 2).mean(), atol=1e-6)
    assert torch.allclose(out.loss, sce_loss(pred, target, 2.0))
    acc = (pred.argmax(-1) == p.masked_node_target).float().mean()
    assert out.logs['atom_acc'] == pytest.approx(float(acc))
    assert out.logs['sce_loss'] == pytest.approx(float(out.loss.detach()))


class _Oracle(torch.nn.Module):
    """A decoder that outputs (a multiple of) the true reconstruction target."""

    def __init__(self, target):
        super().__init__()
        self.target = target

    def forward(self, rep, *args):
        return 3.0 * self.target + 0.0 * rep.sum()


@pytest.mark.parametrize('kind', ['mol', 'float'])
def test_perfect_reconstruction_gives_zero_loss(kind, mols, float_batch):
    if kind == 'mol':
        obj, b = _mol(gamma=1.0), mols
        target = F.one_hot(b.x[:, 0], atom_feature_dims()[0]).float()
    else:
        obj, b = _flt(gamma=1.0), float_batch
        target = b.x
    obj.decoder = _Oracle(target)
    out = obj(b, torch.Generator().manual_seed(0))
    assert out.loss.item() == pytest.approx(0.0, abs=1e-6)
    if kind == 'mol':
        assert out.logs['atom_acc'] == 1.0
    # and a wrong reconstruction is penalised
    obj.decoder = _Oracle(target.roll(1, dims=1) + 1.0)
    assert obj(b, torch.Generator().manual_seed(0)).loss.item() > 0.1


@pytest.mark.parametrize('decoder', ['gin', 'gcn', 'gat'])
def test_float_path_trains_with_a_gcn_encoder(decoder, float_batch):
    obj = _flt(decoder=decoder, replace_rate=0.1).train()
    b = float_batch
    out = obj(b, torch.Generator().manual_seed(0))
    assert out.loss.dim() == 0 and torch.isfinite(out.loss)
    assert set(out.logs) == {'sce_loss'}
    out.loss.backward()
    grads = [p.grad for p in obj.encoder.parameters() if p.grad is not None]
    assert grads and sum(float(g.abs().sum()) for g in grads) > 0
    assert obj.enc_mask_token.grad is not None and obj.enc_mask_token.grad.abs().sum() > 0

    opt = torch.optim.Adam(obj.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        out = obj(b, torch.Generator().manual_seed(0))  # fixed corruption
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        losses.append(float(out.loss.detach()))
    assert losses[-1] < 0.5 * losses[0], losses


def test_float_decoder_reconstructs_the_input_width(float_batch):
    obj = _flt(in_channels=6)
    p = obj.prepare(float_batch, torch.Generator().manual_seed(0))
    assert p.masked_node_target.shape == (int(p.masked_node_mask.sum()), 6)
    assert obj.enc_mask_token.shape == (1, 6)


@pytest.mark.parametrize('kwargs, match', [
    ({'mask_rate': 0.0}, r'mask_rate must be in \(0, 1\)'),
    ({'mask_rate': 1.0}, r'mask_rate must be in \(0, 1\)'),
    ({'replace_rate': -0.1}, r'replace_rate must be in \[0, 1\)'),
    ({'replace_rate': 1.0}, r'replace_rate must be in \[0, 1\)'),
    ({'gamma': 0.5}, 'gamma must be >= 1'),
    ({'decoder': 'gat'}, "valid options: gin$"),
])
def test_bad_options_name_the_valid_range(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _mol(**kwargs)


def test_bad_float_decoder_lists_the_valid_ones():
    with pytest.raises(ValueError, match='valid options: gin, gcn, gat'):
        _flt(decoder='mlp')


def test_float_encoder_without_input_width_is_rejected():
    class Bare(Encoder):
        input_kind = 'float'
        out_channels = 4

        def forward(self, x, edge_index, *, edge_attr=None, batch=None):
            return x

    with pytest.raises(ValueError, match='in_channels'):
        GraphMAE(Bare())


def test_options_are_recorded_as_plain_values():
    obj = _mol(mask_rate=0.3, replace_rate=0.1, gamma=2)
    assert obj.config() == {'name': 'graphmae', 'kwargs': {
        'mask_rate': 0.3, 'replace_rate': 0.1, 'gamma': 2.0, 'decoder': 'gin'}}
    assert 'mask_rate=0.3' in repr(obj)


def test_combines_with_another_objective(mols):
    enc = build_encoder('gin', num_layers=2, hidden_channels=16)
    obj = build_objective('attr_masking+graphmae', enc,
                          options={'graphmae': {'replace_rate': 0.1}})
    out = obj(mols, torch.Generator().manual_seed(0))
    assert torch.isfinite(out.loss) and 'graphmae/atom_acc' in out.logs
    assert obj.config()['kwargs']['options']['graphmae']['mask_rate'] == 0.25


def test_cli_flags_pass_only_what_is_given():
    from graphpfm.cli import build_parser
    from graphpfm.cli.pretrain import objective_kwargs as _objective_kwargs
    parser = build_parser()
    args = parser.parse_args(['pretrain', '--objective', 'graphmae'])
    assert _objective_kwargs(args, 'graphmae') == {}  # graphmae's own defaults apply
    args = parser.parse_args(['pretrain', '--objective', 'graphmae', '--mask-rate', '0.5',
                              '--replace-rate', '0.1', '--gamma', '2', '--decoder', 'gin'])
    assert _objective_kwargs(args, 'graphmae') == {
        'mask_rate': 0.5, 'replace_rate': 0.1, 'gamma': 2.0, 'decoder': 'gin'}
    args = parser.parse_args(['pretrain', '--objective', 'attr_masking', '--gamma', '2'])
    with pytest.raises(ValueError, match='does not apply'):
        _objective_kwargs(args, 'attr_masking')


def test_cli_pretrain_uses_graphmae_default_mask_rate(tmp_path, capsys):
    from graphpfm.cli import run
    ckpt = run(['pretrain', '--objective', 'graphmae', '--dataset', 'embedded', '--limit', '64',
                '--epochs', '1', '--num-layers', '2', '--hidden-channels', '32',
                '--out', str(tmp_path), '--no-progress', '--device', 'cpu'])
    raw = torch.load(ckpt, weights_only=True)
    assert raw['objective']['name'] == 'graphmae'
    assert raw['objective']['kwargs'] == {'mask_rate': 0.25, 'replace_rate': 0.0, 'gamma': 1.0,
                                          'decoder': 'gin'}
    assert 'atom_acc' in raw['history'][-1]
    run(['list'])
    assert 'graphmae' in capsys.readouterr().out


def test_late_projection_gat_equals_pyg_gatconv():
    from torch_geometric.nn import GATConv

    from graphpfm.objectives.graphmae import LateProjectionGATConv
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 12, generator=g)
    ei = torch.randint(0, 40, (2, 150), generator=g)
    torch.manual_seed(0)
    late = LateProjectionGATConv(12, 30)
    with torch.no_grad():
        late.bias.normal_()
    ref = GATConv(12, 30, heads=1)
    ref.load_state_dict(late.state_dict())
    assert torch.allclose(late(x, ei), ref(x, ei), atol=1e-5)
    # gradients agree too
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    late(xa, ei).square().sum().backward()
    ref(xb, ei).square().sum().backward()
    assert torch.allclose(xa.grad, xb.grad, atol=1e-4)
    for (n, p), (_, q) in zip(late.named_parameters(), ref.named_parameters()):
        assert torch.allclose(p.grad, q.grad, atol=1e-4), n


def _gat_mae(**kw):
    torch.manual_seed(0)
    enc = build_encoder('gat', num_layers=2, hidden_channels=16, heads=2, in_channels=6,
                        norm=None)
    return build_objective('graphmae', enc, decoder='gat', **kw)


def test_decoder_dropout_drops_the_re_masked_decoder_input(float_batch):
    """decoder_dropout drops the decoder's input after the re-mask, in training only
    (GraphMAE's decoder feat_drop); decoder_attn_dropout reaches the GAT decoder."""
    obj = _gat_mae(decoder_dropout=0.5, decoder_attn_dropout=0.1)
    assert obj.decoder.dropout == 0.1
    assert _gat_mae().decoder.dropout == 0.0
    seen = {}
    obj.decoder.register_forward_pre_hook(lambda mod, args: seen.update(rep=args[0]))
    obj.encoder_to_decoder.register_forward_hook(lambda mod, args, out: seen.update(full=out))
    p = obj.prepare(float_batch, torch.Generator().manual_seed(0))
    m = p.masked_node_mask
    obj.train()
    torch.manual_seed(0)
    obj.compute(p)
    rep, full = seen['rep'][~m], seen['full'][~m]
    assert (seen['rep'][m] == 0).all()
    dropped = rep == 0
    assert 0.3 < float(dropped.float().mean()) < 0.7
    torch.testing.assert_close(rep[~dropped], 2 * full[~dropped])
    obj.eval()
    obj.compute(p)
    torch.testing.assert_close(seen['rep'][~m], seen['full'][~m])


def test_decoder_dgl_init_and_recorded_options():
    import math
    torch.manual_seed(0)
    enc = build_encoder('gat', num_layers=1, hidden_channels=256, heads=4, in_channels=600,
                        norm=None)
    obj = build_objective('graphmae', enc, decoder='gat', decoder_init='dgl')
    for _ in range(2):  # as built, then after reset_parameters
        w = obj.decoder.lin.weight.detach()
        want = math.sqrt(2.0) * math.sqrt(2.0 / (256 + 600))
        assert abs(float(w.std()) - want) < 0.05 * want
        assert float(w.abs().max()) > math.sqrt(6.0 / (256 + 600))  # normal, not uniform
        assert torch.equal(obj.decoder.bias, torch.zeros_like(obj.decoder.bias))
        obj.reset_parameters()
    assert obj.config()['kwargs'] == {'mask_rate': 0.25, 'replace_rate': 0.0, 'gamma': 1.0,
                                      'decoder': 'gat', 'decoder_init': 'dgl'}
    full = _gat_mae(decoder_dropout=0.2, decoder_attn_dropout=0.1, decoder_init='dgl')
    kwargs = full.config()['kwargs']
    assert kwargs['decoder_dropout'] == 0.2 and kwargs['decoder_attn_dropout'] == 0.1
    rebuilt = build_objective('graphmae', full.encoder, **kwargs)
    assert rebuilt.decoder.dropout == 0.1 and rebuilt.decoder_dropout == 0.2
    assert 'decoder_dropout' not in _gat_mae().config()['kwargs']


@pytest.mark.parametrize('kwargs,match', [
    (dict(decoder='gat', decoder_dropout=1.0), 'decoder_dropout must be in'),
    (dict(decoder='gat', decoder_attn_dropout=-0.1), 'decoder_attn_dropout must be in'),
    (dict(decoder='gat', decoder_init='xavier'), "decoder_init 'xavier' invalid"),
    (dict(decoder='gin', decoder_attn_dropout=0.1), "need decoder='gat'"),
    (dict(decoder='gcn', decoder_init='dgl'), "need decoder='gat'"),
])
def test_bad_decoder_options(kwargs, match):
    enc = build_encoder('gat', num_layers=2, hidden_channels=16, heads=2, in_channels=6)
    with pytest.raises(ValueError, match=match):
        build_objective('graphmae', enc, **kwargs)
