"""Combined objectives: one shared encoder, weighted sum, config round trip."""
import pytest
import torch

from graphpfm.nn import build_encoder
from graphpfm.objectives import Combined, build_objective

NAME = 'attr_masking+edge_pred+infomax'


def _enc():
    torch.manual_seed(0)
    return build_encoder('gin', num_layers=2, hidden_channels=16)


def test_loss_is_the_weighted_sum_of_the_parts(mol_store):
    obj = build_objective(NAME, _enc(), weights=[1.0, 0.5, 2.0]).train()
    assert all(p.encoder is obj.encoder for p in obj.parts.values())
    b = mol_store.collate(range(len(mol_store)))
    out = obj(b, torch.Generator().manual_seed(5))
    # the parts consume one generator in order: replaying that order gives the same losses
    gen = torch.Generator().manual_seed(5)
    prepared = [obj.parts[n].prepare(b, gen) for n in obj.names]
    parts = [obj.parts[n].compute(p).loss for n, p in zip(obj.names, prepared)]
    want = parts[0] + 0.5 * parts[1] + 2.0 * parts[2]
    assert torch.allclose(out.loss, want)
    for name, loss in zip(obj.names, parts):
        assert out.logs[f'{name}/loss'] == pytest.approx(loss.item())
    assert 'attr_masking/atom_acc' in out.logs and 'edge_pred/auc' in out.logs
    # a fresh generator per part is a different draw for every part after the first
    fresh = obj.parts['edge_pred'](b, torch.Generator().manual_seed(5)).loss
    assert not torch.allclose(fresh, parts[1])


def test_config_round_trip_and_state_dict(mol_store):
    obj = build_objective('attr_masking+edge_pred', _enc(), weights=[1, 0.5],
                          options={'attr_masking': {'mask_rate': 0.3}})
    cfg = obj.config()
    assert cfg == {'name': 'attr_masking+edge_pred', 'kwargs': {
        'weights': [1.0, 0.5], 'options': {'attr_masking': {'mask_rate': 0.3, 'mask_edges': False},
                                           'edge_pred': {'neg_ratio': 1.0}}}}
    again = build_objective(cfg['name'], build_encoder('gin', num_layers=2, hidden_channels=16),
                            **cfg['kwargs'])
    assert again.config() == cfg
    state = obj.state_dict()
    assert not any('.encoder.' in k and k.startswith('parts.') for k in state)
    again.load_state_dict(state, strict=True)
    b = mol_store.collate(range(4))
    obj.eval(), again.eval()
    assert torch.equal(obj.embed(b), again.embed(b))
    assert torch.equal(obj(b, torch.Generator().manual_seed(0)).loss,
                       again(b, torch.Generator().manual_seed(0)).loss)
    obj.chain = [{'objective': {'name': 'infomax', 'kwargs': {}}, 'data': {}, 'path': 'x.pt'}]
    assert obj.config()['chain'][0]['objective']['name'] == 'infomax'


def test_errors_list_valid_options():
    with pytest.raises(KeyError, match='attr_masking'):
        build_objective('attr_masking+nope', _enc())
    with pytest.raises(ValueError, match='once'):
        build_objective('edge_pred+edge_pred', _enc())
    with pytest.raises(ValueError, match='one weight per objective'):
        build_objective('edge_pred+infomax', _enc(), weights=[1.0])
    with pytest.raises(ValueError, match='valid options: edge_pred, infomax'):
        build_objective('edge_pred+infomax', _enc(), options={'attr_masking': {}})
    with pytest.raises(ValueError, match='at least two'):
        Combined(_enc(), ['edge_pred'])


def test_flat_options_go_to_every_part_that_takes_them():
    from graphpfm import build_encoder
    from graphpfm.errors import ConfigError
    from graphpfm.objectives import build_objective, route_options
    assert route_options('attr_masking', {'mask_rate': 0.3}) == {'mask_rate': 0.3}
    kwargs = route_options('attr_masking+graphmae+edge_pred',
                           {'mask_rate': 0.3, 'gamma': 2.0}, [1, 0.5, 2])
    assert kwargs == {'options': {'attr_masking': {'mask_rate': 0.3},
                                  'graphmae': {'mask_rate': 0.3, 'gamma': 2.0}},
                      'weights': [1, 0.5, 2]}
    built = build_objective('attr_masking+graphmae+edge_pred',
                            build_encoder('gin', num_layers=2, hidden_channels=16), **kwargs)
    assert built.config()['kwargs']['options']['graphmae']['gamma'] == 2.0
    assert built.config()['kwargs']['options']['attr_masking']['mask_rate'] == 0.3
    with pytest.raises(ConfigError, match=r"--gamma does not apply to objective 'edge_pred'; "
                                          r'its options: neg_ratio'):
        route_options('edge_pred', {'gamma': 2.0})
    with pytest.raises(ConfigError, match='applies to a combination of objectives'):
        route_options('edge_pred', {}, [1.0])
