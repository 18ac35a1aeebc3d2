"""graphpfm: pretrain graph neural networks and transfer them.

The public API in one place::

    import graphpfm
    corpus = graphpfm.load_dataset('embedded')
    encoder = graphpfm.build_encoder('gin')
    objective = graphpfm.build_objective('attr_masking', encoder)
    graphpfm.Trainer(objective, graphpfm.TrainConfig(epochs=10),
                     checkpoint_path='ckpt.pt').fit(corpus.dataset)
    encoder = graphpfm.load_encoder('ckpt.pt')

Node-level datasets (one graph) go through the same calls: ``Trainer.fit`` pretrains on the
graph's nodes (full batch or :class:`NeighborLoader` mini-batches), and ``probe`` /
``finetune`` transfer to node labels::

    cora = graphpfm.load_dataset('Cora')
    encoder = graphpfm.build_encoder('gcn', num_layers=2, hidden_channels=256,
                                     in_channels=cora.dataset.num_features)
    graphpfm.Trainer(graphpfm.build_objective('graphmae', encoder)).fit(cora.dataset)
    print(graphpfm.probe(cora, lambda seed: encoder, seeds=[0, 1, 2]))
"""
from .data import GraphLoader, GraphStore, NeighborLoader  # noqa: E402
from .datasets import (  # noqa: E402
                       DATASETS,
                       DatasetBundle,
                       DatasetNotFoundError,
                       available_datasets,
                       bundle_smiles,
                       from_graphs,
                       from_smiles,
                       load_dataset,
)
from .eval import (  # noqa: E402
                       FinetuneConfig,
                       FinetuneResult,
                       LinearProbeResult,
                       ProbeConfig,
                       ProbeResult,
                       compare,
                       embed_graphs,
                       embed_nodes,
                       finetune,
                       format_table,
                       linear_probe,
                       probe,
)
from .nn import ENCODERS, Encoder, build_encoder  # noqa: E402
from .nn.heads import GraphPredictor, NodePredictor  # noqa: E402
from .objectives import OBJECTIVES, Objective, ObjectiveOutput, build_objective  # noqa: E402
from .pretrained import available_pretrained, from_pretrained  # noqa: E402
from .sklearn import GraphEmbedder  # noqa: E402
from .tasks import EmbeddingTable, Evaluator, GraphTask, NodeTask, Task, embed_dataset  # noqa: E402
from .train import TrainConfig, Trainer, load_checkpoint, load_encoder, save_checkpoint  # noqa: E402
from .utils import tune_malloc, versions  # noqa: E402  (tune_malloc: never called on import)
from .version import __version__  # noqa: E402

__all__ = [
    '__version__', 'GraphStore', 'GraphLoader', 'NeighborLoader', 'DATASETS', 'DatasetBundle',
    'DatasetNotFoundError', 'available_datasets', 'from_smiles', 'load_dataset',
    'FinetuneConfig', 'FinetuneResult', 'compare', 'finetune', 'format_table', 'probe',
    'ProbeConfig', 'ProbeResult', 'linear_probe', 'LinearProbeResult', 'embed_nodes',
    'embed_graphs', 'embed_dataset', 'EmbeddingTable', 'Evaluator', 'Task', 'GraphTask',
    'NodeTask', 'NodePredictor', 'ENCODERS',
    'Encoder', 'build_encoder', 'GraphPredictor', 'OBJECTIVES', 'Objective', 'ObjectiveOutput',
    'build_objective', 'Trainer', 'TrainConfig', 'load_checkpoint', 'load_encoder',
    'save_checkpoint', 'tune_malloc', 'available_pretrained', 'from_pretrained',
    'from_graphs', 'bundle_smiles', 'GraphEmbedder', 'versions',
]
