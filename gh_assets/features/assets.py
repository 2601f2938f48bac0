"""Feature tables as Dagster assets: ``features/contributor``, ``features/issue``, ``features/milestone``, ``features/repo``.

Each asset rebuilds its table whole from the marts (``sql/prelude.sql`` + ``sql/<entity>.sql``), applies the
missing-value and normalisation policies of ``features.yaml``, validates it with its Pandera model and only
then publishes it: ``features.<entity>`` (+ ``features.<entity>_raw``, ``features.catalogue``) in DuckDB and
``<data>/features/<entity>/part-0.parquet``. A failing validation publishes nothing and fails the blocking
check. Like the analytics marts, the assets follow their upstream marts through an eager automation condition.
"""


import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pandera.polars as pa
import polars as pl
from dagster_duckdb import DuckDBResource
from pydantic import Field

from gh_assets.features.build import build_feature_table, fetch, prepare, publish
from gh_assets.features.catalogue import ENTITIES
from gh_assets.features.config import FEATURES_CONFIG_ENV, FeaturesConfigError, features_config_path, load_features_config
from gh_assets.features.milestones import read_milestone_dues
from gh_assets.features.schemas import feature_schema
from gh_assets.features.store import write_offline
from gh_assets.marts.lineage import feature_deps
from gh_assets.marts.sql import run_sql
from gh_assets.metadata import duckdb_table, row_count
from gh_assets.resources import LakeResource

MART_TABLES = ("issues", "pull_requests", "reviews", "pr_files", "issue_comments", "commits")
UPSTREAM = [dg.AssetKey(["marts", t]) for t in MART_TABLES]
# Eager, but not held back by upstream partitions that were never loaded (as the analytics marts).
AUTOMATION = dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())


class FeaturesRunConfig(dg.Config):
    config_path: str | None = Field(default=None, description=f"The features config; default ${FEATURES_CONFIG_ENV}, else ./features.yaml.")


def _failure_markdown(exc: pa.errors.SchemaErrors) -> str:
    cases = exc.failure_cases
    summary = cases.group_by("column", "check").agg(pl.len().alias("rows")).sort("rows", descending=True).head(20)
    lines = ["| column | check | rows |", "| --- | --- | --- |"]
    lines += [f"| {r['column']} | {r['check']} | {r['rows']} |" for r in summary.iter_rows(named=True)]
    return "\n".join(lines)


def _feature_asset(entity: str) -> dg.AssetsDefinition:
    key = dg.AssetKey(["features", entity])
    check = f"{entity}_features_schema"

    @dg.asset(
        key=key,
        deps=feature_deps(entity),  # exactly the tables its SQL reads (gh_assets/marts/lineage.py)
        group_name="features",
        kinds={"duckdb", "sql", "parquet"},
        pool="duckdb",
        automation_condition=AUTOMATION,
        description=f"One row per {ENTITIES[entity].grain}: entity keys, event_timestamp and 0-1 features.",
        check_specs=[
            dg.AssetCheckSpec(
                check,
                asset=key,
                blocking=True,
                description="Keys unique per event_timestamp, every feature in [0, 1], no nulls where the policy imputes; failing tables are not published.",
            )
        ],
    )
    def _asset(context: dg.AssetExecutionContext, config: FeaturesRunConfig, duckdb: DuckDBResource, lake: LakeResource) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        started = time.monotonic()
        try:
            settings = load_features_config(config.config_path)
        except FeaturesConfigError as exc:
            raise dg.Failure(description=str(exc)) from None
        data_dir = Path(lake.data_dir)
        dues = read_milestone_dues(data_dir / "lake")
        with duckdb.get_connection() as con:
            for table in MART_TABLES:  # marts never loaded count as empty
                run_sql(con, f"{table}_create")
            prepare(con, settings, dues)
            cols = build_feature_table(con, entity, settings)
            frame = fetch(con, f"{entity}_new")
            try:
                feature_schema(entity, cols).validate(frame, lazy=True)
                failure = None
            except pa.errors.SchemaErrors as exc:
                failure = exc
            if failure is None:
                publish(con, entity, settings)
            # the asset page's Row count and Columns: the published table's, else the rows that were refused
            table_meta = duckdb_table(con, f"features.{entity}", frame.height) if failure is None else row_count(frame.height)
        path = write_offline(frame, data_dir / "features" / entity) if failure is None else None
        keys = ENTITIES[entity].keys
        metadata: dict[str, dg.RawMetadataValue] = {
            "rows": frame.height,
            "entities": frame.select(keys).n_unique() if frame.height else 0,
            "event_timestamps": frame["event_timestamp"].n_unique(),
            "features": len(cols),
            "windows_days": dg.MetadataValue.json(list(settings.windows)),
            "config": str(features_config_path(config.config_path)),
            "published": failure is None,
            "duration_seconds": round(time.monotonic() - started, 3),
            **table_meta,
        }
        if path is not None:
            metadata["path"] = dg.MetadataValue.path(str(path))
        if frame.height:
            metadata["first_event_timestamp"] = frame["event_timestamp"].min().isoformat()
            metadata["last_event_timestamp"] = frame["event_timestamp"].max().isoformat()
        if failure is not None:
            context.log.error(f"features.{entity} failed validation and was not published")
        yield dg.MaterializeResult(metadata=metadata)
        yield dg.AssetCheckResult(
            check_name=check,
            asset_key=key,
            passed=failure is None,
            severity=dg.AssetCheckSeverity.ERROR,
            description="valid" if failure is None else f"{len(failure.failure_cases)} failures; table not published",
            metadata={"rows": frame.height, **({"failures": dg.MetadataValue.md(_failure_markdown(failure))} if failure is not None else {})},
        )

    _asset.__name__ = f"features_{entity}"
    return _asset


FEATURE_ASSETS = [_feature_asset(entity) for entity in ENTITIES]
FEATURE_KEYS = [dg.AssetKey(["features", entity]) for entity in ENTITIES]

features_automation_sensor = dg.AutomationConditionSensorDefinition(
    "features_automation_sensor",
    target=dg.AssetSelection.assets(*FEATURE_KEYS),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Rebuilds the feature tables after their upstream marts change.",
)
