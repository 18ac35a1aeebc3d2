"""Device-dependent code paths on every available device (the ``device`` fixture: ``'cpu'``
always, ``'cuda'`` where torch sees a GPU; CI generates the CPU cases only, never a skipped
CUDA case). ``benchmarks/gpu_check.sh`` runs ``pytest -m device`` on a GPU machine.

The molecules are fake OGB-shaped graphs (categorical features drawn inside OGB's
vocabularies, a ring of bonds) so that nothing here needs RDKit: the GPU image has none.

Tolerances: the same weights on the same device give the same embeddings exactly on the CPU;
across devices (a checkpoint written from CUDA, reloaded on the CPU) and on CUDA itself (its
scatter-add sums in a non-deterministic order) float32 results agree to ``rtol=1e-4``,
``atol=1e-5``. CUDA float32 matmuls do not use TF32 unless asked to (PyTorch's default).
"""
from __future__ import annotations

import math

import pytest
import torch
from devices import available_devices
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

from graphpfm.data import GraphStore, NeighborLoader
from graphpfm.data.ogb_features import atom_feature_dims, bond_feature_dims
from graphpfm.datasets import DatasetBundle
from graphpfm.eval import (
    Evaluator,
    FinetuneConfig,
    ProbeConfig,
    embed_graphs,
    embed_nodes,
    finetune,
    probe,
)
from graphpfm.eval.finetune import select_best_epoch
from graphpfm.nn import build_encoder
from graphpfm.objectives import build_objective
from graphpfm.train import TrainConfig, Trainer, load_checkpoint, load_encoder

CROSS_DEVICE = dict(rtol=1e-4, atol=1e-5)


def _close(device: str) -> dict:
    """Exact on the CPU, :data:`CROSS_DEVICE` where a CUDA computation is involved."""
    return dict(rtol=0.0, atol=0.0) if device == 'cpu' else CROSS_DEVICE


def fake_molecules(num_graphs: int = 24, seed: int = 0, labels: bool = False) -> GraphStore:
    """``num_graphs`` OGB-shaped molecules of 4 to 11 atoms: a ring of bonds (both
    directions), atom and bond features drawn inside OGB's vocabularies; with ``labels``, one
    binary task (alternating, so every split holds both classes)."""
    g = torch.Generator().manual_seed(seed)
    graphs = []
    for _ in range(num_graphs):
        n = int(torch.randint(4, 12, (1,), generator=g))
        src = torch.arange(n)
        dst = (src + 1) % n
        x = torch.stack([torch.randint(0, d, (n,), generator=g) for d in atom_feature_dims()], 1)
        bonds = torch.stack([torch.randint(0, d, (n,), generator=g)
                             for d in bond_feature_dims()], 1)
        graphs.append({'node_feat': x.numpy(),
                       'edge_index': torch.stack([torch.cat([src, dst]),
                                                  torch.cat([dst, src])]).numpy(),
                       'edge_feat': torch.cat([bonds, bonds]).numpy(), 'num_nodes': n})
    y = (torch.arange(num_graphs) % 2).float().view(-1, 1) if labels else None
    return GraphStore.from_graphs(graphs, y=y)


def _objective(name: str = 'attr_masking'):
    torch.manual_seed(0)
    return build_objective(name, build_encoder('gin', num_layers=2, hidden_channels=32))


def _on(t: torch.Tensor, device: str) -> bool:
    return t.device.type == torch.device(device).type


# ------------------------------------------------------------------ batches on the device
def test_collated_batch_and_its_corruption_land_on_the_device(device):
    store = fake_molecules()
    objective = _objective()
    trainer = Trainer(objective, TrainConfig(batch_size=8, device=device, progress=False))
    batch = next(iter(trainer.make_loader(store)))  # the Trainer's own loader
    tensors = ('x', 'edge_index', 'edge_attr', 'batch', 'ptr')
    assert all(_on(batch[k], 'cpu') for k in tensors)
    if device == 'cuda':  # the loader pins host memory so the copy can overlap
        assert all(batch[k].is_pinned() for k in tensors)
    host = {k: batch[k].clone() for k in tensors}
    moved = batch.to(device, non_blocking=True)  # (PyG moves in place, as the Trainer does)
    for k in tensors:  # on the device, with the same values
        assert _on(moved[k], device) and torch.equal(moved[k].cpu(), host[k])
    objective.to(device)
    masked = objective.prepare(moved, torch.Generator(device=device).manual_seed(0))
    for k in ('x', 'masked_atom_mask', 'masked_atom_label'):
        assert _on(masked[k], device)
    n_masked = int(masked.masked_atom_mask.sum())
    assert moved.num_graphs <= n_masked < moved.num_nodes  # >= 1 atom per molecule
    assert torch.equal(masked.masked_atom_label.cpu(),
                       host['x'][masked.masked_atom_mask.cpu(), 0])


# ------------------------------------------------------------------ pretraining, checkpoints
def test_pretraining_on_device_and_its_checkpoint_reloaded_on_cpu(device, tmp_path):
    store = fake_molecules()
    objective = _objective()
    cfg = TrainConfig(epochs=4, batch_size=8, lr=1e-2, device=device, progress=False)
    hist = Trainer(objective, cfg, checkpoint_path=tmp_path / 'c.pt').fit(store)
    losses = [h['loss'] for h in hist]
    assert all(math.isfinite(v) for v in losses) and losses[-1] < losses[0]
    assert all(_on(p, device) for p in objective.parameters())
    ckpt = load_checkpoint(tmp_path / 'c.pt')  # map_location='cpu'
    assert all(_on(t, 'cpu') for t in ckpt['encoder_state_dict'].values())
    on_device, _ = embed_graphs(objective.encoder, store, device)
    on_cpu, _ = embed_graphs(load_encoder(tmp_path / 'c.pt'), store, 'cpu')
    torch.testing.assert_close(on_cpu, on_device, **_close(device))
    back = load_encoder(tmp_path / 'c.pt', map_location=device)  # and onto the device again
    assert all(_on(p, device) for p in back.parameters())
    torch.testing.assert_close(embed_graphs(back, store, device)[0], on_device,
                               **_close(device))


def _amp_cases() -> list:
    cases = [pytest.param(d, 'bf16', marks=pytest.mark.device, id=f'{d}-bf16')
             for d in available_devices()]
    if 'cuda' in available_devices():  # float16 with loss scaling is CUDA-only
        cases.append(pytest.param('cuda', 'fp16', marks=pytest.mark.device, id='cuda-fp16'))
    return cases


@pytest.mark.parametrize('device,amp', _amp_cases())
def test_autocast_on_device_keeps_float32_parameters(device, amp, tmp_path):
    objective = _objective()
    seen = []
    handle = objective.atom_head.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    cfg = TrainConfig(epochs=3, batch_size=8, lr=1e-2, amp=amp, device=device, progress=False)
    hist = Trainer(objective, cfg, checkpoint_path=tmp_path / 'c.pt').fit(fake_molecules())
    handle.remove()
    low = torch.bfloat16 if amp == 'bf16' else torch.float16
    assert seen and all(d == low for d in seen)  # the head's matmul ran in low precision
    assert all(math.isfinite(h['loss']) for h in hist)
    assert all(p.dtype == torch.float32 and _on(p, device) for p in objective.parameters())
    ckpt = load_checkpoint(tmp_path / 'c.pt')
    assert all(t.dtype == torch.float32 for t in ckpt['encoder_state_dict'].values()
               if t.is_floating_point())


# ------------------------------------------------------------------ fine-tuning and probing
def _labelled_bundle() -> DatasetBundle:
    store = fake_molecules(32, seed=1, labels=True)
    split_idx = {'train': torch.arange(20), 'valid': torch.arange(20, 26),
                 'test': torch.arange(26, 32)}
    return DatasetBundle(name='fake-mol', dataset=store, split_idx=split_idx,
                         task_type='binary classification', num_tasks=1, eval_metric='rocauc')


class _ScriptedEvaluator:
    """Preset scores per split (valid and test told apart by call order), epoch after epoch."""

    metric, higher_is_better = 'rocauc', True

    def __init__(self, valid: list[float], test: list[float]) -> None:
        self.scores, self.calls = [valid, test], 0

    def eval(self, d: dict) -> dict:
        split, epoch = self.calls % 2, self.calls // 2
        self.calls += 1
        return {'rocauc': self.scores[split][epoch % len(self.scores[split])]}


def test_finetuning_on_device_selects_the_best_validation_epoch(device):
    bundle = _labelled_bundle()
    built = []

    def make_encoder(seed: int):
        built.append(build_encoder('gin', num_layers=2, hidden_channels=16))
        return built[-1]

    cfg = FinetuneConfig(epochs=3, batch_size=8, seeds=(0,), device=device)
    scripted = finetune(bundle, make_encoder, cfg,
                        evaluator=_ScriptedEvaluator([0.6, 0.8, 0.8], [0.9, 0.55, 0.95]))
    run = scripted.runs[0]  # best valid 0.8 first at epoch 2 (tie: the earlier); not best test
    assert (run['best_epoch'], run['best_valid'], run['test_at_best_valid']) == (2, 0.8, 0.55)
    assert all(_on(p, device) for p in built[-1].parameters())
    real = finetune(bundle, make_encoder, cfg, evaluator=Evaluator(metric='rocauc'))
    run = real.runs[0]
    curves = run['curves']
    best = select_best_epoch(curves['valid'], higher_is_better=True)
    assert run['best_epoch'] == curves['epoch'][best]
    assert run['test_at_best_valid'] == curves['test'][best]
    assert all(math.isfinite(v) for v in curves['train_loss'] + curves['valid'] + curves['test'])


def test_probe_on_device_embeds_like_the_cpu(device):
    bundle = _labelled_bundle()

    def make_encoder(seed: int):
        torch.manual_seed(seed)
        return build_encoder('gin', num_layers=2, hidden_channels=16)

    on_cpu, y = embed_graphs(make_encoder(0), bundle.dataset, 'cpu', batch_size=8)
    on_device, y_device = embed_graphs(make_encoder(0), bundle.dataset, device, batch_size=8)
    assert _on(on_device, 'cpu') and torch.equal(y, y_device)  # returned on the host
    torch.testing.assert_close(on_device, on_cpu, **CROSS_DEVICE)
    res = probe(bundle, make_encoder, config=ProbeConfig(seeds=(0,), Cs=(0.1, 1.0),
                                                         device=device))
    assert res.runs[0]['best_C'] in (0.1, 1.0) and math.isfinite(res.mean)


# ------------------------------------------------------------------ one large graph, sampled
def _community_graph(n: int = 48, f: int = 8) -> Data:
    g = torch.Generator().manual_seed(0)
    y = (torch.arange(n) >= n // 2).long()
    prob = torch.where(y.view(-1, 1) == y.view(1, -1), 0.3, 0.02)
    upper = torch.triu(torch.rand(n, n, generator=g) < prob, diagonal=1)
    x = torch.randn(2, f, generator=g)[y] + 0.5 * torch.randn(n, f, generator=g)
    return Data(x=x, edge_index=to_undirected(upper.nonzero().t(), num_nodes=n), y=y,
                num_nodes=n)


def test_neighbour_sampling_and_node_pretraining_on_device(device):
    data = _community_graph()
    # sampling runs where the graph is: a graph on the device gives batches on the device
    loader = NeighborLoader(data.clone().to(device), [3, 3], batch_size=10,
                            generator=torch.Generator(device=device).manual_seed(0))
    edges = set(map(tuple, data.edge_index.t().tolist()))
    seen = 0
    for batch in loader:
        assert all(_on(batch[k], device) for k in ('x', 'edge_index', 'n_id', 'y'))
        glob = batch.n_id[batch.edge_index].cpu()  # sampled edges in global ids
        assert set(map(tuple, glob.t().tolist())) <= edges
        seen += batch.batch_size
    assert seen == data.num_nodes  # every node a seed once
    torch.manual_seed(0)
    encoder = build_encoder('gcn', num_layers=2, hidden_channels=16, in_channels=8)
    objective = build_objective('grace', encoder)
    cfg = TrainConfig(epochs=2, lr=1e-2, device=device, progress=False, node_batch_size=16,
                      num_neighbors=[5, 5])
    hist = Trainer(objective, cfg).fit(data)  # the caller's graph stays on the CPU
    assert _on(data.x, 'cpu') and all(_on(p, device) for p in objective.parameters())
    assert all(math.isfinite(h['loss']) and h['nodes'] == data.num_nodes for h in hist)
    full_cpu = embed_nodes(encoder, data, 'cpu')
    mini_device = embed_nodes(encoder, data, device, batch_size=16)  # all neighbours: exact
    torch.testing.assert_close(mini_device, full_cpu, **CROSS_DEVICE)
