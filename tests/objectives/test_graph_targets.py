"""Graph property prediction objectives: their losses by hand, masks, errors."""
import pytest
import torch

from graphpfm.datasets import attach_targets
from graphpfm.nn import build_encoder
from graphpfm.nn.losses import finite_mse, row_masked_bce_with_logits
from graphpfm.objectives import build_objective, required_targets


def test_finite_mse_by_hand_and_sign():
    pred = torch.tensor([[1.0, 2.0], [0.0, 5.0]])
    target = torch.tensor([[0.0, float('nan')], [2.0, float('inf')]])
    assert finite_mse(pred, target).item() == pytest.approx((1 + 4) / 2)
    closer = torch.tensor([[0.5, 2.0], [1.0, 5.0]])
    assert finite_mse(closer, target) < finite_mse(pred, target)
    nothing = finite_mse(pred.requires_grad_(), torch.full((2, 2), float('nan')))
    assert nothing.item() == 0.0 and nothing.requires_grad


def test_row_masked_bce_ignores_unmarked_rows():
    logits = torch.tensor([[2.0, -1.0], [0.5, 0.5]])
    target = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    rows = torch.tensor([True, False])
    want = torch.nn.functional.binary_cross_entropy_with_logits(logits[:1], target[:1])
    assert row_masked_bce_with_logits(logits, target, rows).item() == pytest.approx(want.item())
    flipped = target.clone()
    flipped[1] = 0.0
    assert torch.equal(row_masked_bce_with_logits(logits, flipped, rows),
                       row_masked_bce_with_logits(logits, target, rows))


@pytest.fixture
def target_batch(mol_store, small_smiles):
    store = attach_targets(mol_store, small_smiles, num_workers=0, progress=False)
    return store.collate(range(len(store)))


def _objective(name, **kw):
    torch.manual_seed(0)
    return build_objective(name, build_encoder('gin', num_layers=2, hidden_channels=16), **kw)


def test_descriptor_loss_is_the_finite_mse_of_the_head(target_batch):
    obj = _objective('descriptor_pred').eval()
    assert torch.isnan(target_batch.descriptors).any()  # columns constant on 16 molecules
    out = obj(target_batch)
    g = obj._pool(obj.encode(target_batch), target_batch.batch, size=target_batch.num_graphs)
    want = finite_mse(obj.head(g), target_batch.descriptors)
    assert torch.isfinite(out.loss) and out.loss.item() == pytest.approx(want.item(), rel=1e-6)


@pytest.mark.parametrize('name,attr', [('motif_pred', 'motif'), ('fingerprint_pred', 'ecfp4')])
def test_bit_targets_of_unreadable_molecules_do_not_count(name, attr, target_batch):
    obj = _objective(name).eval()
    ok = torch.ones(target_batch.num_graphs, dtype=torch.bool)
    ok[3] = False
    b = target_batch.clone()
    b.targets_ok = ok
    base = obj(b).loss
    changed = b.clone()
    changed[attr] = changed[attr].clone()
    changed[attr][3] = 1 - changed[attr][3]
    assert torch.equal(obj(changed).loss, base)
    changed[attr][4] = 1 - changed[attr][4]
    assert not torch.equal(obj(changed).loss, base)


def test_missing_or_misshapen_targets_are_clear_errors(mol_store):
    b = mol_store.collate(range(4))
    with pytest.raises(ValueError, match=r"targets=\['descriptors'\]"):
        _objective('descriptor_pred')(b)
    b.motif = torch.zeros(4, 7)
    with pytest.raises(ValueError, match=r'expects \[num_graphs=4, 85\]'):
        _objective('motif_pred')(b)


def test_width_and_head_options_are_recorded_and_checked():
    obj = _objective('fingerprint_pred', head_layers=1)
    assert obj.config()['kwargs'] == {'num_targets': 1024, 'pool': 'mean', 'head_layers': 1}
    assert isinstance(obj.head, torch.nn.Linear)
    with pytest.raises(ValueError, match='head_layers must be 1 or 2'):
        _objective('motif_pred', head_layers=3)
    assert required_targets('attr_masking+descriptor_pred+motif_pred') == ['descriptors',
                                                                           'motif']
    assert required_targets('graphcl') == []


def test_loss_falls_as_predictions_approach_the_descriptors(target_batch):
    obj = _objective('descriptor_pred').train()
    opt = torch.optim.Adam(obj.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        loss = obj(target_batch).loss
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert losses[-1] < 0.5 * losses[0]
