"""Pretraining objectives, one file each, all registered in :data:`OBJECTIVES`."""
from .attr_masking import AttrMasking
from .base import OBJECTIVES, Objective, ObjectiveOutput, build_objective, seed_count
from .bgrl import BGRL
from .combined import Combined
from .context_pred import ContextPred
from .dgi import DGI
from .edge_pred import EdgePred
from .grace import GRACE
from .graphcl import GraphCL
from .graphmae import GraphMAE
from .infomax import Infomax
from .simgrace import SimGRACE
from .supervised import Supervised

__all__ = ['OBJECTIVES', 'Objective', 'ObjectiveOutput', 'build_objective', 'seed_count',
           'AttrMasking', 'BGRL', 'ContextPred', 'Combined', 'DGI', 'EdgePred', 'GRACE',
           'GraphCL', 'GraphMAE', 'Infomax', 'SimGRACE', 'Supervised']
