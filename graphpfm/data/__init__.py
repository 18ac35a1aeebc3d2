"""Graph storage and loading."""
from .loader import GraphLoader, collate
from .store import GraphStore, compact, smallest_int_dtype

__all__ = ['GraphStore', 'GraphLoader', 'collate', 'compact', 'smallest_int_dtype']
