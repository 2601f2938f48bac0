"""End to end on S3 (moto): a CLI ingest with an s3:// lake gives the marts of a local-disk ingest; a failed write
keeps the previous version; retention prunes raw on both; credentials appear in no metadata, log or stored file."""

import contextlib
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster._core.instance.ref import InstanceRef
from dagster._serdes import serialize_value

from gh_assets import cli
from gh_assets.emulator import Emulator, EmulatorConfig
from gh_assets.lake import Lake

from .conftest import ACCESS_KEY, SECRET_KEY, make_bucket, s3_env

pytestmark = pytest.mark.slow

REPO = "demo-org/alpha"
START, END = date(2025, 1, 1), date(2025, 1, 20)
TABLES = ("issues", "pull_requests", "reviews", "pr_files", "issue_comments", "commits")
ANALYTICS = ("pr_lead_times", "review_turnaround", "issue_response_times", "commit_activity_monthly", "contributor_stats", "repo_health_daily")
RAW = ("issues", "pulls", "reviews", "pr_files", "pr_details", "issue_comments", "commits")  # pr_details: GraphQL pages (empty without a token)


@dataclass
class Ingest:
    data_dir: Path
    home: Path
    lake_root: str
    seconds: float
    output: str


@dataclass
class Runs:
    local: Ingest
    s3: Ingest
    endpoint: str


def tables(data_dir: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return {t: con.execute(f"SELECT * FROM marts.{t} ORDER BY ALL").fetchall() for t in (*TABLES, *ANALYTICS)}


def point_at(mp: pytest.MonkeyPatch, emulator: Emulator, ingest: Ingest) -> None:
    mp.setenv("GITHUB_API_URL", emulator.url)
    mp.setenv("GH_ASSETS_DATA_DIR", str(ingest.data_dir))
    mp.setenv("DAGSTER_HOME", str(ingest.home))
    mp.setenv("GH_ASSETS_CONFIG", str(ingest.home.parent / "sources.yaml"))
    mp.setenv("GH_ASSETS_LAKE_ROOT", ingest.lake_root)
    mp.delenv("GH_ASSETS_RAW_RETENTION_DAYS", raising=False)
    mp.delenv("GITHUB_TOKEN", raising=False)
    mp.delenv("GITHUB_TOKENS", raising=False)


def run_cli(args: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            code = cli.main(args)
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue()


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    config = EmulatorConfig(seed=5, repos=(REPO,), issues_per_repo=150, start="2025-01-01", days=20, many_files_fraction=0.02, many_reviews_fraction=0.02)
    with Emulator(config) as emu:
        yield emu


@pytest.fixture(scope="module")
def runs(emulator: Emulator, s3_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """The same emulator data ingested through the CLI twice: lake on local disk, then on S3."""
    mp = pytest.MonkeyPatch()
    s3_env(mp, s3_server)
    bucket = make_bucket(s3_server)
    done = {}
    for name, root in (("local", None), ("s3", f"s3://{bucket}/lake")):
        base = tmp_path_factory.mktemp(f"ingest-{name}")
        (base / "sources.yaml").write_text(f"github:\n  start: 2025-01-01\n  repos: [{REPO}]\n")
        ingest = Ingest(base / "data", base / "home", root or str(base / "data" / "lake"), 0.0, "")
        point_at(mp, emulator, ingest)
        started = time.monotonic()
        code, ingest.output = run_cli(["ingest", "--repo", REPO, "--start", str(START), "--end", str(END)])
        ingest.seconds = round(time.monotonic() - started, 1)
        assert code == 0, ingest.output
        done[name] = ingest
    print(f"\ningest of the same emulator data: local {done['local'].seconds}s, s3 (moto) {done['s3'].seconds}s")
    yield Runs(done["local"], done["s3"], s3_server)
    mp.undo()


def test_marts_from_s3_equal_marts_from_local_disk(runs: Runs) -> None:
    local, s3 = tables(runs.local.data_dir), tables(runs.s3.data_dir)
    assert all(local[t] for t in TABLES), "every entity mart has rows"
    assert s3 == local
    assert not (runs.s3.data_dir / "lake").exists(), "nothing of the lake lands on local disk"
    lake = Lake(runs.s3.lake_root)
    assert all(f.startswith(runs.s3.lake_root + "/staged/") for f in lake.staged_files("issues", REPO))
    assert f"Lake:      {runs.s3.lake_root}" in runs.s3.output
    # the CLI summary counts the same lake rows and pages on both
    counts = [[line for line in i.output.splitlines() if line.strip().startswith("lake ")] for i in (runs.local, runs.s3)]
    assert counts[0] and counts[0] == counts[1]


def test_credentials_appear_in_no_metadata_log_or_file(runs: Runs) -> None:
    secrets = (SECRET_KEY, ACCESS_KEY)
    assert not any(s in runs.s3.output for s in secrets)
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(runs.s3.home))) as instance:
        records = instance.get_run_records()
        assert records
        for record in records:
            assert not any(s in serialize_value(record.dagster_run) for s in secrets)
            for event in instance.all_logs(record.dagster_run.run_id):
                text = serialize_value(event)
                assert not any(s in text for s in secrets), event
    for path in runs.s3.home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(s.encode() in data for s in secrets), path
    lake = Lake(runs.s3.lake_root)
    manifests = [p for p in lake.fs.find(runs.s3.lake_root) if p.endswith("manifest.json")]
    assert manifests
    assert not any(s.encode() in body for body in lake.fs.cat(manifests).values() for s in secrets)


def _raw_view(lake: Lake, entity: str) -> dict[date, list]:
    return {day: lake.raw_manifest(entity, REPO, day) for _, day in lake.list_partitions("raw", entity)}


def test_failure_mid_write_on_s3_keeps_the_previous_version(runs: Runs, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    lake = Lake(runs.s3.lake_root)
    before_pulls = _raw_view(lake, "pulls")
    before_tables = tables(runs.s3.data_dir)
    real = Lake._put_objects
    seen = []

    def failing(self: Lake, objects: dict[str, bytes]) -> None:
        if any("/raw/pulls/" in k for k in objects):
            seen.append(list(objects))
            if len(seen) == 2:  # the first batch of pull pages is in the bucket; the next upload fails
                # A Failure without retries: the assets' retry policy would otherwise rerun the step after 30 s.
                raise dg.Failure(description="simulated S3 outage", allow_retries=False)
        real(self, objects)

    monkeypatch.setattr("gh_assets.lake._PUT_BATCH", 4)
    monkeypatch.setattr(Lake, "_put_objects", failing)
    point_at(monkeypatch, emulator, Ingest(runs.s3.data_dir, runs.s3.home, runs.s3.lake_root, 0, ""))
    code, output = run_cli(["ingest", "--repo", REPO, "--start", str(START), "--end", str(END), "--entities", "pulls"])
    assert code != 0 and "simulated S3 outage" in output, output[-2000:]
    assert len(seen) == 2 and seen[0], "pages of the new version were written before the failure"
    monkeypatch.setattr(Lake, "_put_objects", real)

    assert _raw_view(lake, "pulls") == before_pulls, "readers see the previous version of every pulls partition"
    for entity in RAW:  # every published manifest names objects that are there
        for _, day in lake.list_partitions("raw", entity):
            assert len(list(lake.raw_pages(entity, REPO, day))) == len(lake.raw_manifest(entity, REPO, day))
    referenced = {lake.raw_page_path("pulls", REPO, d, m.file) for d, metas in before_pulls.items() for m in metas}
    stored = {f"s3://{p}" for p in lake.fs.find(f"{runs.s3.lake_root}/raw/pulls") if not p.endswith("manifest.json")}
    assert stored == referenced, "the failed version left no object behind"
    assert tables(runs.s3.data_dir) == before_tables


def _retention_days_before(day: date) -> int:
    return (datetime.now(UTC).date() - day).days


@pytest.mark.parametrize("where", ["local", "s3"])
def test_retention_job_prunes_old_raw_partitions(runs: Runs, emulator: Emulator, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    from gh_assets.definitions import build_defs

    ingest = getattr(runs, where)
    point_at(monkeypatch, emulator, ingest)
    lake = Lake(ingest.lake_root)
    cutoff = date(2025, 1, 10)
    staged_before = {e: lake.list_partitions("staged", e) for e in TABLES}
    raw_before = {e: lake.list_partitions("raw", e) for e in RAW}
    expected = sum(1 for parts in raw_before.values() for _, d in parts if d < cutoff)
    assert expected and any(d >= cutoff for parts in raw_before.values() for _, d in parts)

    with dg.instance_for_test() as instance:
        # unset retention: nothing is removed
        result = build_defs().resolve_job_def("lake_retention_job").execute_in_process(instance=instance)
        assert result.success and result.output_for_node("prune_raw_archive") == 0
        monkeypatch.setenv("GH_ASSETS_RAW_RETENTION_DAYS", str(_retention_days_before(cutoff)))
        result = build_defs().resolve_job_def("lake_retention_job").execute_in_process(instance=instance)
        assert result.success and result.output_for_node("prune_raw_archive") == expected
        (output,) = [e for e in result.all_node_events if e.event_type_value == "STEP_OUTPUT"]
        metadata = output.event_specific_data.metadata
        assert metadata["partitions_removed"].value == expected and metadata["cutoff"].value == cutoff.isoformat()
        assert metadata["oldest_removed"].value == "2025-01-01"
        logs = "".join(serialize_value(e) for e in instance.all_logs(result.run_id))
        assert SECRET_KEY not in logs and ACCESS_KEY not in logs

    for entity in RAW:
        assert lake.list_partitions("raw", entity) == [(r, d) for r, d in raw_before[entity] if d >= cutoff]
    assert {e: lake.list_partitions("staged", e) for e in TABLES} == staged_before, "staged partitions are never pruned"
    assert lake.raw_partitions_before(cutoff) == []
