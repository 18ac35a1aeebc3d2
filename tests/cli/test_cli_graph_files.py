"""networkx graph files on the command line: pretrain, probe and embed at both levels."""
import json

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import torch
from ogb.utils import smiles2graph

from graphpfm.cli import CommandError, run
from graphpfm.datasets import from_graphs
from graphpfm.train import load_encoder

TINY = ['--num-layers', '2', '--hidden-channels', '16', '--no-progress', '--device', 'cpu']
SMILES = ['CCO', 'c1ccccc1O', 'CC(=O)Nc1ccc(O)cc1', 'C1CCNCC1', 'OC(=O)CCC(N)C(=O)O', 'CCN(CC)CC']


def _molecule(smiles):
    g = smiles2graph(smiles)
    G = nx.Graph()
    G.add_nodes_from((i, {'atom_features': row.tolist()}) for i, row in
                     enumerate(g['node_feat']))
    for k in range(0, g['edge_index'].shape[1], 2):
        G.add_edge(*g['edge_index'][:, k].tolist(), bond_features=g['edge_feat'][k].tolist())
    return G


def _write(path, graphs):
    path.write_text(json.dumps([nx.node_link_data(G, edges='edges') for G in graphs]))
    return path


def test_molecule_graph_file_pretrains_and_embeds_one_row_per_graph(tmp_path):
    graphs = [_molecule(s) for s in SMILES]
    path = _write(tmp_path / 'mols.json', graphs)
    ckpt = run(['pretrain', '--dataset', str(path), '--epochs', '1', '--batch-size', '3',
                '--out', str(tmp_path / 'run'), *TINY])
    out = tmp_path / 'emb.npy'
    run(['embed', '--checkpoint', str(ckpt), '--input', str(path), '--output', str(out),
         '--device', 'cpu', '--no-progress'])
    emb = np.load(out)
    assert emb.shape == (len(SMILES), 16)
    # row i is graph i's mean-pooled embedding
    enc = load_encoder(ckpt).eval()
    store = from_graphs(graphs).dataset
    with torch.no_grad():
        for i in (0, 4):
            b = store.collate([i])
            ref = enc(b.x, b.edge_index, edge_attr=b.edge_attr, batch=b.batch).mean(0)
            assert np.allclose(emb[i], ref.numpy(), atol=1e-5)
    rows = pd.read_csv(out.with_suffix('.rows.csv'))
    assert rows['index'].tolist() == list(range(len(SMILES))) and rows['valid'].all()
    # a file of one molecule (atom features, not float x) is one graph-level row
    one = _write(tmp_path / 'one.json', graphs[2:3])
    run(['embed', '--checkpoint', str(ckpt), '--input', str(one), '--output',
         str(tmp_path / 'one.npy'), '--device', 'cpu', '--no-progress'])
    assert np.allclose(np.load(tmp_path / 'one.npy'), emb[2:3], atol=1e-5)


def _karate(path):
    G = nx.karate_club_graph()
    for n, attrs in G.nodes(data=True):
        attrs['x'] = [G.degree[n] / 10, nx.clustering(G, n), float(n in (0, 33))]
        attrs['y'] = int(attrs.pop('club') == 'Officer')
    for _, _, attrs in G.edges(data=True):
        attrs.clear()
    return _write(path, [G])


def test_own_node_graph_file_pretrained_probed_and_embedded_per_node(tmp_path):
    path = _karate(tmp_path / 'karate.json')
    ckpt = run(['pretrain', '--dataset', str(path), '--encoder', 'gcn', '--objective', 'grace',
                '--epochs', '2', '--out', str(tmp_path / 'run'), *TINY])
    result = run(['probe', '--checkpoint', str(ckpt), '--dataset', str(path), '--seeds', '1',
                  '--out', str(tmp_path / 'probe'), '--device', 'cpu', '--no-progress'])
    probe = result['results']['pretrained']
    assert probe['metric'] == 'rocauc' and 0.0 <= probe['mean'] <= 1.0
    out = tmp_path / 'nodes.csv'
    run(['embed', '--checkpoint', str(ckpt), '--input', str(path), '--output', str(out),
         '--device', 'cpu', '--no-progress'])
    table = pd.read_csv(out)
    assert table['node'].tolist() == list(range(34))
    assert table.filter(regex=r'^e\d+$').shape == (34, 16)
    # the same graph read as a graph-level dataset: node labels are no graph-level attribute
    with pytest.raises(CommandError, match="graph 0, node 0: unknown node attribute 'y'"):
        run(['embed', '--checkpoint', str(ckpt), '--input', str(path), '--level', 'graph',
             '--output', str(tmp_path / 'graph.npy'), '--device', 'cpu', '--no-progress'])


def test_level_is_refused_for_other_inputs(tmp_path):
    smi = tmp_path / 'a.smi'
    smi.write_text('CCO\n')
    with pytest.raises(CommandError, match='--level is for graph files') as err:
        run(['pretrain', '--dataset', str(smi), '--level', 'node', '--out',
             str(tmp_path / 'r'), *TINY])
    assert err.value.code == 2


def test_graphs_with_float_features_give_the_encoder_their_width(tmp_path):
    graphs = []
    for n in (4, 5, 6):
        G = nx.cycle_graph(n)
        for i, attrs in G.nodes(data=True):
            attrs['x'] = [float(i), 1.0 / n, 0.5]
        graphs.append(G)
    path = _write(tmp_path / 'rings.json', graphs)
    ckpt = run(['pretrain', '--dataset', str(path), '--epochs', '1', '--batch-size', '3',
                '--out', str(tmp_path / 'run'), *TINY])
    assert load_encoder(ckpt).kwargs['in_channels'] == 3
    out = tmp_path / 'emb.npy'
    run(['embed', '--checkpoint', str(ckpt), '--input', str(path), '--output', str(out),
         '--device', 'cpu', '--no-progress'])
    assert np.load(out).shape == (3, 16)
    mols = tmp_path / 'mols.smi'
    mols.write_text('CCO\nc1ccccc1O\n')
    with pytest.raises(CommandError, match="takes 3 float features, but '.*mols.smi' has OGB atom"):
        run(['embed', '--checkpoint', str(ckpt), '--input', str(mols), '--output',
             str(tmp_path / 'm.npy'), '--device', 'cpu', '--no-progress'])
