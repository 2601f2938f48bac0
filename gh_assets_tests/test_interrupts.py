"""Interrupts interrupt: one SIGTERM/SIGINT stops a run within seconds, with no step retry and no temporary left."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import dagster as dg
import pytest

from gh_assets.emulator import Emulator, EmulatorConfig
from gh_assets.interrupts import interrupts_stop_the_run
from gh_assets_tests.cli_process import SLOW_LISTS, cli_env, ingest_issues_args, prepare, raw_temporaries, run_cli, start_ingest_mid_raw_step

REPO = "demo-org/one"


def test_an_interrupt_in_a_step_with_a_retry_policy_stops_the_run(instance: dg.DagsterInstance) -> None:
    calls = []

    @dg.asset(retry_policy=dg.RetryPolicy(max_retries=2, delay=0))
    def sweeping() -> None:
        calls.append(1)
        with interrupts_stop_the_run():
            raise KeyboardInterrupt  # what Dagster's handler raises in the step when SIGINT/SIGTERM arrives

    @dg.asset
    def independent() -> None:
        calls.append(2)

    result = dg.materialize([sweeping, independent], instance=instance, raise_on_error=False)
    assert not result.success
    types = [e.event_type_value for e in result.all_events]
    assert "STEP_UP_FOR_RETRY" not in types and calls.count(1) == 1
    (failure,) = [e for e in result.all_events if e.is_job_failure]
    assert failure.event_specific_data.failure_reason == dg._core.events.RunFailureReason.UNEXPECTED_TERMINATION


@pytest.mark.slow
def test_sigterm_stops_an_ingest_mid_step_and_a_rerun_completes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prepare(tmp_path, REPO)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))  # for the instance this test opens
    with Emulator(EmulatorConfig(seed=3, repos=(REPO,), **SLOW_LISTS)) as emu:
        proc = start_ingest_mid_raw_step(tmp_path, emu.url, REPO)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        seconds = time.monotonic() - sent
        print(f"\nSIGTERM to exit: {seconds:.2f} s")
        assert proc.returncode == 130, out[-2000:] + err[-3000:]
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("gh-assets: interrupted"), err
        assert seconds < 10
        assert raw_temporaries(tmp_path) == []
        with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
            (record,) = instance.get_run_records()
            assert record.dagster_run.status == dg.DagsterRunStatus.FAILURE
            types = {e.dagster_event_type for e in instance.all_logs(record.dagster_run.run_id) if e.dagster_event_type}
            assert dg.DagsterEventType.STEP_UP_FOR_RETRY not in types
            assert instance.event_log_storage.get_concurrency_info("github_api").claimed_slots == []

        done = run_cli(ingest_issues_args(REPO), tmp_path, cli_env(tmp_path, emu.url), timeout=240)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert raw_temporaries(tmp_path) == []
    assert "marts.issues" in done.stdout
