r"""Selection of the pretraining epoch on the validation split: a trainer callback."""
from __future__ import annotations

import logging
import math
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data

from ..tasks import Evaluator, embed_nodes, label_array
from .probe import PROBE_TASK_TYPES, _fit_predict

logger = logging.getLogger(__name__)

#: inverse regularisation strengths of the validation probe by default
VALIDATION_CS: tuple[float, ...] = (1e-2, 1e-1, 1.0, 10.0)


class ValidationProbe:
    r"""A :class:`~graphpfm.train.Trainer` callback that selects the pretraining epoch on the
    **validation** split of a labelled node dataset: every :obj:`every` epochs (and after the
    last one) it embeds the nodes with the current encoder (frozen, in eval mode; no random
    draw, so training runs on exactly as without it), fits a linear probe on the training
    nodes for each ``C`` of :obj:`Cs` and scores the validation nodes with the dataset's
    evaluator; the epoch with the best validation score (ties: the earlier) is kept, and
    :meth:`on_fit_end` loads its encoder weights back, so that the checkpoint the trainer then
    writes holds the selected encoder (the objective's heads stay those of the last epoch).

    Test labels are never read: the labels of the training and validation nodes are copied
    when the callback is built, the graph it embeds carries no labels, and the test split is
    not looked at.

    Epoch records gain ``valid_probe`` (the score, on evaluated epochs) and
    ``valid_probe_best_epoch`` (the best epoch so far); the checkpoint gains
    ``extra['validation_selection']`` (:meth:`checkpoint_extra`); the callback's state is
    saved with the trainer's, so a resumed run continues its selection.

    Args:
        bundle (DatasetBundle): the node-level dataset pretrained on, labelled, with
            ``'train'`` and ``'valid'`` node splits.
        every (int): epochs between probes. (default: :obj:`10`)
        Cs (sequence of float): inverse regularisation strengths; the best on validation
            counts. (default: :data:`VALIDATION_CS`)
        standardize (bool): standardise embeddings with the training nodes' statistics.
            (default: :obj:`True`)
        max_iter (int): logistic-regression iterations. (default: :obj:`1000`)
        batch_size (int, optional): embed in mini-batches of this many target nodes with all
            their neighbours (:func:`~graphpfm.tasks.embed_nodes`); :obj:`None`: the whole
            graph at once. (default: :obj:`None`)
        device (str, optional): where to embed; :obj:`None`: the trainer's device.
        seed (int): ``random_state`` of the probes. (default: :obj:`0`)
    """

    def __init__(self, bundle: Any, every: int = 10, *, Cs: Sequence[float] = VALIDATION_CS,
                 standardize: bool = True, max_iter: int = 1000, batch_size: int | None = None,
                 device: str | None = None, seed: int = 0) -> None:
        if every < 1:
            raise ValueError(f'every must be >= 1 (epochs between probes), got {every}')
        if not Cs or any(not c > 0 for c in Cs):
            raise ValueError(f'Cs must be positive numbers, got {list(Cs)}')
        if getattr(bundle, 'level', None) != 'node':
            raise ValueError(f"ValidationProbe selects node-level pretraining; dataset "
                             f"'{getattr(bundle, 'name', bundle)}' is "
                             f"{getattr(bundle, 'level', 'not a DatasetBundle')}-level")
        split = bundle.split_idx or {}
        if bundle.task_type not in PROBE_TASK_TYPES or not all(s in split for s in
                                                              ('train', 'valid')):
            raise ValueError(f"ValidationProbe needs a labelled node dataset with 'train' and "
                             f"'valid' splits; '{bundle.name}' has task_type "
                             f"{bundle.task_type!r} and splits {sorted(split)} (valid task "
                             f"types: {', '.join(PROBE_TASK_TYPES)})")
        self.every, self.Cs, self.seed = int(every), tuple(float(c) for c in Cs), int(seed)
        self.standardize, self.max_iter = bool(standardize), int(max_iter)
        self.batch_size, self.device = batch_size, device
        self.name, self.task_type = bundle.name, bundle.task_type
        self.evaluator = Evaluator.from_bundle(bundle)
        data = bundle.dataset
        self.nodes = {s: torch.as_tensor(split[s]).long().cpu() for s in ('train', 'valid')}
        y = data.y
        self.labels = {s: label_array(y[idx].cpu(), self.task_type)
                       for s, idx in self.nodes.items()}  # only these rows are ever read
        self.graph = Data(x=data.x, edge_index=data.edge_index, num_nodes=data.num_nodes)
        if getattr(data, 'edge_attr', None) is not None:
            self.graph.edge_attr = data.edge_attr
        self.scores: list[tuple[int, float]] = []  # (epoch, validation score)
        self.best_epoch: int | None = None
        self.best_valid = math.nan
        self.best_C = math.nan
        self.best_state: dict[str, Tensor] | None = None
        self.restored = False

    # ------------------------------------------------------------------ probing
    def score(self, encoder: torch.nn.Module, device: Any = None) -> tuple[float, float]:
        """``(validation score, C)`` of ``encoder``'s embeddings: the best ``C`` on
        validation of probes fitted on the training nodes."""
        nodes = torch.cat([self.nodes['train'], self.nodes['valid']])
        emb = embed_nodes(encoder, self.graph, device, self.batch_size, nodes=nodes)
        x = emb.double().numpy()
        n_train = self.nodes['train'].numel()
        x_train, x_valid = x[:n_train], x[n_train:]
        if self.standardize:
            from sklearn.preprocessing import StandardScaler
            scaler = StandardScaler().fit(x_train)
            x_train, x_valid = scaler.transform(x_train), scaler.transform(x_valid)
        y_train, y_valid = self.labels['train'], self.labels['valid']
        best: tuple[float, float] | None = None
        for C in sorted(self.Cs):
            (raw,), _ = _fit_predict(self.task_type, C, x_train, y_train, [x_valid], self.seed,
                                     self.max_iter)
            value = self._evaluate(raw, y_valid)
            if best is None or _better(value, best[0], self.evaluator.higher_is_better):
                best = (value, C)
        assert best is not None
        return best

    def _evaluate(self, raw: np.ndarray, y_true: np.ndarray) -> float:
        pred = raw
        if self.task_type == 'binary classification' and self.evaluator.metric == 'acc':
            pred = (raw > 0).astype(np.float64)
        if self.task_type == 'multiclass classification':
            labelled = y_true[:, 0] >= 0
            y_true, pred = y_true[labelled], pred[labelled]
        metric = self.evaluator.metric
        return float(self.evaluator.eval({'y_true': y_true, 'y_pred': pred})[metric])

    # ------------------------------------------------------------------ callback hooks
    def on_epoch_end(self, trainer: Any, epoch: int, record: dict[str, Any]) -> None:
        """Probe every :attr:`every` epochs and after the last; keep the best encoder."""
        last = epoch == trainer.config.epochs
        if epoch % self.every and not last:
            return
        encoder = trainer.objective.encoder
        value, C = self.score(encoder, self.device or trainer.device)
        self.scores.append((int(epoch), value))
        if self.best_epoch is None or _better(value, self.best_valid,
                                              self.evaluator.higher_is_better):
            self.best_epoch, self.best_valid, self.best_C = int(epoch), value, C
            self.best_state = {k: v.detach().cpu().clone()
                               for k, v in encoder.state_dict().items()}
        record['valid_probe'] = value
        record['valid_probe_best_epoch'] = self.best_epoch
        logger.debug('epoch %d: validation probe %s %.4f (C=%g); best epoch %d', epoch,
                     self.evaluator.metric, value, C, self.best_epoch)

    def on_fit_end(self, trainer: Any) -> None:
        """Load the selected epoch's encoder weights (before the final checkpoint)."""
        if self.best_state is None:
            return
        trainer.objective.encoder.load_state_dict(self.best_state)
        self.restored = True
        logger.info('%s: epoch %d of %d selected on validation (%s %.4f); its encoder is '
                    'kept', self.name, self.best_epoch, trainer.config.epochs,
                    self.evaluator.metric, self.best_valid)

    def checkpoint_extra(self) -> dict[str, Any]:
        """``{'validation_selection': {...}}``: metric, probe settings, the selected epoch,
        its score and ``C``, every probed epoch's score, and whether the selected weights
        were restored (periodic checkpoints hold the weights of their own epoch)."""
        return {'validation_selection': {
            'metric': self.evaluator.metric, 'every': self.every, 'Cs': list(self.Cs),
            'best_epoch': self.best_epoch, 'best_valid': self.best_valid,
            'best_C': self.best_C, 'scores': [[e, v] for e, v in self.scores],
            'restored': self.restored,
            'protocol': 'probe fitted on the train split, scored on the valid split; test '
                        'labels unread'}}

    def state_dict(self) -> dict[str, Any]:
        return {'scores': [[e, v] for e, v in self.scores], 'best_epoch': self.best_epoch,
                'best_valid': self.best_valid, 'best_C': self.best_C,
                'best_state': dict(self.best_state or {})}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.scores = [(int(e), float(v)) for e, v in state['scores']]
        self.best_epoch = state['best_epoch']
        self.best_valid, self.best_C = float(state['best_valid']), float(state['best_C'])
        self.best_state = dict(state['best_state']) or None

    def __repr__(self) -> str:
        return (f"{type(self).__name__}('{self.name}', every={self.every}, "
                f'metric={self.evaluator.metric!r})')


def _better(value: float, best: float, higher_is_better: bool) -> bool:
    """Strictly better (ties keep the earlier); a NaN best is beaten by any number."""
    if math.isnan(best):
        return not math.isnan(value)
    return value > best if higher_is_better else value < best
