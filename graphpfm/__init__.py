"""graphpfm: pretrain graph neural networks and transfer them.

The public API in one place::

    import graphpfm
    corpus = graphpfm.load_dataset('embedded')
    encoder = graphpfm.build_encoder('gin')
    objective = graphpfm.build_objective('attr_masking', encoder)
    graphpfm.Trainer(objective, graphpfm.TrainConfig(epochs=10),
                     checkpoint_path='ckpt.pt').fit(corpus.dataset)
    encoder = graphpfm.load_encoder('ckpt.pt')
"""
__version__ = '0.1.0'

from .data import GraphLoader, GraphStore  # noqa: E402
from .datasets import (DATASETS, DatasetBundle, DatasetNotFoundError,  # noqa: E402
                       available_datasets, from_smiles, load_dataset)
from .eval import FinetuneConfig, FinetuneResult, compare, finetune, format_table  # noqa: E402
from .nn import ENCODERS, Encoder, build_encoder  # noqa: E402
from .nn.heads import GraphPredictor  # noqa: E402
from .objectives import OBJECTIVES, Objective, ObjectiveOutput, build_objective  # noqa: E402
from .train import (TrainConfig, Trainer, load_checkpoint, load_encoder,  # noqa: E402
                    save_checkpoint)

__all__ = [
    '__version__', 'GraphStore', 'GraphLoader', 'DATASETS', 'DatasetBundle',
    'DatasetNotFoundError', 'available_datasets', 'from_smiles', 'load_dataset',
    'FinetuneConfig', 'FinetuneResult', 'compare', 'finetune', 'format_table', 'ENCODERS',
    'Encoder', 'build_encoder', 'GraphPredictor', 'OBJECTIVES', 'Objective', 'ObjectiveOutput',
    'build_objective', 'Trainer', 'TrainConfig', 'load_checkpoint', 'load_encoder',
    'save_checkpoint',
]
