"""Downstream evaluation: fine-tuning, linear probing, OGB-style evaluators, comparison tables."""
from ..nn.losses import loss_for_task, masked_bce_with_logits, masked_cross_entropy, masked_mse
from .compare import compare, format_table
from .entry import finetune
from .evaluator import METRICS, Evaluator, higher_is_better, single_class_tasks
from .finetune import MODES, FinetuneConfig, FinetuneResult, build_optimizer, select_best_epoch
from .node_evaluator import NodeEvaluator
from .node_finetune import NodePredictor, finetune_nodes
from .probe import (
                       DEFAULT_CS,
                       LinearProbeResult,
                       ProbeConfig,
                       ProbeResult,
                       embed_graphs,
                       embed_nodes,
                       linear_probe,
                       probe,
)

__all__ = ['compare', 'format_table', 'METRICS', 'Evaluator', 'higher_is_better',
           'single_class_tasks', 'MODES', 'FinetuneConfig', 'FinetuneResult', 'build_optimizer',
           'finetune', 'select_best_epoch', 'loss_for_task', 'masked_bce_with_logits',
           'masked_cross_entropy', 'masked_mse', 'NodeEvaluator', 'NodePredictor',
           'finetune_nodes', 'DEFAULT_CS', 'LinearProbeResult', 'ProbeConfig', 'ProbeResult',
           'embed_graphs', 'embed_nodes', 'linear_probe', 'probe']
