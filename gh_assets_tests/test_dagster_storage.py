"""The batched SQLite event log records exactly what Dagster's own SQLite event log records."""

from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from gh_assets import dagster_storage
from gh_assets.dagster_storage import BATCH_ENV, PLANNED_SUBSET_ENV, BatchedSqliteEventLogStorage
from gh_assets.emulator import Emulator
from gh_assets.github.assets import issues, raw_issue_pages
from gh_assets.github.partitions import REPOS_PARTITION, range_tags
from gh_assets.marts.assets import mart_issues
from gh_assets_tests.conftest import DEMO_REPOS, make_resources

ASSETS = [raw_issue_pages, issues, mart_issues]
REPO = DEMO_REPOS[0]
START, END = date(2025, 1, 1), date(2025, 1, 12)
# the emulator is shared: its budget moves on; each run writes its own data dir (the uri)
VOLATILE = {"run_total_duration_seconds", "rate_limit_remaining", "dagster/uri"}


def _run(emulator: Emulator, data_dir: Path, overrides: dict | None) -> dict:
    resources = make_resources(emulator.url, data_dir)
    with dg.instance_for_test(overrides=overrides) as instance:
        instance.add_dynamic_partitions(REPOS_PARTITION, [REPO])
        result = dg.materialize(ASSETS, instance=instance, resources=resources, tags=range_tags(REPO, START, END))
        assert result.success
        out: dict = {"storage": type(instance.event_log_storage).__name__}
        for asset in ASSETS:
            key = asset.key
            partitions = instance.get_materialized_partitions(key)
            out[key.to_user_string()] = sorted(partitions)
            records = instance.fetch_materializations(key, limit=1000).records
            out[f"{key.to_user_string()} metadata"] = sorted(
                (r.partition_key, sorted((k, str(v.value)) for k, v in r.asset_materialization.metadata.items() if k not in VOLATILE))
                for r in records
            )
            latest = instance.get_latest_materialization_event(key)
            out[f"{key.to_user_string()} latest"] = latest.dagster_event.partition if latest and latest.dagster_event else None
            # the asset-key row: the newest materialisation and this run, as the event log itself says
            (asset_record,) = instance.get_asset_records([key])
            entry = asset_record.asset_entry
            newest = max(r.storage_id for r in records)
            out[f"{key.to_user_string()} entry"] = (
                entry.last_materialization_storage_id == newest,
                entry.last_materialization.dagster_event.partition if entry.last_materialization else None,
                entry.last_run_id == result.run_id,
            )
        checks = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(issues.key, "issues_reconciled_raw"), limit=10
        )
        out["checks"] = [c.status.value for c in checks]
        return out


def test_batched_storage_records_what_dagster_records(emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BATCH_ENV, raising=False)
    monkeypatch.delenv(PLANNED_SUBSET_ENV, raising=False)
    plain = _run(emulator, tmp_path / "plain", None)

    batches: list[int] = []
    original = BatchedSqliteEventLogStorage.store_event_batch

    def spy(self: BatchedSqliteEventLogStorage, events: list) -> None:
        batches.append(len(events))
        original(self, events)

    monkeypatch.setattr(BatchedSqliteEventLogStorage, "store_event_batch", spy)
    overrides = {"event_log_storage": {"module": dagster_storage.__name__, "class": "BatchedSqliteEventLogStorage", "config": {"base_dir": str(tmp_path / "events")}}}
    batched = _run(emulator, tmp_path / "batched", overrides)

    assert plain.pop("storage") == "SqliteEventLogStorage"
    assert batched.pop("storage") == "BatchedSqliteEventLogStorage"
    days = (END - START).days + 1
    assert len(batched["github/issues"]) == days
    assert batched == plain
    assert max(batches) >= days  # a step's materialisations went down as one batch


def test_default_base_dir_is_dagsters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    storage = BatchedSqliteEventLogStorage.from_config_value(None, {})
    assert Path(storage._base_dir) == tmp_path / "history" / "runs"
    monkeypatch.delenv("DAGSTER_HOME")
    with pytest.raises(Exception, match="DAGSTER_HOME"):
        BatchedSqliteEventLogStorage.from_config_value(None, {})


def test_project_instance_uses_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "dagster.yaml").write_text((Path(__file__).parents[1] / "dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    for name in (BATCH_ENV, PLANNED_SUBSET_ENV):
        monkeypatch.delenv(name, raising=False)
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, BatchedSqliteEventLogStorage)
    import os

    assert os.environ[BATCH_ENV] == dagster_storage.DEFAULT_BATCH_SIZE
