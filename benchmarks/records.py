"""Result records of the benchmarks: JSON lines appended to a file."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable


def append_jsonl(path: str | os.PathLike, rows: Iterable[dict[str, Any]]) -> Path:
    """Append one JSON line per row to ``path`` (its folder made if absent); returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open('a') as f:
        for row in rows:
            f.write(json.dumps(row) + '\n')
    return out
