"""Markdown tables of benchmark records: mean ± std over seeds, and paired differences to a
baseline arm with Student's *t* intervals; and the marked sections of a README they refresh.

Scores are given as ``{(row, column): {seed: score}}`` (:func:`scores_by_cell`), a row being
an arm and a column a dataset or an evaluation; every score is the test score at the best
validation epoch (or setting) of one seed. Cells show the mean and the population standard
deviation (``ddof=0``) over seeds, in points (x 100), as OGB's leaderboards do.
"""
from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

Scores = Mapping[tuple[str, str], Mapping[int, float]]


def scores_by_cell(records: Iterable[dict[str, Any]], row: str = 'arm',
                   column: str = 'dataset', value: str = 'test_at_best_valid'
                   ) -> dict[tuple[str, str], dict[int, float]]:
    """``{(record[row], record[column]): {record['seed']: record[value]}}``."""
    cells: dict[tuple[str, str], dict[int, float]] = {}
    for r in records:
        cells.setdefault((r[row], r[column]), {})[r['seed']] = r[value]
    return cells


def missing_cells(scores: Scores, rows: Sequence[str], columns: Sequence[str],
                  seeds: Sequence[int]) -> list[tuple[str, str, int]]:
    """The (row, column, seed) of every score the table needs and ``scores`` lacks."""
    return [(a, d, s) for a in rows for d in columns for s in seeds
            if s not in scores.get((a, d), {})]


def score_cell(values: Sequence[float], seeds: int | None = None) -> str:
    """``'65.0 ± 5.0'`` in points; ``'—'`` without values; the seed count appended when fewer
    than ``seeds``."""
    if not values:
        return '—'
    import numpy as np
    v = np.asarray(values, dtype=float)
    cell = f'{100 * v.mean():.1f} ± {100 * v.std():.1f}'
    if seeds is not None and len(v) < seeds:
        cell += f' ({len(v)}/{seeds} seeds)'
    return cell


def score_table(scores: Scores, rows: Sequence[str], columns: Sequence[str],
                seeds: Sequence[int], *, labels: Mapping[str, str] | None = None,
                corner: str = 'arm', average: bool = True) -> str:
    """Markdown table (rows: ``rows``; columns: ``columns``, then their average) of the mean ±
    std over ``seeds`` of each cell (:func:`score_cell`); a cell with fewer seeds shows its
    count, and a row that is not complete has no average. ``labels`` names the columns."""
    import numpy as np
    labels = labels or {}
    head = f'| {corner} | ' + ' | '.join(labels.get(c, c) for c in columns)
    lines = [head + (' | average |' if average else ' |'),
             '|' + '---|' * (len(columns) + 1 + average)]
    for row in rows:
        cells, means, complete = [], [], True
        for c in columns:
            vals = [v for s, v in sorted(scores.get((row, c), {}).items()) if s in seeds]
            cells.append(score_cell(vals, len(seeds)))
            complete &= len(vals) == len(seeds)
            if vals:
                means.append(float(np.mean(vals)))
        line = f'| {row} | ' + ' | '.join(cells)
        if average:
            line += f' | {100 * np.mean(means):.1f}' if complete else ' | —'
        lines.append(line + ' |')
    return '\n'.join(lines)


def paired_difference(a: Sequence[float], b: Sequence[float], confidence: float = 0.95
                      ) -> tuple[float, float, float, int]:
    r"""The mean paired difference :math:`\bar d` of :math:`d_i = a_i - b_i` and its two-sided
    confidence interval from Student's *t* distribution with :math:`n - 1` degrees of freedom,

    .. math::
        \bar d \pm t_{(1 + c) / 2,\, n - 1} \, \frac{s_d}{\sqrt{n}},

    with :math:`s_d` the sample standard deviation of :math:`d` (``ddof=1``) and :math:`c`
    the confidence; the interval of :func:`scipy.stats.ttest_rel`.

    Args:
        a (sequence of float): the scores of one arm, one per seed.
        b (sequence of float): the scores of the other arm on the same seeds, in the same
            order.
        confidence (float, optional): the coverage of the interval, in :math:`(0, 1)`.
            (default: :obj:`0.95`)

    Returns:
        ``(mean, lo, hi, n)``, ``n`` the number of pairs; with fewer than two pairs ``lo``
        and ``hi`` are NaN (and ``mean`` too with none).
    """
    from scipy.stats import t
    if len(a) != len(b):
        raise ValueError(f'paired scores need one value of each arm per seed, got {len(a)} '
                         f'and {len(b)}')
    if not 0 < confidence < 1:
        raise ValueError(f'confidence must lie strictly between 0 and 1, got {confidence}')
    d = [float(x) - float(y) for x, y in zip(a, b)]
    n = len(d)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = sum(d) / n
    if n < 2:
        return mean, math.nan, math.nan, n
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1))
    half = float(t.ppf((1 + confidence) / 2, n - 1)) * sd / math.sqrt(n)
    return mean, mean - half, mean + half, n


def difference_cell(mean: float, lo: float, hi: float, n: int, seeds: int) -> str:
    """A paired-difference cell in points: ``+1.2 [-0.3, +2.7]``, bold where the interval
    excludes 0, with the pair count where pairs are missing."""
    if n == 0:
        return '— (no pairs)'
    if n < 2:
        return f'{100 * mean:+.1f} (1 pair: no interval)'
    cell = f'{100 * mean:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]'
    if lo > 0 or hi < 0:
        cell = f'**{cell}**'
    if n < seeds:
        cell += f' ({n}/{seeds} pairs)'
    return cell


def paired_difference_table(scores: Scores, arms: Sequence[str], columns: Sequence[str],
                            seeds: Sequence[int], baseline: str | Callable[[str], str], *,
                            lower_is_better: Mapping[str, str] | None = None,
                            labels: Mapping[str, str] | None = None,
                            name: str | None = None, corner: str | None = None,
                            average: bool = True,
                            positive: str = 'the arm did better', over: str = 'columns',
                            confidence: float = 0.95) -> str:
    """Markdown table (rows: ``arms``; columns: ``columns``, then their average) of each arm's
    paired difference to its baseline arm: for every seed :math:`s` both hold,
    :math:`d_s` = score(arm) - score(baseline), or score(baseline) - score(arm) in the
    ``lower_is_better`` columns, so that a positive difference always means the arm did
    better; each cell is the mean of :math:`d_s` with its Student's *t* interval over the
    seeds (:func:`paired_difference`), in points. The average column does the same with, per
    seed, the mean of :math:`d_s` over the columns (seeds paired in every column only). An
    explanation line follows the table; empty without ``arms`` or ``columns``.

    Args:
        baseline (str or callable): the baseline arm, or a function from an arm to its own.
        lower_is_better (mapping, optional): ``{column: metric name}`` of the columns whose
            metric is better lower (an error, say).
        name (str, optional): the baseline in the header and note. (default: ``baseline`` if
            a string, else ``'its baseline'``)
        corner (str, optional): the header's first cell. (default: ``'vs <name>'``)
        positive (str, optional): what a positive difference means, in the note.
        over (str, optional): what the columns are, in the note.
    """
    if not arms or not columns:
        return ''
    labels = labels or {}
    lower = dict(lower_is_better or {})
    base_of = (lambda _arm: baseline) if isinstance(baseline, str) else baseline
    name = name or (baseline if isinstance(baseline, str) else 'its baseline')
    head = f"| {corner or f'vs {name}'} | " + ' | '.join(labels.get(c, c) for c in columns)
    lines = [head + (' | average |' if average else ' |'),
             '|' + '---|' * (len(columns) + 1 + average)]
    for arm in arms:
        row = []
        per_seed: dict[int, list[float]] = {}
        for c in columns:
            sign = -1.0 if c in lower else 1.0
            mine, base = scores.get((arm, c), {}), scores.get((base_of(arm), c), {})
            paired = [s for s in seeds if s in mine and s in base]
            a = [sign * mine[s] for s in paired]
            b = [sign * base[s] for s in paired]
            row.append(difference_cell(*paired_difference(a, b, confidence), len(seeds)))
            for s, x, y in zip(paired, a, b):
                per_seed.setdefault(s, []).append(x - y)
        if average:
            complete = [s for s in seeds if len(per_seed.get(s, [])) == len(columns)]
            avg = [sum(per_seed[s]) / len(columns) for s in complete]
            row.append(difference_cell(*paired_difference(avg, [0.0] * len(avg), confidence),
                                       len(seeds)))
        lines.append(f'| {arm} | ' + ' | '.join(row) + ' |')
    metrics = sorted({lower[c] for c in columns if c in lower})
    which = f" ({', '.join(metrics)} here)" if metrics else ''
    text = (f'Paired difference to {name} over the same seeds, in points (x 100): mean '
            f"[{100 * confidence:g}% confidence interval, Student's t with n - 1 degrees of "
            'freedom over the n seeds]; **bold**: the interval excludes 0. Positive means '
            f'{positive}: arm - {name} where higher is better, {name} - arm where lower is '
            f'better{which}.')
    if average:
        text += (f' Average: per seed, the mean difference over the {over}, then the '
                 'interval over seeds.')
    return '\n'.join(lines + ['', text])


#: ``<!-- report: NAME -->`` ... ``<!-- /report: NAME -->`` enclose a generated section
BEGIN, END = '<!-- report: {} -->', '<!-- /report: {} -->'
#: the results page whose sections ``report --readme-section`` refreshes
README = Path(__file__).resolve().parents[1] / 'README.md'


def readme_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--readme-section NAME`` and ``--readme PATH`` to a ``report`` command."""
    parser.add_argument('--readme-section', default=None, metavar='NAME',
                        help='also write the tables into the section NAME of --readme, '
                        "between '<!-- report: NAME -->' and '<!-- /report: NAME -->'")
    parser.add_argument('--readme', default=str(README),
                        help='(default: benchmarks/README.md)')


def write_readme(args: argparse.Namespace, text: str) -> None:
    """Write ``text`` into the README section ``args.readme_section`` names, if any."""
    if args.readme_section:
        write_section(args.readme, args.readme_section, text)
        sys.stdout.write(f'written into {args.readme}, section {args.readme_section}\n')


def write_section(path: str | Path, name: str, text: str) -> Path:
    """Replace what lies between the markers of section ``name`` in the markdown file ``path``
    (:data:`BEGIN`, :data:`END`) with ``text``; a file without them is an error that lists
    the sections it has."""
    path = Path(path)
    doc = path.read_text()
    begin, end = BEGIN.format(name), END.format(name)
    i, j = doc.find(begin), doc.find(end)
    if i < 0 or j < i:
        found = re.findall(r'<!-- report: (\S+) -->', doc)
        raise SystemExit(f"error: {path} has no section '{name}' (marked {begin} ... {end}); "
                         f"its sections: {', '.join(found) or 'none'}")
    path.write_text(doc[:i + len(begin)] + '\n' + text.strip('\n') + '\n' + doc[j:])
    return path
