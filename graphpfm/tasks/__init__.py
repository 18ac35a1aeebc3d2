"""Prediction tasks by level: labels, splits, evaluator, predictor, batches and embeddings."""
from .base import SPLITS, Task, TrainingPlan, label_array, predictions
from .embed import OUTPUT_SUFFIXES, EmbeddingTable, embed_dataset
from .evaluator import METRICS, Evaluator, higher_is_better, single_class_tasks
from .graph import GraphTask, embed_graphs, graph_batches, predict
from .node import (
    DEFAULT_NODE_BATCH_SIZE,
    DEFAULT_NUM_NEIGHBORS,
    FULL_BATCH_MAX_SIZE,
    NodeTask,
    check_node_batching,
    embed_nodes,
    encoder_num_layers,
    node_batches,
    resolve_node_batching,
)

__all__ = ['SPLITS', 'Task', 'TrainingPlan', 'label_array', 'predictions', 'METRICS',
           'Evaluator', 'higher_is_better', 'single_class_tasks', 'GraphTask', 'embed_graphs',
           'graph_batches', 'predict', 'NodeTask', 'DEFAULT_NODE_BATCH_SIZE',
           'DEFAULT_NUM_NEIGHBORS', 'FULL_BATCH_MAX_SIZE', 'check_node_batching', 'embed_nodes',
           'encoder_num_layers', 'node_batches', 'resolve_node_batching', 'OUTPUT_SUFFIXES',
           'EmbeddingTable', 'embed_dataset']
