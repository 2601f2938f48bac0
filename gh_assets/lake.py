"""The lake on local disk: where raw pages, staged Parquet and quarantine live, and atomic partition writes.

Layout (``<root>`` is ``$GH_ASSETS_DATA_DIR/lake``)::

    raw/<entity>/repo=<owner>__<name>/date=<YYYY-MM-DD>/manifest.json + pages/<seq>.json.zst
    staged/<entity>/repo=<owner>__<name>/date=<YYYY-MM-DD>/part-0.parquet
    quarantine/<entity>/repo=<owner>__<name>/date=<YYYY-MM-DD>/part-0.parquet

Every partition is written to a temporary sibling and renamed into place, so readers never see half a
partition and a rerun replaces the old partition whole.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import zstandard

from gh_assets.config import repo_slug

MANIFEST = "manifest.json"
PAGES = "pages"
_ZSTD_LEVEL = 3


@dataclass(frozen=True)
class RawPageMeta:
    """What we know of one captured page besides its body. ``url`` is sanitised; no request headers are kept."""

    seq: int
    file: str
    key: str  # the request (path + sorted query) the page answers; matches stored ETags
    url: str
    status: int  # 200, or 304 when the stored body was reused
    etag: str | None
    fetched_at: str
    bytes: int
    items: int
    rate_limit_limit: int | None
    rate_limit_remaining: int | None
    rate_limit_reset: float | None
    rate_limit_resource: str | None


def _replace_dir(tmp: Path, final: Path) -> None:
    """Swap ``tmp`` into ``final``: the old partition is moved aside first and removed after."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


class Lake:
    """Paths and atomic I/O under one lake root."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def partition_dir(self, layer: str, entity: str, repo: str, day: date) -> Path:
        return self.root / layer / entity / f"repo={repo_slug(repo)}" / f"date={day.isoformat()}"

    def repo_dir(self, layer: str, entity: str, repo: str) -> Path:
        return self.root / layer / entity / f"repo={repo_slug(repo)}"

    # --- raw pages -------------------------------------------------------------------------------------
    def raw_writer(self, entity: str, repo: str, days: list[date]) -> RawWriter:
        return RawWriter(self, entity, repo, days)

    def raw_manifest(self, entity: str, repo: str, day: date) -> list[RawPageMeta] | None:
        """The pages captured for one partition, or None if the partition was never captured."""
        path = self.partition_dir("raw", entity, repo, day) / MANIFEST
        try:
            data = orjson.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        return [RawPageMeta(**page) for page in data["pages"]]

    def raw_pages(self, entity: str, repo: str, day: date) -> Iterator[tuple[RawPageMeta, bytes, str]]:
        """Yield ``(meta, body, path)`` for every page captured for the partition."""
        base = self.partition_dir("raw", entity, repo, day)
        manifest = self.raw_manifest(entity, repo, day)
        if manifest is None:
            raise FileNotFoundError(f"{base}: no raw capture for {repo} on {day}; materialise the raw pages first")
        for meta in manifest:
            path = base / meta.file
            yield meta, self.read_page(path), str(path)

    def read_page(self, path: str | os.PathLike[str]) -> bytes:
        """The exact body of one captured page."""
        return zstandard.ZstdDecompressor().decompress(Path(path).read_bytes())

    # --- Parquet ---------------------------------------------------------------------------------------
    def parquet_path(self, layer: str, entity: str, repo: str, day: date) -> Path:
        return self.partition_dir(layer, entity, repo, day) / "part-0.parquet"

    def write_parquet(self, frame: pl.DataFrame, layer: str, entity: str, repo: str, day: date) -> Path:
        """Write one partition atomically (an empty frame still writes a file: the day is known to be empty)."""
        final_dir = self.partition_dir(layer, entity, repo, day)
        tmp_dir = final_dir.with_name(f".{final_dir.name}.tmp-{uuid.uuid4().hex[:8]}")
        tmp_dir.mkdir(parents=True)
        frame.write_parquet(tmp_dir / "part-0.parquet", compression="zstd", statistics=True)
        _replace_dir(tmp_dir, final_dir)
        return final_dir / "part-0.parquet"

    def remove_partition(self, layer: str, entity: str, repo: str, day: date) -> None:
        shutil.rmtree(self.partition_dir(layer, entity, repo, day), ignore_errors=True)

    def parquet_glob(self, layer: str, entity: str, repo: str) -> str:
        return str(self.repo_dir(layer, entity, repo) / "date=*" / "*.parquet")


class RawWriter:
    """Streams pages of one sweep into per-day partitions; :meth:`commit` publishes them all.

    A page whose items span several days is stored in each of those days, so every partition holds the
    exact bodies it was built from and can be replayed alone. Pages are written as they arrive: memory
    stays flat however long the sweep.
    """

    def __init__(self, lake: Lake, entity: str, repo: str, days: list[date]) -> None:
        self.lake, self.entity, self.repo = lake, entity, repo
        token = uuid.uuid4().hex[:8]
        self._final = {day: lake.partition_dir("raw", entity, repo, day) for day in days}
        self._tmp = {day: path.with_name(f".{path.name}.tmp-{token}") for day, path in self._final.items()}
        self._manifests: dict[date, list[dict[str, Any]]] = {day: [] for day in days}
        self._cctx = zstandard.ZstdCompressor(level=_ZSTD_LEVEL)
        for tmp in self._tmp.values():
            (tmp / PAGES).mkdir(parents=True)

    def add(self, body: bytes, days: set[date], meta: dict[str, Any]) -> None:
        """Store one page body under each of ``days`` that belongs to this sweep."""
        targets = [day for day in days if day in self._tmp]
        if not targets:
            return
        compressed = self._cctx.compress(body)
        for day in targets:
            entries = self._manifests[day]
            name = f"{PAGES}/{len(entries):05d}.json.zst"
            (self._tmp[day] / name).write_bytes(compressed)
            entries.append(asdict(RawPageMeta(seq=len(entries), file=name, **meta)))

    def commit(self) -> dict[date, int]:
        """Publish every day (days with no page get an empty manifest). Returns pages per day."""
        counts = {}
        for day, tmp in self._tmp.items():
            (tmp / MANIFEST).write_bytes(
                orjson.dumps({"entity": self.entity, "repo": self.repo, "date": day.isoformat(), "pages": self._manifests[day]})
            )
            _replace_dir(tmp, self._final[day])
            counts[day] = len(self._manifests[day])
        return counts

    def abort(self) -> None:
        for tmp in self._tmp.values():
            shutil.rmtree(tmp, ignore_errors=True)


_ISO_US = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime(_ISO_US)


def parse_utc_iso(value: str) -> datetime:
    return datetime.strptime(value, _ISO_US).replace(tzinfo=UTC)
