"""Downstream evaluation: fine-tuning, linear probing, comparison tables (evaluators and
embeddings come from :mod:`graphpfm.tasks`)."""
from ..nn.heads import GraphPredictor, NodePredictor
from ..nn.losses import loss_for_task, masked_bce_with_logits, masked_cross_entropy, masked_mse
from ..tasks import (
    METRICS,
    Evaluator,
    embed_graphs,
    embed_nodes,
    higher_is_better,
    single_class_tasks,
)
from .compare import compare, format_table
from .finetune import (
    MODES,
    FinetuneConfig,
    FinetuneResult,
    build_optimizer,
    finetune,
    select_best_epoch,
)
from .probe import DEFAULT_CS, LinearProbeResult, ProbeConfig, ProbeResult, linear_probe, probe
from .random_comparison import VERDICTS, RandomComparison, compare_to_random
from .validation_probe import VALIDATION_CS, ValidationProbe

__all__ = ['compare', 'format_table', 'METRICS', 'Evaluator', 'higher_is_better',
           'single_class_tasks', 'MODES', 'FinetuneConfig', 'FinetuneResult', 'build_optimizer',
           'finetune', 'select_best_epoch', 'loss_for_task', 'masked_bce_with_logits',
           'masked_cross_entropy', 'masked_mse', 'GraphPredictor', 'NodePredictor',
           'DEFAULT_CS', 'LinearProbeResult', 'ProbeConfig', 'ProbeResult', 'embed_graphs',
           'embed_nodes', 'linear_probe', 'probe', 'RandomComparison', 'VERDICTS',
           'compare_to_random', 'VALIDATION_CS', 'ValidationProbe']
