"""Raw pages and staged tables of pull requests, reviews, PR files, issue comments and commits.

Raw assets capture the exact API pages per repository and partition (day of ``updated_at``; month of the
commit date for commits) with ETag reuse; staged assets are built by one factory from the entity specs in
:mod:`gh_assets.github.entities` (typed, de-duplicated, validated, quarantined with reasons, reconciled).
"""

import functools
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import dagster as dg
import orjson
import polars as pl

from gh_assets.github.assets import FRESHNESS, INGEST_RETRY, day_key, in_batches, staged_figures, write_partitions
from gh_assets.github.capture import Captured, capture, days_of, page_cache, run_metadata, stored_pages
from gh_assets.github.client import GitHubClient
from gh_assets.github.entities import COMMITS, ISSUE_COMMENTS, PR_FILES, PULL_REQUESTS, REVIEWS, Entity, entity_page, entity_rows, stage
from gh_assets.github.pagination import CachedPage, SweepPage, isoformat_z, sweep_numbered, sweep_updated
from gh_assets.github.quality import markdown_table
from gh_assets.github.partitions import (
    day_bounds,
    days_by_repo,
    month_bounds,
    month_key,
    months_by_repo,
    repo_day_partitions,
    repo_month_partitions,
)
from gh_assets.github import pr_details
from gh_assets.github.resources import GitHubResource, SourcesResource
from gh_assets.github.transform import PageFrames, PageRows, page_rows, page_shared, parse_pool
from gh_assets.lake import Lake, parse_utc_iso
from gh_assets.marts.sql import column_comments
from gh_assets.metadata import add_partition_metadata, column_schema, model_table_schema, run_totals
from gh_assets.resources import LakeResource

RAW_PULL_PAGES = dg.AssetKey(["github", "raw_pull_pages"])
RAW_REVIEW_PAGES = dg.AssetKey(["github", "raw_review_pages"])
RAW_PR_FILE_PAGES = dg.AssetKey(["github", "raw_pr_file_pages"])
RAW_PR_DETAIL_PAGES = dg.AssetKey(["github", "raw_pr_detail_pages"])
RAW_ISSUE_COMMENT_PAGES = dg.AssetKey(["github", "raw_issue_comment_pages"])
RAW_COMMIT_PAGES = dg.AssetKey(["github", "raw_commit_pages"])

_RAW = {"partitions_def": repo_day_partitions, "backfill_policy": dg.BackfillPolicy.single_run(), "group_name": "github"}


def _result(
    context: dg.AssetExecutionContext, captured: Captured, client: GitHubClient, started: float, key: Callable[[str, date], str] = day_key
) -> dg.MaterializeResult:
    """Each partition's own figures on its event; the run's totals, named so, on every one."""
    add_partition_metadata(context, captured.partition_metadata(key))
    return dg.MaterializeResult(metadata=run_metadata(captured, client.stats.as_metadata(), started))


def _month_key(repo: str, month: date) -> str:
    return str(month_key(repo, month))


@dg.asset(key=RAW_PULL_PAGES, retry_policy=INGEST_RETRY, pool="github_api", kinds={"github", "json"}, **_RAW)
def raw_pull_pages(context: dg.AssetExecutionContext, github: GitHubResource, lake: LakeResource) -> dg.MaterializeResult:
    """The exact /pulls pages per repository and day of ``updated_at``.

    ``/pulls`` has no ``since``: the sweep reads it sorted by ``updated`` descending and stops at the first
    page that reaches past the window start. Pages captured before are requested with their ETag.
    """
    store, started, captured = lake.lake, time.monotonic(), Captured()
    with github.client() as client:
        for repo, days in days_by_repo(context.partition_keys).items():
            start, _ = day_bounds(days)
            floor = isoformat_z(start)
            cache = page_cache(store, stored_pages(store, PULL_REQUESTS.raw, repo, days))
            pages = sweep_numbered(
                client,
                f"/repos/{repo}/pulls",
                {"state": "all", "sort": "updated", "direction": "desc"},
                per_page=github.per_page,
                cache=cache,
                stop=lambda items, floor=floor: str(items[-1].get("updated_at") or "") < floor,
                what="pull requests",
            )
            capture(store, PULL_REQUESTS.raw, repo, days, pages, days_of("updated_at"), captured)
        return _result(context, captured, client, started)


def pulls_by_day(lake: Lake, repo: str, days: Sequence[date]) -> dict[int, date]:
    """PR number -> the day of its newest version captured in these days' raw /pulls pages."""
    out: dict[int, date] = {}
    for day in days:
        prefix = day.isoformat()
        for _meta, body, _where in lake.raw_pages(PULL_REQUESTS.raw, repo, day):
            try:
                items = orjson.loads(body)
            except orjson.JSONDecodeError:
                continue  # staging quarantines the page's rows with the reason; nothing to fetch for it
            for item in items if isinstance(items, list) else []:
                number, updated = (item.get("number"), item.get("updated_at")) if isinstance(item, dict) else (None, None)
                if isinstance(number, int) and isinstance(updated, str) and updated.startswith(prefix):
                    out[number] = max(day, out.get(number, day))
    return out


def detail_pages(
    client: GitHubClient,
    repo: str,
    numbers: Sequence[int],
    kind: str,
    *,
    per_page: int,
    cache: Callable[[str], CachedPage | None],
    workers: int,
) -> Iterator[SweepPage]:
    """Every page of ``/pulls/{n}/{kind}`` for each PR, fetched ``workers`` PRs at a time, yielded in PR order."""

    def one(number: int) -> list[SweepPage]:
        return list(sweep_numbered(client, f"/repos/{repo}/pulls/{number}/{kind}", {}, per_page=per_page, cache=cache, what=kind))

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix=f"gh-{kind}") as pool:
        for pages in pool.map(one, numbers):
            yield from pages


@dg.multi_asset(
    specs=[
        dg.AssetSpec(RAW_REVIEW_PAGES, deps=[RAW_PULL_PAGES], kinds={"github", "json"}, description="The exact /pulls/{n}/reviews pages of every PR updated in the day (REST path)."),
        dg.AssetSpec(RAW_PR_FILE_PAGES, deps=[RAW_PULL_PAGES], kinds={"github", "json"}, description="The exact /pulls/{n}/files pages of every PR updated in the day (REST path)."),
        dg.AssetSpec(
            RAW_PR_DETAIL_PAGES,
            deps=[RAW_PULL_PAGES],
            kinds={"github", "graphql"},
            description="The exact GraphQL pages of the reviews and files of every PR updated in the day, 50 PRs per query (GraphQL path).",
        ),
    ],
    retry_policy=INGEST_RETRY,
    pool="github_api",
    can_subset=False,
    **_RAW,
)
def raw_pull_detail_pages(
    context: dg.AssetExecutionContext, github: GitHubResource, lake: LakeResource, sources: SourcesResource
) -> Iterator[dg.MaterializeResult]:
    """Reviews and changed files of each PR whose newest version falls in the partition day.

    With a token (and ``github.detail_api: graphql``, the default) one GraphQL query answers 50 PRs; without
    one, REST: one request per page per PR, ``github.detail_concurrency`` PRs at a time, pages captured before
    requested with their ETag. Each partition holds the capture of one path: the other's is replaced by an
    empty one, so staging never mixes two captures of the same day.
    """
    store, started = lake.lake, time.monotonic()
    api = detail_api(github, sources)
    results = {RAW_REVIEW_PAGES: Captured(), RAW_PR_FILE_PAGES: Captured(), RAW_PR_DETAIL_PAGES: Captured()}
    details = pr_details.DetailStats()
    prs = 0
    with github.client() as client:
        for repo, days in days_by_repo(context.partition_keys).items():
            day_of = pulls_by_day(store, repo, days)
            numbers = sorted(day_of)
            prs += len(numbers)
            if api == "graphql":
                capture(store, pr_details.RAW_ENTITY, repo, days, pr_details.detail_pages(client, repo, numbers, details), _graphql_days(day_of), results[RAW_PR_DETAIL_PAGES], _graphql_numbers(day_of))
                for key, entity in ((RAW_REVIEW_PAGES, REVIEWS), (RAW_PR_FILE_PAGES, PR_FILES)):
                    capture(store, entity.raw, repo, days, [], _rest_days(day_of), results[key])
                continue
            for key, entity, kind in ((RAW_REVIEW_PAGES, REVIEWS, "reviews"), (RAW_PR_FILE_PAGES, PR_FILES, "files")):
                cache = page_cache(store, stored_pages(store, entity.raw, repo, days))
                pages = detail_pages(client, repo, numbers, kind, per_page=github.per_page, cache=cache, workers=github.detail_concurrency)
                capture(store, entity.raw, repo, days, pages, _rest_days(day_of), results[key])
            capture(store, pr_details.RAW_ENTITY, repo, days, [], _graphql_days(day_of), results[RAW_PR_DETAIL_PAGES])
        stats = client.stats.as_metadata()
    if details.not_found:
        context.log.warning(f"{len(details.not_found)} pull requests were not found by GraphQL (deleted since listed): {details.not_found[:20]}")
    for key, captured in results.items():
        add_partition_metadata(context, captured.partition_metadata(day_key), asset_key=key)
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                **run_metadata(captured, stats, started),
                "detail_api": api,
                "run_total_pull_requests": prs,
                **(run_totals(details.metadata()) if api == "graphql" else {}),
            },
        )


def detail_api(github: GitHubResource, sources: SourcesResource) -> str:
    """``graphql`` when a token is set and the sources config does not ask for REST; else ``rest``."""
    if not (github.token or (github.tokens or "").strip()):
        return "rest"  # GitHub's GraphQL API takes no anonymous query
    return sources.load().github.detail_api


def _rest_days(day_of: dict[int, date]) -> Callable[[SweepPage], set[date]]:
    def place(page: SweepPage) -> set[date]:
        number = int(page.key.split("/pulls/", 1)[1].split("/", 1)[0])
        return {day_of[number]}

    return place


def _graphql_days(day_of: dict[int, date]) -> Callable[[SweepPage], set[date]]:
    def place(page: SweepPage) -> set[date]:
        return {day_of[n] for pr in page.items if (n := pr.get("number")) in day_of}

    return place


def _graphql_numbers(day_of: dict[int, date]) -> Callable[[SweepPage, date], dict[str, object]]:
    """The PRs of a GraphQL page that a day answers for (a batch spans PRs of several days)."""

    def numbers(page: SweepPage, day: date) -> dict[str, object]:
        return {"pull_numbers": sorted(n for pr in page.items if day_of.get(n := pr.get("number")) == day)}

    return numbers


@dg.asset(key=RAW_ISSUE_COMMENT_PAGES, retry_policy=INGEST_RETRY, pool="github_api", kinds={"github", "json"}, **_RAW)
def raw_issue_comment_pages(context: dg.AssetExecutionContext, github: GitHubResource, lake: LakeResource) -> dg.MaterializeResult:
    """The exact /issues/comments pages per repository and day of ``updated_at`` (keyset sweep on ``since``)."""
    store, started, captured = lake.lake, time.monotonic(), Captured()
    with github.client() as client:
        for repo, days in days_by_repo(context.partition_keys).items():
            start, end = day_bounds(days)
            cache = page_cache(store, stored_pages(store, ISSUE_COMMENTS.raw, repo, days))
            pages = sweep_updated(client, f"/repos/{repo}/issues/comments", {}, start, end, per_page=github.per_page, cache=cache, what="issue comments")
            capture(store, ISSUE_COMMENTS.raw, repo, days, pages, days_of("updated_at"), captured)
        return _result(context, captured, client, started)


def _commit_months(page: SweepPage) -> set[date]:
    out = set()
    for item in page.items:
        stamp = ((item.get("commit") or {}).get("committer") or {}).get("date") if isinstance(item, dict) else None
        if isinstance(stamp, str) and len(stamp) >= 7:
            out.add(date.fromisoformat(stamp[:7] + "-01"))
    return out


@dg.asset(
    key=RAW_COMMIT_PAGES,
    partitions_def=repo_month_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="github",
    retry_policy=INGEST_RETRY,
    pool="github_api",
    kinds={"github", "json"},
)
def raw_commit_pages(context: dg.AssetExecutionContext, github: GitHubResource, lake: LakeResource) -> dg.MaterializeResult:
    """The exact /commits pages per repository and month of the committer date (``since``/``until`` window)."""
    store, started, captured = lake.lake, time.monotonic(), Captured()
    with github.client() as client:
        for repo, months in months_by_repo(context.partition_keys).items():
            start, end = month_bounds(months)
            cache = page_cache(store, stored_pages(store, COMMITS.raw, repo, months))
            window = {"since": isoformat_z(start), "until": isoformat_z(end - timedelta(seconds=1))}
            pages = sweep_numbered(client, f"/repos/{repo}/commits", window, per_page=github.per_page, cache=cache, what="commits")
            capture(store, COMMITS.raw, repo, months, pages, _commit_months, captured)
        return _result(context, captured, client, started, _month_key)


# ---------------------------------------------------------------------------------------------- staged
GRAPHQL_CONNECTION = {REVIEWS.name: "reviews", PR_FILES.name: "files"}  # staged entities the GraphQL path also feeds


def staged_checks(entity: Entity, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    complete = (
        [
            dg.AssetCheckSpec(
                f"{entity.name}_complete",
                asset=key,
                blocking=True,
                description=f"Every PR's {GRAPHQL_CONNECTION[entity.name]} fetched, as many as GitHub counts (GraphQL totalCount).",
            )
        ]
        if entity.name in GRAPHQL_CONNECTION
        else []
    )
    return complete + [
        dg.AssetCheckSpec(
            f"{entity.name}_schema",
            asset=key,
            blocking=True,
            description=f"Columns, types, ranges and cross-field rules of every row ({entity.model.__name__}); failing rows are quarantined.",
        ),
        dg.AssetCheckSpec(
            f"{entity.name}_reconciled_raw",
            asset=key,
            blocking=True,
            description="Raw rows of each partition = staged + quarantined + older versions dropped.",
        ),
    ]


def build_staged_asset(entity: Entity, *raw_keys: dg.AssetKey) -> dg.AssetsDefinition:
    """The staged table of ``entity``: one factory, so every entity is validated and reconciled alike."""
    key = dg.AssetKey(["github", entity.name])
    by_repo = months_by_repo if entity.monthly else days_by_repo

    @dg.asset(
        key=key,
        deps=list(raw_keys),
        partitions_def=repo_month_partitions if entity.monthly else repo_day_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name="github",
        kinds={"polars", "parquet"},
        freshness_policy=FRESHNESS,
        check_specs=staged_checks(entity, key),
        description=entity.model.__doc__,
    )
    def _staged(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
        return stage_partitions(context, lake.lake, entity, key, by_repo(context.partition_keys))

    return _staged


def stage_partitions(
    context: dg.AssetExecutionContext, store: Lake, entity: Entity, key: dg.AssetKey, by_repo: dict[str, list[date]]
) -> dg.MaterializeResult:
    """Stage every partition of the run in bounded batches; write staged and quarantine Parquet per partition."""
    started = time.monotonic()
    totals = {"staged": 0, "quarantined": 0, "dropped": 0, "raw": 0}
    partition_of = _month_key if entity.monthly else day_key
    figures: dict[str, dict[str, object]] = {}  # each partition's own, on its own event
    mismatched: list[str] = []
    reasons: list[pl.DataFrame] = []
    samples: list[pl.DataFrame] = []

    def flush(repo: str, parts: list[date], pages: list[PageRows]) -> None:
        result = stage(entity, entity_rows(entity, pages), repo)
        staged = result.staged.partition_by("partition_date", as_dict=True, maintain_order=True)
        bad = result.quarantined.partition_by("partition_date", as_dict=True, maintain_order=True)
        empty = result.staged.clear()
        write_partitions(store, entity.name, repo, [(part, staged.get((part,), empty), bad.get((part,))) for part in parts], pool)
        for part in parts:
            good = staged.get((part,), empty)
            rejected = bad.get((part,))
            accounted = good.height + (rejected.height if rejected is not None else 0) + result.dropped_by_partition.get(part, 0)
            raw = result.raw_by_partition.get(part, 0)
            if accounted != raw:
                mismatched.append(f"{repo} {part}: raw {raw}, accounted {accounted}")
            figures[partition_of(repo, part)] = staged_figures(
                store, entity.name, repo, part, good.height, rejected.height if rejected is not None else 0, raw, result.dropped_by_partition.get(part, 0)
            )
        totals["staged"] += result.staged.height
        totals["quarantined"] += result.quarantined.height
        totals["dropped"] += sum(result.dropped_by_partition.values())
        totals["raw"] += sum(result.raw_by_partition.values())
        if result.quarantined.height:
            reasons.append(result.quarantined.group_by("quarantine_reason").len())
            samples.append(result.quarantined.select(pl.exclude("raw_json")).head(20))

    if not by_repo:
        raise dg.Failure(f"the run selected no partitions of {key.to_user_string()}")
    schema = dict(entity.json_schema)

    def read(frames: PageFrames, part: date) -> list[PageRows]:
        return [entity_page(entity, frame, parse_utc_iso(meta.fetched_at), meta.key, part) for meta, frame in frames(part)]

    connection = GRAPHQL_CONNECTION.get(entity.name)
    completeness = {"github_total": 0, "fetched": 0}
    short: list[str] = []

    def read_graphql(frames: PageFrames | None, part: date, repo: str) -> list[PageRows]:
        """The rows of the part's GraphQL pages for the PRs it answers for, one PageRows per PR (as REST pages are).

        Also compares, per PR, the nodes read with GitHub's ``totalCount`` of the connection: only GitHub can
        tell what was never fetched.
        """
        out: list[PageRows] = []
        fetched: dict[int, int] = {}
        totals: dict[int, int] = {}
        for meta, frame in frames(part) if frames is not None else []:
            mine = frame.filter(pl.col("pull_number").is_in(meta.pull_numbers or []))
            for number, total in mine.filter(pl.col("github_total").is_not_null()).select("pull_number", "github_total").iter_rows():
                totals[number] = total
            rows = mine.filter(pl.col("github_total").is_null()).drop("github_total")
            for (number,), pr_rows in rows.partition_by("pull_number", as_dict=True, maintain_order=True).items():
                fetched[number] = fetched.get(number, 0) + pr_rows.height
                out.append(PageRows(pr_rows.drop("pull_number"), {**page_shared(parse_utc_iso(meta.fetched_at), part), "pull_number": number}))
        for number, total in totals.items():
            completeness["github_total"] += total
            completeness["fetched"] += min(fetched.get(number, 0), total)
            if fetched.get(number, 0) < total:
                short.append(f"{repo} {part} PR #{number}: GitHub counts {total}, fetched {fetched.get(number, 0)}")
        return out

    with parse_pool() as pool:
        for repo, parts in by_repo.items():
            frames = PageFrames(store, entity.raw, repo, functools.partial(page_rows, schema=schema), pool, parts)
            graphql = (
                PageFrames(store, pr_details.RAW_ENTITY, repo, lambda body, _where, c=connection: pr_details.graphql_page(body, c), pool, parts, optional=True)
                if connection
                else None
            )
            in_batches(
                parts,
                lambda part, frames=frames, graphql=graphql, repo=repo: read(frames, part) + read_graphql(graphql, part, repo),
                lambda batch, frames, repo=repo: flush(repo, batch, frames),
            )

    failing = (
        pl.concat(reasons).group_by("quarantine_reason").agg(pl.col("len").sum()).sort("len", descending=True)
        if reasons
        else pl.DataFrame(schema={"quarantine_reason": pl.String, "len": pl.UInt32})
    )
    total = totals["staged"] + totals["quarantined"]
    schema_meta: dict[str, dg.RawMetadataValue] = {
        "failed_rows": totals["quarantined"],
        "rows": total,
        "failing_rules": dg.MetadataValue.md(markdown_table(failing, 20)),
    }
    if samples:
        schema_meta["sample"] = dg.MetadataValue.md(markdown_table(pl.concat(samples, how="diagonal_relaxed").head(20)))
    checks = [
        dg.AssetCheckResult(
            check_name=f"{entity.name}_schema",
            asset_key=key,
            passed=totals["quarantined"] == 0,
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"{totals['quarantined']} of {total} rows quarantined",
            metadata=schema_meta,
        ),
        dg.AssetCheckResult(
            check_name=f"{entity.name}_reconciled_raw",
            asset_key=key,
            passed=not mismatched,
            severity=dg.AssetCheckSeverity.ERROR,
            description="every raw row is staged, quarantined or an older version" if not mismatched else f"{len(mismatched)} partitions do not add up",
            metadata={
                "raw_rows": totals["raw"],
                "staged": totals["staged"],
                "quarantined": totals["quarantined"],
                "older_versions_dropped": totals["dropped"],
                "mismatched_partitions": dg.MetadataValue.json(mismatched[:50]),
            },
        ),
    ]
    if connection:
        checks.append(
            dg.AssetCheckResult(
                check_name=f"{entity.name}_complete",
                asset_key=key,
                passed=not short,
                severity=dg.AssetCheckSeverity.ERROR,
                description=(
                    f"{completeness['fetched']} of the {completeness['github_total']} {connection} GitHub counts (GraphQL totalCount) were fetched"
                    if completeness["github_total"] or short
                    else "no GraphQL capture in these partitions (REST lists carry no count to compare with)"
                ),
                metadata={
                    "github_total": completeness["github_total"],
                    "fetched": completeness["fetched"],
                    "missing": completeness["github_total"] - completeness["fetched"],
                    "short_pull_requests": dg.MetadataValue.json(short[:50]),
                },
            )
        )
    add_partition_metadata(context, figures, asset_key=key)
    return dg.MaterializeResult(
        metadata={
            **run_totals({"rows": totals["staged"], "raw_records": totals["raw"], "quarantined_rows": totals["quarantined"], "older_versions_dropped": totals["dropped"]}),
            "run_total_duration_seconds": round(time.monotonic() - started, 3),
            **column_schema(model_table_schema(entity.model, column_comments(f"{entity.name}_create"))),
        },
        check_results=checks,
    )



pull_requests = build_staged_asset(PULL_REQUESTS, RAW_PULL_PAGES)
reviews = build_staged_asset(REVIEWS, RAW_REVIEW_PAGES, RAW_PR_DETAIL_PAGES)
pr_files = build_staged_asset(PR_FILES, RAW_PR_FILE_PAGES, RAW_PR_DETAIL_PAGES)
issue_comments = build_staged_asset(ISSUE_COMMENTS, RAW_ISSUE_COMMENT_PAGES)
commits = build_staged_asset(COMMITS, RAW_COMMIT_PAGES)

RAW_ASSETS = [raw_pull_pages, raw_pull_detail_pages, raw_issue_comment_pages, raw_commit_pages]
STAGED_ASSETS = [pull_requests, reviews, pr_files, issue_comments, commits]
