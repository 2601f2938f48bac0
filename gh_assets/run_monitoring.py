"""Runs whose process is gone: found, marked failed, and their pool slots freed, without a human.

A run killed with ``kill -9`` (or by the OOM killer, or a lost machine) never records its end: it stays
STARTED and keeps the ``github_api``/``duckdb`` pool slots its steps claimed, so the next run waits forever on
"Step blocked by limit for pool ...". Dagster's run monitoring only asks the run launcher whether a run's worker
is alive, and its default launcher cannot tell (nor does it know runs executed in process, as the CLI does).

So every run records which process executes it: the CLI tags its runs with ``gh_assets/host`` and
``gh_assets/pid``; runs launched by Dagster's default launcher have the pid in their "Started process for run"
engine event. A STARTED run is dead when that process is not alive on this host, or a younger process has
taken its pid. Two places act on it:

- the CLI, before it launches anything (:func:`recover_dead_runs`);
- the daemon's run monitoring (``run_monitoring`` in ``dagster.yaml``), through :class:`LocalProcessRunLauncher`,
  which answers Dagster's worker health check with the same test; the daemon then marks the run failed and
  frees its slots ``free_slots_after_run_end_seconds`` later.

A run of another host is never judged: its process cannot be seen from here.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg
from dagster._core.launcher import CheckRunHealthResult, DefaultRunLauncher, WorkerStatus

HOST_TAG = "gh_assets/host"
PID_TAG = "gh_assets/pid"
# A process younger than its run by more than this cannot be the run's: its pid was reused.
_START_SLACK_SECONDS = 2.0


def process_tags() -> dict[str, str]:
    """Tags naming this process as the one executing a run (the CLI adds them to every run it executes)."""
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}


@dataclass(frozen=True)
class RunProcess:
    """The process recorded as executing a run: its host (None: unrecorded) and pid."""

    host: str | None
    pid: int


def run_process(instance: dg.DagsterInstance, run: dg.DagsterRun) -> RunProcess | None:
    """Where ``run`` executes: from its ``gh_assets/*`` tags, else from Dagster's engine events (pid only)."""
    tags: Mapping[str, str] = run.tags
    if tags.get(PID_TAG, "").isdigit():
        return RunProcess(tags.get(HOST_TAG), int(tags[PID_TAG]))
    # "Started process for run (pid: N)" (a launched run worker) or "Executing steps in process (pid: N)".
    records = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT, ascending=False, limit=50).records
    for record in records:
        event = record.event_log_entry.dagster_event
        metadata = getattr(event.event_specific_data, "metadata", None) if event is not None else None
        pid = (metadata or {}).get("pid")
        if pid is not None and str(pid.value).isdigit():
            return RunProcess(None, int(pid.value))
    return None


def _process_started_at(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), None when there is no such process.

    Linux: from ``/proc`` (start time in clock ticks after boot). Elsewhere only existence is known: the
    start is reported as 0, which never looks like a reused pid.
    """
    try:
        stat = open(f"/proc/{pid}/stat", encoding="ascii", errors="replace").read()
    except FileNotFoundError:
        return None
    except OSError:
        stat = ""
    if stat:
        fields = stat.rsplit(")", 1)[1].split()  # the command name may hold spaces or parentheses
        if fields[0] == "Z":  # a zombie: exited, not yet reaped by its parent
            return None
        with open("/proc/stat", encoding="ascii") as proc_stat:
            boot = next(float(line.split()[1]) for line in proc_stat if line.startswith("btime "))
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # it exists, owned by someone else
    return 0.0


def is_dead(instance: dg.DagsterInstance, run: dg.DagsterRun, started_at: float | None) -> RunProcess | None:
    """The process of a STARTED ``run`` when it is known to be gone; None when it is alive or cannot be seen.

    A run without a recorded host is judged only on an instance of one machine (SQLite storage): with
    shared storage its worker may run anywhere.
    """
    proc = run_process(instance, run)
    if proc is None:
        return None
    if proc.host is None and not _single_machine(instance):
        return None
    if proc.host is not None and proc.host != socket.gethostname():
        return None
    born = _process_started_at(proc.pid)
    if born is None:
        return proc
    if started_at is not None and born > started_at + _START_SLACK_SECONDS:
        return proc  # the pid now belongs to a process younger than the run
    return None


def _single_machine(instance: dg.DagsterInstance) -> bool:
    from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage

    return isinstance(instance.run_storage, SqliteRunStorage)


def recover_dead_runs(instance: dg.DagsterInstance) -> list[tuple[dg.DagsterRun, RunProcess]]:
    """Mark every STARTED run whose process is gone as failed and free its pool slots; return them."""
    recovered = []
    records = instance.get_run_records(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
    for record in records:
        run = record.dagster_run
        proc = is_dead(instance, run, record.start_time)
        if proc is None:
            continue
        where = f"process {proc.pid}" + (f" on {proc.host}" if proc.host else "")
        instance.report_run_failed(run, f"The {where} executing this run is gone (killed?): marked failed, its pool slots freed.")
        free_slots(instance, run.run_id)
        recovered.append((run, proc))
    return recovered


def free_slots(instance: dg.DagsterInstance, run_id: str) -> None:
    """Release the pool (concurrency) slots a run holds and its steps' places in the pools' queues."""
    if instance.event_log_storage.supports_global_concurrency_limits:
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)


class LocalProcessRunLauncher(DefaultRunLauncher):
    """Dagster's default launcher, plus a worker health check for run monitoring: is the run's process alive?

    Answers FAILED only for a run whose process is known to be gone (see :func:`is_dead`), RUNNING otherwise:
    the daemon's run monitoring then fails exactly the runs the CLI would recover.
    """

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        instance = self._instance
        record = instance.get_run_record_by_id(run.run_id) if instance is not None else None
        if instance is None or record is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        proc = is_dead(instance, run, record.start_time)
        if proc is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        where = f"process {proc.pid}" + (f" on {proc.host}" if proc.host else "")
        return CheckRunHealthResult(WorkerStatus.FAILED, f"the {where} executing the run is gone")
