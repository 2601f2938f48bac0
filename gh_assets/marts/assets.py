"""Mart assets in DuckDB, loaded from the staged Parquet of the lake."""


import time

import dagster as dg
from dagster_duckdb import DuckDBResource

from gh_assets.github.assets import FRESHNESS, ISSUES
from gh_assets.github.partitions import days_by_repo, repo_day_partitions
from gh_assets.marts.sql import run_sql
from gh_assets.resources import LakeResource

MART_ISSUES = dg.AssetKey(["marts", "issues"])


@dg.asset(
    key=MART_ISSUES,
    deps=[ISSUES],
    partitions_def=repo_day_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="duckdb",
    group_name="marts",
    kinds={"duckdb", "sql"},
    freshness_policy=FRESHNESS,
    check_specs=[
        dg.AssetCheckSpec(
            "issues_reconciled",
            asset=MART_ISSUES,
            description="Each loaded repository has exactly one mart row per distinct staged issue id.",
        )
    ],
)
def mart_issues(context: dg.AssetExecutionContext, lake: LakeResource, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """One row per issue: the latest version across every staged partition of its repository."""
    store = lake.lake
    started = time.monotonic()
    loaded: dict[str, int] = {}
    mismatches: dict[str, str] = {}
    with duckdb.get_connection() as con:
        run_sql(con, "issues_create")
        for repo in days_by_repo(context.partition_keys):
            glob = store.parquet_glob("staged", "issues", repo)
            if not list(store.repo_dir("staged", "issues", repo).glob("date=*/*.parquet")):
                raise FileNotFoundError(f"no staged issues for {repo} under {store.repo_dir('staged', 'issues', repo)}")
            con.execute("BEGIN TRANSACTION")
            try:
                run_sql(con, "issues_load", {"repository": repo, "staged_glob": glob})
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            (mart_rows,) = con.execute("SELECT count(*) FROM marts.issues WHERE repository = ?", [repo]).fetchone()
            # (id, number), not id alone: one id on two issue numbers in different days is corrupt data that
            # "latest wins" would silently fold into one row.
            (staged_ids,) = con.execute(
                "SELECT count(*) FROM (SELECT DISTINCT id, number FROM read_parquet(?, hive_partitioning = false))", [glob]
            ).fetchone()
            loaded[repo] = mart_rows
            if mart_rows != staged_ids:
                mismatches[repo] = f"mart {mart_rows} rows, staged {staged_ids} distinct (id, number)"
        (total,) = con.execute("SELECT count(*) FROM marts.issues").fetchone()
    return dg.MaterializeResult(
        metadata={
            "rows_in_loaded_repos": sum(loaded.values()),
            "table_rows": total,
            "repositories_loaded": len(loaded),
            "duration_seconds": round(time.monotonic() - started, 3),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="issues_reconciled",
                asset_key=MART_ISSUES,
                passed=not mismatches,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={"repositories": len(loaded), "mismatches": dg.MetadataValue.json(mismatches)},
            )
        ],
    )
