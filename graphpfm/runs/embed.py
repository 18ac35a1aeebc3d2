"""One embedding run: a checkpoint's encoder over a dataset or file of molecules (or the
nodes of a graph), written as a table."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .config import DataConfig, check_width


@dataclass
class EmbedConfig:
    r"""What to embed, and where to.

    Args:
        checkpoint (str): a pretrained checkpoint file or shipped pretrained model.
        input (str): a ``.csv``/``.smi(.gz)`` file of SMILES, a networkx graph file
            (node-link ``.json(.gz)``, ``.gml``, ``.graphml``; ``--level`` says whether its
            graphs or its nodes are the rows) or a dataset name (a node dataset such as Cora
            gives one row per node).
        output (str): a ``.npy`` (rows described in a ``.rows.csv`` beside it: index, input
            line, validity, reason), ``.csv`` or ``.parquet`` file (those columns first).
        pool (str): graph readout: ``'mean'``, ``'sum'`` or ``'max'``.
        batch_size (int): graphs per batch.
    """

    checkpoint: str
    input: str
    output: str
    pool: str = 'mean'
    batch_size: int = 256


def embed(config: EmbedConfig, data: DataConfig | None = None, *, device: Any = 'auto',
          progress: bool = False) -> Any:
    """Write one embedding per record of ``config.input`` (input order; invalid records are
    NaN rows), or per node of a node dataset, to ``config.output`` (see
    :class:`~graphpfm.tasks.EmbeddingTable`) and return the table; ``data`` gives the data
    root and how to read the input (its ``dataset`` is ignored). The options are checked
    before any work."""
    from ..nn.heads import POOLS
    from ..pretrained import resolve_checkpoint
    from ..tasks.embed import check_output, embed_dataset
    from ..train import load_encoder
    from ..utils import resolve_device
    output, pool, batch_size = Path(config.output), config.pool, config.batch_size
    data = dataclasses.replace(data or DataConfig(), dataset=config.input)
    try:
        check_output(output, what='--output')
    except ValueError as err:
        raise ConfigError(str(err)) from None
    if pool not in POOLS:
        raise ConfigError(f"--pool '{pool}' invalid; valid options: {', '.join(POOLS)}")
    if batch_size < 1:
        raise ConfigError(f'--batch-size must be >= 1, got {batch_size}')
    checkpoint = str(resolve_checkpoint(config.checkpoint))
    device = resolve_device(device)
    encoder = load_encoder(checkpoint, map_location=device)
    bundle = data.load(progress=progress)
    check_width(checkpoint, bundle)
    table = embed_dataset(encoder, bundle, source=data.dataset, limit=data.limit, pool=pool,
                          batch_size=batch_size, device=device, progress=progress)
    table.write(output)
    return table
