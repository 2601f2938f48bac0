"""Milestone due dates from the raw issue pages: the staged layer and the marts do not keep ``due_on``."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import zstandard

from gh_assets.config import repo_from_slug

UTC_TS = pl.Datetime(time_unit="us", time_zone="UTC")
DUES_SCHEMA = {"repository": pl.String, "milestone_number": pl.Int64, "due_on": UTC_TS}
_MILESTONE = pl.Struct({"number": pl.Int64, "due_on": pl.String, "updated_at": pl.String})


def read_milestone_dues(lake_root: Path) -> pl.DataFrame:
    """``(repository, milestone_number, due_on)``: each milestone's due date as of its newest ``updated_at`` in any page.

    Pages are parsed by Polars with a one-field schema (only ``milestone`` is read); a page that does not
    parse (a deliberately broken capture) is skipped: its issues are quarantined downstream anyway.
    """
    frames = []
    decompressor = zstandard.ZstdDecompressor()
    for repo_dir in sorted((lake_root / "raw" / "issues").glob("repo=*")):
        repository = repo_from_slug(repo_dir.name.removeprefix("repo="))
        for page in sorted(repo_dir.glob("date=*/pages/*.json.zst")):
            try:
                frame = pl.read_json(io.BytesIO(decompressor.decompress(page.read_bytes())), schema={"milestone": _MILESTONE})
            except (pl.exceptions.PolarsError, zstandard.ZstdError):
                continue
            frames.append(frame.drop_nulls("milestone").unnest("milestone").with_columns(pl.lit(repository).alias("repository")))
    if not frames:
        return pl.DataFrame(schema=DUES_SCHEMA)
    return (
        pl.concat(frames)
        .sort("repository", "number", "updated_at", "due_on", nulls_last=False)
        .group_by("repository", "number", maintain_order=True)
        .last()
        .select(
            "repository",
            pl.col("number").alias("milestone_number"),
            pl.col("due_on").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC", strict=False).cast(UTC_TS),
        )
        .sort("repository", "milestone_number")
    )
