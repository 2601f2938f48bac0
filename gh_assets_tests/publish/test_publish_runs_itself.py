"""Publishing without a human: the jobs the sensors launch and the automation sensor publish, `gh-assets ingest` publishes
(`--no-publish` skips it), and without GH_ASSETS_POSTGRES_DSN nothing of it exists."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import psycopg
import pytest

from gh_assets import cli
from gh_assets.definitions import build_defs
from gh_assets.emulator import Emulator, EmulatorConfig
from gh_assets.publish.resources import DSN_ENV
from gh_assets_tests.ingest import point_cli_at

REPO = "demo-org/alpha"
START, END = date(2025, 1, 1), date(2025, 1, 8)
PUBLISH = {"publish/commits", "publish/pull_requests", "publish/issues"}


def job_keys(defs: dg.Definitions, name: str) -> set[str]:
    return {k.to_user_string() for k in defs.resolve_job_def(name).asset_layer.selected_asset_keys}


def test_without_the_dsn_no_job_sensor_or_schedule_publishes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DSN_ENV, raising=False)
    defs = build_defs()
    assert not (job_keys(defs, "github_daily_job") | job_keys(defs, "github_commits_job")) & PUBLISH
    assert "publish_automation_sensor" not in {s.name for s in defs.sensors}


def test_with_the_dsn_the_sensors_jobs_and_automation_publish(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DSN_ENV, "postgresql://u:not-in-config@127.0.0.1:1/db")
    defs = build_defs()
    dg.Definitions.validate_loadable(defs)
    daily, commits = job_keys(defs, "github_daily_job"), job_keys(defs, "github_commits_job")
    assert {"marts/issues", "publish/issues", "publish/pull_requests"} <= daily and "publish/commits" not in daily
    assert {"marts/commits", "publish/commits"} <= commits and not {"publish/issues", "publish/pull_requests"} & commits
    repo_def = defs.get_repository_def()
    # the sensors and the catch-up schedule launch the jobs by name: the names resolve to the publishing versions
    for sensor in ("github_repos_sensor", "github_issue_changes_sensor", "github_commit_changes_sensor"):
        for job in [t.job_name for t in repo_def.get_sensor_def(sensor).targets]:
            assert job_keys(defs, job) & PUBLISH, (sensor, job)
    assert job_keys(defs, repo_def.get_schedule_def("github_catch_up_schedule").job_name) & PUBLISH
    sensor = repo_def.get_sensor_def("publish_automation_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    graph = repo_def.asset_graph
    for name in PUBLISH:
        node = graph.get(dg.AssetKey.from_user_string(name))
        assert node.automation_condition is not None
        assert sensor.asset_selection.resolve(graph) >= {node.key}
        (spec,) = [s for s in defs.get_assets_def(node.key).check_specs if s.name.endswith("_published_rows")]
        assert spec.blocking


def _pg_counts(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        present = {r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'")}
        return {t: conn.execute(f"SELECT count(*) FROM marts.{t}").fetchone()[0] if t in present else 0 for t in ("commits", "pull_requests", "issues")}


def _duck_counts(data_dir: Path) -> dict[str, int]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return {t: con.execute(f"SELECT count(*) FROM marts.{t}").fetchone()[0] for t in ("commits", "pull_requests", "issues")}


def _drop_published(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS marts CASCADE")


@pytest.mark.slow
def test_ingest_publishes_and_no_publish_skips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dsn_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    _drop_published(dsn_env)
    with Emulator(EmulatorConfig(seed=3, repos=(REPO,), issues_per_repo=60, start=str(START), days=8)) as emu:
        data_dir, _ = point_cli_at(monkeypatch, emu.url, tmp_path, REPO, START)
        args = ["ingest", "--repo", REPO, "--start", str(START), "--end", str(END)]
        assert cli.main([*args, "--no-publish"]) == 0
        assert _pg_counts(dsn_env) == {"commits": 0, "pull_requests": 0, "issues": 0}
        assert "publishing" not in capsys.readouterr().out
        assert cli.main(args) == 0
        out = capsys.readouterr().out
        assert f"(publish {REPO}," in out
        published, loaded = _pg_counts(dsn_env), _duck_counts(data_dir)
        assert published == loaded and all(loaded.values())
        # --entities limits the publish to the marts it loaded
        _drop_published(dsn_env)
        assert cli.main([*args, "--entities", "commits"]) == 0
        assert _pg_counts(dsn_env) == {"commits": loaded["commits"], "pull_requests": 0, "issues": 0}


@pytest.mark.slow
def test_automation_publishes_the_partitions_whose_marts_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dsn_env: str) -> None:
    with Emulator(EmulatorConfig(seed=4, repos=(REPO,), issues_per_repo=40, start=str(START), days=8)) as emu:
        point_cli_at(monkeypatch, emu.url, tmp_path, REPO, START)
        instance = cli._instance(None)
        defs = build_defs()
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)  # the first tick starts the cursor
        assert first.total_requested == 0
        assert cli.main(["ingest", "--repo", REPO, "--start", str(START), "--end", str(END), "--no-publish"]) == 0
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
        requested = {k.to_user_string(): result.get_requested_partitions(k) for k in (dg.AssetKey(["publish", t]) for t in ("issues", "pull_requests", "commits"))}
        days = {f"{date(2025, 1, d).isoformat()}|{REPO}" for d in range(1, 9)}
        assert requested["publish/issues"] == days and requested["publish/pull_requests"] == days
        assert requested["publish/commits"] == {f"2025-01-01|{REPO}"}
        # a mart reloaded and published by the same command is not published again; requested ones are not re-requested
        assert cli.main(["ingest", "--repo", REPO, "--start", str(START), "--end", str(END), "--entities", "commits"]) == 0
        again = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=result.cursor)
        assert not any(again.get_requested_partitions(dg.AssetKey(["publish", t])) for t in ("issues", "pull_requests", "commits"))
        instance.dispose()
