"""The contract every registered objective must meet (parametrised over the registry).

Objectives that accept OGB atom features run on the shared molecules with the molecular GIN;
objectives whose ``input_kinds`` exclude ``'ogb_atom'`` (the node-level ones) run on a small
float-feature graph with a GCN encoder; objectives that accept both also run on the float
graph when listed in :data:`FLOAT_ALSO`.
"""
import pytest
import torch
from host_reads import host_reads

from graphpfm.datasets import attach_targets
from graphpfm.nn import build_encoder
from graphpfm.objectives import OBJECTIVES, build_objective
from graphpfm.testing import CHECKS

#: small options per objective for fast tests (objectives without an entry use defaults)
TINY_OPTIONS: dict[str, dict] = {'supervised': {'num_tasks': 3},
                                 'grace': {'proj_channels': 32, 'temperature': 0.1},
                                 'bgrl': {'predictor_channels': 32}}
#: combinations ('+' names, built by build_objective) held to the same contract
COMBINATIONS = ['attr_masking+edge_pred+infomax', 'attr_masking+context_pred',
                'attr_masking+descriptor_pred']
NAMES = OBJECTIVES.names() + COMBINATIONS
#: objectives accepting both input kinds that are also held to the contract on a float graph
FLOAT_ALSO = ['graphmae', 'edge_pred', 'attr_masking']


def _molecular(name: str) -> bool:
    return '+' in name or 'ogb_atom' in OBJECTIVES.get(name).input_kinds


#: (name, kind) cases; molecular cases keep their plain ids, float ones of objectives that
#: also run on molecules get a '-float' suffix
CASES = ([pytest.param(n, 'mol', id=n) for n in NAMES if _molecular(n)]
         + [pytest.param(n, 'float', id=n) for n in NAMES if not _molecular(n)]
         + [pytest.param(n, 'float', id=f'{n}-float') for n in FLOAT_ALSO])
#: objectives and float-graph cases that work on the nodes of one graph (seed mini-batches)
NODE_CASES = [n for n in OBJECTIVES.names() if OBJECTIVES.get(n).level == 'node'] + FLOAT_ALSO


@pytest.fixture
def mol_store(mol_store, small_smiles):
    """The shared molecules with 3 learnable binary labels, for 'supervised' (no NaN here:
    ``torch.equal`` below treats NaN as unequal; missing labels are tested on their own), and
    every RDKit target, for the property prediction objectives."""
    n = mol_store.num_nodes.float()
    y = torch.stack([(n > n.median()).float(), (n % 2 == 0).float(),
                     (mol_store.num_edges > 12).float()], dim=1)
    mol_store.y = y
    return attach_targets(mol_store, small_smiles, num_workers=0, progress=False)


def _make(name, seed=0, kind='mol'):
    torch.manual_seed(seed)
    if kind == 'mol':
        enc = build_encoder('gin', num_layers=2, hidden_channels=32)
    else:
        enc = build_encoder('gcn', num_layers=2, hidden_channels=32, in_channels=16)
    return build_objective(name, enc, **TINY_OPTIONS.get(name, {}))


def _batch(kind, request):
    """The batch of a case: all shared molecules collated, or the float graph."""
    if kind == 'mol':
        store = request.getfixturevalue('mol_store')
        return store.collate(range(len(store)))
    return request.getfixturevalue('float_graph')


@pytest.mark.parametrize('check', CHECKS, ids=[c.__name__ for c in CHECKS])
@pytest.mark.parametrize('name,kind', CASES)
def test_contract(name, kind, check, request, tmp_path):
    """The public checks of :mod:`graphpfm.testing`, on every registered objective."""
    batch = _batch(kind, request)
    check(lambda: _make(name, 3, kind), batch)


def _is_log_value(v) -> bool:
    """The logs contract: a detached 0-dim tensor, or a Python number (never a bool)."""
    if isinstance(v, torch.Tensor):
        return v.dim() == 0 and not v.requires_grad and v.is_floating_point()
    return isinstance(v, (int, float)) and not isinstance(v, bool)


#: host reads an objective's model path may make, outside its logs: the supervised loss
#: checks whether any label is observed (graphpfm/nn/losses.py), a loss-path read
LOSS_PATH_READS = {'supervised': {'graphpfm/nn/losses.py'}}


@pytest.mark.parametrize('name,kind', CASES)
def test_logs_are_computed_without_reading_the_device(name, kind, request):
    """:meth:`compute` (the model path of a training step) returns its logs as detached
    0-dim tensors and reads no tensor value back to the host to make them (no ``float()``,
    ``.item()``, ``.tolist()``...: each is a device synchronisation on a GPU)."""
    obj = _make(name, kind=kind).train()
    prepared = obj.prepare(_batch(kind, request), torch.Generator().manual_seed(0))
    with host_reads() as reads:
        out = obj.compute(prepared)
    allowed = LOSS_PATH_READS.get(name, set())
    assert [r for r in reads if r[1] not in allowed] == []
    assert all(_is_log_value(v) for v in out.logs.values()), out.logs
    computed = {k: v for k, v in out.logs.items() if isinstance(v, torch.Tensor)}
    assert computed, 'values computed from tensors must stay tensors'
    for v in computed.values():
        assert v.device == out.loss.device


@pytest.mark.parametrize('name', NODE_CASES)
def test_node_objectives_on_a_seed_minibatch(name, float_minibatch):
    """A NeighborLoader-style mini-batch (``batch_size`` seed nodes first) trains."""
    obj = _make(name, kind='float').train()
    out = obj(float_minibatch, torch.Generator().manual_seed(0))
    assert out.loss.dim() == 0 and torch.isfinite(out.loss)
    out.loss.backward()
    assert sum(float(p.grad.abs().sum()) for p in obj.encoder.parameters()
               if p.grad is not None) > 0


def test_unknown_objective_lists_valid_names():
    with pytest.raises(KeyError, match='attr_masking'):
        build_objective('nope', build_encoder('gin', num_layers=1, hidden_channels=8))


def test_input_kinds_are_enforced():
    # context prediction needs categorical atoms; grace needs float features
    enc = build_encoder('gcn', num_layers=1, hidden_channels=8, in_channels=5)
    with pytest.raises(ValueError, match="input is one of \\('ogb_atom',\\), got 'float'"):
        build_objective('context_pred', enc, k=1)
    with pytest.raises(ValueError, match="got 'ogb_atom'"):
        build_objective('grace', build_encoder('gin', num_layers=1, hidden_channels=8))


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
