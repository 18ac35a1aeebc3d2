"""A :class:`torch.utils.data.DataLoader` that yields PyG batches."""
from __future__ import annotations

from typing import Any

import torch
from torch_geometric.data import Batch


def collate(items: Any) -> Batch:
    """Pass through a ready :class:`Batch` (from ``__getitems__``); collate a list otherwise."""
    if isinstance(items, Batch):
        return items
    return Batch.from_data_list(list(items))


class GraphLoader(torch.utils.data.DataLoader):
    r"""The standard PyTorch data loader for graph datasets.

    Datasets that fetch a whole batch at once (:class:`~graphpfm.data.GraphStore` and
    :class:`torch.utils.data.Subset` of one) are collated by tensor gathers; any other dataset
    of :class:`~torch_geometric.data.Data` objects falls back to
    :meth:`Batch.from_data_list`. Samplers, ``num_workers``, ``pin_memory`` and
    :class:`~torch.utils.data.distributed.DistributedSampler` work as usual.
    """

    def __init__(self, dataset: Any, batch_size: int = 32, shuffle: bool = False,
                 **kwargs: Any) -> None:
        kwargs.pop('collate_fn', None)
        super().__init__(dataset, batch_size=batch_size, shuffle=shuffle, collate_fn=collate,
                         **kwargs)
