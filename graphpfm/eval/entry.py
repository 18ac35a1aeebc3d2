"""The fine-tuning entry point for both levels: graphs of a dataset, or nodes of one graph."""
from __future__ import annotations

import os
from typing import Any, Callable

import torch

from .finetune import FinetuneConfig, FinetuneResult, _check_labelled_split, finetune_graphs
from .node_finetune import finetune_nodes


def finetune(bundle: Any, make_encoder: Callable[[int], torch.nn.Module],
             config: FinetuneConfig | None = None, log_path: str | os.PathLike | None = None,
             evaluator: Any | None = None) -> FinetuneResult:
    r"""Fine-tune (or linearly probe) a fresh encoder per seed and report the test score at the
    epoch of best *validation* score (OGB's protocol; test never guides selection).

    A node-level bundle (one graph, ``bundle.level == 'node'``) is handed to
    :func:`~graphpfm.eval.node_finetune.finetune_nodes` (a linear head on node embeddings,
    trained on the training nodes); the rest of this description is the graph-level recipe.

    For each seed: seed Python, NumPy and torch (:func:`torch_geometric.seed_everything`) and
    a :class:`torch.Generator` that shuffles the training set; build
    ``GraphPredictor(make_encoder(seed), ...)``; train with one Adam optimizer whose parameter
    groups are the encoder (``encoder_lr``; absent in ``'linear'`` mode) and the head (``lr``),
    with the masked loss of the bundle's task type; after every epoch score valid and test.

    Args:
        bundle (DatasetBundle): a labelled dataset with ``split_idx``.
        make_encoder (callable): ``seed -> Encoder``; loads pretrained weights or initialises
            randomly, as the caller decides. Called once per seed, after seeding.
        config (FinetuneConfig, optional): the recipe. (default: :obj:`FinetuneConfig()`)
        log_path (str, optional): JSON-lines file (overwritten) receiving one record per seed
            and epoch: ``seed``, ``epoch``, ``train_loss``, ``metric``, ``valid``, ``test``.
        evaluator (optional): object with ``metric``, ``higher_is_better`` and
            ``eval({'y_true', 'y_pred'}) -> {metric: value}``.
            (default: :meth:`Evaluator.from_bundle`)
    """
    config = FinetuneConfig() if config is None else config
    _check_labelled_split(bundle)
    if getattr(bundle, 'level', 'graph') == 'node':
        if int(os.environ.get('WORLD_SIZE', '1')) > 1:
            raise ValueError('data-parallel fine-tuning (torchrun) covers datasets of graphs; '
                             'node-level fine-tuning runs in one process')
        return finetune_nodes(bundle, make_encoder, config, log_path=log_path,
                              evaluator=evaluator)
    return finetune_graphs(bundle, make_encoder, config, log_path=log_path, evaluator=evaluator)
