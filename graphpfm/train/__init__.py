"""Training loop and checkpoint I/O."""
from .checkpoint import load_checkpoint, load_encoder, save_checkpoint
from .trainer import TrainConfig, Trainer

__all__ = ['Trainer', 'TrainConfig', 'save_checkpoint', 'load_checkpoint', 'load_encoder']
