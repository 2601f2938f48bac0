"""Raw issue pages -> typed Polars frames, and the Pandera split into staged rows and quarantined rows.

No per-row Python: each page's bytes go straight to Polars with an explicit schema that names only the
fields we keep (the rest of GitHub's payload is skipped by the JSON reader).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import orjson
import pandera.errors
import pandera.polars
import polars as pl

from gh_assets.github.schemas import UTC_TS, IssueSchema
from gh_assets.lake import Lake, RawPageMeta, decompress_page

_USER = pl.Struct({"login": pl.String, "id": pl.Int64})

# What we read of each issue object; anything else in GitHub's payload is ignored.
ISSUE_JSON_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Int64,
    "node_id": pl.String,
    "number": pl.Int64,
    "title": pl.String,
    "body": pl.String,
    "state": pl.String,
    "state_reason": pl.String,
    "locked": pl.Boolean,
    "user": _USER,
    "author_association": pl.String,
    "labels": pl.List(pl.Struct({"name": pl.String})),
    "assignees": pl.List(_USER),
    "milestone": pl.Struct({"number": pl.Int64, "title": pl.String}),
    "comments": pl.Int64,
    "reactions": pl.Struct({"total_count": pl.Int64}),
    "pull_request": pl.Struct({"url": pl.String}),
    "html_url": pl.String,
    "created_at": pl.String,
    "updated_at": pl.String,
    "closed_at": pl.String,
}

STAGED_COLUMNS = list(IssueSchema.to_schema().columns)
QUARANTINE_EXTRA = {"quarantine_reason": pl.String, "raw_updated_at": pl.String, "raw_json": pl.String}


class MalformedPage(ValueError):
    """A stored raw page is not a JSON array of issue objects."""


def _ts(name: str) -> pl.Expr:
    return pl.col(name).str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_unit="us", time_zone="UTC", strict=False)


_EXTRA = {"raw_json": pl.String, "unreadable_reason": pl.String}


def _lenient_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _read_row_by_row(body: bytes, where: str, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """The slow path for a page Polars refuses as a whole: find the rows it cannot read and keep them apart.

    Per-row Python is fine here: it runs only for pages with a malformed row (a string where GitHub sends a
    number, say), never on the hot path. Unreadable rows keep their JSON and the reason, for quarantine.
    """
    try:
        items = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedPage(f"{where}: not valid JSON ({exc.msg} at byte {exc.pos})") from None
    if not isinstance(items, list):
        raise MalformedPage(f"{where}: expected a JSON array, got {type(items).__name__}")
    good, bad = [], []
    for item in items:
        try:
            pl.read_json(io.BytesIO(orjson.dumps([item])), schema=schema)
            good.append(item)
        except Exception as exc:  # polars' own message names the value it could not read
            bad.append((item, str(exc).splitlines()[0]))
    frame = pl.read_json(io.BytesIO(orjson.dumps(good)), schema=schema) if good else pl.DataFrame(schema=schema)
    frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(k) for k in _EXTRA)
    unreadable = pl.DataFrame(
        {
            "id": [_lenient_int(item.get("id")) if isinstance(item, dict) else None for item, _ in bad],
            "number": [_lenient_int(item.get("number")) if isinstance(item, dict) else None for item, _ in bad],
            "updated_at": [item.get("updated_at") if isinstance(item, dict) and isinstance(item.get("updated_at"), str) else None for item, _ in bad],
            "raw_json": [orjson.dumps(item).decode() for item, _ in bad],
            "unreadable_reason": [f"unreadable row: {reason}" for _, reason in bad],
        },
        schema={"id": pl.Int64, "number": pl.Int64, "updated_at": pl.String, **_EXTRA},
    )
    return pl.concat([frame, unreadable], how="diagonal")


def page_rows(body: bytes, where: str, schema: dict[str, pl.DataType] = ISSUE_JSON_SCHEMA) -> pl.DataFrame:
    """Parse one raw page (a JSON array) into the raw-field frame: one Polars call on the hot path.

    A page Polars refuses as a whole is read row by row: its frame also has ``raw_json``/``unreadable_reason``.
    ``schema`` names the fields read (issues by default; the other entities pass their own).
    """
    stripped = body.lstrip()
    if not stripped.startswith(b"["):
        raise MalformedPage(f"{where}: expected a JSON array, got {stripped[:60]!r}")
    if stripped.rstrip() == b"[]":
        return pl.DataFrame(schema={**schema, **_EXTRA})
    try:
        return pl.read_json(io.BytesIO(body), schema=schema)
    except Exception:  # polars raises ComputeError variants for a value of the wrong type
        return _read_row_by_row(body, where, schema)


@dataclass(frozen=True)
class PageRows:
    """One stored page's rows as read, and the values all of them share (capture time, partition, context)."""

    frame: pl.DataFrame
    shared: dict[str, object]

    @property
    def height(self) -> int:
        return self.frame.height


def rows_of_pages(pages: list[PageRows], schema: dict[str, pl.DataType], shared: dict[str, pl.DataType]) -> pl.DataFrame:
    """The rows of many pages as one frame, each row with its page's shared values.

    Done once per batch rather than per page: a Polars call costs ~1 ms whatever its size, and a year of pages
    is thousands of them. The shared values are expanded with ``repeat_by`` from one small frame. A timestamp
    column's values are given as integer microseconds (see :func:`utc_micros`).
    """
    kept = [p for p in pages if p.height]
    raw = pl.concat([pl.DataFrame(schema={**schema, **_EXTRA}), *(p.frame for p in kept)], how="diagonal_relaxed")
    given = {name: pl.Int64 if dtype == UTC_TS else dtype for name, dtype in shared.items()}
    per_page = pl.DataFrame(
        {**{name: [p.shared.get(name) for p in kept] for name in shared}, "_rows": [p.height for p in kept]},
        schema={**given, "_rows": pl.Int64},
    )
    expanded = per_page.select(pl.col(name).repeat_by("_rows").explode().cast(dtype) for name, dtype in shared.items())
    return pl.concat([raw, expanded], how="horizontal")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_micros(ts: datetime) -> int:
    """Microseconds since the epoch: how a UTC timestamp is handed to Polars cheaply."""
    return (ts - _EPOCH) // timedelta(microseconds=1)


class PageFrames:
    """The stored pages of consecutive partitions of one repository as frames, each distinct page parsed once.

    A page whose items span several days is stored under each of them, so that every partition can be replayed
    alone; a range read day after day would decompress and parse every boundary page twice (a third of the
    pages at ~270 issues a day). A page of the same capture (same request, capture time, ETag and size) seen
    in the partitions being read is parsed once.

    With a ``pool``, pages are decompressed and parsed on its threads, ``ahead`` partitions in advance of the
    caller: zstd and Polars' JSON reader both release the GIL, so parsing runs on the other core while the
    caller validates and writes the previous batch. Calls must come in the order of ``parts``.
    """

    def __init__(
        self,
        lake: Lake,
        entity: str,
        repo: str,
        parse: Callable[[bytes, str], pl.DataFrame],
        pool: Executor | None = None,
        parts: list[date] | None = None,
        ahead: int = 8,
        optional: bool = False,
    ) -> None:
        self.lake, self.entity, self.repo, self.parse, self.pool = lake, entity, repo, parse, pool
        self.optional = optional  # a partition never captured from this source has no pages (rather than an error)
        self._order = list(parts or [])
        self._ahead = ahead if pool else 0
        self._listed: dict[date, list[tuple[RawPageMeta, tuple[object, ...]]]] = {}
        self._frames: dict[tuple[object, ...], Future[pl.DataFrame] | pl.DataFrame] = {}
        self.parsed = self.pages = 0

    @staticmethod
    def _identity(meta: RawPageMeta) -> tuple[object, ...]:
        return (meta.key, meta.fetched_at, meta.etag, meta.bytes)

    def _parse_stored(self, stored: bytes, where: str) -> pl.DataFrame:
        return self.parse(decompress_page(stored, where), where)

    def _list(self, part: date) -> None:
        """Read ``part``'s manifest and stored pages; start parsing the pages not already parsed or under way."""
        if part in self._listed:
            return
        listed = []
        if self.optional and self.lake.raw_manifest(self.entity, self.repo, part) is None:
            self._listed[part] = listed
            return
        for meta, stored, where in self.lake.raw_pages(self.entity, self.repo, part, skip=lambda m: self._identity(m) in self._frames, decompress=False):
            ident = self._identity(meta)
            if stored is not None:
                self.parsed += 1
                self._frames[ident] = self.pool.submit(self._parse_stored, stored, where) if self.pool else self._parse_stored(stored, where)
            listed.append((meta, ident))
        self._listed[part] = listed

    def __call__(self, part: date) -> list[tuple[RawPageMeta, pl.DataFrame]]:
        self._list(part)
        if part in self._order:
            at = self._order.index(part)
            for later in self._order[at + 1 : at + 1 + self._ahead]:
                self._list(later)
            self._order = self._order[at + 1 :]
        listed = self._listed.pop(part)
        out = []
        for meta, ident in listed:
            frame = self._frames[ident]
            if isinstance(frame, Future):
                frame = self._frames[ident] = frame.result()
            out.append((meta, frame))
        self.pages += len(listed)
        # keep the frames of this partition (the next one may share a page) and of those listed, not yet read
        wanted = {ident for pending in self._listed.values() for _, ident in pending} | {ident for _, ident in listed}
        self._frames = {ident: f for ident, f in self._frames.items() if ident in wanted}
        return out

    @property
    def reused(self) -> int:
        """Pages taken from another partition's parse instead of being parsed again."""
        return self.pages - self.parsed


def parse_pool() -> ThreadPoolExecutor:
    """Threads for :class:`PageFrames`: one per core, at most four."""
    return ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)), thread_name_prefix="parse-pages")


ISSUE_SHARED: dict[str, pl.DataType] = {"fetched_at": UTC_TS, "partition_date": pl.Date}


def page_shared(fetched_at: datetime, part: date) -> dict[str, object]:
    """What every row of a stored page shares: the capture time of its response and the partition read."""
    return {"fetched_at": utc_micros(fetched_at), "partition_date": part}


def issues_frame(pages: Iterable[tuple[bytes, datetime, str]], repository: str, day: date) -> pl.DataFrame:
    """Typed rows of every issue on the given pages, with ``fetched_at`` from each page.

    ``pages`` yields ``(body, fetched_at, where)``; ``where`` names the raw file in errors.
    Rows are not yet filtered to ``day`` nor de-duplicated: see :func:`latest_per_day`.
    """
    rows = [PageRows(page_rows(body, where), page_shared(fetched_at, day)) for body, fetched_at, where in pages]
    return issues_frame_of(rows, repository)


def issues_frame_of(pages: list[PageRows], repository: str) -> pl.DataFrame:
    """Typed rows of the given pages (of any partitions of one repository), in page order."""
    raw = rows_of_pages(pages, ISSUE_JSON_SCHEMA, ISSUE_SHARED)
    return raw.select(
        pl.lit(repository, dtype=pl.String).alias("repository"),
        "id",
        "node_id",
        "number",
        "title",
        "body",
        "state",
        "state_reason",
        "locked",
        pl.col("pull_request").is_not_null().alias("is_pull_request"),
        pl.col("user").struct.field("login").alias("user_login"),
        pl.col("user").struct.field("id").alias("user_id"),
        "author_association",
        pl.col("labels").list.eval(pl.element().struct.field("name")).alias("labels"),
        pl.col("assignees").list.eval(pl.element().struct.field("login")).alias("assignees"),
        pl.col("milestone").struct.field("number").alias("milestone_number"),
        pl.col("milestone").struct.field("title").alias("milestone_title"),
        "comments",
        pl.col("reactions").struct.field("total_count").alias("reactions_total"),
        "html_url",
        _ts("created_at").alias("created_at"),
        _ts("updated_at").alias("updated_at"),
        _ts("closed_at").alias("closed_at"),
        "fetched_at",
        "partition_date",
        pl.col("updated_at").alias("raw_updated_at"),
        "raw_json",
        "unreadable_reason",
    )


@dataclass(frozen=True)
class Split:
    staged: pl.DataFrame
    quarantined: pl.DataFrame  # staged columns + quarantine_reason + raw_updated_at + raw_json
    duplicates_dropped: int  # older versions of the same issue seen within the partitions
    duplicates_by_day: dict[date, int]


def belongs_to_partition() -> pl.Expr:
    """Raw rows a partition answers for: those updated that day, and those with no readable day at all.

    A row whose ``updated_at`` cannot be read cannot be placed on a day, so every partition holding its page
    quarantines it: it may be quarantined twice, never lost.
    """
    raw = pl.col("raw_updated_at")
    placeable = raw.is_not_null() & raw.str.contains(r"^\d{4}-\d{2}-\d{2}")
    return ~placeable | (raw.str.slice(0, 10) == pl.col("partition_date").cast(pl.String))


def latest_per_day(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, dict[date, int]]:
    """Keep rows updated on their partition day, newest version per id and day.

    A page is stored under every day its items fall on, so each day's pages also hold items of the days
    around it: those belong to the other partitions. Returns the latest versions, the rows to set apart (no
    usable ``id``/``updated_at``, unreadable, or one id carried by two different issue numbers) with a
    ``quarantine_reason``, and the number of older versions dropped per day.
    """
    belongs = belongs_to_partition()
    unreadable = frame.filter(pl.col("unreadable_reason").is_not_null() & belongs)
    readable = frame.filter(pl.col("unreadable_reason").is_null())
    usable = pl.col("updated_at").is_not_null() & pl.col("id").is_not_null()
    unusable = readable.filter(~usable & belongs)
    in_day = readable.filter(usable & (pl.col("updated_at").dt.date() == pl.col("partition_date")))
    # GitHub ids name one issue; one id on two numbers is corrupt data, not two versions. Checked across
    # every day of the batch; clashes across runs are caught by the mart's reconciliation on (id, number).
    clash = pl.col("number").n_unique().over("id") > 1
    clashing = in_day.filter(clash)
    in_day = in_day.filter(~clash)
    latest = (
        in_day.sort(["partition_date", "id", "updated_at", "fetched_at"])
        .unique(subset=["partition_date", "id"], keep="last", maintain_order=True)
        .sort(["partition_date", "updated_at", "id"])
    )
    apart = pl.concat(
        [
            unreadable.with_columns(pl.col("unreadable_reason").alias("quarantine_reason")),
            unusable.with_columns(
                pl.when(pl.col("id").is_null())
                .then(pl.lit("id: missing"))
                .otherwise(pl.lit("updated_at: missing or not a GitHub timestamp"))
                .alias("quarantine_reason")
            ),
            clashing.with_columns(
                pl.format("id: duplicate id {} on different issue numbers", "id").alias("quarantine_reason")
            ),
        ],
        how="vertical",
    )
    versions = in_day.group_by("partition_date").len()
    kept = latest.group_by("partition_date").len().rename({"len": "kept"})
    dropped = versions.join(kept, on="partition_date", how="left").with_columns(pl.col("len") - pl.col("kept").fill_null(0))
    return latest, apart, {d: n for d, n, _ in dropped.iter_rows() if n}


def failure_reasons(model: type[pandera.polars.DataFrameModel], frame: pl.DataFrame) -> pl.DataFrame:
    """``(index, reason)`` of every row of ``frame`` that breaks a row-level rule of ``model`` (lazy validation).

    The reason names the column, the check and the value (``state: isin([...]) (value x)``), or the
    dataframe check (``closed_not_before_created``); several reasons of one row are joined with ``; ``. A
    schema-level failure (a missing column, a wrong dtype) is not a row problem and raises.
    """
    try:
        model.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        if cases.filter(pl.col("index").is_null()).height:
            raise
        return (
            cases.with_columns(
                pl.col("index").cast(pl.Int64),
                pl.when(pl.col("schema_context") == "Column")
                .then(pl.format("{}: {} (value {})", "column", "check", "failure_case"))
                .otherwise(pl.col("check"))
                .alias("reason"),
            )
            .group_by("index")
            .agg(pl.col("reason").unique().sort().str.join("; "))
        )
    return pl.DataFrame(schema={"index": pl.Int64, "reason": pl.String})


def split_valid(frame: pl.DataFrame) -> Split:
    """Validate with :class:`IssueSchema`; rows failing a row-level rule go to quarantine with the reasons.

    ``frame`` may hold many partition days: one validation call for all of them (Pandera's per-call cost
    is far above its per-row cost). A schema-level failure (a missing column, a wrong dtype) is not a row
    problem and raises.
    """
    latest, apart, dropped_by_day = latest_per_day(frame)
    dropped = sum(dropped_by_day.values())
    candidates = latest.drop("raw_updated_at", "raw_json", "unreadable_reason")
    reasons = failure_reasons(IssueSchema, candidates)
    indexed = latest.with_row_index("index").with_columns(pl.col("index").cast(pl.Int64))
    bad = indexed.join(reasons, on="index", how="inner").rename({"reason": "quarantine_reason"})
    good = indexed.join(reasons, on="index", how="anti")
    columns = STAGED_COLUMNS + list(QUARANTINE_EXTRA)
    quarantined = pl.concat([bad.select(columns), apart.select(columns)], how="vertical")
    return Split(staged=good.select(STAGED_COLUMNS), quarantined=quarantined, duplicates_dropped=dropped, duplicates_by_day=dropped_by_day)
