"""Selecting the pretraining epoch on validation: test labels never read, the best encoder
kept in the checkpoint, the selection resumed with the run."""
import copy

import pytest
import torch
from torch_geometric.data import Data

from graphpfm.datasets import DatasetBundle
from graphpfm.eval import ValidationProbe
from graphpfm.nn import build_encoder
from graphpfm.objectives import build_objective
from graphpfm.train import TrainConfig, Trainer, load_checkpoint

EPOCHS = 8


def _bundle(graph, y=None) -> DatasetBundle:
    perm = torch.randperm(graph.num_nodes, generator=torch.Generator().manual_seed(0))
    split = {'train': perm[:12], 'valid': perm[12:30], 'test': perm[30:]}
    data = Data(x=graph.x, edge_index=graph.edge_index, num_nodes=graph.num_nodes,
                y=graph.y if y is None else y)
    return DatasetBundle(name='toy', dataset=data, split_idx=split, level='node',
                         task_type='multiclass classification', num_tasks=1, eval_metric='acc')


class _Snapshots:
    """Keeps the encoder's weights of every epoch."""

    def __init__(self) -> None:
        self.states: dict[int, dict[str, torch.Tensor]] = {}

    def on_epoch_end(self, trainer, epoch, record) -> None:
        self.states[epoch] = copy.deepcopy(trainer.objective.encoder.state_dict())


class _Stop(Exception):
    pass


class _KillAt:
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, trainer, epoch, record) -> None:
        if epoch == self.epoch:
            raise _Stop


def _fit(bundle, *callbacks, path=None, resume=False):
    """DGI on the graph without its labels (pretraining needs none), the callbacks given."""
    torch.manual_seed(0)
    graph = bundle.dataset
    enc = build_encoder('gcn', num_layers=1, hidden_channels=8, in_channels=graph.num_features,
                        norm=None, act='prelu', act_last=True)
    obj = build_objective('dgi', enc)
    cfg = TrainConfig(epochs=EPOCHS, lr=1e-2, seed=0, progress=False, device='cpu',
                      node_batch_size=0)
    trainer = Trainer(obj, cfg, checkpoint_path=path, callbacks=list(callbacks))
    history = trainer.fit(Data(x=graph.x, edge_index=graph.edge_index,
                               num_nodes=graph.num_nodes), resume=resume)
    return trainer, history


class _Guarded(torch.Tensor):
    """Labels that fail the test when a test row, or the tensor as a whole, is read."""

    test_rows: set[int] = set()
    SAFE = {torch.Tensor.dim, torch.Tensor.size, torch.Tensor.numel, torch.Tensor.__len__,
            torch.Tensor.shape.__get__, torch.Tensor.dtype.__get__, torch.Tensor.device.__get__}

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func is torch.Tensor.__getitem__:
            index = torch.as_tensor(args[1])
            rows = index.nonzero().view(-1) if index.dtype == torch.bool else index.view(-1)
            read = set(rows.tolist()) & cls.test_rows
            assert not read, f'test labels read: rows {sorted(read)[:5]}'
        elif func not in cls.SAFE:
            raise AssertionError(f'the label tensor was used whole ({func})')
        with torch._C.DisableTorchFunctionSubclass():
            return func(*args, **(kwargs or {}))


def test_selection_never_reads_test_labels(community_graph):
    graph = community_graph(num_nodes=60, seed=1)
    clean = _bundle(graph)
    cb = ValidationProbe(clean, every=2)
    _fit(clean, cb)
    assert [e for e, _ in cb.scores] == [2, 4, 6, 8] and cb.best_epoch in (2, 4, 6, 8)

    test = clean.split_idx['test']
    garbage = graph.y.clone()
    garbage[test] = (1 - graph.y[test])  # every test label wrong
    poisoned = ValidationProbe(_bundle(graph, garbage), every=2)
    _fit(_bundle(graph, garbage), poisoned)
    assert poisoned.scores == cb.scores and poisoned.best_epoch == cb.best_epoch
    assert all(torch.equal(poisoned.best_state[k], v) for k, v in cb.best_state.items())

    # labels that fail on any read of a test row or of the whole tensor
    _Guarded.test_rows = set(test.tolist())
    guarded_y = graph.y.clone().as_subclass(_Guarded)
    with pytest.raises(AssertionError, match='test labels read'):
        guarded_y[test[:3]]  # the guard works
    guarded = ValidationProbe(_bundle(graph, guarded_y), every=2)
    _fit(_bundle(graph, guarded_y), guarded)
    assert guarded.scores == cb.scores and guarded.best_epoch == cb.best_epoch


def test_the_checkpoint_holds_the_selected_epochs_encoder(community_graph, tmp_path):
    bundle = _bundle(community_graph(num_nodes=60, seed=2))
    cb, snaps = ValidationProbe(bundle, every=3), _Snapshots()
    trainer, history = _fit(bundle, cb, snaps, path=tmp_path / 'ckpt.pt')
    assert [e for e, _ in cb.scores] == [3, 6, 8]  # every 3 epochs, and the last
    best = max(cb.scores, key=lambda s: s[1])[1]
    assert cb.best_epoch == min(e for e, v in cb.scores if v == best)  # ties: the earlier
    ckpt = load_checkpoint(tmp_path / 'ckpt.pt')
    for k, v in snaps.states[cb.best_epoch].items():
        assert torch.equal(ckpt['encoder_state_dict'][k], v)
        assert torch.equal(trainer.objective.encoder.state_dict()[k], v)
    sel = ckpt['extra']['validation_selection']
    assert sel['best_epoch'] == cb.best_epoch and sel['restored'] is True
    assert sel['metric'] == 'acc' and sel['scores'] == [[e, v] for e, v in cb.scores]
    recorded = {r['epoch']: r['valid_probe'] for r in history if 'valid_probe' in r}
    assert recorded == dict(cb.scores)
    assert history[-1]['valid_probe_best_epoch'] == cb.best_epoch


def test_a_resumed_run_continues_the_selection(community_graph, tmp_path):
    bundle = _bundle(community_graph(num_nodes=60, seed=3))
    whole = ValidationProbe(bundle, every=2)
    _fit(bundle, whole, path=tmp_path / 'a' / 'ckpt.pt')
    first = ValidationProbe(bundle, every=2)
    with pytest.raises(_Stop):
        _fit(bundle, first, _KillAt(5), path=tmp_path / 'b' / 'ckpt.pt')
    again = ValidationProbe(bundle, every=2)
    _fit(bundle, again, _KillAt(0), path=tmp_path / 'b' / 'ckpt.pt', resume=True)
    assert again.scores == whole.scores and again.best_epoch == whole.best_epoch
    a = load_checkpoint(tmp_path / 'a' / 'ckpt.pt')['encoder_state_dict']
    b = load_checkpoint(tmp_path / 'b' / 'ckpt.pt')['encoder_state_dict']
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_it_refuses_data_it_cannot_select_on(community_graph):
    bundle = _bundle(community_graph(num_nodes=20))
    with pytest.raises(ValueError, match='every must be >= 1'):
        ValidationProbe(bundle, every=0)
    unlabelled = DatasetBundle(name='raw', dataset=bundle.dataset, level='node')
    with pytest.raises(ValueError, match="'train' and 'valid' splits"):
        ValidationProbe(unlabelled)
    with pytest.raises(ValueError, match='node-level'):
        ValidationProbe(DatasetBundle(name='mols', dataset=[], level='graph'))
