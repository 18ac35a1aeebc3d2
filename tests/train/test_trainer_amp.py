"""Mixed precision in the Trainer: bf16 autocast on CPU trains, fp32 state and checkpoints."""
import pytest
import torch

from graphpfm.datasets import attach_targets
from graphpfm.nn import build_encoder
from graphpfm.objectives import OBJECTIVES, build_objective
from graphpfm.train import TrainConfig, Trainer, load_checkpoint
from graphpfm.train.trainer import autocast_context


def _objective():
    torch.manual_seed(0)
    return build_objective('attr_masking', build_encoder('gin', num_layers=2, hidden_channels=32))


def test_bf16_runs_in_bfloat16_and_keeps_float32_state(mol_store, tmp_path):
    obj = _objective()
    seen = []
    handle = obj.atom_head.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    cfg = TrainConfig(epochs=4, batch_size=8, lr=1e-2, amp='bf16', device='cpu', progress=False)
    hist = Trainer(obj, cfg, checkpoint_path=tmp_path / 'c.pt').fit(mol_store)
    handle.remove()
    assert seen and all(d == torch.bfloat16 for d in seen)  # the matmuls ran in bf16
    assert all(p.dtype == torch.float32 for p in obj.parameters())
    assert hist[-1]['loss'] < hist[0]['loss']
    ckpt = load_checkpoint(tmp_path / 'c.pt')
    assert all(t.dtype == torch.float32 for t in ckpt['encoder_state_dict'].values()
               if t.is_floating_point())


def test_bf16_loss_close_to_float32(mol_store):
    b = mol_store.collate(range(len(mol_store)))
    obj = _objective().train()
    fp32 = obj(b, torch.Generator().manual_seed(0)).loss.item()
    with autocast_context(torch.device('cpu'), 'bf16'):
        bf16 = obj(b, torch.Generator().manual_seed(0)).loss.item()
    assert bf16 == pytest.approx(fp32, rel=0.05) and bf16 != fp32


def test_amp_options_are_checked():
    with pytest.raises(ValueError, match="amp 'fp8' invalid; valid options: None, bf16, fp16"):
        TrainConfig(amp='fp8')
    with pytest.raises(ValueError, match="needs a CUDA device"):
        autocast_context(torch.device('cpu'), 'fp16')


#: the registered graph-level objectives, on the shared molecules
GRAPH_OBJECTIVES = [n for n in OBJECTIVES.names() if OBJECTIVES.get(n).level == 'graph']


@pytest.fixture
def labelled_store(mol_store, small_smiles):
    """The shared molecules with 3 binary labels (for 'supervised') and every RDKit target."""
    n = mol_store.num_nodes.float()
    mol_store.y = torch.stack([(n > n.median()).float(), (n % 2 == 0).float(),
                               (mol_store.num_edges > 12).float()], dim=1)
    return attach_targets(mol_store, small_smiles, num_workers=0, progress=False)


def _cosine(a: list, b: list) -> float:
    a, b = torch.cat([g.flatten() for g in a]), torch.cat([g.flatten() for g in b])
    return float(a @ b / (a.norm() * b.norm()))


@pytest.mark.parametrize('name', GRAPH_OBJECTIVES)
def test_bf16_step_close_to_float32(labelled_store, name):
    """One step of every graph-level objective on the same batch and corruption: the bf16
    loss is float32's up to bf16 rounding, the encoder ran in bf16, the gradients are finite,
    float32 and point where float32's do; the parameters stay float32."""
    torch.manual_seed(0)
    options = {'num_tasks': 3} if name == 'supervised' else {}
    obj = build_objective(name, build_encoder('gin', num_layers=2, hidden_channels=32),
                          **options).train()
    batch = labelled_store.collate(range(len(labelled_store)))
    seen: dict = {}
    obj.encoder.convs[0].mlp.register_forward_pre_hook(
        lambda m, a: seen.setdefault(amp, set()).add(a[0].dtype))
    losses, grads = {}, {}
    for amp in (None, 'bf16'):
        obj.zero_grad()
        with autocast_context(torch.device('cpu'), amp):
            loss = obj(batch, torch.Generator().manual_seed(0)).loss
        loss.float().backward()
        losses[amp] = loss.item()
        grads[amp] = [p.grad for p in obj.parameters() if p.grad is not None]
    assert seen == {None: {torch.float32}, 'bf16': {torch.bfloat16}}
    assert losses['bf16'] == pytest.approx(losses[None], rel=0.05)
    assert all(g.dtype == torch.float32 and torch.isfinite(g).all() for g in grads['bf16'])
    assert len(grads['bf16']) == len(grads[None]) and _cosine(grads['bf16'], grads[None]) > 0.95
    assert all(p.dtype == torch.float32 for p in obj.parameters())
