"""Runs in one call, as the command line makes them: a pretraining run into a folder
(checkpoint, log, configuration), and a transfer run (fine-tuning or linear probing, against
a randomly initialised encoder of the same architecture) writing its results table, the
quick start, an embedding table, a leakage check and the catalogue of what is installed. Each
result has a ``summary()``: the text the command prints.

The configs' fields are the command line's options (:mod:`graphpfm.config`)::

    from graphpfm.runs import DataConfig, EncoderConfig, PretrainConfig, pretrain
    from graphpfm.train import TrainConfig
    run = pretrain('runs/gin', DataConfig('embedded'), EncoderConfig(num_layers=3),
                   PretrainConfig('attr_masking'), TrainConfig(epochs=2))
"""
from .catalogue import Catalogue, catalogue
from .config import DataConfig, EncoderConfig, check_width, feature_width, normalize_features
from .embed import EmbedConfig, embed
from .leakage import LeakageConfig, LeakageReport, leakage
from .pretrain import PretrainConfig, PretrainRun, check_objective, pretrain
from .transfer import (
    BASELINES,
    FINETUNE_DROPOUT,
    PROBE_DROPOUT,
    QuickstartConfig,
    TransferConfig,
    TransferReport,
    finetune,
    probe,
    quickstart,
)

__all__ = ['DataConfig', 'EncoderConfig', 'check_width', 'feature_width', 'normalize_features',
           'PretrainConfig', 'PretrainRun', 'check_objective', 'pretrain', 'BASELINES',
           'FINETUNE_DROPOUT', 'PROBE_DROPOUT', 'TransferConfig', 'TransferReport', 'finetune',
           'probe', 'QuickstartConfig', 'quickstart', 'EmbedConfig', 'embed', 'LeakageConfig',
           'LeakageReport', 'leakage', 'Catalogue', 'catalogue']
