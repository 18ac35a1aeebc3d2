r"""Make ogb's own PyG dataset classes usable on torch >= 2.6, without interactive prompts.

graphpfm reads OGB's files itself (:mod:`graphpfm.datasets.ogb_graph`) and never needs this;
it is for users who want :class:`ogb.graphproppred.PygGraphPropPredDataset` and friends.
Two incompatibilities are handled:

* torch >= 2.6 loads with ``weights_only=True`` by default, and ogb's processed cache holds
  PyG classes that torch refuses to unpickle (``Unsupported global: GLOBAL
  torch_geometric.data.data.DataEdgeAttr``);
* ogb calls :func:`input` when ``RELEASE_v1.txt`` is missing or a download is large, which
  blocks scripts and CI.

Example::

    from graphpfm.compat import ogb_compat
    from ogb.graphproppred import PygGraphPropPredDataset

    with ogb_compat():
        dataset = PygGraphPropPredDataset('ogbg-molbace', root='data/ogb')
"""
from __future__ import annotations

import builtins
import contextlib
from typing import Any, Iterator


def pyg_safe_globals() -> list[type]:
    """PyG classes that ogb's processed datasets pickle (allow-listed for ``weights_only``)."""
    from torch_geometric.data.data import DataEdgeAttr, DataTensorAttr
    from torch_geometric.data.storage import GlobalStorage
    return [DataEdgeAttr, DataTensorAttr, GlobalStorage]


def _refuse_input(prompt: Any = '') -> str:
    raise RuntimeError(
        f'ogb asked for interactive input ({str(prompt).strip()!r}) and graphpfm refuses to '
        'prompt. Usually RELEASE_v1.txt is missing from the dataset folder (ogb then offers to '
        'delete and re-download it) or a download is large: place the dataset files yourself, '
        "or use graphpfm.datasets.load_dataset, which reads OGB's files without prompting.")


@contextlib.contextmanager
def ogb_compat() -> Iterator[None]:
    r"""Context manager under which ogb's PyG dataset classes work on torch >= 2.6.

    Inside the block, ``torch.load(weights_only=True)`` accepts PyG's
    ``DataEdgeAttr``, ``DataTensorAttr`` and ``GlobalStorage`` (via
    :func:`torch.serialization.safe_globals`, so nothing stays allow-listed afterwards), and
    :func:`builtins.input` raises a :class:`RuntimeError` instead of prompting (stdin is never
    read, so a closed stdin is safe). Both are restored on exit, also after an exception.
    """
    import torch

    original_input = builtins.input
    builtins.input = _refuse_input
    try:
        with torch.serialization.safe_globals(pyg_safe_globals()):
            yield
    finally:
        builtins.input = original_input
