"""Mart assets in DuckDB, loaded from the staged Parquet of the lake: one table per GitHub entity.

Every mart is rebuilt per repository from all of that repository's staged partitions in one transaction
(``sql/<table>_load.sql``), so any rerun, in any order, leaves identical rows; a blocking check compares its
rows with what ``sql/<table>_expected.sql`` computes from the staged files.
"""

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pandera.polars as pa
from dagster_duckdb import DuckDBResource

from gh_assets.github.assets import FRESHNESS, ISSUES
from gh_assets.github.entities import COMMITS, ENTITIES, ISSUE_COMMENTS, PR_FILES, PULL_REQUESTS, REVIEWS
from gh_assets.github.schemas import IssueSchema
from gh_assets.github import errors
from gh_assets.github.completeness import SOURCES, Completeness, CountSource
from gh_assets.github.completeness import check as completeness_check
from gh_assets.github.partitions import (
    day_bounds,
    days_by_repo,
    month_bounds,
    month_key,
    months_by_repo,
    partition_key,
    repo_day_partitions,
    repo_month_partitions,
)
from gh_assets.github.resources import GitHubResource
from gh_assets.marts.sql import column_comments, comment_columns, run_sql, statements
from gh_assets.metadata import add_partition_metadata, duckdb_table, row_count, same_name_lineage
from gh_assets.resources import LakeResource

MART_ISSUES = dg.AssetKey(["marts", "issues"])


REPLAY_TAG = "gh_assets/replay"  # set on runs that rebuild from stored pages: they make no API request


def build_mart_asset(
    table: str,
    staged: dg.AssetKey,
    partitions_def: dg.PartitionsDefinition,
    by_repo: Callable[[list[str]], dict[str, list]],
    description: str,
) -> dg.AssetsDefinition:
    """``marts.<table>`` from the staged entity of the same name (``staged/<table>/repo=...``).

    Tables GitHub can count cheaply (issues, pull requests, commits) also get ``<table>_complete``: a
    blocking check of the loaded repositories' rows in the run's window against GitHub's own count.
    """
    key = dg.AssetKey(["marts", table])
    check = f"{table}_reconciled"
    source = SOURCES.get(table)
    complete = f"{table}_complete"
    specs = [
        dg.AssetCheckSpec(check, asset=key, blocking=True, description=f"Each loaded repository's rows of marts.{table} = what the staged files call for.")
    ]
    partition_of = month_key if partitions_def is repo_month_partitions else partition_key
    if source is not None:
        specs.append(
            dg.AssetCheckSpec(
                complete,
                asset=key,
                blocking=True,
                description=f"Per loaded repository, the {source.label} in the run's window = GitHub's own count "
                "(missing: ERROR, blocks downstream; extra: WARN). `gh-assets ingest --repair` re-sweeps the gaps.",
            )
        )

    def load(context: dg.AssetExecutionContext, lake: LakeResource, duckdb: DuckDBResource, github: GitHubResource | None) -> dg.MaterializeResult:
        store = lake.lake
        started = time.monotonic()
        loaded: dict[str, int] = {}
        mismatches: dict[str, str] = {}
        results: list[dg.AssetCheckResult] = []
        Path(duckdb.database).parent.mkdir(parents=True, exist_ok=True)  # with an s3:// lake nothing else creates the data dir
        by = by_repo(context.partition_keys)
        figures: dict[str, dict[str, object]] = {}  # each partition's own rows, on its own event
        with duckdb.get_connection() as con, store.local_reads() as localise:
            run_sql(con, f"{table}_create")
            comment_columns(con, f"marts.{table}", column_comments(f"{table}_create"))
            for repo in by:
                files = store.staged_files(table, repo)
                if not files:
                    raise FileNotFoundError(f"no staged {table} for {repo} under {store.repo_dir('staged', table, repo)}")
                # An s3:// lake: the published versions, copied to a temporary folder for DuckDB's native reader.
                glob = localise(files) if store.remote else store.parquet_glob("staged", table, repo)
                union = _load_repository(con, table, repo, glob)
                if union:
                    context.log.info(f"{repo}: staged {table} files differ in columns; read by name across all of them")
                (rows,) = con.execute(f"SELECT count(*) FROM marts.{table} WHERE lower(repository) = lower(?)", [repo]).fetchone()
                (expected,) = con.execute(*_one(f"{table}_expected", {"staged_glob": glob, "union_by_name": union})).fetchone()
                loaded[repo] = rows
                if rows != expected:
                    mismatches[repo] = f"mart {rows} rows, staged calls for {expected}"
                figures.update(_partition_rows(con, table, repo, by[repo], partition_of))
            (total,) = con.execute(f"SELECT count(*) FROM marts.{table}").fetchone()
            standard = duckdb_table(con, f"marts.{table}", total)
            columns = [c.name for c in standard["dagster/column_schema"].schema.columns]
            standard.update(same_name_lineage(columns, staged, list(staged_model(table).to_schema().columns)))
            if source is not None and dg.AssetCheckKey(key, complete) in context.selected_asset_check_keys:
                results.append(_completeness(context, con, github, source, key, complete, by, staged))
        add_partition_metadata(context, figures)
        return dg.MaterializeResult(
            metadata={
                **standard,  # the whole table's row count; each partition's own replaces it on that partition
                "rows_in_loaded_repos": sum(loaded.values()),
                "table_rows": total,
                "repositories_loaded": len(loaded),
                "run_total_duration_seconds": round(time.monotonic() - started, 3),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=check,
                    asset_key=key,
                    passed=not mismatches,
                    severity=dg.AssetCheckSeverity.ERROR,
                    metadata={"repositories": len(loaded), "mismatches": dg.MetadataValue.json(mismatches)},
                ),
                *results,
            ],
        )

    asset_args = dict(
        key=key,
        deps=[staged],
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool="duckdb",
        group_name="marts",
        kinds={"duckdb", "sql"},
        freshness_policy=FRESHNESS,
        description=description,
        check_specs=specs,
    )
    if source is None:

        @dg.asset(**asset_args)
        def _mart(context: dg.AssetExecutionContext, lake: LakeResource, duckdb: DuckDBResource) -> dg.MaterializeResult:
            return load(context, lake, duckdb, None)

        return _mart

    @dg.asset(**asset_args)
    def _counted_mart(context: dg.AssetExecutionContext, lake: LakeResource, duckdb: DuckDBResource, github: GitHubResource) -> dg.MaterializeResult:
        return load(context, lake, duckdb, github)

    return _counted_mart


def _is_replay(context: dg.AssetExecutionContext, staged: dg.AssetKey) -> bool:
    """Whether the run rebuilds from stored pages: tagged so, or it materialises the staged table but no raw pages.

    (The CLI's ``replay``, and the UI's equivalent: staged and mart assets selected without their raw upstream.)
    """
    if context.run.tags.get(REPLAY_TAG) == "true":
        return True
    graph = context.job_def.asset_layer.asset_graph
    selected = context.run.asset_selection or {k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    return staged in selected and not any(k.path[-1].startswith("raw_") for k in selected)


def _run_started(context: dg.AssetExecutionContext) -> datetime:
    """When the run was created: GitHub's count stops there, so items updated while it ran count on neither side."""
    record = context.instance.get_run_record_by_id(context.run_id)
    created = getattr(record, "create_timestamp", None) if record else None
    now = datetime.now(tz=UTC)
    return min(created.astimezone(UTC), now) if isinstance(created, datetime) else now


def _completeness(
    context: dg.AssetExecutionContext,
    con: duckdb.DuckDBPyConnection,
    github: GitHubResource | None,
    source: CountSource,
    key: dg.AssetKey,
    name: str,
    by: dict[str, list[date]],
    staged: dg.AssetKey,
) -> dg.AssetCheckResult:
    """``<table>_complete``: each repository's rows in the run's window against GitHub's count of them."""
    if github is None or _is_replay(context, staged):
        return dg.AssetCheckResult(
            check_name=name, asset_key=key, passed=True, metadata={"skipped": "replay: rebuilt from stored pages, no API request"}
        )
    cutoff = _run_started(context)
    bounds = day_bounds if source.unit == "day" else month_bounds
    (statement,) = statements(f"completeness_{source.table}")
    found: list[Completeness] = []
    unchecked: dict[str, str] = {}  # GitHub did not answer: not a proven loss, so a warning, not an error
    with github.client() as client:
        for repo, units in by.items():
            start, end = bounds(units)
            end = min(end, cutoff)
            if end <= start:
                continue

            def ours(lo: datetime, hi: datetime, repo: str = repo) -> int:
                return con.execute(statement, {"repository": repo, "start": lo, "end": hi}).fetchone()[0]

            try:
                found.append(completeness_check(client, source, repo, start, end, ours))
            except errors.GitHubError as exc:
                unchecked[repo] = f"{type(exc).__name__}: {exc}"
                context.log.warning(f"{name}: GitHub's count of {source.label} for {repo} failed ({unchecked[repo]}); not checked")
    for c in found:
        (context.log.error if c.missing else context.log.warning if c.extra else context.log.info)(c.describe())
    missing = [c for c in found if c.missing]
    extra = [c for c in found if c.extra]
    severity = dg.AssetCheckSeverity.ERROR if missing else dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(
        check_name=name,
        asset_key=key,
        passed=not missing and not extra and not unchecked,
        severity=severity,
        description="; ".join([*(c.describe() for c in (missing or extra or found)), *(f"{r}: not checked ({m})" for r, m in unchecked.items())])[:2000] or None,
        metadata={
            "entity": source.table,
            "github_count": sum(c.github_count for c in found),
            "ours": sum(c.ours for c in found),
            "missing": sum(c.missing for c in found),
            "extra": sum(c.extra for c in found),
            "github_requests": sum(c.requests for c in found),
            "repositories": dg.MetadataValue.json({c.repo: c.as_metadata() for c in found}),
            "unchecked": dg.MetadataValue.json(unchecked),
        },
    )


def _load_repository(con: duckdb.DuckDBPyConnection, table: str, repo: str, glob: str | list[str]) -> bool:
    """Rebuild ``repo``'s rows of ``marts.<table>`` in one transaction; returns whether ``union_by_name`` was needed.

    DuckDB's ``union_by_name`` reads every file's footer before the first row (at a few thousand day files,
    ~200 MB and a second). Files written by one version of the code share their columns, so the load reads
    by the first file's schema and only falls back to the union when a file from another version differs.
    """
    for union in (False, True):
        con.execute("BEGIN TRANSACTION")
        try:
            run_sql(con, f"{table}_load", {"repository": repo, "staged_glob": glob, "union_by_name": union})
            con.execute("COMMIT")
            return union
        except duckdb.InvalidInputException as exc:
            con.execute("ROLLBACK")
            if union or "schema mismatch" not in str(exc):
                raise
        except BaseException:
            con.execute("ROLLBACK")
            raise
    raise AssertionError("unreachable")


def _partition_rows(
    con: duckdb.DuckDBPyConnection, table: str, repo: str, units: list[date], partition_of: Callable[[str, date], str]
) -> dict[str, dict[str, object]]:
    """Each run partition's rows in the mart (its ``partition_date``), zero for a partition that holds none."""
    counts = dict(
        con.execute(f"SELECT partition_date, count(*) FROM marts.{table} WHERE lower(repository) = lower(?) GROUP BY 1", [repo]).fetchall()
    )
    return {str(partition_of(repo, unit)): {"rows": counts.get(unit, 0), **row_count(counts.get(unit, 0))} for unit in units}


def _one(name: str, params: dict[str, object]) -> tuple[str, dict[str, object]]:
    """The single statement of ``sql/<name>.sql`` with its parameters, for a query that returns a value."""
    (statement,) = statements(name)
    return statement, params


def staged_model(table: str) -> type[pa.DataFrameModel]:
    """The Pandera model of the staged table a mart is loaded from."""
    return IssueSchema if table == "issues" else ENTITIES[table].model


def _staged(name: str) -> dg.AssetKey:
    return dg.AssetKey(["github", name])


mart_issues = build_mart_asset(
    "issues", ISSUES, repo_day_partitions, days_by_repo, "One row per issue: the latest version across every staged partition of its repository."
)
mart_pull_requests = build_mart_asset(
    PULL_REQUESTS.name, _staged(PULL_REQUESTS.name), repo_day_partitions, days_by_repo, "One row per pull request at its latest version."
)
mart_reviews = build_mart_asset(
    REVIEWS.name, _staged(REVIEWS.name), repo_day_partitions, days_by_repo, "The reviews of every pull request as of its newest capture."
)
mart_pr_files = build_mart_asset(
    PR_FILES.name, _staged(PR_FILES.name), repo_day_partitions, days_by_repo, "The files changed by every pull request as of its newest capture."
)
mart_issue_comments = build_mart_asset(
    ISSUE_COMMENTS.name, _staged(ISSUE_COMMENTS.name), repo_day_partitions, days_by_repo, "One row per issue or PR conversation comment."
)
mart_commits = build_mart_asset(
    COMMITS.name, _staged(COMMITS.name), repo_month_partitions, months_by_repo, "One row per commit, with the git identity and the linked account."
)
ENTITY_MARTS = [mart_pull_requests, mart_reviews, mart_pr_files, mart_issue_comments, mart_commits]
