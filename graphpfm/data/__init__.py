"""Graph storage and loading."""
from .loader import GraphLoader, ShardBatches, collate
from .neighbor_loader import NeighborLoader, sample_positions
from .store import GraphStore, compact, smallest_int_dtype

__all__ = ['GraphStore', 'GraphLoader', 'ShardBatches', 'NeighborLoader',
           'collate', 'compact', 'sample_positions', 'smallest_int_dtype']
