"""Batch-level, vectorised corruptions of graphs (never writing into their input)."""
from .mask_atoms import MaskAtoms, sample_per_graph

__all__ = ['MaskAtoms', 'sample_per_graph']
