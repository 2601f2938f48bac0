"""GitHub assets: raw issue pages captured from the API, and the validated, staged issues table."""


import time
from collections.abc import Callable
from concurrent.futures import Executor, wait
from datetime import date, timedelta

import dagster as dg
import polars as pl

from gh_assets.config import IssueQuality
from gh_assets.github.capture import Captured, capture, days_of, page_cache, run_metadata, stored_pages
from gh_assets.github.pagination import isoformat_z, sweep_issues
from gh_assets.github.partitions import day_bounds, days_by_repo, partition_key, repo_day_partitions
from gh_assets.github.quality import DRIFT_KEYS, Measure, categorical, completeness, drift, markdown_table
from gh_assets.github.resources import GitHubResource, SourcesResource
from gh_assets.github.schemas import CATEGORICAL, IssueSchema
from gh_assets.github.transform import (
    PageFrames,
    PageRows,
    belongs_to_partition,
    issues_frame_of,
    page_rows,
    page_shared,
    parse_pool,
    split_valid,
)
from gh_assets.lake import Lake, parse_utc_iso
from gh_assets.marts.sql import column_comments
from gh_assets.metadata import add_partition_metadata, column_schema, lake_uri, model_table_schema, row_count, run_totals, uri
from gh_assets.resources import LakeResource

ENTITY = "issues"
# Dagster evaluates freshness on its own schedule, so this bound is fixed when the definitions load (the data
# thresholds, in contrast, are read from the sources config at run time). Warn after a day, fail after two.
FRESHNESS = dg.FreshnessPolicy.time_window(warn_window=timedelta(hours=24), fail_window=timedelta(hours=48))
RAW_ISSUE_PAGES = dg.AssetKey(["github", "raw_issue_pages"])
ISSUES = dg.AssetKey(["github", "issues"])

BATCH_ROWS = 50_000  # raw rows validated together by the staging step

INGEST_RETRY = dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


@dg.asset(
    key=RAW_ISSUE_PAGES,
    partitions_def=repo_day_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=INGEST_RETRY,
    pool="github_api",
    group_name="github",
    kinds={"github", "json"},
)
def raw_issue_pages(context: dg.AssetExecutionContext, github: GitHubResource, lake: LakeResource) -> dg.MaterializeResult:
    """The exact /issues response pages per repository and day of ``updated_at``, with request metadata.

    A range of days is one keyset sweep (``sort=updated``, ``since``), written out per day. Pages captured
    before are requested with their ETag; a 304 reuses the stored body and costs no rate limit.
    """
    store = lake.lake
    started = time.monotonic()
    captured = Captured()
    with github.client() as client:
        for repo, days in days_by_repo(context.partition_keys).items():
            start, end = day_bounds(days)
            cache = page_cache(store, stored_pages(store, ENTITY, repo, days))
            pages = sweep_issues(client, repo, start, end, per_page=github.per_page, cache=cache)
            counts = capture(store, ENTITY, repo, days, pages, days_of("updated_at"), captured)
            context.log.info(
                f"{repo}: swept {isoformat_z(start)} .. {isoformat_z(end)}, {sum(counts.values())} page captures over {len(days)} days"
            )
        stats = client.stats.as_metadata()
    add_partition_metadata(context, captured.partition_metadata(day_key))
    return dg.MaterializeResult(metadata=run_metadata(captured, stats, started))


def day_key(repo: str, day: date) -> str:
    return str(partition_key(repo, day))


def in_batches(
    parts: list[date], read: Callable[[date], list[PageRows]], flush: Callable[[list[date], list[PageRows]], None]
) -> int:
    """Read partitions one by one and hand their pages to ``flush`` in batches of about ``BATCH_ROWS`` raw rows.

    Validating many partitions at once is cheaper (Pandera's and Polars' per-call costs are far above their
    per-row costs); bounded batches keep memory flat over a long range. Returns the raw rows read.
    """
    batch_parts: list[date] = []
    pages: list[PageRows] = []
    rows = total = 0
    for part in parts:
        read_now = read(part)
        height = sum(p.height for p in read_now)
        batch_parts.append(part)
        pages.extend(read_now)
        rows += height
        total += height
        if rows >= BATCH_ROWS:
            flush(batch_parts, pages)
            batch_parts, pages, rows = [], [], 0
    if batch_parts:
        flush(batch_parts, pages)
    return total


def write_partitions(
    store: Lake, entity: str, repo: str, parts: list[tuple[date, pl.DataFrame, pl.DataFrame | None]], pool: Executor | None = None
) -> None:
    """Publish each partition's staged rows, and its quarantined rows (or no quarantine), on ``pool``'s threads.

    Each partition is its own folder, swapped in atomically, so the order does not matter; Polars writes
    Parquet without the GIL, so a year of small day files is written on every core. The first error is raised
    after every write has ended.
    """

    def write(part: date, good: pl.DataFrame, rejected: pl.DataFrame | None) -> None:
        store.write_parquet(good, "staged", entity, repo, part)
        if rejected is not None:
            store.write_parquet(rejected, "quarantine", entity, repo, part)
        else:
            store.remove_partition("quarantine", entity, repo, part)

    if pool is None:
        for part in parts:
            write(*part)
        return
    futures = [pool.submit(write, *part) for part in parts]
    wait(futures)
    for future in futures:
        future.result()


def _check(name: str, measure: Measure, severity: dg.AssetCheckSeverity) -> dg.AssetCheckResult:
    metadata: dict[str, dg.RawMetadataValue] = dict(measure.metadata)
    if measure.sample is not None and measure.sample.height:
        metadata["sample"] = dg.MetadataValue.md(markdown_table(measure.sample))
    return dg.AssetCheckResult(
        check_name=name, asset_key=ISSUES, passed=measure.passed, severity=severity, metadata=metadata, description=measure.description
    )


# Which rule family a quarantine reason belongs to; each family is its own check.
_RULE_FAMILIES = {
    "issues_id_unique": ("duplicate id", "unique"),
    "issues_ranges": ("greater_than", "less_than", "in_range", "not_before", "closed_has_closed_at"),
}

ERROR_CHECKS = {
    "issues_schema": "Columns, types and nullability of every captured issue (Pandera IssueSchema); failing rows are quarantined.",
    "issues_id_unique": "One version per issue id per partition day; an id on two different issue numbers is quarantined.",
    "issues_ranges": "Counts >= 0, updated_at/closed_at not before created_at, closed issues have closed_at.",
    "issues_reconciled_raw": "Raw records of each day = staged + quarantined + older versions dropped.",
}
WARN_CHECKS = {
    "issues_completeness": "Null fraction per column under the thresholds of the sources config.",
    "issues_categorical": "state, state_reason and author_association within GitHub's documented values.",
    "issues_drift": "The newest day vs its trailing window: row count ratio and PSI of state and is_pull_request.",
}


def _family(reason: str) -> str:
    for name, needles in _RULE_FAMILIES.items():
        if any(n in reason for n in needles):
            return name
    return "issues_schema"


@dg.asset(
    key=ISSUES,
    deps=[RAW_ISSUE_PAGES],
    partitions_def=repo_day_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="github",
    kinds={"polars", "parquet"},
    freshness_policy=FRESHNESS,
    check_specs=[dg.AssetCheckSpec(n, asset=ISSUES, blocking=True, description=d) for n, d in ERROR_CHECKS.items()]
    + [dg.AssetCheckSpec(n, asset=ISSUES, description=d) for n, d in WARN_CHECKS.items()],
)
def issues(context: dg.AssetExecutionContext, lake: LakeResource, sources: SourcesResource) -> dg.MaterializeResult:
    """One row per issue per partition day: its latest version updated that day, typed and validated."""
    store = lake.lake
    quality = sources.load().quality.issues
    started = time.monotonic()
    raw_records = 0
    totals = {"staged": 0, "quarantined": 0, "dropped": 0, "raw_in_day": 0, "accounted": 0}
    mismatched_days: list[str] = []
    all_bad_days: list[str] = []  # partitions with raw rows and not one staged: fail loudly, not an empty table
    quarantine_sample: list[pl.DataFrame] = []
    reason_counts: list[pl.DataFrame] = []
    staged_sample: list[pl.DataFrame] = []
    figures: dict[str, dict[str, object]] = {}  # each partition's own, on its own event

    def flush(repo: str, days: list[date], pages: list[PageRows]) -> None:
        batch = issues_frame_of(pages, repo)
        split = split_valid(batch)
        staged = split.staged.partition_by("partition_date", as_dict=True, maintain_order=True)
        bad = split.quarantined.partition_by("partition_date", as_dict=True, maintain_order=True)
        # Counted from the raw rows directly, not from the split, so a row lost by the split shows up.
        raw_by_day = dict(batch.filter(belongs_to_partition()).group_by("partition_date").len().iter_rows())
        dropped_by_day = split.duplicates_by_day
        empty = split.staged.clear()
        write_partitions(store, ENTITY, repo, [(day, staged.get((day,), empty), bad.get((day,))) for day in days], pool)
        for day in days:
            day_staged = staged.get((day,), empty)
            day_bad = bad.get((day,))
            accounted = day_staged.height + (day_bad.height if day_bad is not None else 0) + dropped_by_day.get(day, 0)
            if day_staged.height == 0 and day_bad is not None:
                all_bad_days.append(f"{repo} {day}")
            if accounted != raw_by_day.get(day, 0):
                mismatched_days.append(f"{repo} {day}: raw {raw_by_day.get(day, 0)}, accounted {accounted}")
            figures[day_key(repo, day)] = staged_figures(
                store, ENTITY, repo, day, day_staged.height, day_bad.height if day_bad is not None else 0, raw_by_day.get(day, 0), dropped_by_day.get(day, 0)
            )
        totals["staged"] += split.staged.height
        totals["quarantined"] += split.quarantined.height
        totals["dropped"] += split.duplicates_dropped
        if split.quarantined.height:
            quarantine_sample.append(split.quarantined.head(50))
            reason_counts.append(split.quarantined.group_by("quarantine_reason").len())
        # What the completeness and categorical checks need of every row, kept small: for the other
        # columns only whether they are null (a body can be kilobytes; a year of them is not kept).
        keep = ["id", "number", *CATEGORICAL]
        nullness = [
            pl.when(pl.col(c).is_null()).then(None).otherwise(pl.lit(True)).alias(c)
            for c in quality.max_null_fraction
            if c in split.staged.columns and c not in keep
        ]
        staged_sample.append(split.staged.select(*keep, *nullness))

    drift_measures: list[Measure] = []
    by_repo = days_by_repo(context.partition_keys)
    if not by_repo:
        raise dg.Failure("the run selected no partitions of github/issues")
    with parse_pool() as pool:
        for repo, days in by_repo.items():
            frames = PageFrames(store, ENTITY, repo, page_rows, pool, days)
            raw_records += in_batches(
                days,
                lambda day, frames=frames: [PageRows(frame, page_shared(parse_utc_iso(meta.fetched_at), day)) for meta, frame in frames(day)],
                lambda parts, frames, repo=repo: flush(repo, parts, frames),
            )
            drift_measures.append(_drift_of_newest_day(store, repo, days[-1], quality))

    total = totals["staged"] + totals["quarantined"]
    reasons = (
        pl.concat(reason_counts).group_by("quarantine_reason").agg(pl.col("len").sum()).sort("len", descending=True)
        if reason_counts
        else pl.DataFrame(schema={"quarantine_reason": pl.String, "len": pl.UInt32})
    )
    reasons = reasons.with_columns(pl.col("quarantine_reason").map_elements(_family, return_dtype=pl.String).alias("check"))
    samples = pl.concat(quarantine_sample) if quarantine_sample else None
    results = []
    for name in ("issues_schema", "issues_id_unique", "issues_ranges"):
        mine = reasons.filter(pl.col("check") == name)
        count = int(mine["len"].sum()) if mine.height else 0
        fraction = count / total if total else 0.0
        passed = fraction <= quality.max_quarantined_fraction and not (count and all_bad_days)
        sample = None
        if samples is not None and count:
            sample = samples.filter(pl.col("quarantine_reason").is_in(mine["quarantine_reason"].to_list())).select(
                "repository", "partition_date", "id", "number", "quarantine_reason"
            )
        desc = f"{count} of {total} rows quarantined" + ("" if passed else " (over the tolerance)")
        if count and all_bad_days:
            desc = f"every row of {len(all_bad_days)} partitions failed, nothing staged there: {', '.join(all_bad_days[:5])}"
        results.append(
            _check(
                name,
                Measure(passed, desc, {"failed_rows": count, "rows": total, "max_quarantined_fraction": quality.max_quarantined_fraction,
                                       "failing_rules": dg.MetadataValue.md(markdown_table(mine.select("quarantine_reason", "len"), 20))}, sample),
                dg.AssetCheckSeverity.ERROR,
            )
        )
    results.append(
        _check(
            "issues_reconciled_raw",
            Measure(
                not mismatched_days,
                "every raw record is staged, quarantined or an older version" if not mismatched_days else f"{len(mismatched_days)} days do not add up",
                {"staged": totals["staged"], "quarantined": totals["quarantined"], "older_versions_dropped": totals["dropped"],
                 "mismatched_days": dg.MetadataValue.json(mismatched_days[:50])},
            ),
            dg.AssetCheckSeverity.ERROR,
        )
    )
    staged_all = pl.concat(staged_sample) if staged_sample else pl.DataFrame()
    results.append(_check("issues_completeness", completeness(staged_all, quality.max_null_fraction), dg.AssetCheckSeverity.WARN))
    results.append(_check("issues_categorical", categorical(staged_all, CATEGORICAL), dg.AssetCheckSeverity.WARN))
    failing_drift = [m for m in drift_measures if not m.passed]
    drift_result = failing_drift[0] if failing_drift else drift_measures[0]
    results.append(_check("issues_drift", drift_result, dg.AssetCheckSeverity.WARN))
    add_partition_metadata(context, figures)
    return dg.MaterializeResult(
        metadata={
            **run_totals({"rows": totals["staged"], "raw_records": raw_records, "quarantined_rows": totals["quarantined"], "older_versions_dropped": totals["dropped"]}),
            "run_total_duration_seconds": round(time.monotonic() - started, 3),
            **column_schema(model_table_schema(IssueSchema, column_comments("issues_create"))),
        },
        check_results=results,
    )


def staged_figures(store: Lake, table: str, repo: str, part: date, staged: int, quarantined: int, raw: int, dropped: int) -> dict[str, object]:
    """One staged partition's own figures: its rows (Dagster's row count), quarantined, raw, older versions, folder."""
    return {
        "rows": staged,
        "quarantined_rows": quarantined,
        "raw_records": raw,
        "older_versions_dropped": dropped,
        **row_count(staged),
        **uri(lake_uri(store.partition_dir("staged", table, repo, part))),
    }


def _drift_of_newest_day(store: Lake, repo: str, day: date, quality: IssueQuality) -> Measure:
    """The run's newest day of ``repo`` against the staged days before it."""
    window = [day - timedelta(days=n) for n in range(quality.drift_window_days + 1)]
    files = [store.parquet_path("staged", ENTITY, repo, d) for d in window]
    existing = [f for f in files if store.exists(f)]
    history = pl.scan_parquet(existing).select("partition_date", *DRIFT_KEYS).collect() if existing else pl.DataFrame(
        schema={"partition_date": pl.Date, "state": pl.String, "is_pull_request": pl.Boolean}
    )
    return drift(history, day, quality)
