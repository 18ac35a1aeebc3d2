"""Mixed precision in the Trainer: bf16 autocast on CPU trains, fp32 state and checkpoints."""
import pytest
import torch

from graphpfm.nn import build_encoder
from graphpfm.objectives import build_objective
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
