"""Datasets from networkx graphs and PyG Data objects."""
from __future__ import annotations

import json
import math

import networkx as nx
import numpy as np
import pytest
import torch
from ogb.utils import smiles2graph
from torch_geometric.data import Data
from torch_geometric.utils import from_networkx

import graphpfm
from graphpfm.datasets import GraphFormatError, from_graphs, graph_to_data, read_graphs
from graphpfm.errors import DataError


def _graph(seed: int = 0, num_nodes: int = 6, features: int = 3) -> nx.Graph:
    """A small undirected graph with named nodes, an isolated node and a self-loop, float node
    features 'x' and edge features 'edge_attr'."""
    rng = np.random.default_rng(seed)
    G = nx.Graph()
    for i in range(num_nodes):
        G.add_node(f'n{i}', x=rng.normal(size=features).tolist())
    for i in range(num_nodes - 2):
        G.add_edge(f'n{i}', f'n{i + 1}', edge_attr=[float(i), 1.0])
    G.add_edge('n0', 'n3', edge_attr=[0.5, 0.0])
    G.add_edge('n2', 'n2', edge_attr=[2.0, 2.0])
    return G


def _edges(d: Data) -> tuple[list, list]:
    """Edges with their features, sorted (networkx orders edges by its adjacency, which
    depends on insertion order)."""
    pairs = sorted(zip(d.edge_index.t().tolist(), d.edge_attr.tolist()))
    return [p for p, _ in pairs], [a for _, a in pairs]


def test_networkx_round_trip_equals_pyg_from_networkx():
    G = _graph()
    ref = from_networkx(G, group_node_attrs=['x'], group_edge_attrs=['edge_attr'])
    for d in (graph_to_data(G), from_graphs([G, _graph(1)]).dataset[0],
              from_graphs(G, level='node').dataset):
        assert d.num_nodes == ref.num_nodes == 6
        assert torch.equal(d.edge_index, ref.edge_index)
        assert torch.equal(d.x, ref.x.float())
        assert torch.equal(d.edge_attr, ref.edge_attr.float())


def test_pyg_data_and_molecules_pass_through():
    g = [smiles2graph(s) for s in ('CCO', 'c1ccccc1O', 'C')]
    datas = [Data(x=torch.from_numpy(m['node_feat']), edge_index=torch.from_numpy(m['edge_index']),
                  edge_attr=torch.from_numpy(m['edge_feat'])) for m in g]
    bundle = from_graphs(datas, y=[0, 1, 1])
    assert bundle.meta['source'] == 'pyg' and bundle.task_type == 'binary classification'
    for d, ref in zip((bundle.dataset[i] for i in range(3)), datas):
        for key in ('x', 'edge_index', 'edge_attr'):
            assert torch.equal(d[key], ref[key]), key
    # the same molecules as networkx graphs with OGB's atom and bond columns
    graphs = []
    for m in g:
        G = nx.Graph()
        G.add_nodes_from((i, {'atom_features': row.tolist()}) for i, row in
                         enumerate(m['node_feat']))
        for k in range(0, m['edge_index'].shape[1], 2):
            G.add_edge(*m['edge_index'][:, k].tolist(), bond_features=m['edge_feat'][k].tolist())
        graphs.append(G)
    store = from_graphs(graphs).dataset
    for i, ref in enumerate(datas):
        assert torch.equal(store[i].x, ref.x) and _edges(store[i]) == _edges(ref)


def _set(G, node, key, value):
    G.nodes[node][key] = value
    return G


def _without(G, node, key):
    del G.nodes[node][key]
    return G


def _multi(G):
    return nx.MultiGraph(G)


BAD_GRAPHS = {
    'missing': (lambda G: _without(G, 'n2', 'x'), r"graph 1, node 'n2' lacks attribute 'x'"),
    'extra node attribute': (lambda G: _set(G, 'n4', 'club', 'A'),
                             r"graph 1, node 'n4': unknown node attribute 'club'; known: x, "
                             r"atom_features; drop it or pass extra_attrs='ignore'"),
    'node label at graph level': (lambda G: _set(G, 'n0', 'y', 1),
                                  r"unknown node attribute 'y' \(node labels are read with "
                                  r"level='node'\)"),
    'ragged': (lambda G: _set(G, 'n3', 'x', [1.0, 2.0]),
               r"graph 1, node 'n3': 'x' has length 2, but graph 1, node 'n0' has length 3"),
    'string': (lambda G: _set(G, 'n1', 'x', '1 2 3'),
               r"graph 1, node 'n1': 'x' is '1 2 3' \(str\), expected a sequence of numbers"),
    'scalar': (lambda G: _set(G, 'n1', 'x', 1.5),
               r"'x' is 1.5 \(float\), expected a sequence of numbers"),
    'non-numeric': (lambda G: _set(G, 'n5', 'x', [1.0, None, 2.0]),
                    r"graph 1, node 'n5': 'x' holds None \(NoneType\)"),
    'nan': (lambda G: _set(G, 'n2', 'x', [1.0, math.nan, 2.0]),
            r"graph 1, node 'n2': 'x' holds NaN or infinity"),
    'both features': (lambda G: _set(G, 'n0', 'atom_features', [0] * 9),
                      r"graph 1 has both 'x' and 'atom_features'"),
    'directed': (lambda G: nx.DiGraph(G), r'graph 1 is a directed networkx graph \(DiGraph\).*'
                                          r'G.to_undirected\(\)'),
    'multigraph': (_multi, r'graph 1 is a networkx multigraph.*networkx.Graph\(G\)'),
    'empty': (lambda G: nx.Graph(), r'graph 1 has no nodes'),
    'extra edge attribute': (lambda G: nx.set_edge_attributes(G, 1.0, 'weight') or G,
                             r"graph 1, edge \('n0', 'n1'\): unknown edge attribute 'weight'"),
    'edge features on some edges': (lambda G: G.remove_edge('n2', 'n2') or
                                    G.add_edge('n2', 'n2') or G,
                                    r"graph 1, edge \('n2', 'n2'\) lacks attribute 'edge_attr'"),
    'not a graph': (lambda G: 'CCO', r'graph 1 is a str.*use graphpfm.from_smiles'),
}


@pytest.mark.parametrize('case', list(BAD_GRAPHS))
def test_bad_graphs_raise_naming_graph_node_and_attribute(case):
    change, message = BAD_GRAPHS[case]
    with pytest.raises(GraphFormatError, match=message) as info:
        from_graphs([_graph(0), change(_graph(1)), _graph(2)])
    assert info.value.index == 1


def test_bad_pyg_data_and_mismatched_graphs():
    good = Data(x=torch.randn(3, 2), edge_index=torch.tensor([[0, 1], [1, 0]]))
    cases = [
        (Data(x=torch.randn(3), edge_index=good.edge_index), r"'x' has shape \(3,\)"),
        (Data(edge_index=good.edge_index, num_nodes=3), r"no node features 'x'"),
        (Data(x=torch.randn(3, 2), edge_index=torch.tensor([[0, 5], [5, 0]])),
         r"'edge_index' refers to nodes outside \[0, 3\)"),
        (Data(x=torch.randn(3, 2), edge_index=good.edge_index, edge_attr=torch.randn(5, 1)),
         r"'edge_attr' is \(5, 1\), expected \[2, num_edge_features\]"),
        (Data(x=torch.randn(3, 2), edge_index=good.edge_index, pos=torch.randn(3, 2)),
         r"graph 1 \(Data\): unknown attribute 'pos'"),
        (Data(x=torch.randn(3, 4), edge_index=good.edge_index),
         r'graph 1 has node features float32 of width 4 but graph 0 has float32 of width 2'),
    ]
    for data, message in cases:
        with pytest.raises(GraphFormatError, match=message):
            from_graphs([good, data])
    G = _graph()
    nx.set_node_attributes(G, 'A', 'club')
    assert len(from_graphs([G], extra_attrs='ignore').dataset) == 1
    with pytest.raises(ValueError, match="extra_attrs 'drop' invalid; valid options: raise"):
        from_graphs([G], extra_attrs='drop')


def test_labels_task_types_and_splits():
    graphs = [_graph(i) for i in range(10)]
    assert from_graphs(graphs).task_type is None  # unlabelled corpus: no split
    ints = from_graphs(graphs, y=np.arange(10) % 3)
    assert ints.task_type == 'multiclass classification' and ints.num_tasks == 3
    assert ints.eval_metric == 'acc'
    reg = from_graphs(graphs, y=np.linspace(0, 1, 20).reshape(10, 2), seed=3)
    assert reg.task_type == 'regression' and reg.num_tasks == 2
    assert sorted(torch.cat(list(reg.split_idx.values())).tolist()) == list(range(10))
    with pytest.raises(ValueError, match='whole numbers outside'):
        from_graphs(graphs, y=np.arange(10.0))
    for i, G in enumerate(graphs):  # each graph's own label
        G.graph['y'] = i % 2 if i != 4 else math.nan
    own = from_graphs(graphs)
    assert own.task_type == 'binary classification'
    assert 4 not in torch.cat(list(own.split_idx.values())).tolist()  # unlabelled: not split
    mask = torch.zeros(10, dtype=torch.bool)
    mask[:6] = True
    given = from_graphs(graphs, split_idx={'train': mask, 'valid': [6, 7], 'test': [8, 9]})
    assert given.split_idx['train'].tolist() == list(range(6))
    with pytest.raises(ValueError, match='split_idx lacks test'):
        from_graphs(graphs, split_idx={'train': [0], 'valid': [1]})


def test_read_graphs_from_node_link_json(tmp_path):
    graphs = [_graph(0), _graph(1)]
    path = tmp_path / 'graphs.json'
    path.write_text(json.dumps([nx.node_link_data(G, edges='edges') for G in graphs]))
    a, b = from_graphs(read_graphs(path)).dataset, from_graphs(graphs).dataset
    for i in range(2):
        assert torch.equal(a[i].x, b[i].x) and _edges(a[i]) == _edges(b[i])
    (tmp_path / 'graphs.txt').write_text('')
    with pytest.raises(ValueError, match='valid suffixes: .json'):
        read_graphs(tmp_path / 'graphs.txt')


@pytest.mark.parametrize('name,content,message', [
    ('a.json', 'nodes: 1, 2', 'cannot read .*a.json as JSON: Expecting value'),
    ('a.json', b'"caf\xe9"', "cannot read .*a.json as JSON: 'utf-8' codec"),
    ('a.json.gz', 'not gzip', 'cannot read .*a.json.gz as JSON: Not a gzipped file'),
    ('a.json', '[1, 2]', r'a.json: record 0 is not a node-link graph .*got int'),
    ('a.json', '{"nodes": [{"id": 0}], "edges": [{"source": 0}]}',
     r"a.json: record 0 is not a valid node-link graph \(KeyError: 'target'\)"),
    ('a.gml', 'graph [ node [ id 0 ', 'cannot read .*a.gml: NetworkXError'),
    ('a.graphml', '<graphml><graph>', 'cannot read .*a.graphml: ParseError')])
def test_unreadable_graph_files_name_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(DataError, match=message):
        read_graphs(path)


def _karate() -> nx.Graph:
    """Zachary's karate club: structural node features 'x' and the club as node label 'y'."""
    G = nx.karate_club_graph()
    clustering = nx.clustering(G)
    for n, attrs in G.nodes(data=True):
        attrs['x'] = [G.degree[n] / 10, clustering[n], float(n in (0, 33))]
        attrs['y'] = int(attrs['club'] == 'Officer')
    return G


@pytest.mark.parametrize('objective', ['grace', 'graphmae'])
def test_own_node_graph_pretrained_and_probed(objective):
    G = _karate()
    nodes = np.arange(G.number_of_nodes())
    split = {'train': nodes % 2 == 0, 'valid': nodes % 4 == 1, 'test': nodes % 4 == 3}
    bundle = from_graphs(G, level='node', split_idx=split, extra_attrs='ignore', name='karate')
    data = bundle.dataset
    assert bundle.task_type == 'binary classification' and data.x.shape == (34, 3)
    for part in bundle.split_idx.values():  # both clubs in every part
        assert data.y[part].unique().numel() == 2
    encoder = graphpfm.build_encoder('gcn', num_layers=2, hidden_channels=16, in_channels=3)
    config = graphpfm.TrainConfig(epochs=2, lr=1e-2, device='cpu', progress=False)
    history = graphpfm.Trainer(graphpfm.build_objective(objective, encoder), config).fit(data)
    assert len(history) == 2 and all(math.isfinite(r['loss']) for r in history)
    result = graphpfm.probe(bundle, lambda seed: encoder,
                            config=graphpfm.ProbeConfig(seeds=(0,), Cs=(0.1, 1.0), device='cpu'))
    assert result.metric == 'rocauc' and 0.0 <= result.mean <= 1.0
