"""Pretraining objectives, one file each, all registered in :data:`OBJECTIVES`."""
from .attr_masking import AttrMasking
from .base import OBJECTIVES, Objective, ObjectiveOutput, build_objective
from .combined import Combined
from .context_pred import ContextPred
from .edge_pred import EdgePred
from .graphcl import GraphCL
from .graphmae import GraphMAE
from .infomax import Infomax
from .simgrace import SimGRACE
from .supervised import Supervised

__all__ = ['OBJECTIVES', 'Objective', 'ObjectiveOutput', 'build_objective', 'AttrMasking',
           'ContextPred', 'Combined', 'EdgePred', 'GraphCL', 'GraphMAE', 'Infomax', 'SimGRACE',
           'Supervised']
