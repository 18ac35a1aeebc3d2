"""GraphEmbedder: a scikit-learn transformer on a pretrained checkpoint."""
import pickle

import networkx as nx
import numpy as np
import pytest
import torch
from ogb.utils import smiles2graph
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_checks as checks
from torch_geometric.data import Data

import graphpfm
from graphpfm import GraphEmbedder

CORPUS = ['CCO', 'c1ccccc1O', 'CC(=O)Nc1ccc(O)cc1', 'C1CCCCC1N', 'O=C(O)c1ccccc1OC(C)=O',
          'CN1C=NC2=C1C(=O)N(C(=O)N2C)C', 'CC(C)Cc1ccc(cc1)C(C)C(=O)O', 'C#N', 'ClC(Cl)Cl',
          'c1ccc2ccccc2c1', 'CCN(CC)CC', 'FC(F)(F)c1ccccc1', 'N#Cc1ccccc1', 'CCCCCCCCCC(=O)O']


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """A 2-layer GIN pretrained for one epoch by attribute masking."""
    path = tmp_path_factory.mktemp('sk') / 'gin.pt'
    torch.manual_seed(0)  # torch seeds its generator differently in every process
    encoder = graphpfm.build_encoder('gin', num_layers=2, hidden_channels=16)
    objective = graphpfm.build_objective('attr_masking', encoder)
    config = graphpfm.TrainConfig(epochs=1, batch_size=8, device='cpu', progress=False)
    graphpfm.Trainer(objective, config, checkpoint_path=path).fit(
        graphpfm.from_smiles(CORPUS).dataset)
    return str(path)


@pytest.fixture(scope='module')
def float_checkpoint(tmp_path_factory):
    """An untrained GCN on 3 float node features."""
    path = tmp_path_factory.mktemp('sk') / 'gcn.pt'
    encoder = graphpfm.build_encoder('gcn', num_layers=2, hidden_channels=8, in_channels=3)
    return str(graphpfm.save_checkpoint(path, encoder))


def _aromatic(smiles):
    from rdkit import Chem
    return [int(any(a.GetIsAromatic() for a in Chem.MolFromSmiles(s).GetAtoms()))
            for s in smiles]


def _networkx_molecule(smiles):
    g = smiles2graph(smiles)
    G = nx.Graph()
    for i, row in enumerate(g['node_feat']):
        G.add_node(f'a{i}', atom_features=row.tolist())
    for k in range(0, g['edge_index'].shape[1], 2):
        u, v = g['edge_index'][:, k].tolist()
        G.add_edge(f'a{u}', f'a{v}', bond_features=g['edge_feat'][k].tolist())
    return G


def _pyg_molecule(smiles):
    g = smiles2graph(smiles)
    return Data(x=torch.from_numpy(g['node_feat']), edge_index=torch.from_numpy(g['edge_index']),
                edge_attr=torch.from_numpy(g['edge_feat']))


@pytest.mark.data
def test_pipeline_cross_val_score_on_bbbp(checkpoint, data_root):
    bundle = graphpfm.load_dataset('ogbg-molbbbp', root=data_root, limit=240, progress=False)
    smiles = graphpfm.bundle_smiles(bundle, data_root)
    y = bundle.dataset.y[:, 0].numpy().astype(int)
    pipe = Pipeline([('embed', GraphEmbedder(checkpoint=checkpoint)),
                     ('scale', StandardScaler()),
                     ('clf', LogisticRegression(max_iter=500))])
    scores = cross_val_score(pipe, np.asarray(smiles, dtype=object), y, scoring='roc_auc',
                             cv=StratifiedKFold(3, shuffle=True, random_state=0))
    assert scores.shape == (3,) and np.isfinite(scores).all()
    assert scores.mean() > 0.6


def test_nan_rows_line_up_with_invalid_inputs(checkpoint, caplog):
    valid = ['CCO', 'c1ccccc1O', 'CC(=O)O', 'C1CCCCC1N']
    X = [valid[0], 'C1CC', valid[1], None, 'xyz', valid[2], float('nan'), valid[3]]
    bad = [1, 3, 4, 6]
    embedder = GraphEmbedder(checkpoint=checkpoint).fit()
    out = embedder.transform(X)
    assert out.shape == (8, embedder.n_features_out_) and out.dtype == np.float32
    assert np.isnan(out).all(axis=1).tolist() == [i in bad for i in range(8)]
    good = [i for i in range(8) if i not in bad]
    np.testing.assert_allclose(out[good], embedder.transform(valid), rtol=1e-5, atol=1e-6)
    # reversing the inputs reverses the rows
    np.testing.assert_allclose(embedder.transform(valid[::-1]), embedder.transform(valid)[::-1],
                               rtol=1e-5, atol=1e-6)
    assert '4 of 8 inputs are invalid' in caplog.text
    with pytest.raises(ValueError, match=r"4 of 8 inputs are invalid .*1: SMILES 'C1CC'.*"
                                         r"3: missing value"):
        embedder.set_params(invalid='raise').transform(X)


def test_graphs_and_smiles_embed_alike(checkpoint):
    embedder = GraphEmbedder(checkpoint=checkpoint, pool='sum').fit()
    mols = ['CC(=O)Nc1ccc(O)cc1', 'C#N']
    X = [mols[0], _networkx_molecule(mols[0]), _pyg_molecule(mols[0]),
         _networkx_molecule(mols[1]), mols[1]]
    out = embedder.transform(X)
    for i in (1, 2):
        np.testing.assert_allclose(out[i], out[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out[3], out[4], rtol=1e-5, atol=1e-5)
    broken = _networkx_molecule('CCO')
    broken.nodes['a1']['atom_features'][0] = 999  # outside OGB's vocabulary
    out = embedder.transform([broken, 'CCO'])
    assert np.isnan(out[0]).all() and not np.isnan(out[1]).any()
    with pytest.raises(ValueError, match="0: graph 0, node 'a1'.*column 0 is 999"):
        embedder.set_params(invalid='raise').transform([broken])


def test_clone_params_and_pickle(checkpoint):
    embedder = GraphEmbedder(checkpoint=checkpoint, pool='max', batch_size=4)
    copy = clone(embedder)
    assert copy.get_params() == embedder.get_params() and not hasattr(copy, 'encoder_')
    before = dict(vars(embedder))
    fitted = embedder.fit()
    added = set(vars(fitted)) - set(before)
    assert added and all(k.endswith('_') for k in added)
    assert all(vars(fitted)[k] is v for k, v in before.items())
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.transform(CORPUS[:5]), fitted.transform(CORPUS[:5]))
    assert fitted.get_feature_names_out().tolist()[:2] == ['graphembedder0', 'graphembedder1']


def test_grid_search_over_pool(checkpoint):
    y = _aromatic(CORPUS)
    pipe = Pipeline([('embed', GraphEmbedder(checkpoint=checkpoint)),
                     ('clf', LogisticRegression(max_iter=500))])
    search = GridSearchCV(pipe, {'embed__pool': ['mean', 'max']}, cv=2).fit(CORPUS, y)
    assert search.best_params_['embed__pool'] in ('mean', 'max')
    assert len(search.cv_results_['params']) == 2
    assert search.predict(['c1ccncc1', 'CCCC']).shape == (2,)


def test_node_level_embeds_the_nodes_of_one_graph(checkpoint):
    embedder = GraphEmbedder(checkpoint=checkpoint, level='node').fit()
    smiles = 'CC(=O)Nc1ccc(O)cc1'
    out = embedder.transform([smiles])
    assert out.shape == (11, embedder.n_features_out_)
    np.testing.assert_allclose(embedder.transform([_networkx_molecule(smiles)]), out,
                               rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=r"level='node' embeds the nodes of one graph"):
        embedder.transform([smiles, smiles])


def test_float_encoders_take_networkx_features(float_checkpoint):
    G = nx.cycle_graph(5)
    for n in G.nodes:
        G.nodes[n]['x'] = [1.0, float(n), 0.5]
    embedder = GraphEmbedder(checkpoint=float_checkpoint).fit()
    assert embedder.transform([G, G]).shape == (2, 8)
    with pytest.raises(ValueError, match='SMILES give OGB atom features'):
        embedder.transform(['CCO'])
    G.nodes[0]['x'] = [1.0]
    assert np.isnan(embedder.transform([G])).all()  # ragged features: an invalid graph


def test_errors_name_the_problem(checkpoint, monkeypatch, tmp_path):
    with pytest.raises(ValueError, match=r"pool 'median' invalid; valid options: mean, sum, max"):
        GraphEmbedder(checkpoint=checkpoint, pool='median').fit()
    with pytest.raises(ValueError, match='invalid; valid options: nan, raise'):
        GraphEmbedder(checkpoint=checkpoint, invalid='drop').fit()
    embedder = GraphEmbedder(checkpoint=checkpoint).fit()
    with pytest.raises(TypeError, match='not a numeric array'):
        embedder.transform(np.zeros((3, 2)))
    with pytest.raises(TypeError, match=r'wrap a single one in a list'):
        embedder.transform('CCO')
    with pytest.raises(TypeError, match='input 1 is a int'):
        embedder.transform(['CCO', 3])
    with pytest.raises(FileNotFoundError, match='neither a file nor a shipped'):
        GraphEmbedder(checkpoint='no-such-model').fit()
    import shutil

    import graphpfm.pretrained as shipped
    folder = tmp_path / 'shipped'
    folder.mkdir()
    monkeypatch.setattr(shipped, 'PRETRAINED_DIR', folder)  # no model ships
    with pytest.raises(ValueError, match=r'available_pretrained\(\) is empty.*checkpoint file'):
        GraphEmbedder().fit()
    shutil.copy(checkpoint, folder / 'tiny.pt')
    (folder / 'tiny.md').write_text('# tiny\n')  # one model ships: the default
    assert GraphEmbedder().fit().checkpoint_path_ == str(folder / 'tiny.pt')
    shutil.copy(checkpoint, folder / 'other.pt')
    (folder / 'other.md').write_text('# other\n')
    with pytest.raises(ValueError, match='several pretrained models ship'):
        GraphEmbedder().fit()


# scikit-learn's common checks: check_estimator() runs none of them on an estimator whose
# input is not a numeric 2-D array (input_tags.two_d_array=False). These apply (they concern
# construction, parameters, tags and fit, which ignores X):
APPLICABLE_CHECKS = [
    checks.check_estimator_cloneable, checks.check_estimator_tags_renamed,
    checks.check_valid_tag_types, checks.check_estimator_repr,
    checks.check_no_attributes_set_in_init, checks.check_do_not_raise_errors_in_init_or_set_params,
    checks.check_mixin_order, checks.check_get_params_invariance, checks.check_set_params,
    checks.check_parameters_default_constructible, checks.check_estimators_overwrite_params,
    checks.check_estimators_fit_returns_self,
    checks.check_fit_check_is_fitted, checks.check_transformers_unfitted,
]
# Left out, as they transform numeric arrays (tested above on SMILES where they matter:
# order and subset invariance, NaN handling, pickling): check_transformer_general,
# check_transformer_data_not_an_array, check_transformer_preserve_dtypes,
# check_transformer_get_feature_names_out(_pandas), check_set_output_transform(_pandas,
# _polars), check_global_output_transform_pandas, check_methods_subset_invariance,
# check_methods_sample_order_invariance, check_fit2d_*, check_fit1d, check_fit_score_takes_y,
# check_estimators_dtypes, check_estimators_empty_data_messages, check_estimators_nan_inf,
# check_estimators_pickle, check_pipeline_consistency, check_fit_idempotent,
# check_dtype_object, check_complex_data, check_dict_unchanged, check_n_features_in(_after_
# fitting), check_dataframe_column_names_consistency, check_requires_y_none,
# check_readonly_memmap_input, check_positive_only_tag_during_fit,
# check_f_contiguous_array_estimator; check_dont_overwrite_parameters indexes X[:, 0] after
# making X 1-D for a one_d_array estimator (its property is tested above on SMILES). Not
# relevant to a transformer without sample weights, sparse input, array API, iterations or
# parameter constraints: check_sample_weights_*, check_estimator_sparse_*, check_array_api_*,
# check_transformer_n_iter, check_param_validation; nor are the classifier, regressor,
# clusterer and outlier checks.


@pytest.mark.parametrize('check', APPLICABLE_CHECKS, ids=lambda c: c.__name__)
def test_sklearn_estimator_checks(check, checkpoint):
    check('GraphEmbedder', GraphEmbedder(checkpoint=checkpoint))
