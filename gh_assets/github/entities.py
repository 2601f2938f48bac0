"""The GitHub entities besides issues: what is read of each page, the staged columns, the Pandera contract.

Each :class:`Entity` says how raw pages become a typed frame (an explicit Polars JSON schema naming only the
fields kept, then column expressions), which rows a partition answers for, which version of a row wins, and
the model the staged rows must meet. :func:`stage` applies all of it to a batch of partitions at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandera.polars as pa
import polars as pl

from gh_assets.github.schemas import AUTHOR_ASSOCIATIONS, UTC_TS
from gh_assets.github.transform import PageRows, failure_reasons, page_rows, page_shared, rows_of_pages

_USER = pl.Struct({"login": pl.String, "id": pl.Int64})
_GIT_USER = pl.Struct({"name": pl.String, "email": pl.String, "date": pl.String})

PULL_STATES = ["open", "closed"]
REVIEW_STATES = ["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"]
FILE_STATUSES = ["added", "removed", "modified", "renamed", "copied", "changed", "unchanged"]
_SHA_RE = r"^[0-9a-f]{40}$"


def ts(expr: pl.Expr) -> pl.Expr:
    """GitHub's ``2024-01-01T00:00:00Z`` strings as UTC timestamps (null when unreadable: the model then fails the row)."""
    return expr.str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_unit="us", time_zone="UTC", strict=False)


def _login(name: str) -> pl.Expr:
    return pl.col(name).struct.field("login")


def _uid(name: str) -> pl.Expr:
    return pl.col(name).struct.field("id")


def _hours(later: str, earlier: str) -> pl.Expr:
    return ((pl.col(later) - pl.col(earlier)).dt.total_seconds() / 3600.0).cast(pl.Float64)


@dataclass(frozen=True)
class Entity:
    """One staged GitHub table and the raw pages it is built from."""

    name: str  # the staged table, the lake entity of staged/quarantine, the mart table
    raw: str  # the lake entity of its raw pages
    json_schema: Mapping[str, pl.DataType]
    columns: Callable[[], list[pl.Expr]]  # raw frame (+ page context columns) -> staged columns
    model: type[pa.DataFrameModel]
    key: tuple[str, ...]  # natural key within a repository; row_key joins repository and key
    version: tuple[str, ...]  # sort order of versions; the last one per key and partition wins
    placement: str | None  # raw string column whose date (or month) places a row; None: every row of the page
    monthly: bool = False
    context: Mapping[str, pl.DataType] = field(default_factory=dict)  # columns taken from the page's request


# ---------------------------------------------------------------------------------------------- pull requests
class PullRequestSchema(pa.DataFrameModel):
    """One row per pull request at its latest version within a partition day."""

    repository: pl.String = pa.Field(nullable=False)
    row_key: pl.String = pa.Field(nullable=False)
    id: pl.Int64 = pa.Field(gt=0)
    number: pl.Int64 = pa.Field(gt=0)
    title: pl.String = pa.Field(nullable=False)
    state: pl.String = pa.Field(isin=PULL_STATES)
    draft: pl.Boolean = pa.Field(nullable=True)
    locked: pl.Boolean = pa.Field(nullable=True)
    user_login: pl.String = pa.Field(nullable=True)
    user_id: pl.Int64 = pa.Field(nullable=True)
    author_association: pl.String = pa.Field(nullable=True, isin=AUTHOR_ASSOCIATIONS)
    labels: pl.List(pl.String) = pa.Field(nullable=True)
    requested_reviewers: pl.List(pl.String) = pa.Field(nullable=True)
    milestone_number: pl.Int64 = pa.Field(nullable=True)
    head_ref: pl.String = pa.Field(nullable=True)
    base_ref: pl.String = pa.Field(nullable=True)
    head_sha: pl.String = pa.Field(nullable=True)
    merge_commit_sha: pl.String = pa.Field(nullable=True)
    created_at: UTC_TS = pa.Field(nullable=False)
    updated_at: UTC_TS = pa.Field(nullable=False)
    closed_at: UTC_TS = pa.Field(nullable=True)
    merged_at: UTC_TS = pa.Field(nullable=True)
    is_merged: pl.Boolean = pa.Field(nullable=False)
    lead_time_hours: pl.Float64 = pa.Field(nullable=True, ge=0)
    html_url: pl.String = pa.Field(nullable=True)
    fetched_at: UTC_TS = pa.Field(nullable=False)
    partition_date: pl.Date = pa.Field(nullable=False)

    @pa.dataframe_check
    @classmethod
    def updated_not_before_created(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("updated_at") >= pl.col("created_at"))

    @pa.dataframe_check
    @classmethod
    def merged_not_before_created(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("merged_at").is_null() | (pl.col("merged_at") >= pl.col("created_at")))

    @pa.dataframe_check
    @classmethod
    def closed_not_before_created(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("closed_at").is_null() | (pl.col("closed_at") >= pl.col("created_at")))

    @pa.dataframe_check
    @classmethod
    def merged_is_closed(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("merged_at").is_null() | (pl.col("state") == "closed"))

    class Config:
        strict = True
        coerce = False
        unique = ["partition_date", "id"]


def _pull_columns() -> list[pl.Expr]:
    return [
        pl.col("id"),
        pl.col("number"),
        pl.col("title"),
        pl.col("state"),
        pl.col("draft"),
        pl.col("locked"),
        _login("user").alias("user_login"),
        _uid("user").alias("user_id"),
        pl.col("author_association"),
        pl.col("labels").list.eval(pl.element().struct.field("name")).alias("labels"),
        pl.col("requested_reviewers").list.eval(pl.element().struct.field("login")).alias("requested_reviewers"),
        pl.col("milestone").struct.field("number").alias("milestone_number"),
        pl.col("head").struct.field("ref").alias("head_ref"),
        pl.col("base").struct.field("ref").alias("base_ref"),
        pl.col("head").struct.field("sha").alias("head_sha"),
        pl.col("merge_commit_sha"),
        ts(pl.col("created_at")).alias("created_at"),
        ts(pl.col("updated_at")).alias("updated_at"),
        ts(pl.col("closed_at")).alias("closed_at"),
        ts(pl.col("merged_at")).alias("merged_at"),
        pl.col("merged_at").is_not_null().alias("is_merged"),
        pl.when(pl.col("merged_at").is_not_null())
        .then((ts(pl.col("merged_at")) - ts(pl.col("created_at"))).dt.total_seconds() / 3600.0)
        .cast(pl.Float64)
        .alias("lead_time_hours"),
        pl.col("html_url"),
    ]


PULL_REQUESTS = Entity(
    name="pull_requests",
    raw="pulls",
    json_schema={
        "id": pl.Int64,
        "number": pl.Int64,
        "title": pl.String,
        "state": pl.String,
        "draft": pl.Boolean,
        "locked": pl.Boolean,
        "user": _USER,
        "author_association": pl.String,
        "labels": pl.List(pl.Struct({"name": pl.String})),
        "requested_reviewers": pl.List(_USER),
        "milestone": pl.Struct({"number": pl.Int64}),
        "head": pl.Struct({"ref": pl.String, "sha": pl.String}),
        "base": pl.Struct({"ref": pl.String}),
        "merge_commit_sha": pl.String,
        "created_at": pl.String,
        "updated_at": pl.String,
        "closed_at": pl.String,
        "merged_at": pl.String,
        "html_url": pl.String,
    },
    columns=_pull_columns,
    model=PullRequestSchema,
    key=("number",),
    version=("updated_at", "fetched_at"),
    placement="updated_at",
)


# ---------------------------------------------------------------------------------------------- reviews
class ReviewSchema(pa.DataFrameModel):
    """One row per review of a pull request updated in the partition day (as fetched with that version)."""

    repository: pl.String = pa.Field(nullable=False)
    row_key: pl.String = pa.Field(nullable=False)
    pull_number: pl.Int64 = pa.Field(gt=0)
    id: pl.Int64 = pa.Field(gt=0)
    user_login: pl.String = pa.Field(nullable=True)
    user_id: pl.Int64 = pa.Field(nullable=True)
    state: pl.String = pa.Field(isin=REVIEW_STATES)
    author_association: pl.String = pa.Field(nullable=True, isin=AUTHOR_ASSOCIATIONS)
    submitted_at: UTC_TS = pa.Field(nullable=True)  # null only for PENDING reviews
    commit_id: pl.String = pa.Field(nullable=True)
    body_length: pl.UInt32 = pa.Field(nullable=True)
    html_url: pl.String = pa.Field(nullable=True)
    fetched_at: UTC_TS = pa.Field(nullable=False)
    partition_date: pl.Date = pa.Field(nullable=False)

    @pa.dataframe_check
    @classmethod
    def submitted_unless_pending(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("state") == "PENDING") | pl.col("submitted_at").is_not_null())

    class Config:
        strict = True
        coerce = False
        unique = ["partition_date", "id"]


REVIEWS = Entity(
    name="reviews",
    raw="reviews",
    json_schema={
        "id": pl.Int64,
        "user": _USER,
        "body": pl.String,
        "state": pl.String,
        "html_url": pl.String,
        "submitted_at": pl.String,
        "commit_id": pl.String,
        "author_association": pl.String,
    },
    columns=lambda: [
        pl.col("pull_number"),
        pl.col("id"),
        _login("user").alias("user_login"),
        _uid("user").alias("user_id"),
        pl.col("state"),
        pl.col("author_association"),
        ts(pl.col("submitted_at")).alias("submitted_at"),
        pl.col("commit_id"),
        pl.col("body").str.len_chars().alias("body_length"),
        pl.col("html_url"),
    ],
    model=ReviewSchema,
    key=("pull_number", "id"),
    version=("fetched_at",),
    placement=None,
    context={"pull_number": pl.Int64},
)


# ---------------------------------------------------------------------------------------------- PR files
class PullFileSchema(pa.DataFrameModel):
    """One row per file changed by a pull request updated in the partition day."""

    repository: pl.String = pa.Field(nullable=False)
    row_key: pl.String = pa.Field(nullable=False)
    pull_number: pl.Int64 = pa.Field(gt=0)
    filename: pl.String = pa.Field(nullable=False, str_length={"min_value": 1})
    status: pl.String = pa.Field(isin=FILE_STATUSES)
    additions: pl.Int64 = pa.Field(ge=0)
    deletions: pl.Int64 = pa.Field(ge=0)
    changes: pl.Int64 = pa.Field(ge=0)
    previous_filename: pl.String = pa.Field(nullable=True)
    sha: pl.String = pa.Field(nullable=True)
    extension: pl.String = pa.Field(nullable=True)
    top_directory: pl.String = pa.Field(nullable=True)
    fetched_at: UTC_TS = pa.Field(nullable=False)
    partition_date: pl.Date = pa.Field(nullable=False)

    @pa.dataframe_check
    @classmethod
    def changes_add_up(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("changes") == pl.col("additions") + pl.col("deletions"))

    @pa.dataframe_check
    @classmethod
    def renamed_has_previous(cls, data: pa.PolarsData) -> pl.LazyFrame:
        # GraphQL gives neither a file's blob sha nor its previous path: rows without a sha came from there.
        return data.lazyframe.select((pl.col("status") != "renamed") | pl.col("previous_filename").is_not_null() | pl.col("sha").is_null())

    class Config:
        strict = True
        coerce = False
        unique = ["partition_date", "pull_number", "filename"]


PR_FILES = Entity(
    name="pr_files",
    raw="pr_files",
    json_schema={
        "sha": pl.String,
        "filename": pl.String,
        "status": pl.String,
        "additions": pl.Int64,
        "deletions": pl.Int64,
        "changes": pl.Int64,
        "previous_filename": pl.String,
    },
    columns=lambda: [
        pl.col("pull_number"),
        pl.col("filename"),
        pl.col("status"),
        pl.col("additions"),
        pl.col("deletions"),
        pl.col("changes"),
        pl.col("previous_filename"),
        pl.col("sha"),
        pl.col("filename").str.extract(r"\.([A-Za-z0-9_+-]+)$").str.to_lowercase().alias("extension"),
        pl.when(pl.col("filename").str.contains("/")).then(pl.col("filename").str.extract(r"^([^/]+)/")).otherwise(pl.lit("(root)")).alias("top_directory"),
    ],
    model=PullFileSchema,
    key=("pull_number", "filename"),
    version=("fetched_at",),
    placement=None,
    context={"pull_number": pl.Int64},
)


# ---------------------------------------------------------------------------------------------- commits
class CommitSchema(pa.DataFrameModel):
    """One row per commit, in the month of its committer date."""

    repository: pl.String = pa.Field(nullable=False)
    row_key: pl.String = pa.Field(nullable=False)
    sha: pl.String = pa.Field(nullable=False, str_matches=_SHA_RE)
    author_login: pl.String = pa.Field(nullable=True)  # null when the e-mail is linked to no account
    author_id: pl.Int64 = pa.Field(nullable=True)
    committer_login: pl.String = pa.Field(nullable=True)
    author_name: pl.String = pa.Field(nullable=True)
    author_email: pl.String = pa.Field(nullable=True)
    author_date: UTC_TS = pa.Field(nullable=True)
    committer_name: pl.String = pa.Field(nullable=True)
    committer_email: pl.String = pa.Field(nullable=True)
    committer_date: UTC_TS = pa.Field(nullable=False)
    message_headline: pl.String = pa.Field(nullable=True)
    message_length: pl.UInt32 = pa.Field(nullable=True)
    parents: pl.UInt32 = pa.Field(nullable=True)
    comment_count: pl.Int64 = pa.Field(nullable=True, ge=0)
    verified: pl.Boolean = pa.Field(nullable=True)
    html_url: pl.String = pa.Field(nullable=True)
    fetched_at: UTC_TS = pa.Field(nullable=False)
    partition_date: pl.Date = pa.Field(nullable=False)  # the first day of the commit's month

    class Config:
        strict = True
        coerce = False
        unique = ["partition_date", "sha"]


COMMITS = Entity(
    name="commits",
    raw="commits",
    json_schema={
        "sha": pl.String,
        "html_url": pl.String,
        "commit": pl.Struct(
            {
                "author": _GIT_USER,
                "committer": _GIT_USER,
                "message": pl.String,
                "comment_count": pl.Int64,
                "verification": pl.Struct({"verified": pl.Boolean}),
            }
        ),
        "author": _USER,
        "committer": _USER,
        "parents": pl.List(pl.Struct({"sha": pl.String})),
    },
    columns=lambda: [
        pl.col("sha"),
        _login("author").alias("author_login"),
        _uid("author").alias("author_id"),
        _login("committer").alias("committer_login"),
        pl.col("commit").struct.field("author").struct.field("name").alias("author_name"),
        pl.col("commit").struct.field("author").struct.field("email").alias("author_email"),
        ts(pl.col("commit").struct.field("author").struct.field("date")).alias("author_date"),
        pl.col("commit").struct.field("committer").struct.field("name").alias("committer_name"),
        pl.col("commit").struct.field("committer").struct.field("email").alias("committer_email"),
        ts(pl.col("commit").struct.field("committer").struct.field("date")).alias("committer_date"),
        pl.col("commit").struct.field("message").str.split("\n").list.first().alias("message_headline"),
        pl.col("commit").struct.field("message").str.len_chars().alias("message_length"),
        pl.col("parents").list.len().alias("parents"),
        pl.col("commit").struct.field("comment_count").alias("comment_count"),
        pl.col("commit").struct.field("verification").struct.field("verified").alias("verified"),
        pl.col("html_url"),
    ],
    model=CommitSchema,
    key=("sha",),
    version=("fetched_at",),
    placement="commit_date",
    monthly=True,
)


# ---------------------------------------------------------------------------------------------- issue comments
class IssueCommentSchema(pa.DataFrameModel):
    """One row per issue (or PR conversation) comment at its latest version within a partition day."""

    repository: pl.String = pa.Field(nullable=False)
    row_key: pl.String = pa.Field(nullable=False)
    id: pl.Int64 = pa.Field(gt=0)
    issue_number: pl.Int64 = pa.Field(gt=0)
    user_login: pl.String = pa.Field(nullable=True)
    user_id: pl.Int64 = pa.Field(nullable=True)
    author_association: pl.String = pa.Field(nullable=True, isin=AUTHOR_ASSOCIATIONS)
    body_length: pl.UInt32 = pa.Field(nullable=True)
    created_at: UTC_TS = pa.Field(nullable=False)
    updated_at: UTC_TS = pa.Field(nullable=False)
    html_url: pl.String = pa.Field(nullable=True)
    fetched_at: UTC_TS = pa.Field(nullable=False)
    partition_date: pl.Date = pa.Field(nullable=False)

    @pa.dataframe_check
    @classmethod
    def updated_not_before_created(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("updated_at") >= pl.col("created_at"))

    class Config:
        strict = True
        coerce = False
        unique = ["partition_date", "id"]


ISSUE_COMMENTS = Entity(
    name="issue_comments",
    raw="issue_comments",
    json_schema={
        "id": pl.Int64,
        "user": _USER,
        "body": pl.String,
        "author_association": pl.String,
        "created_at": pl.String,
        "updated_at": pl.String,
        "issue_url": pl.String,
        "html_url": pl.String,
    },
    columns=lambda: [
        pl.col("id"),
        pl.col("issue_url").str.extract(r"/issues/(\d+)$").cast(pl.Int64, strict=False).alias("issue_number"),
        _login("user").alias("user_login"),
        _uid("user").alias("user_id"),
        pl.col("author_association"),
        pl.col("body").str.len_chars().alias("body_length"),
        ts(pl.col("created_at")).alias("created_at"),
        ts(pl.col("updated_at")).alias("updated_at"),
        pl.col("html_url"),
    ],
    model=IssueCommentSchema,
    key=("id",),
    version=("updated_at", "fetched_at"),
    placement="updated_at",
)

ENTITIES: dict[str, Entity] = {e.name: e for e in (PULL_REQUESTS, REVIEWS, PR_FILES, COMMITS, ISSUE_COMMENTS)}

_PULL_NUMBER_RE = re.compile(r"/pulls/(\d+)/")


def page_context(entity: Entity, request_key: str) -> dict[str, Any]:
    """Columns an entity takes from the request a page answers (a PR's number for its reviews and files)."""
    if "pull_number" in entity.context:
        match = _PULL_NUMBER_RE.search(request_key)
        return {"pull_number": int(match.group(1)) if match else None}
    return {}


# ---------------------------------------------------------------------------------------------- staging
@dataclass(frozen=True)
class Staged:
    staged: pl.DataFrame
    quarantined: pl.DataFrame  # staged columns (as far as known) + quarantine_reason + raw_json
    raw_by_partition: dict[date, int]  # raw rows each partition answers for
    dropped_by_partition: dict[date, int]  # older versions of a row within the partition


def entity_rows(entity: Entity, pages: list[PageRows]) -> pl.DataFrame:
    """Typed raw rows of many stored pages (their shared values: capture time, partition, request context)."""
    return rows_of_pages(pages, dict(entity.json_schema), {"fetched_at": UTC_TS, "partition_date": pl.Date, **entity.context})


def entity_page(entity: Entity, frame: pl.DataFrame, fetched_at: datetime, key: str, partition: date) -> PageRows:
    """A page's rows with what they share: the capture time, the partition and what the request says (the PR number)."""
    context = page_context(entity, key)
    return PageRows(frame, {**page_shared(fetched_at, partition), **{n: context.get(n) for n in entity.context}})


def read_pages(entity: Entity, pages: Iterable[tuple[bytes, datetime, str, str, date]]) -> pl.DataFrame:
    """Typed raw rows of ``(body, fetched_at, where, request_key, partition)`` pages, not yet placed or de-duplicated."""
    return entity_rows(
        entity,
        [entity_page(entity, page_rows(body, where, dict(entity.json_schema)), fetched_at, key, partition) for body, fetched_at, where, key, partition in pages],
    )


def _placement(entity: Entity) -> pl.Expr:
    """The raw string that places a row in a partition (a date for daily entities, a month for monthly)."""
    if entity.placement == "commit_date":
        raw = pl.col("commit").struct.field("committer").struct.field("date")
    elif entity.placement is not None:
        raw = pl.col(entity.placement)
    else:
        return pl.lit(None, dtype=pl.String)
    return raw


def stage(entity: Entity, raw: pl.DataFrame, repository: str) -> Staged:
    """Place, de-duplicate and validate a batch of partitions' raw rows of one repository.

    A row belongs to the partition whose day (month for monthly entities) its placement timestamp falls on;
    rows of detail pages (reviews, files) belong to the partition they were fetched for. A row that cannot be
    placed belongs to every partition holding its page: it may be quarantined twice, never lost.
    """
    width = 7 if entity.monthly else 10
    part = pl.col("partition_date").cast(pl.String).str.slice(0, width)
    placed = _placement(entity)
    frame = raw.with_columns(placed.alias("_placement"))
    if entity.placement is None:
        belongs = pl.lit(True)
    else:
        readable = pl.col("_placement").is_not_null() & pl.col("_placement").str.contains(r"^\d{4}-\d{2}-\d{2}")
        belongs = ~readable | (pl.col("_placement").str.slice(0, width) == part)
    frame = frame.filter(belongs)
    raw_by_partition = dict(frame.group_by("partition_date").len().iter_rows())

    unreadable = frame.filter(pl.col("unreadable_reason").is_not_null())
    readable = frame.filter(pl.col("unreadable_reason").is_null())
    projected = readable.select(
        pl.lit(repository, dtype=pl.String).alias("repository"),
        *entity.columns(),
        "fetched_at",
        "partition_date",
        "raw_json",
        "_placement",
    )
    if entity.placement is not None:
        unplaceable = projected.filter(~pl.col("_placement").str.contains(r"^\d{4}-\d{2}-\d{2}T").fill_null(False))
        projected = projected.filter(pl.col("_placement").str.contains(r"^\d{4}-\d{2}-\d{2}T").fill_null(False))
    else:
        unplaceable = projected.clear()
    keyless = pl.any_horizontal([pl.col(k).is_null() for k in entity.key])
    no_key = projected.filter(keyless)
    projected = projected.filter(~keyless)
    projected = projected.with_columns(
        pl.concat_str([pl.col("repository"), *(pl.col(k).cast(pl.String) for k in entity.key)], separator="/").alias("row_key")
    )
    latest = (
        projected.sort(["partition_date", *entity.key, *entity.version], nulls_last=False)
        .unique(subset=["partition_date", *entity.key], keep="last", maintain_order=True)
        .sort(["partition_date", *entity.key])
    )
    versions = projected.group_by("partition_date").len()
    kept = latest.group_by("partition_date").len().rename({"len": "kept"})
    dropped = versions.join(kept, on="partition_date", how="left").with_columns(pl.col("len") - pl.col("kept").fill_null(0))

    columns = list(entity.model.to_schema().columns)
    candidates = latest.select(columns)
    reasons = failure_reasons(entity.model, candidates)
    indexed = latest.with_row_index("index").with_columns(pl.col("index").cast(pl.Int64))
    bad = indexed.join(reasons, on="index", how="inner").rename({"reason": "quarantine_reason"})
    good = indexed.join(reasons, on="index", how="anti").select(columns)

    keep = [*columns, "quarantine_reason", "raw_json"]
    quarantined = pl.concat(
        [
            bad.select(keep),
            unreadable.select("partition_date", pl.col("unreadable_reason").alias("quarantine_reason"), "raw_json"),
            unplaceable.with_columns(pl.lit(f"{entity.placement}: missing or not a GitHub timestamp").alias("quarantine_reason")).drop("_placement"),
            no_key.with_columns(pl.lit(f"{', '.join(entity.key)}: missing").alias("quarantine_reason")).drop("_placement"),
        ],
        how="diagonal_relaxed",
    )
    quarantined = quarantined.select(
        [c for c in keep if c in quarantined.columns]
    ).with_columns(pl.col("raw_json").fill_null(pl.lit(None, dtype=pl.String)))
    return Staged(
        staged=good,
        quarantined=quarantined,
        raw_by_partition=raw_by_partition,
        dropped_by_partition={d: n for d, n, _ in dropped.iter_rows() if n},
    )
