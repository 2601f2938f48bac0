"""Data-quality measurements on staged frames: completeness, categorical values, drift, reconciliation.

Pure Polars, no Dagster: each function returns a :class:`Measure` that the assets turn into an asset check
result (the severity is the asset's choice).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from gh_assets.config import IssueQuality


@dataclass(frozen=True)
class Measure:
    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)
    sample: pl.DataFrame | None = None  # failing rows (or measurements) to show as a markdown table


def markdown_table(frame: pl.DataFrame, limit: int = 10) -> str:
    columns = frame.columns
    header = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    rows = "".join(
        "| " + " | ".join(str(v).replace("|", "\\|").replace("\n", " ")[:80] for v in row) + " |\n"
        for row in frame.head(limit).iter_rows()
    )
    return header + rows


def completeness(frame: pl.DataFrame, max_null_fraction: Mapping[str, float]) -> Measure:
    """Null fraction of each configured column against its threshold."""
    rows = frame.height
    if rows == 0:
        return Measure(True, "no rows", {"rows": 0})
    present = [c for c in max_null_fraction if c in frame.columns]
    nulls = frame.select(pl.col(present).null_count()).row(0, named=True)
    table = pl.DataFrame(
        {
            "column": present,
            "null_fraction": [round(nulls[c] / rows, 4) for c in present],
            "max_allowed": [max_null_fraction[c] for c in present],
        }
    )
    over = table.filter(pl.col("null_fraction") > pl.col("max_allowed"))
    meta: dict[str, Any] = {"rows": rows, **{f"null_fraction_{c}": round(nulls[c] / rows, 4) for c in present}}
    desc = "null fractions within thresholds" if over.is_empty() else f"{over.height} columns over their null threshold: {', '.join(over['column'])}"
    return Measure(over.is_empty(), desc, meta, table)


def categorical(frame: pl.DataFrame, allowed: Mapping[str, Sequence[str]]) -> Measure:
    """Values outside GitHub's documented ones (nulls are the completeness check's business)."""
    counts: dict[str, int] = {}
    bad_rows = []
    for column, values in allowed.items():
        bad = frame.filter(pl.col(column).is_not_null() & ~pl.col(column).is_in(list(values)))
        counts[f"unknown_{column}"] = bad.height
        if bad.height:
            bad_rows.append(bad.select("id", "number", pl.lit(column).alias("column"), pl.col(column).cast(pl.String).alias("value")))
    total = sum(counts.values())
    sample = pl.concat(bad_rows) if bad_rows else None
    return Measure(total == 0, "all values documented" if total == 0 else f"{total} undocumented values", {"rows": frame.height, **counts}, sample)


def psi(expected: Mapping[str, int], actual: Mapping[str, int]) -> float:
    """Population stability index of two categorical count distributions (smoothed so empty bins are finite)."""
    keys = set(expected) | set(actual)
    e_total = sum(expected.values()) + 0.5 * len(keys)
    a_total = sum(actual.values()) + 0.5 * len(keys)
    out = 0.0
    for key in keys:
        e = (expected.get(key, 0) + 0.5) / e_total
        a = (actual.get(key, 0) + 0.5) / a_total
        out += (a - e) * math.log(a / e)
    return out


# Few-valued keys: PSI over many rare categories (author_association) is noise at a day's sample size.
DRIFT_KEYS = ("state", "is_pull_request")


def drift(history: pl.DataFrame, day: date, cfg: IssueQuality) -> Measure:
    """``day``'s rows against the ``drift_window_days`` before it: row count ratio and PSI of key columns.

    ``history`` holds staged rows with ``partition_date`` covering the window and the day.
    """
    current = history.filter(pl.col("partition_date") == day)
    window = history.filter(pl.col("partition_date") < day)
    days_seen = window.select(pl.col("partition_date").n_unique()).item()
    mean = window.height / cfg.drift_window_days
    meta: dict[str, Any] = {"day": day.isoformat(), "rows": current.height, "trailing_mean_rows": round(mean, 2), "trailing_days_with_rows": days_seen}
    if window.height < cfg.drift_min_rows:
        return Measure(True, f"not enough history before {day} ({window.height} rows) to judge drift", meta)
    ratio = (current.height + 1) / (mean + 1)
    meta["row_ratio"] = round(ratio, 3)
    problems = []
    if ratio > cfg.drift_max_row_ratio or ratio < 1 / cfg.drift_max_row_ratio:
        problems.append(f"row count {current.height} vs trailing mean {mean:.1f} (ratio {ratio:.2f})")
    for key in DRIFT_KEYS:
        value = psi(_counts(window, key), _counts(current, key))
        meta[f"psi_{key}"] = round(value, 4)
        if current.height >= cfg.drift_min_rows and value > cfg.drift_max_psi:
            problems.append(f"{key} distribution shifted (PSI {value:.2f})")
    return Measure(not problems, "; ".join(problems) or f"{day} in line with the {cfg.drift_window_days} days before", meta)


def _counts(frame: pl.DataFrame, column: str) -> dict[str, int]:
    grouped = frame.group_by(pl.col(column).cast(pl.String).fill_null("(null)")).len()
    return dict(zip(grouped[column], grouped["len"]))
