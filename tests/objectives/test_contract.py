"""The contract every registered objective must meet (parametrised over the registry)."""
import pytest
import torch

from graphpfm.nn import build_encoder
from graphpfm.objectives import OBJECTIVES, build_objective
from graphpfm.train import load_encoder, save_checkpoint

#: small options per objective for fast tests (objectives without an entry use defaults)
TINY_OPTIONS: dict[str, dict] = {'supervised': {'num_tasks': 3}}
#: combinations ('+' names, built by build_objective) held to the same contract
COMBINATIONS = ['attr_masking+edge_pred+infomax', 'attr_masking+context_pred']
NAMES = OBJECTIVES.names() + COMBINATIONS


@pytest.fixture
def mol_store(mol_store):
    """The shared molecules with 3 learnable binary labels, for 'supervised' (no NaN here:
    ``torch.equal`` below treats NaN as unequal; missing labels are tested on their own)."""
    n = mol_store.num_nodes.float()
    y = torch.stack([(n > n.median()).float(), (n % 2 == 0).float(),
                     (mol_store.num_edges > 12).float()], dim=1)
    mol_store.y = y
    return mol_store


def _make(name, seed=0):
    torch.manual_seed(seed)
    enc = build_encoder('gin', num_layers=2, hidden_channels=32)
    return build_objective(name, enc, **TINY_OPTIONS.get(name, {}))


@pytest.mark.parametrize('name', NAMES)
def test_finite_loss_and_gradient_reaches_encoder(name, mol_store):
    obj = _make(name).train()
    b = mol_store.collate(range(len(mol_store)))
    out = obj(b, torch.Generator().manual_seed(0))
    assert out.loss.dim() == 0 and torch.isfinite(out.loss)
    out.loss.backward()
    grads = [p.grad for p in obj.encoder.parameters() if p.grad is not None]
    assert grads and sum(float(g.abs().sum()) for g in grads) > 0
    assert all(isinstance(v, float) for v in out.logs.values())


@pytest.mark.parametrize('name', NAMES)
def test_same_seed_same_loss(name, mol_store):
    b = mol_store.collate(range(len(mol_store)))
    losses = [float(_make(name, 3).train()(b, torch.Generator().manual_seed(9)).loss.detach())
              for _ in range(2)]
    assert losses[0] == losses[1]


@pytest.mark.parametrize('name', NAMES)
def test_checkpoint_roundtrip_reproduces_embeddings(name, mol_store, tmp_path):
    obj = _make(name)
    b = mol_store.collate(range(len(mol_store)))
    obj.train()(b, torch.Generator().manual_seed(0))  # move batch-norm statistics
    obj.eval()
    save_checkpoint(tmp_path / 'c.pt', obj.encoder, objective=obj.config())
    enc = load_encoder(tmp_path / 'c.pt').eval()
    assert torch.equal(enc(b.x, b.edge_index, edge_attr=b.edge_attr, batch=b.batch), obj.embed(b))
    raw = torch.load(tmp_path / 'c.pt', weights_only=True)
    assert raw['objective']['name'] == name


@pytest.mark.parametrize('name', NAMES)
def test_loss_falls_on_a_fixed_batch(name, mol_store):
    obj = _make(name).train()
    b = mol_store.collate(range(len(mol_store)))
    opt = torch.optim.Adam(obj.parameters(), lr=3e-3)
    first = None
    for step in range(40):
        out = obj(b, torch.Generator().manual_seed(0))  # fixed corruption
        if first is None:
            first = float(out.loss.detach())
        opt.zero_grad()
        out.loss.backward()
        opt.step()
    assert float(out.loss) < 0.5 * first


def test_unknown_objective_lists_valid_names():
    with pytest.raises(KeyError, match='attr_masking'):
        build_objective('nope', build_encoder('gin', num_layers=1, hidden_channels=8))


def test_attr_masking_rejects_float_encoder():
    enc = build_encoder('gcn', num_layers=1, hidden_channels=8, in_channels=5)
    with pytest.raises(ValueError, match='ogb_atom'):
        build_objective('attr_masking', enc)


def test_attr_masking_predicts_from_masked_input(mol_store):
    """The encoder must see the [MASK] token, never the true atom type of a masked atom."""
    obj = _make('attr_masking').eval()
    seen = {}
    orig = obj.encoder.forward

    def spy(x, *a, **k):
        seen['x'] = x
        return orig(x, *a, **k)
    obj.encoder.forward = spy
    b = mol_store.collate(range(len(mol_store)))
    masked = obj.transform(b, torch.Generator().manual_seed(0))
    obj(b, torch.Generator().manual_seed(0))
    assert torch.equal(seen['x'], masked.x)
    assert (seen['x'][masked.masked_atom_mask, 0] == 119).all()


@pytest.mark.parametrize('name', NAMES)
def test_prepare_never_writes_into_the_batch(name, mol_store):
    obj = _make(name).train()
    b = mol_store.collate(range(len(mol_store)))
    before = {k: v.clone() for k, v in b.to_dict().items() if isinstance(v, torch.Tensor)}
    store_x = mol_store.x.clone()
    obj.prepare(b, torch.Generator().manual_seed(0))
    after = b.to_dict()
    assert set(after) == set(before) | {k for k in after if not isinstance(after[k], torch.Tensor)}
    for k, v in before.items():
        assert torch.equal(after[k], v), k
    assert torch.equal(mol_store.x, store_x)


@pytest.mark.parametrize('name', NAMES)
def test_forward_is_compute_of_prepare(name, mol_store):
    obj = _make(name).eval()
    b = mol_store.collate(range(len(mol_store)))
    a = obj(b, torch.Generator().manual_seed(1)).loss
    c = obj.compute(obj.prepare(b, torch.Generator().manual_seed(1))).loss
    assert torch.equal(a, c)
