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


class ShardBatches(torch.utils.data.Sampler):
    """Each rank's share of the batches of any batch sampler: batch ``b`` of ``batch_sampler``
    is split into ``num_replicas`` contiguous parts (:func:`torch.tensor_split`) and rank
    ``rank`` gets its part. Every rank must hold an identical ``batch_sampler`` (same seed), so
    the ranks together see exactly the batches one process would; a batch with fewer items
    than ranks is dropped (a rank would get nothing to train on).

    Unlike :class:`~torch.utils.data.distributed.DistributedSampler` (which deals items out
    round-robin over the whole epoch), this keeps every global batch intact, which is what
    makes a data-parallel run comparable to a single-process one. Training uses it over
    ``BatchSampler(RandomSampler(dataset, generator=g), ...)``
    (:func:`~graphpfm.tasks.graph_batches`), which makes a data-parallel run draw its order
    from the generator exactly as the single-process loader (``shuffle=True, generator=g``)
    does, epoch after epoch.

    Args:
        batch_sampler: yields lists of indices (global batches).
        num_replicas (int): number of ranks.
        rank (int): this rank.
    """

    def __init__(self, batch_sampler: Any, num_replicas: int, rank: int) -> None:
        if not 0 <= rank < num_replicas:
            raise ValueError(f'rank must be in [0, {num_replicas}), got {rank}')
        self.batch_sampler, self.num_replicas, self.rank = batch_sampler, num_replicas, rank
        self._skip = 0

    def skip_next(self, num_batches: int) -> None:
        """Let the next pass leave out its first ``num_batches`` global batches (drawn as
        usual, so the order and every random stream stay those of an uninterrupted pass): how
        a resumed run continues an epoch where it stopped."""
        if num_batches < 0:
            raise ValueError(f'num_batches must be >= 0, got {num_batches}')
        self._skip = int(num_batches)

    def __iter__(self):
        skip, self._skip = self._skip, 0
        for pos, batch in enumerate(self.batch_sampler):
            if pos < skip or len(batch) < self.num_replicas:
                continue
            yield torch.tensor_split(torch.as_tensor(batch), self.num_replicas)[self.rank].tolist()

    def __len__(self) -> int:
        return len(self.batch_sampler)
