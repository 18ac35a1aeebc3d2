"""Adding an objective is one class plus its registry line: a toy objective registered at run
time meets the public contract, shows in ``graphpfm list``, pretrains from the command line and
joins the transfer benchmark's profiles, with nothing else edited."""
import pytest
import torch
from torch_geometric.utils import degree

from graphpfm.cli import run
from graphpfm.nn import build_encoder
from graphpfm.objectives import OBJECTIVES, Objective, ObjectiveOutput, build_objective
from graphpfm.testing import check_objective

NAME = 'toy_degree_pred'


class DegreePred(Objective):
    r"""Predict each atom's degree from its embedding (a toy objective).

    Args:
        encoder (Encoder): any encoder.
        scale (float): divides the degree. (default: :obj:`1.0`)
    """

    def __init__(self, encoder, scale: float = 1.0) -> None:
        super().__init__(encoder, scale=scale)
        self.head = torch.nn.Linear(encoder.out_channels, 1)

    def compute(self, prepared):
        h = self.encode(prepared)
        target = degree(prepared.edge_index[0], prepared.num_nodes) / self.kwargs['scale']
        loss = (self.head(h).squeeze(-1) - target).pow(2).mean()
        return ObjectiveOutput(loss, {'mse': loss.detach()})


@pytest.fixture
def toy():
    OBJECTIVES.register(NAME)(DegreePred)
    yield NAME
    OBJECTIVES.unregister(NAME)


def test_a_registered_objective_meets_the_contract_and_runs_everywhere(toy, mol_store, tmp_path,
                                                                       small_smiles, capsys):
    batch = mol_store.collate(range(len(mol_store)))

    def make():
        torch.manual_seed(0)
        return build_objective(toy, build_encoder('gin', num_layers=2, hidden_channels=16))
    check_objective(make, batch)

    listed = run(['list'])
    assert toy in listed['objectives'] and 'scale=1.0' in capsys.readouterr().out

    corpus = tmp_path / 'c.smi'
    corpus.write_text('\n'.join(small_smiles) + '\n')
    ckpt = run(['pretrain', '--dataset', str(corpus), '--objective', toy, '--scale', '2',
                '--epochs', '1', '--batch-size', '8', '--featurize-workers', '0',
                '--num-layers', '2', '--hidden-channels', '16', '--no-progress',
                '--out', str(tmp_path / 'run')])
    raw = torch.load(ckpt, weights_only=True)
    assert raw['objective'] == {'name': toy, 'kwargs': {'scale': 2.0}}

    from benchmarks.transfer import PROFILES, Protocol
    assert toy in Protocol(**PROFILES['quick']).objectives


def test_a_failing_objective_is_named_by_the_contract(mol_store):
    class Broken(DegreePred):
        def compute(self, prepared):
            out = super().compute(prepared)
            return ObjectiveOutput(out.loss * float('nan'), out.logs)

    batch = mol_store.collate(range(4))
    with pytest.raises(AssertionError, match='finite scalar'):
        check_objective(lambda: Broken(build_encoder('gin', num_layers=1, hidden_channels=8)),
                        batch)
