"""Pretraining objectives, one file each, all registered in :data:`OBJECTIVES`."""
from .attr_masking import AttrMasking
from .base import OBJECTIVES, Objective, ObjectiveOutput, seed_count
from .bgrl import BGRL
from .build import (
    build_objective,
    data_kwargs,
    objective_options,
    option_names,
    required_targets,
    route_options,
)
from .combined import Combined
from .context_pred import ContextPred
from .descriptor_pred import DescriptorPred
from .dgi import DGI
from .edge_pred import EdgePred
from .fingerprint_pred import FingerprintPred
from .grace import GRACE
from .graphcl import GraphCL
from .graphmae import GraphMAE
from .infomax import Infomax
from .motif_pred import MotifPred
from .simgrace import SimGRACE
from .supervised import Supervised

__all__ = ['OBJECTIVES', 'Objective', 'ObjectiveOutput', 'build_objective', 'data_kwargs',
           'objective_options', 'option_names', 'route_options', 'required_targets',
           'seed_count', 'AttrMasking', 'BGRL', 'ContextPred', 'Combined', 'DescriptorPred',
           'DGI', 'EdgePred', 'FingerprintPred', 'GRACE', 'GraphCL', 'GraphMAE', 'Infomax',
           'MotifPred', 'SimGRACE', 'Supervised']
