"""Queued runs on PostgreSQL: the dagster daemon launches the config sensor's first loads one at a time."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
import yaml
from dagster._core.events import DagsterEventType

from gh_assets.emulator import Emulator, EmulatorConfig
from gh_assets_tests.conftest import DEMO_REPOS
from gh_assets_tests.deploy.daemon import group_members, running_daemon
from gh_assets_tests.deploy.postgres import Cluster

ROOT = Path(__file__).resolve().parents[2]
REASON_TAG = "gh_assets/reason"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
ISSUE_ASSETS = ("github/raw_issue_pages", "github/issues", "marts/issues")
DEADLINE_SECONDS = 240  # normally ~60 s; other work on the 2 shared cores can double it
LIFECYCLE = {
    e.value: e
    for e in (DagsterEventType.RUN_ENQUEUED, DagsterEventType.RUN_STARTING, DagsterEventType.RUN_START, DagsterEventType.RUN_SUCCESS)
}
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")


def serial_first_loads_config() -> dict:
    """deploy/dagster.postgres.yaml with first-load runs limited to one at a time (the run limit stays above 1)."""
    config = yaml.safe_load((ROOT / "deploy" / "dagster.postgres.yaml").read_text())
    runs = config["concurrency"]["runs"]
    assert runs["max_concurrent_runs"] > 1, "only the tag limit should hold the second run back"
    (limit,) = [lim for lim in runs["tag_concurrency_limits"] if lim["key"] == REASON_TAG and lim["value"] == "first-load"]
    limit["limit"] = 1
    return config


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    status: str
    tags: dict[str, str]
    events: dict[DagsterEventType, datetime]
    partitions_by_asset: dict[str, int]

    @property
    def repo(self) -> str:
        return self.tags.get(RANGE_START_TAG, "|").split("|", 1)[1]

    @property
    def days(self) -> int:
        """Days in the run's partition range (``"<date>|<repo>"`` keys at both ends)."""
        start, end = (date.fromisoformat(self.tags[tag].split("|", 1)[0]) for tag in (RANGE_START_TAG, RANGE_END_TAG))
        return (end - start).days + 1

    def at(self, event: DagsterEventType) -> datetime:
        return self.events[event]


def run_records(cur: psycopg2.extensions.cursor) -> list[RunRecord]:
    """Every run of the instance, read straight from dagster-postgres' tables."""
    cur.execute("SELECT run_id, status FROM runs")
    statuses = dict(cur.fetchall())
    cur.execute("SELECT run_id, key, value FROM run_tags WHERE key = ANY(%s)", ([RANGE_START_TAG, RANGE_END_TAG, REASON_TAG],))
    tags: dict[str, dict[str, str]] = {}
    for run_id, key, value in cur.fetchall():
        tags.setdefault(run_id, {})[key] = value
    cur.execute(
        "SELECT run_id, dagster_event_type, min(timestamp) FROM event_logs WHERE dagster_event_type = ANY(%s) GROUP BY 1, 2",
        (list(LIFECYCLE),),
    )
    events: dict[str, dict[DagsterEventType, datetime]] = {}
    for run_id, kind, ts in cur.fetchall():
        events.setdefault(run_id, {})[LIFECYCLE[kind]] = ts
    cur.execute(
        "SELECT run_id, asset_key, count(DISTINCT partition) FROM event_logs WHERE dagster_event_type = %s GROUP BY 1, 2",
        (DagsterEventType.ASSET_MATERIALIZATION.value,),
    )
    mats: dict[str, dict[str, int]] = {}
    for run_id, asset_key, partitions in cur.fetchall():
        mats.setdefault(run_id, {})[dg.AssetKey(json.loads(asset_key)).to_user_string()] = partitions
    return [
        RunRecord(run_id, status, tags.get(run_id, {}), events.get(run_id, {}), mats.get(run_id, {}))
        for run_id, status in statuses.items()
    ]


def wait_for_runs(cluster: Cluster, daemon: subprocess.Popen[bytes], log: Path, n: int) -> list[RunRecord]:
    """Poll PostgreSQL until ``n`` runs have finished; fail early if the daemon dies or a run fails."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    records: list[RunRecord] = []
    with psycopg2.connect(host=cluster.host, port=cluster.port, user=cluster.user, dbname=cluster.db) as con:
        con.autocommit = True
        with con.cursor() as cur:
            while time.monotonic() < deadline:
                if daemon.poll() is not None:
                    pytest.fail(f"dagster-daemon exited with {daemon.returncode}:\n{log.read_text()[-4000:]}")
                records = run_records(cur)
                if any(r.status == "FAILURE" for r in records):
                    pytest.fail(f"a run failed: {records}\n{log.read_text()[-4000:]}")
                if len(records) >= n and all(r.status in FINISHED for r in records):
                    return records
                time.sleep(0.5)
    pytest.fail(f"{n} finished runs not seen within {DEADLINE_SECONDS} s: {records}\n{log.read_text()[-4000:]}")


@pytest.mark.slow
def test_tag_limit_runs_first_loads_one_at_a_time(cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(serial_first_loads_config()))
    today = datetime.now(tz=UTC).date()
    days = 4  # today and the three days before: each repository's first load is a 4-day range
    config = tmp_path / "sources.yaml"
    config.write_text(f"github:\n  start: {today - timedelta(days=days - 1)}\n  repos: [{', '.join(DEMO_REPOS)}]\n")
    env = {key: value for key, value in os.environ.items() if key not in ("GITHUB_TOKEN", "GITHUB_TOKENS")}
    env.update(cluster.env, GH_ASSETS_DATA_DIR=str(tmp_path / "data"), GH_ASSETS_CONFIG=str(config))
    for key, value in cluster.env.items():
        monkeypatch.setenv(key, value)
    dg.DagsterInstance.from_config(str(home)).dispose()  # creates the schema before the daemon and run workers connect
    emu_config = EmulatorConfig(seed=5, repos=DEMO_REPOS, issues_per_repo=300, start=str(today - timedelta(days=10)), days=11)
    log = tmp_path / "daemon.log"
    with Emulator(emu_config) as emu, running_daemon(home, {**env, "GITHUB_API_URL": emu.url}, log) as daemon:
        # a first load is two runs per repository: the daily entities over the range, the commits over its months
        records = wait_for_runs(cluster, daemon, log, 2 * len(DEMO_REPOS))
    assert not group_members(daemon.pid), "the daemon, its code server and run workers are all gone"

    assert all(r.status == "SUCCESS" for r in records), records
    assert all(r.tags[REASON_TAG] == "first-load" for r in records), records
    daily = [r for r in records if "github/issues" in r.partitions_by_asset]
    commits = [r for r in records if "github/commits" in r.partitions_by_asset]
    # One daily run per repository: the whole first-load range is a single run (single-run backfill policy).
    assert sorted(r.repo for r in daily) == sorted(DEMO_REPOS)
    assert sorted(r.repo for r in commits) == sorted(DEMO_REPOS)
    for r in daily:
        assert r.days in (days, days + 1), r  # days + 1 when the sensor ticked after midnight UTC
        for asset in ISSUE_ASSETS:
            assert r.partitions_by_asset.get(asset) == r.days, (asset, r)

    # The tag limit of 1: no run started before the one started before it had finished; and the coordinator
    # launched queued runs (QUEUED -> STARTING) only once the running one was done.
    ordered = sorted(records, key=lambda r: r.at(DagsterEventType.RUN_START))
    for earlier, later in zip(ordered, ordered[1:]):
        assert later.at(DagsterEventType.RUN_STARTING) >= earlier.at(DagsterEventType.RUN_SUCCESS), (earlier, later)
    assert any(later.at(DagsterEventType.RUN_ENQUEUED) < earlier.at(DagsterEventType.RUN_SUCCESS) for earlier, later in zip(ordered, ordered[1:]))
    first, second = daily
    for r in (first, second):
        queued = (r.at(DagsterEventType.RUN_STARTING) - r.at(DagsterEventType.RUN_ENQUEUED)).total_seconds()
        total = (r.at(DagsterEventType.RUN_SUCCESS) - r.at(DagsterEventType.RUN_ENQUEUED)).total_seconds()
        running = (r.at(DagsterEventType.RUN_SUCCESS) - r.at(DagsterEventType.RUN_START)).total_seconds()
        print(f"{r.repo}: submitted -> success {total:.1f} s (queued {queued:.1f} s, started -> success {running:.1f} s)")
