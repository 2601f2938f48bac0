"""Fixtures of the table-source tests: a config file beside its CSV files and in-process materialisations."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from dagster_duckdb import DuckDBResource

from gh_assets.resources import LakeResource
from gh_assets.tables.assets import table_assets

HEADER = "github:\n  start: 2025-01-01\n  repos: [demo-org/alpha]\ntables:\n"


@dataclass
class Run:
    result: dg.ExecuteInProcessResult
    data_dir: Path

    @property
    def success(self) -> bool:
        return self.result.success

    def metadata(self, name: str) -> dict:
        mats = self.result.asset_materializations_for_node(f"tables__{name}")
        return {k: v.value for k, v in mats[-1].metadata.items()}

    def checks(self) -> dict[str, bool]:
        return {e.check_name: e.passed for e in self.result.get_asset_check_evaluations()}

    def check_metadata(self, check: str) -> dict:
        (e,) = [e for e in self.result.get_asset_check_evaluations() if e.check_name == check]
        return {k: v.value for k, v in e.metadata.items()}

    def error(self) -> str:
        failures = [e for e in self.result.all_events if e.is_step_failure]
        err = failures[0].step_failure_data.error
        while err.cause is not None:
            err = err.cause
        return err.message

    def staged(self, name: str) -> pl.DataFrame:
        files = sorted((self.data_dir / "lake" / "staged" / "tables" / name).glob("date=*/*.parquet"))
        return pl.concat([pl.read_parquet(f) for f in files]) if files else pl.DataFrame()

    def quarantined(self, name: str) -> pl.DataFrame:
        files = sorted((self.data_dir / "lake" / "quarantine" / "tables" / name).glob("date=*/*.parquet"))
        return pl.concat([pl.read_parquet(f) for f in files]) if files else pl.DataFrame()

    def duckdb(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.data_dir / "warehouse.duckdb"), read_only=True) as con:
            return con.execute(sql).fetchall()


@pytest.fixture
def project(tmp_path: Path):
    """Write files beside a sources.yaml and materialise its tables: ``project(tables_yaml, files={...})``."""

    def run(tables_yaml: str, files: dict[str, str | bytes] | None = None) -> Run:
        for name, content in (files or {}).items():
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content.encode() if isinstance(content, str) else content)
        config = tmp_path / "sources.yaml"
        config.write_text(HEADER + tables_yaml, encoding="utf-8")
        data_dir = tmp_path / "data"
        with dg.instance_for_test() as instance:
            result = dg.materialize(
                table_assets(config),
                instance=instance,
                resources={"lake": LakeResource(data_dir=str(data_dir)), "duckdb": DuckDBResource(database=str(data_dir / "warehouse.duckdb"))},
                raise_on_error=False,
            )
        return Run(result, data_dir)

    return run
