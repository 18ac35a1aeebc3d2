"""Batch-level, vectorised corruptions of graphs (never writing into their input)."""
from .augment import AUGMENTATIONS, Compose, Identity, RandomChoice, build_augmentation
from .drop_nodes import DropNodes
from .mask_atoms import MaskAtoms, sample_per_graph
from .mask_features import MaskFeatures
from .perturb_edges import PerturbEdges, single_bond_features
from .subgraph import Subgraph

__all__ = [
    'MaskAtoms', 'sample_per_graph',
    'AUGMENTATIONS', 'build_augmentation', 'Identity', 'Compose', 'RandomChoice',
    'DropNodes', 'PerturbEdges', 'MaskFeatures', 'Subgraph', 'single_bond_features',
]
