"""Neural network building blocks."""
from .encoders import ENCODERS, Encoder, build_encoder

__all__ = ['ENCODERS', 'Encoder', 'build_encoder']
