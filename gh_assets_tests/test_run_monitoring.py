"""Runs left STARTED by a dead process are failed and their pool slots freed: by the CLI and the run launcher."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from gh_assets.emulator import Emulator, EmulatorConfig
from gh_assets.run_monitoring import HOST_TAG, PID_TAG, LocalProcessRunLauncher, recover_dead_runs
from gh_assets_tests.cli_process import SLOW_LISTS, cli_env, ingest_issues_args, prepare, raw_temporaries, run_cli, start_ingest_mid_raw_step

REPO = "demo-org/one"
POOL = "github_api"


def _dead_pid() -> int:
    return int(Path("/proc/sys/kernel/pid_max").read_text()) + 1 if Path("/proc/sys/kernel/pid_max").exists() else 2**22 + 1


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    overrides = {"run_launcher": {"module": "gh_assets.run_monitoring", "class": "LocalProcessRunLauncher"}}
    with dg.instance_for_test(overrides=overrides) as inst:
        yield inst


def _started_run(instance: dg.DagsterInstance, tags: dict[str, str]) -> dg.DagsterRun:
    run = dg.DagsterRun(job_name="github_daily_job", run_id=str(uuid.uuid4()), status=dg.DagsterRunStatus.STARTED, tags=tags)
    instance.add_run(run)
    instance.event_log_storage.set_concurrency_slots(POOL, 3)
    instance.event_log_storage.claim_concurrency_slot(POOL, run.run_id, "github__raw_issue_pages")
    return run


def test_a_run_whose_process_is_gone_is_failed_and_frees_its_slot(instance: dg.DagsterInstance) -> None:
    here = socket.gethostname()
    dead = _started_run(instance, {PID_TAG: str(_dead_pid()), HOST_TAG: here})
    alive = _started_run(instance, {PID_TAG: str(os.getppid()), HOST_TAG: here})
    elsewhere = _started_run(instance, {PID_TAG: str(_dead_pid()), HOST_TAG: f"not-{here}"})

    launcher = instance.run_launcher
    assert isinstance(launcher, LocalProcessRunLauncher) and launcher.supports_check_run_worker_health
    assert launcher.check_run_worker_health(dead).status == dg._core.launcher.WorkerStatus.FAILED
    assert launcher.check_run_worker_health(alive).status == dg._core.launcher.WorkerStatus.RUNNING
    assert launcher.check_run_worker_health(elsewhere).status == dg._core.launcher.WorkerStatus.RUNNING

    assert [run.run_id for run, _ in recover_dead_runs(instance)] == [dead.run_id]
    assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(alive.run_id).status == dg.DagsterRunStatus.STARTED
    claimed = {slot.run_id for slot in instance.event_log_storage.get_concurrency_info(POOL).claimed_slots}
    assert dead.run_id not in claimed and alive.run_id in claimed
    assert recover_dead_runs(instance) == []


def test_the_daemons_run_monitoring_fails_dead_runs_with_the_projects_settings() -> None:
    import logging
    from types import SimpleNamespace

    import yaml
    from dagster._daemon.monitoring.run_monitoring import execute_run_monitoring_iteration

    settings = yaml.safe_load((Path(__file__).parents[1] / "dagster.yaml").read_text())
    overrides = {key: settings[key] for key in ("run_launcher", "run_monitoring")}
    with dg.instance_for_test(overrides=overrides) as instance:
        assert instance.run_monitoring_enabled and instance.run_monitoring_max_resume_run_attempts == 0
        here = socket.gethostname()
        dead = _started_run(instance, {PID_TAG: str(_dead_pid()), HOST_TAG: here})
        alive = _started_run(instance, {PID_TAG: str(os.getppid()), HOST_TAG: here})
        # what the monitoring daemon runs every poll_interval_seconds (the workspace is only used to resume runs)
        context = SimpleNamespace(instance=instance, create_request_context=lambda: None)
        errors = [e for e in execute_run_monitoring_iteration(context, logging.getLogger("test")) if e is not None]
        assert errors == []
        assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(alive.run_id).status == dg.DagsterRunStatus.STARTED


def test_a_run_launched_by_dagster_is_judged_by_the_pid_of_its_engine_event(instance: dg.DagsterInstance) -> None:
    from dagster._core.events import EngineEventData

    dead = _started_run(instance, {})
    alive = _started_run(instance, {})
    for run, pid in ((dead, _dead_pid()), (alive, os.getppid())):
        # what `dagster api execute_run` records when the default launcher starts a run worker
        instance.report_engine_event(f"Started process for run (pid: {pid}).", run, EngineEventData.in_process(pid))
    assert [(run.run_id, proc.host) for run, proc in recover_dead_runs(instance)] == [(dead.run_id, None)]
    assert instance.get_run_by_id(alive.run_id).status == dg.DagsterRunStatus.STARTED


@pytest.mark.slow
def test_an_ingest_killed_mid_step_does_not_jam_the_next_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prepare(tmp_path, REPO)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))  # for the instance this test opens (its event log needs it)
    with Emulator(EmulatorConfig(seed=3, repos=(REPO,), **SLOW_LISTS)) as emu:
        proc = start_ingest_mid_raw_step(tmp_path, emu.url, REPO)
        proc.kill()  # SIGKILL: no cleanup, no run end recorded
        proc.communicate()

        with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
            (record,) = instance.get_run_records()
            dead = record.dagster_run
            assert dead.status == dg.DagsterRunStatus.STARTED
            assert dead.run_id in {s.run_id for s in instance.event_log_storage.get_concurrency_info(POOL).claimed_slots}
        assert raw_temporaries(tmp_path), "the killed writer's temporary is still there"

        done = run_cli(ingest_issues_args(REPO), tmp_path, cli_env(tmp_path, emu.url), timeout=240)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    recovered = [line for line in done.stderr.splitlines() if dead.run_id in line]
    assert len(recovered) == 1 and f"left STARTED by process {proc.pid}" in recovered[0] and "marked failed" in recovered[0], done.stderr
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
        assert instance.event_log_storage.get_concurrency_info(POOL).claimed_slots == []
        assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in instance.get_run_records() if r.dagster_run.run_id != dead.run_id)
    assert raw_temporaries(tmp_path) == []  # swept when the partitions were written again
