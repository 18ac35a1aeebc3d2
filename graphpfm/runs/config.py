"""What a run reads and what it builds: the data, and the encoder (from scratch or from a
checkpoint, checked to take the data's node features)."""
from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass
from typing import Any, Sequence

from ..datasets import DatasetBundle
from ..errors import CheckpointError, ConfigError, DataError, GraphpfmError


@dataclass
class DataConfig:
    r"""Where the data come from.

    Args:
        dataset (str): a dataset name (``graphpfm list`` shows those found): an OGB molecule
            dataset, ``'embedded'`` (RDKit's 5,000 molecules), ``'embedded-tpsa'``,
            ``'moses'``, a node dataset (``'Cora'``, ``'ogbn-arxiv'``, ...), a
            ``.csv``/``.smi(.gz)`` file of SMILES, or a networkx graph file (node-link
            ``.json(.gz)``, ``.gml``, ``.graphml``).
        root (str, optional): the data root; :obj:`None`: ``$GRAPHPFM_DATA``, else
            ``~/.cache/graphpfm/data``.
        limit (int, optional): only the first ``limit`` molecules of a SMILES corpus.
        featurize_workers (int, optional): processes for SMILES featurisation; :obj:`None`:
            all cores.
        level (str, optional): a graph file's samples: ``'graph'`` (its graphs) or ``'node'``
            (the nodes of its one graph); unset: node for a file of one graph whose nodes have
            float features x, else graph.
        normalize_features (bool): node datasets: row-normalise the node features (PyG's
            ``NormalizeFeatures``, as DGI, GRACE and GraphMAE do on Planetoid); give it to
            pretraining and transfer alike.
    """

    dataset: str = 'embedded'
    root: str | None = None
    limit: int | None = None
    featurize_workers: int | None = None
    level: str | None = None
    normalize_features: bool = False

    def load(self, name: str | None = None, targets: Sequence[str] = (),
             progress: bool = False) -> DatasetBundle:
        """The dataset (``name`` instead of :attr:`dataset`, if given), with the pretraining
        ``targets`` an objective needs."""
        from ..datasets import GRAPH_FILE_SUFFIXES, is_graph_file, load_dataset
        name = name or self.dataset
        if self.level is not None and not is_graph_file(name):
            raise ConfigError(f"--level is for graph files ({', '.join(GRAPH_FILE_SUFFIXES)}),"
                              f" not for '{name}'")
        bundle = load_dataset(name, root=self.root, limit=self.limit,
                              num_workers=self.featurize_workers, progress=progress,
                              targets=targets, level=self.level)
        return normalize_features(bundle) if self.normalize_features else bundle


def normalize_features(bundle: DatasetBundle) -> DatasetBundle:
    """A copy of a node-level bundle with row-normalised features (the input untouched)."""
    from torch_geometric.transforms import NormalizeFeatures
    if bundle.level != 'node' or not bundle.dataset.x.is_floating_point():
        raise ConfigError(f"--normalize-features is for node datasets with float features; "
                          f"'{bundle.name}' has none")
    meta = {**bundle.meta, 'features': 'row-normalised'}
    return dataclasses.replace(bundle, dataset=NormalizeFeatures()(bundle.dataset.clone()),
                               meta=meta)


@dataclass
class EncoderConfig:
    r"""The encoder built from scratch.

    Args:
        encoder (str): a registered encoder (``graphpfm list``).
        num_layers (int): message-passing layers.
        hidden_channels (int): width of every layer.
        dropout (float): dropout inside the encoder.
        jk (str): jumping knowledge (gin: last, sum, concat, max; others: last, cat, max).
        in_channels (int, optional): float input width; :obj:`None`: the feature width of a
            node dataset, OGB atom features for molecules.
        act_last (bool): gcn, sage, gat: normalise and activate the last layer too (the
            encoders of DGI, GRACE, BGRL and GraphMAE do; PyG leaves it linear).
    """

    encoder: str = 'gin'
    num_layers: int = 5
    hidden_channels: int = 300
    dropout: float = 0.0
    jk: str = 'last'
    in_channels: int | None = None
    act_last: bool = False

    #: the fields that fix the architecture (a checkpoint's, when one is given)
    ARCHITECTURE = ('encoder', 'num_layers', 'hidden_channels', 'jk', 'in_channels', 'act_last')

    @classmethod
    def unset(cls, **given: Any) -> 'EncoderConfig':
        """A config whose fields but ``given`` are unset, for :meth:`fill` (from a
        checkpoint's architecture)."""
        return cls(**{f.name: given.get(f.name) for f in dataclasses.fields(cls)})

    def fill(self, checkpoint: str | None = None, flag: str = 'checkpoint',
             **defaults: Any) -> dict[str, Any]:
        """Fill the unset (:obj:`None`) fields: the architecture from ``checkpoint``, if
        given, where the fields given must match it (a :class:`ConfigError` lists those that
        do not; ``flag`` names the checkpoint's option), the rest from ``defaults`` over the
        class defaults. Returns the checkpoint (``{}`` without one)."""
        from ..nn import ENCODERS
        from ..train import load_checkpoint
        ckpt = load_checkpoint(checkpoint) if checkpoint else {}
        spec = ckpt.get('encoder', {})
        found = {'encoder': spec.get('name'), 'act_last': False, **spec.get('kwargs', {})}
        conflicts = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if not checkpoint or f.name not in self.ARCHITECTURE:
                setattr(self, f.name, defaults.get(f.name, f.default) if value is None
                        else value)
            elif value is None:
                setattr(self, f.name, found.get(f.name))
            elif value != found.get(f.name, value):
                conflicts.append(f"--{f.name.replace('_', '-')} {value} (checkpoint: "
                                 f'{found[f.name]!r})')
        if conflicts:
            raise ConfigError(f'the architecture comes from the {flag} checkpoint {checkpoint}; '
                              f"conflicting options: {'; '.join(conflicts)}. Drop them or match "
                              'the checkpoint')
        if self.encoder not in ENCODERS:
            raise ConfigError(f"Unknown encoder '{self.encoder}'. Valid options: "
                              f"{', '.join(ENCODERS.names())}")
        return ckpt

    def build(self, bundle: DatasetBundle, **overrides: Any) -> Any:
        """A randomly initialised encoder taking the node features of ``bundle``."""
        from ..nn import build_encoder
        kwargs = {'num_layers': self.num_layers, 'hidden_channels': self.hidden_channels,
                  'dropout': self.dropout, 'jk': self.jk, **overrides}
        if self.act_last:
            if self.encoder not in _takers('act_last'):
                raise ConfigError(f"--act-last is an option of the "
                                  f"{', '.join(_takers('act_last'))} encoders, not of "
                                  f"'{self.encoder}'")
            kwargs['act_last'] = True
        width = feature_width(bundle)
        if width is not None:
            if self.in_channels is not None and self.in_channels != width:
                raise ConfigError(f"--in-channels {self.in_channels} does not match the {width}"
                                  f" node features of '{bundle.name}'; leave it unset")
            if self.encoder not in _takers('in_channels'):
                raise ConfigError(f"encoder '{self.encoder}' has no float input (in_channels), "
                                  f"which the float node features of '{bundle.name}' need; "
                                  f"valid options: {', '.join(_takers('in_channels'))}")
            kwargs['in_channels'] = width
        elif self.in_channels is not None:
            kwargs['in_channels'] = self.in_channels
        try:
            return build_encoder(self.encoder, **kwargs)
        except ValueError as err:  # an option out of range: the encoder says which
            if isinstance(err, GraphpfmError):
                raise
            raise ConfigError(f"encoder '{self.encoder}': {err}") from None


def _takers(name: str) -> list[str]:
    """The registered encoders whose constructor takes argument ``name``."""
    from ..nn import ENCODERS
    return [n for n in ENCODERS.names()
            if name in inspect.signature(ENCODERS.get(n).__init__).parameters]


def feature_width(bundle: DatasetBundle) -> int | None:
    """The float node feature width of a dataset (:obj:`None` for OGB atom features)."""
    import torch
    x = getattr(bundle.dataset, 'x', None)
    if bundle.level != 'node':
        return int(x.size(1)) if isinstance(x, torch.Tensor) and x.is_floating_point() \
            and x.dim() == 2 else None
    if x is None or not x.is_floating_point() or x.dim() != 2:
        raise DataError(f"node dataset '{bundle.name}' has no float node features "
                        '[num_nodes, F] for a float-input encoder')
    return int(x.size(1))


def check_width(path: str, bundle: DatasetBundle,
                checkpoint: dict[str, Any] | None = None) -> dict[str, Any]:
    """The encoder spec of checkpoint ``path`` (``checkpoint``: its contents, if loaded
    already), checked to take the node features of ``bundle``."""
    from ..train import load_checkpoint
    spec = (checkpoint or load_checkpoint(path))['encoder']
    width, given = feature_width(bundle), spec['kwargs'].get('in_channels')
    if given != width:
        def what(n: int | None) -> str:
            return 'OGB atom features' if n is None else f'{n} float features'
        raise CheckpointError(f"the encoder of {path} takes {what(given)}, but '{bundle.name}' "
                              f'has {what(width)}')
    return spec
