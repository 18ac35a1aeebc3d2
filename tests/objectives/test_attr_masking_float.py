"""Attribute masking on float node features: zeroed rows + learnable token, MSE on them."""
import pytest
import torch
from torch_geometric.data import Data

from graphpfm.nn import build_encoder
from graphpfm.objectives import build_objective


def _graph(n=30, f=8):
    g = torch.Generator().manual_seed(0)
    src = torch.arange(n)
    ei = torch.stack([src, (src + 1) % n])
    return Data(x=torch.randn(n, f, generator=g), edge_index=torch.cat([ei, ei.flip(0)], 1),
                num_nodes=n)


def _make(**kw):
    torch.manual_seed(0)
    return build_objective('attr_masking', build_encoder('gcn', num_layers=2, hidden_channels=16,
                                                         in_channels=8), **kw)


def test_masked_rows_are_zeroed_and_targets_are_the_originals():
    data = _graph()
    before = data.x.clone()
    obj = _make(mask_rate=0.2)
    m = obj.prepare(data, torch.Generator().manual_seed(1))
    mask = m.masked_atom_mask
    assert int(mask.sum()) == round(0.2 * 30)
    assert torch.equal(m.x[mask], torch.zeros(6, 8)) and torch.equal(m.x[~mask], before[~mask])
    assert torch.equal(m.masked_feature_target, before[mask])
    assert torch.equal(data.x, before)  # the input is never written


def test_loss_is_the_mse_of_the_head_on_masked_rows():
    data = _graph()
    obj = _make()
    m = obj.prepare(data, torch.Generator().manual_seed(1))
    out = obj.compute(m)
    x = m.x + m.masked_atom_mask.unsqueeze(1).float() * obj.mask_token
    h = obj.encoder(x, m.edge_index)
    expected = ((obj.atom_head(h[m.masked_atom_mask]) - m.masked_feature_target) ** 2).mean()
    assert float(out.loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-6)
    out.loss.backward()
    assert obj.mask_token.grad is not None and obj.mask_token.grad.abs().sum() > 0


def test_float_options_are_checked():
    with pytest.raises(ValueError, match='mask_edges=True needs categorical'):
        _make(mask_edges=True)
    enc = build_encoder('gcn', num_layers=2, hidden_channels=16, in_channels=8)
    enc.kwargs.pop('in_channels')
    with pytest.raises(ValueError, match='in_channels'):
        build_objective('attr_masking', enc)


@pytest.mark.parametrize('encoder', ['gin', 'gcn'])
def test_mask_rate_out_of_range_is_named_for_both_input_kinds(encoder):
    enc = build_encoder(encoder, num_layers=1, hidden_channels=8,
                        **({'in_channels': 4} if encoder == 'gcn' else {}))
    with pytest.raises(ValueError, match=r'mask_rate must be in \(0, 1\], got 1.5'):
        build_objective('attr_masking', enc, mask_rate=1.5)
