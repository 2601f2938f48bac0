"""The same code location on a PostgreSQL-backed Dagster instance (deploy/dagster.postgres.yaml)."""

import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import psycopg2
import pytest

from gh_assets.emulator import Emulator, EmulatorConfig
from gh_assets.github.assets import issues, raw_issue_pages
from gh_assets.github.partitions import REPOS_PARTITION, range_tags
from gh_assets.github.resources import GitHubResource, SourcesResource
from gh_assets.github.sensors import apply_partition_requests, github_repos_sensor
from gh_assets.marts.assets import mart_issues
from gh_assets_tests.conftest import make_resources
from gh_assets_tests.deploy.postgres import Cluster

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_runs_and_events_live_in_postgres(cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in cluster.env.items():
        monkeypatch.setenv(key, value)
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    config = tmp_path / "sources.yaml"
    config.write_text("github:\n  start: 2025-01-01\n  repos: [demo-org/alpha]\n")
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        # a fresh instance has no repository partitions: the config sensor creates them
        resources = {"sources": SourcesResource(path=str(config)), "github": GitHubResource(api_url="http://127.0.0.1:9")}  # no org: no request
        result = github_repos_sensor(dg.build_sensor_context(instance=instance, resources=resources))
        apply_partition_requests(instance, result)
        assert instance.get_dynamic_partitions(REPOS_PARTITION) == ["demo-org/alpha"]
        with Emulator(EmulatorConfig(seed=2, repos=("demo-org/alpha",), issues_per_repo=400, days=20)) as emu:
            run = dg.materialize(
                [raw_issue_pages, issues, mart_issues],
                instance=instance,
                resources=make_resources(emu.url, tmp_path / "data", config=config),
                tags=range_tags("demo-org/alpha", date(2025, 1, 1), date(2025, 1, 31)),
            )
        assert run.success
    finally:
        instance.dispose()
    with psycopg2.connect(host=cluster.host, port=cluster.port, user=cluster.user, dbname=cluster.db) as con, con.cursor() as cur:
        cur.execute("SELECT count(*) FROM runs WHERE run_id = %s", (run.run_id,))
        assert cur.fetchone()[0] == 1
        cur.execute("SELECT count(*) FROM event_logs WHERE run_id = %s AND dagster_event_type = 'ASSET_MATERIALIZATION'", (run.run_id,))
        assert cur.fetchone()[0] == 3 * 31  # three assets x 31 day partitions
        cur.execute("SELECT partition FROM dynamic_partitions WHERE partitions_def_name = %s", (REPOS_PARTITION,))
        assert cur.fetchall() == [("demo-org/alpha",)]
