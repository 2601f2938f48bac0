"""GitHub assets: raw issue pages captured from the API, and the validated, staged issues table."""


import time
from datetime import date

import dagster as dg
import polars as pl

from gh_assets.github import errors
from gh_assets.github.pagination import CachedPage, isoformat_z, sweep_issues
from gh_assets.github.partitions import day_bounds, days_by_repo, repo_day_partitions
from gh_assets.github.resources import GitHubResource
from gh_assets.github.transform import issues_frame, split_valid
from gh_assets.lake import Lake, parse_utc_iso, utc_iso
from gh_assets.resources import LakeResource

ENTITY = "issues"
RAW_ISSUE_PAGES = dg.AssetKey(["github", "raw_issue_pages"])
ISSUES = dg.AssetKey(["github", "issues"])

BATCH_ROWS = 50_000  # raw rows validated together by the staging step

INGEST_RETRY = dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


def _stored_pages(lake: Lake, repo: str, days: list[date]) -> dict[str, tuple[str, str]]:
    """``request key -> (etag, file)`` of the pages already captured for these days (for If-None-Match)."""
    out: dict[str, tuple[str, str]] = {}
    for day in days:
        for meta in lake.raw_manifest(ENTITY, repo, day) or []:
            if meta.etag:
                out.setdefault(meta.key, (meta.etag, str(lake.partition_dir("raw", ENTITY, repo, day) / meta.file)))
    return out


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
    pages = items = reused = 0
    with github.client() as client:
        for repo, days in days_by_repo(context.partition_keys).items():
            start, end = day_bounds(days)
            stored = _stored_pages(store, repo, days)

            def cache(key: str, stored: dict[str, tuple[str, str]] = stored) -> CachedPage | None:
                hit = stored.get(key)
                return CachedPage(etag=hit[0], body=store.read_page(hit[1])) if hit else None

            writer = store.raw_writer(ENTITY, repo, days)
            try:
                for page in sweep_issues(client, repo, start, end, per_page=github.per_page, cache=cache):
                    resp = page.response
                    page_days = {date.fromisoformat(item["updated_at"][:10]) for item in page.items if item.get("updated_at")}
                    writer.add(
                        resp.body,
                        page_days,
                        {
                            "key": page.key,
                            "url": resp.url,
                            "status": 304 if page.reused else resp.status,
                            "etag": resp.etag,
                            "fetched_at": utc_iso(resp.fetched_at),
                            "bytes": len(resp.body),
                            "items": len(page.items),
                            "rate_limit_limit": resp.rate_limit.limit,
                            "rate_limit_remaining": resp.rate_limit.remaining,
                            "rate_limit_reset": resp.rate_limit.reset,
                            "rate_limit_resource": resp.rate_limit.resource,
                        },
                    )
                    pages += 1
                    items += len(page.items)
                    reused += page.reused
                counts = writer.commit()
            except errors.GitHubError as exc:
                writer.abort()
                # A refused token, a missing repo or a spent rate limit will not heal in 30 seconds: fail the step
                # without the retry policy; transient 5xx that outlived the client's own retries may retry.
                raise dg.Failure(
                    description=f"{type(exc).__name__}: {exc}",
                    metadata={"repository": repo, "url": exc.url or "", "status": exc.status or 0},
                    allow_retries=isinstance(exc, errors.ServerError),
                ) from None
            except BaseException:
                writer.abort()
                raise
            context.log.info(
                f"{repo}: swept {isoformat_z(start)} .. {isoformat_z(end)}, {sum(counts.values())} page captures over {len(days)} days"
            )
        stats = client.stats.as_metadata()
    return dg.MaterializeResult(
        metadata={
            "pages": pages,
            "records_listed": items,
            "pages_not_modified": reused,
            **stats,
            "duration_seconds": round(time.monotonic() - started, 3),
        }
    )


def _markdown_sample(frame: pl.DataFrame, columns: list[str], limit: int = 10) -> str:
    sample = frame.select(columns).head(limit)
    header = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    rows = "".join(
        "| " + " | ".join(str(v).replace("|", "\\|").replace("\n", " ")[:80] for v in row) + " |\n" for row in sample.iter_rows()
    )
    return header + rows


class StagingConfig(dg.Config):
    max_quarantined_fraction: float = 0.0
    """The schema check fails when more than this fraction of a run's rows is quarantined (0: any bad row)."""


@dg.asset(
    key=ISSUES,
    deps=[RAW_ISSUE_PAGES],
    partitions_def=repo_day_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="github",
    kinds={"polars", "parquet"},
    check_specs=[
        dg.AssetCheckSpec(
            "issues_schema",
            asset=ISSUES,
            blocking=True,
            description="Every captured issue meets the Pandera IssueSchema; failing rows are quarantined, never staged.",
        )
    ],
)
def issues(context: dg.AssetExecutionContext, config: StagingConfig, lake: LakeResource) -> dg.MaterializeResult:
    """One row per issue per partition day: its latest version updated that day, typed and validated."""
    store = lake.lake
    started = time.monotonic()
    staged_rows = quarantined_rows = duplicates = raw_records = 0
    quarantine_frames: list[pl.DataFrame] = []

    def flush(repo: str, days: list[date], frames: list[pl.DataFrame]) -> None:
        nonlocal staged_rows, quarantined_rows, duplicates
        split = split_valid(pl.concat(frames, how="vertical"))
        staged = split.staged.partition_by("partition_date", as_dict=True, maintain_order=True)
        bad = split.quarantined.partition_by("partition_date", as_dict=True, maintain_order=True)
        empty = split.staged.clear()
        for day in days:
            store.write_parquet(staged.get((day,), empty), "staged", ENTITY, repo, day)
            if (day,) in bad:
                store.write_parquet(bad[(day,)], "quarantine", ENTITY, repo, day)
            else:
                store.remove_partition("quarantine", ENTITY, repo, day)
        staged_rows += split.staged.height
        quarantined_rows += split.quarantined.height
        duplicates += split.duplicates_dropped
        if split.quarantined.height:
            quarantine_frames.append(split.quarantined.head(100))

    for repo, days in days_by_repo(context.partition_keys).items():
        batch_days: list[date] = []
        batch: list[pl.DataFrame] = []
        rows = 0
        for day in days:
            pages = ((body, parse_utc_iso(meta.fetched_at), where) for meta, body, where in store.raw_pages(ENTITY, repo, day))
            frame = issues_frame(pages, repo, day)
            raw_records += frame.height
            batch_days.append(day)
            batch.append(frame)
            rows += frame.height
            # Validate many days at once, but in bounded batches so memory stays flat over a long range.
            if rows >= BATCH_ROWS:
                flush(repo, batch_days, batch)
                batch_days, batch, rows = [], [], 0
        if batch_days:
            flush(repo, batch_days, batch)

    total = staged_rows + quarantined_rows
    fraction = quarantined_rows / total if total else 0.0
    check_meta: dict[str, dg.RawMetadataValue] = {
        "staged_rows": staged_rows,
        "quarantined_rows": quarantined_rows,
        "quarantined_fraction": round(fraction, 6),
        "max_quarantined_fraction": config.max_quarantined_fraction,
    }
    if quarantine_frames:
        bad = pl.concat(quarantine_frames)
        reasons = bad.group_by("quarantine_reason").len().sort("len", descending=True)
        check_meta["failing_rules"] = dg.MetadataValue.md(_markdown_sample(reasons, ["quarantine_reason", "len"], 20))
        check_meta["failing_rows_sample"] = dg.MetadataValue.md(
            _markdown_sample(bad, ["repository", "id", "number", "partition_date", "quarantine_reason"])
        )
    passed = fraction <= config.max_quarantined_fraction
    return dg.MaterializeResult(
        metadata={
            "rows": staged_rows,
            "raw_records": raw_records,
            "quarantined_rows": quarantined_rows,
            "older_versions_dropped": duplicates,
            "duration_seconds": round(time.monotonic() - started, 3),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="issues_schema",
                asset_key=ISSUES,
                passed=passed,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata=check_meta,
                description=None if passed else f"{quarantined_rows} of {total} rows failed IssueSchema and were quarantined",
            )
        ],
    )
