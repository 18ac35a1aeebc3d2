"""Pretraining objectives, one file each, all registered in :data:`OBJECTIVES`."""
from .attr_masking import AttrMasking
from .base import OBJECTIVES, Objective, ObjectiveOutput, build_objective

__all__ = ['OBJECTIVES', 'Objective', 'ObjectiveOutput', 'build_objective', 'AttrMasking']
