import pytest
import torch

from graphpfm.data.ogb_features import atom_feature_dims, bond_feature_dims
from graphpfm.transforms import MaskAtoms, sample_per_graph


def test_masks_the_right_count_per_graph(mol_store):
    b = mol_store.collate(range(len(mol_store)))
    out = MaskAtoms(0.15)(b, torch.Generator().manual_seed(0))
    n = mol_store.num_nodes
    expected = torch.clamp(torch.round(n.double() * 0.15).long(), min=1)
    got = torch.bincount(b.batch[out.masked_atom_mask], minlength=len(mol_store))
    assert torch.equal(got, expected)
    assert (got >= 1).all()


def test_masked_rows_are_tokens_and_labels_are_originals(mol_store):
    b = mol_store.collate(range(len(mol_store)))
    out = MaskAtoms(0.3)(b, torch.Generator().manual_seed(1))
    m = out.masked_atom_mask
    assert (out.x[m] == torch.tensor(atom_feature_dims())).all()
    assert torch.equal(out.x[~m], b.x[~m])
    assert torch.equal(out.masked_atom_label, b.x[m, 0])


def test_never_writes_into_input_or_store(mol_store):
    x_store = mol_store.x.clone()
    ea_store = mol_store.edge_attr.clone()
    b = mol_store.collate(range(len(mol_store)))
    x_before, ea_before = b.x.clone(), b.edge_attr.clone()
    out = MaskAtoms(0.5, mask_edges=True)(b, torch.Generator().manual_seed(2))
    assert out.x.data_ptr() != b.x.data_ptr()
    assert torch.equal(b.x, x_before) and torch.equal(b.edge_attr, ea_before)
    assert torch.equal(mol_store.x, x_store) and torch.equal(mol_store.edge_attr, ea_store)
    assert not hasattr(b, 'masked_atom_mask')


def test_edge_masking(mol_store):
    b = mol_store.collate(range(len(mol_store)))
    out = MaskAtoms(0.2, mask_edges=True)(b, torch.Generator().manual_seed(3))
    src, dst = b.edge_index
    touching = out.masked_atom_mask[src] | out.masked_atom_mask[dst]
    assert torch.equal(out.masked_bond_mask, touching)
    assert (out.edge_attr[touching] == torch.tensor(bond_feature_dims())).all()
    assert torch.equal(out.edge_attr[~touching], b.edge_attr[~touching])
    # one label per masked bond (both directions present in the batch)
    assert out.masked_bond_label.numel() * 2 == int(touching.sum())


def test_same_generator_same_mask_and_distribution(mol_store):
    b = mol_store.collate(range(len(mol_store)))
    t = MaskAtoms(0.15)
    m1 = t(b, torch.Generator().manual_seed(5)).masked_atom_mask
    m2 = t(b, torch.Generator().manual_seed(5)).masked_atom_mask
    assert torch.equal(m1, m2)
    # uniform within a graph: every atom of the largest molecule gets masked sometimes
    g = int(torch.argmax(mol_store.num_nodes))
    gen = torch.Generator().manual_seed(0)
    hits = torch.zeros(int(mol_store.num_nodes[g]))
    for _ in range(400):
        m = t(b, gen).masked_atom_mask[b.batch == g]
        hits += m.float()
    freq = hits / 400
    assert (freq > 0.05).all() and (freq < 0.3).all()


def test_sample_per_graph_handles_rate_one_and_validates():
    batch_vec = torch.tensor([0, 0, 1, 1, 1])
    assert sample_per_graph(batch_vec, 2, 1.0).all()
    with pytest.raises(ValueError):
        MaskAtoms(0.0)
