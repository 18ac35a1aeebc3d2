"""Graph encoders: the molecular GIN and PyG's GCN/GraphSAGE/GAT behind one interface."""
from .base import ENCODERS, Encoder, build_encoder
from .basic_gnn import GATEncoder, GCNEncoder, SAGEEncoder
from .mol_gin import MolGIN, MolGINConv
from .ogb_features import AtomEncoder, BondEncoder, CategoricalEncoder

__all__ = ['ENCODERS', 'Encoder', 'build_encoder', 'MolGIN', 'MolGINConv', 'GCNEncoder',
           'SAGEEncoder', 'GATEncoder', 'AtomEncoder', 'BondEncoder', 'CategoricalEncoder']
