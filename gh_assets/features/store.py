"""The Feast-style offline store: one Parquet file per feature table, swapped into place atomically."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import polars as pl


def write_offline(frame: pl.DataFrame, final_dir: Path) -> Path:
    """Write ``<final_dir>/part-0.parquet`` through a temporary sibling folder renamed into place."""
    final_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = final_dir.with_name(f".{final_dir.name}.tmp-{uuid.uuid4().hex[:8]}")
    old = final_dir.with_name(f".{final_dir.name}.old-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    try:
        frame.write_parquet(tmp / "part-0.parquet", compression="zstd", statistics=True)
        if final_dir.exists():
            os.replace(final_dir, old)
        os.replace(tmp, final_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return final_dir / "part-0.parquet"
