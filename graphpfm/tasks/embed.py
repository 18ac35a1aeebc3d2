"""One embedding row per input record of a dataset, with each row's provenance, and the file
formats it is written in."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..paths import check_writable
from .graph import embed_graphs
from .node import embed_nodes, resolve_node_batching

log = logging.getLogger(__name__)

#: the file formats of :meth:`EmbeddingTable.write`, by suffix
OUTPUT_SUFFIXES = ('.npy', '.csv', '.parquet')


@dataclass
class EmbeddingTable:
    r"""Embeddings aligned with a dataset's input records.

    Attributes:
        values (numpy.ndarray): ``[num_records, dim]`` float32; rows of invalid records are
            NaN.
        rows (pandas.DataFrame): one row per record: ``index`` (``node`` for a node dataset),
            ``line`` (1-based, for SMILES files), ``valid`` and ``reason`` (why a record is
            invalid; graph datasets only).
        what (str): what the rows are, for messages (e.g. ``'molecules (mean pooling)'``).
    """

    values: np.ndarray
    rows: Any
    what: str

    @property
    def invalid(self) -> list[int]:
        """Positions of the invalid records."""
        if 'valid' not in self.rows:
            return []
        return np.flatnonzero(~self.rows['valid'].to_numpy()).tolist()

    def write(self, output: str | os.PathLike) -> Path:
        """Write to ``output`` by its suffix: ``.npy`` (the values; :attr:`rows` beside it as
        ``.rows.csv``), ``.csv`` or ``.parquet`` (the row columns, then ``e0``, ``e1``, ...).
        Returns the path written."""
        import pandas as pd
        output = Path(output)
        check_output(output)
        output.parent.mkdir(parents=True, exist_ok=True)
        if output.suffix == '.npy':
            np.save(output, self.values)
            self.rows.to_csv(output.with_suffix('.rows.csv'), index=False)
            return output
        columns = [f'e{i}' for i in range(self.values.shape[1])]
        table = pd.concat([self.rows, pd.DataFrame(self.values, columns=columns)], axis=1)
        if output.suffix == '.csv':
            table.to_csv(output, index=False)
        else:
            table.to_parquet(output, index=False)
        return output

    def summary(self, output: str | os.PathLike) -> str:
        """What was written to ``output`` (as ``graphpfm embed`` prints it): the row count and
        width, the rows file of a ``.npy``, and the first invalid records with their reason."""
        output = Path(output)
        rows = f"; rows: {output.with_suffix('.rows.csv')}" if output.suffix == '.npy' else ''
        text = f'{len(self.values)} {self.what} -> {output} ({self.values.shape[1]} dims){rows}'
        invalid = self.invalid
        if invalid:
            lines = self.rows['line'].tolist() if 'line' in self.rows else None
            shown = '; '.join(f"{f'line {lines[i]}' if lines else f'record {i}'}: "
                              f"{self.rows['reason'][i]}" for i in invalid[:10])
            more = ' ...' if len(invalid) > 10 else ''
            text += f'\n{len(invalid)} invalid record(s) left as NaN rows ({shown}{more})'
        return text


def check_output(output: str | os.PathLike, what: str = 'output') -> None:
    """Refuse, before any work, an output that :meth:`EmbeddingTable.write` cannot write: a
    folder, an unknown suffix, ``.parquet`` without pyarrow, a place where no file can be
    created; the message calls it ``what``."""
    output = Path(output)
    if output.is_dir():
        raise ValueError(f'{what} {output} is a folder; name a file ending in '
                         f"{', '.join(OUTPUT_SUFFIXES)}")
    if output.suffix not in OUTPUT_SUFFIXES:
        raise ValueError(f"{what} must end in {', '.join(OUTPUT_SUFFIXES)}, got "
                         f"'{output.name}'")
    if output.suffix == '.parquet':
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ValueError(f'{what} .parquet needs pyarrow (pip install pyarrow); or write '
                             '.npy or .csv') from None
    folder = output.parent
    try:
        check_writable(folder)
    except OSError as err:
        existing = next((p for p in (folder, *folder.parents) if p.exists()), folder)
        why = (f'{existing} is a file, not a folder' if existing.exists() and
               not existing.is_dir() else err.strerror or err)
        raise ValueError(f'cannot write {what} {output} ({why})') from None


def embed_dataset(encoder: torch.nn.Module, bundle: Any, *, source: str | None = None,
                  limit: int | None = None, pool: str = 'mean', batch_size: int = 256,
                  device: str | torch.device | None = None,
                  progress: bool = False) -> EmbeddingTable:
    r"""Embed every record of ``bundle`` with a frozen ``encoder``: one row per input record in
    input order, invalid records (SMILES RDKit rejects, kept out of the dataset) as NaN rows
    with their reason; for a node-level bundle, one row per node.

    Args:
        encoder (Encoder): the encoder (eval mode while embedding).
        bundle (DatasetBundle): the dataset; a graph dataset built from records (a SMILES file
            or list) maps its graphs back to them through ``source_index``.
        source (str, optional): the SMILES file ``bundle`` was read from: adds each record's
            line number, and the reasons of invalid records that the dataset's cache lacks.
        limit (int, optional): the record limit ``bundle`` was read with (for ``source``).
        pool (str): graph readout (``'mean'``, ``'sum'``, ``'max'``).
        batch_size (int): graphs per batch.
        device (str, optional): where the encoder runs.
        progress (bool): node datasets: a progress bar over mini-batches.
    """
    import pandas as pd
    if bundle.level == 'node':
        values = embed_nodes(encoder, bundle.dataset, device,
                             resolve_node_batching(bundle.dataset, None),
                             progress=progress).numpy()
        return EmbeddingTable(values, pd.DataFrame({'node': np.arange(len(values))}),
                              f'nodes of {bundle.name}')
    from ..datasets.smiles import invalid_reason, is_smiles_file, read_smiles_file
    store = bundle.dataset
    kept = getattr(store, 'source_index', None)
    kept = np.arange(len(store)) if kept is None else np.asarray(kept)
    count = int(getattr(store, 'meta', {}).get('count', len(store)))
    values = np.full((count, int(encoder.out_channels)), np.nan, dtype=np.float32)
    if len(store):
        values[kept] = embed_graphs(encoder, store, device, batch_size, pool)[0].numpy()
    else:
        log.warning('no valid record in %s: every row is NaN', bundle.name)
    valid = np.isin(np.arange(count), kept)
    rows = pd.DataFrame({'index': np.arange(count)})
    smiles = None
    if source is not None and is_smiles_file(source):
        smiles, lines = read_smiles_file(source, limit)
        if len(lines) == count:
            rows['line'] = lines
    known = dict(getattr(store, 'invalid', []) or [])
    reasons = [''] * count
    for i in np.flatnonzero(~valid).tolist():
        reasons[i] = known.get(i) or (invalid_reason(smiles[i]) if smiles is not None
                                      and i < len(smiles) else 'invalid')
    rows['valid'] = valid
    rows['reason'] = reasons
    return EmbeddingTable(values, rows, f'molecules ({pool} pooling)')
