r"""scikit-learn estimators on pretrained graphpfm encoders.

.. code-block:: python

    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import Pipeline

    pipe = Pipeline([('embed', graphpfm.GraphEmbedder(checkpoint='ckpt.pt')),
                     ('clf', LogisticRegression(max_iter=1000))])
    cross_val_score(pipe, smiles, labels, cv=5)
"""
from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted
from torch import Tensor
from torch_geometric.data import Data

from .datasets import featurize_smiles
from .datasets.graphs import (
    GraphFormatError,
    check_ogb_features,
    collate_graphs,
    feature_signature,
    graph_to_data,
)
from .datasets.graphs import is_graph as _is_graph
from .nn.heads import POOLS
from .pretrained import default_pretrained, resolve_checkpoint
from .tasks import embed_graphs, embed_nodes
from .train import load_encoder
from .utils import resolve_device

log = logging.getLogger(__name__)

#: what :meth:`GraphEmbedder.transform` does with an invalid input
INVALID_POLICIES = ('nan', 'raise')
#: what :class:`GraphEmbedder` embeds: one row per graph, or one row per node of one graph
LEVELS = ('graph', 'node')
#: invalid inputs named in an error message
MAX_REPORTED = 5


class GraphEmbedder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    r"""Frozen embeddings of molecules and graphs by a pretrained graphpfm encoder, as a
    scikit-learn transformer: row :math:`i` is :math:`\mathrm{pool}_{v \in G_i} h_v`, the
    pooled node embeddings :math:`h_v` of the encoder on input :math:`G_i`.

    :meth:`fit` only loads the encoder (nothing is trained; ``X`` and ``y`` are ignored), so
    the transformer drops into :class:`~sklearn.pipeline.Pipeline`,
    :func:`~sklearn.model_selection.cross_val_score` and
    :class:`~sklearn.model_selection.GridSearchCV`. Inputs are SMILES strings (featurised as
    :func:`ogb.utils.smiles2graph`), networkx graphs and PyG
    :class:`~torch_geometric.data.Data` objects (converted by
    :func:`~graphpfm.datasets.graph_to_data`, their attributes as
    :func:`~graphpfm.datasets.from_graphs` documents; others are ignored), mixed freely.

    **Invalid inputs** (a SMILES RDKit rejects, a graph that breaks a rule of
    :func:`~graphpfm.datasets.from_graphs`, atom features outside OGB's vocabulary, ``None``
    or NaN) give a row of NaN with ``invalid='nan'`` (logged; impute or drop those rows
    downstream) or raise a :class:`ValueError` naming their positions with
    ``invalid='raise'``. Inputs that cannot fit the encoder at all (float node features for a
    molecular encoder, SMILES for a float-feature encoder, a feature width other than its
    ``in_channels``) and values of other types always raise.

    With ``level='node'``, :meth:`transform` embeds the nodes of one graph: ``X`` holds one
    graph (or SMILES) and the result has one row per node, in node order (the whole graph at
    once); an invalid graph always raises. That output does not follow the
    one-row-per-sample contract of model selection: use it outside cross-validation.

    Args:
        checkpoint (str or Path, optional): a checkpoint written by
            :class:`~graphpfm.Trainer` or :func:`~graphpfm.save_checkpoint`, or the name of a
            shipped model (:func:`~graphpfm.pretrained.available_pretrained`); :obj:`None`
            takes the shipped model when exactly one ships. (default: :obj:`None`)
        level (str, optional): ``'graph'`` or ``'node'``. (default: ``'graph'``)
        pool (str, optional): readout of node embeddings, ``'mean'``, ``'sum'`` or ``'max'``.
            (default: ``'mean'``)
        batch_size (int, optional): graphs per forward pass. (default: :obj:`256`)
        device (str, optional): ``'cpu'``, ``'cuda'``, ``'cuda:N'`` or ``'auto'``.
            (default: ``'cpu'``)
        invalid (str, optional): ``'nan'`` or ``'raise'``. (default: ``'nan'``)

    Attributes:
        encoder_ (Encoder): the loaded encoder, in eval mode.
        checkpoint_path_ (str): the checkpoint file read.
        n_features_out_ (int): embedding width.

    Shapes:
        - **input:** ``X`` of ``n_samples`` SMILES or graphs (a list, an array, a pandas
          Series or a one-column DataFrame)
        - **output:** ``float32`` ``[n_samples, n_features_out_]`` (``[num_nodes,
          n_features_out_]`` with ``level='node'``)
    """

    def __init__(self, checkpoint: str | os.PathLike | None = None, level: str = 'graph',
                 pool: str = 'mean', batch_size: int = 256, device: str = 'cpu',
                 invalid: str = 'nan') -> None:
        self.checkpoint = checkpoint
        self.level = level
        self.pool = pool
        self.batch_size = batch_size
        self.device = device
        self.invalid = invalid

    # ---------------------------------------------------------------- scikit-learn protocol
    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.one_d_array = True
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        tags.requires_fit = True
        if tags.transformer_tags is not None:
            tags.transformer_tags.preserves_dtype = []
        return tags

    def _more_tags(self) -> dict[str, Any]:  # scikit-learn < 1.6
        return {'X_types': ['string'], 'allow_nan': True, 'requires_fit': True,
                'preserves_dtype': []}

    @property
    def _n_features_out(self) -> int:
        return self.n_features_out_

    def _check_params(self) -> None:
        for name, value, options in (('level', self.level, LEVELS),
                                     ('pool', self.pool, tuple(POOLS)),
                                     ('invalid', self.invalid, INVALID_POLICIES)):
            if value not in options:
                raise ValueError(f"{name} '{value}' invalid; valid options: "
                                 f"{', '.join(options)}")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) \
                or self.batch_size < 1:
            raise ValueError(f'batch_size must be an integer >= 1, got {self.batch_size!r}')

    def _checkpoint_file(self) -> Path:
        if self.checkpoint is not None:
            return resolve_checkpoint(self.checkpoint)
        return default_pretrained()  # no checkpoint= : the one shipped model

    def fit(self, X: Any = None, y: Any = None) -> 'GraphEmbedder':
        """Load the encoder (``X`` and ``y`` are ignored: nothing is trained)."""
        del X, y
        self._check_params()
        path = self._checkpoint_file()
        device = resolve_device(self.device)
        self.encoder_ = load_encoder(path, map_location=device).eval()
        self.checkpoint_path_ = str(path)
        self.n_features_out_ = int(self.encoder_.out_channels)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Embed every input of ``X`` (see the class documentation)."""
        check_is_fitted(self, 'encoder_')
        self._check_params()
        samples = _as_samples(X)
        if self.level == 'node':
            return self._embed_nodes(samples)
        n = len(samples)
        out = np.full((n, self.n_features_out_), np.nan, dtype=np.float32)
        invalid: dict[int, str] = {}
        smiles, graphs = [], []
        for i, s in enumerate(samples):
            if isinstance(s, str):
                smiles.append(i)
            elif _is_graph(s):
                graphs.append(i)
            elif _is_missing(s):
                invalid[i] = 'missing value'
            else:
                raise TypeError(f'input {i} is a {type(s).__name__}; GraphEmbedder takes SMILES '
                                'strings, networkx graphs and torch_geometric Data objects '
                                '(None or NaN give a NaN row)')
        jobs = []  # (store, positions of its graphs in X)
        if smiles:
            store, kept, bad = self._featurize([samples[i] for i in smiles])
            invalid.update({smiles[k]: reason for k, reason in bad.items()})
            if store is not None:
                jobs.append((store, [smiles[k] for k in kept]))
        if graphs:
            groups: dict[Any, tuple[list[Data], list[int]]] = {}
            for i in graphs:
                try:
                    data = self._encoder_input(graph_to_data(samples[i], i, extra_attrs='ignore',
                                                             labels=False), i)
                except GraphFormatError as exc:
                    invalid[i] = str(exc)
                    continue
                key = str(feature_signature(data.edge_attr))
                groups.setdefault(key, ([], []))
                groups[key][0].append(data)
                groups[key][1].append(i)
            jobs += [(collate_graphs(datas), pos) for datas, pos in groups.values()]
        if invalid:
            shown = '; '.join(f'{i}: {r}' for i, r in sorted(invalid.items())[:MAX_REPORTED])
            more = ' ...' if len(invalid) > MAX_REPORTED else ''
            if self.invalid == 'raise':
                raise ValueError(f'{len(invalid)} of {n} inputs are invalid (position: reason): '
                                 f"{shown}{more}; invalid='nan' gives them NaN rows instead")
            log.warning('%d of %d inputs are invalid and get NaN rows (position: reason): %s%s',
                        len(invalid), n, shown, more)
        for store, pos in jobs:
            emb, _ = embed_graphs(self.encoder_, store, self._device(), self.batch_size,
                                  self.pool)
            out[np.asarray(pos, dtype=np.int64)] = emb.numpy()
        return out

    # ---------------------------------------------------------------- helpers
    def _device(self) -> Any:
        return next(self.encoder_.parameters()).device

    def _featurize(self, smiles: list[str]) -> tuple[Any, list[int], dict[int, str]]:
        """Featurised SMILES, the positions kept and ``{position: reason}`` of the others."""
        self._require_molecular('SMILES')
        store = featurize_smiles(smiles, num_workers=0, progress=False)
        kept = store.source_index.tolist()
        reasons = {ex['index']: ex['reason'] for ex in store.meta['invalid_examples']}
        bad = {i: f"SMILES {smiles[i]!r}: {reasons.get(i, 'RDKit rejects it')}"
               for i in sorted(set(range(len(smiles))) - set(kept))}
        return (store if kept else None), kept, bad

    def _require_molecular(self, what: str) -> None:
        kind = getattr(self.encoder_, 'input_kind', 'float')
        if kind != 'ogb_atom':
            raise ValueError(f'{what} give OGB atom features, but the encoder of '
                             f"{self.checkpoint_path_} takes float node features of width "
                             f"{self.encoder_.kwargs.get('in_channels')}: embed graphs with "
                             "'x' features, or use a molecular checkpoint")

    def _encoder_input(self, data: Data, index: int) -> Data:
        """``data`` in the form the encoder takes; a per-graph problem raises
        :class:`GraphFormatError`, a mismatch with the encoder :class:`ValueError`."""
        if getattr(self.encoder_, 'input_kind', 'float') == 'ogb_atom':
            if data.x.is_floating_point():
                raise ValueError(f'input {index} has float node features, but the encoder of '
                                 f'{self.checkpoint_path_} takes OGB atom features: give nodes '
                                 "'atom_features' (networkx) or an integer x (Data)")
            check_ogb_features(data.x, 'atom_features', lambda i: f'input {index}, node {i}',
                               index)
            if data.edge_attr is not None:
                if data.edge_attr.is_floating_point():
                    raise ValueError(f'input {index} has float edge features, but the encoder '
                                     f'of {self.checkpoint_path_} takes OGB bond features: give '
                                     "edges 'bond_features' (networkx) or integer edge_attr")
                check_ogb_features(data.edge_attr, 'bond_features',
                                   lambda i: f'input {index}, edge {i}', index)
            return data
        width = self.encoder_.kwargs.get('in_channels')
        if data.x.size(1) != width:
            raise ValueError(f'input {index} has node features of width {data.x.size(1)}, but '
                             f'the encoder of {self.checkpoint_path_} takes width {width}')
        data.x = data.x.float()
        data.edge_attr = None  # float-feature encoders use no edge features
        return data

    def _embed_nodes(self, samples: list[Any]) -> np.ndarray:
        if len(samples) != 1:
            raise ValueError(f"level='node' embeds the nodes of one graph: pass X=[graph], got "
                             f'{len(samples)} inputs')
        s = samples[0]
        if isinstance(s, str):
            store, _, bad = self._featurize([s])
            if store is None:
                raise ValueError(f'input 0 is invalid: {bad[0]}')
            data = store[0]
            data.edge_index = data.edge_index.contiguous()  # a slice of the store's columns
        elif _is_graph(s):
            data = self._encoder_input(graph_to_data(s, 0, extra_attrs='ignore', labels=False),
                                       0)
        else:
            raise TypeError(f"input 0 is a {type(s).__name__}; level='node' takes one SMILES "
                            'string, networkx graph or torch_geometric Data object')
        return embed_nodes(self.encoder_, data, self._device()).numpy().astype(np.float32)


def _is_missing(value: Any) -> bool:
    if value is None or type(value).__name__ == 'NAType':
        return True
    return isinstance(value, float) and math.isnan(value)


def _as_samples(X: Any) -> list[Any]:
    """``X`` as a list of inputs (a list, tuple, 1-D or one-column array, pandas Series or
    one-column DataFrame)."""
    if isinstance(X, str) or _is_graph(X):
        raise TypeError('X must be a sequence of inputs (SMILES strings or graphs); wrap a '
                        'single one in a list: [X]')
    if hasattr(X, 'columns') and hasattr(X, 'iloc'):  # a pandas DataFrame
        if X.shape[1] != 1:
            raise ValueError(f'X is a DataFrame of {X.shape[1]} columns; give the one column '
                             'of SMILES or graphs')
        return X.iloc[:, 0].tolist()
    if hasattr(X, 'iloc'):  # a pandas Series
        return X.tolist()
    if isinstance(X, Tensor) or hasattr(X, 'toarray') or \
            (isinstance(X, np.ndarray) and X.dtype.kind in 'biufc'):
        raise TypeError(f'GraphEmbedder takes SMILES strings, networkx graphs or '
                        f'torch_geometric Data objects, not a numeric array '
                        f"(got {type(X).__name__} of shape {tuple(getattr(X, 'shape', ()))})")
    if isinstance(X, np.ndarray):
        if X.ndim == 2 and X.shape[1] == 1:
            X = X[:, 0]
        if X.ndim != 1:
            raise ValueError(f'X has shape {X.shape}; expected [n_samples] or [n_samples, 1]')
        return X.tolist()
    try:
        return list(X)
    except TypeError:
        raise TypeError(f'X is a {type(X).__name__}; expected a sequence of SMILES strings or '
                        'graphs') from None


__all__ = ['GraphEmbedder', 'INVALID_POLICIES', 'LEVELS']
