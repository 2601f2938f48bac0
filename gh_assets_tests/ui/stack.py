"""`dagster dev` on the code location against the GitHub emulator, for browser tests: start, query, stop."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx

from gh_assets.emulator import Emulator, EmulatorConfig

ROOT = Path(__file__).resolve().parents[2]
REPOS = ("demo-org/alpha", "demo-org/beta")
DAYS = 7  # the sources start a week ago: first loads and backfills stay a few seconds of work each

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, interval: float = 1.0) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = probe()
        except (httpx.HTTPError, KeyError, TypeError, ValueError) as exc:  # a server still starting, a field not there yet
            value, last = None, exc
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last error: {last!r})")
        time.sleep(interval)  # polling interval, not a pass condition


@dataclass
class DagsterDev:
    """A running `dagster dev` (webserver + daemon) with its emulator, instance and data directory."""

    url: str
    emulator: Emulator
    home: Path
    data_dir: Path
    log: Path
    first_day: date
    today: date

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        response = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables}, timeout=30)
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise AssertionError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def runs(self, tags: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Runs of the instance (newest first), optionally filtered by tags."""
        query = """query Runs($filter: RunsFilter) { runsOrError(filter: $filter) { __typename
            ... on Runs { results { runId status jobName tags { key value } assetSelection { path } } } } }"""
        flt = {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}
        return self.graphql(query, filter=flt)["runsOrError"]["results"]

    def wait_for_runs(self, what: str, tags: dict[str, str], count: int, timeout: float) -> list[dict[str, Any]]:
        """Wait until ``count`` runs with ``tags`` exist and all finished; fail on the first failed one."""

        def finished() -> list[dict[str, Any]] | None:
            runs = self.runs(tags)
            failed = [r["runId"] for r in runs if r["status"] in ("FAILURE", "CANCELED")]
            assert not failed, f"{what}: runs {failed} failed; see {self.url}/runs/{failed[0]} and {self.log}"
            return runs if len(runs) >= count and all(r["status"] == "SUCCESS" for r in runs) else None

        return wait_for(what, finished, timeout, interval=2)


def _launcher_preexec() -> None:
    # A non-interactive shell may have started us with SIGINT ignored, and dagster dev only stops on SIGINT:
    # restore the default, and give the tree its own process group so cleanup reaches every child.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.setsid()


def _stop_group(proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """SIGINT the process group (dagster dev shuts its children down), then SIGKILL whatever is left."""
    pgid = proc.pid
    try:
        os.killpg(pgid, signal.SIGINT)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)  # is any member of the group still alive?
        except ProcessLookupError:
            return
        time.sleep(0.5)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return
    proc.wait(timeout=10)


@contextmanager
def dagster_dev(base: Path, *, timeout: float = 180) -> Iterator[DagsterDev]:
    """Emulator + `dagster dev` on free 127.0.0.1 ports with a temporary DAGSTER_HOME, data dir and sources config."""
    today = datetime.now(tz=UTC).date()
    first_day = today - timedelta(days=DAYS)
    home, data_dir, work = base / "home", base / "data", base / "work"
    for folder in (home, data_dir, work):
        folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    # The UI's one-time "join the community" dialog is skipped once per instance; mark it seen up front.
    (home / ".nux").mkdir()
    (home / ".nux" / "nux.yaml").write_text("seen: 1\n")
    shutil.copy(ROOT / "workspace.yaml", work / "workspace.yaml")
    config = work / "sources.yaml"
    config.write_text(f"github:\n  start: {first_day.isoformat()}\n  repos: [{', '.join(REPOS)}]\n")
    # Issues updated over the last days up to today, so the first loads and the change sensor see them.
    emu_config = EmulatorConfig(seed=5, repos=REPOS, issues_per_repo=150, start=first_day.isoformat(), days=DAYS + 1)
    port = free_port()
    log = base / "dagster-dev.log"
    with Emulator(emu_config) as emulator:
        emulator.warm()
        env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GITHUB_TOKENS")}
        env.update(
            DAGSTER_HOME=str(home),
            GITHUB_API_URL=emulator.url,
            GH_ASSETS_DATA_DIR=str(data_dir),
            GH_ASSETS_CONFIG=str(config),
            PYTHONPATH=str(ROOT),
        )
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
                cwd=work,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_launcher_preexec,
            )
            try:
                dev = DagsterDev(f"http://127.0.0.1:{port}", emulator, home, data_dir, log, first_day, today)

                def loaded() -> bool:
                    assert proc.poll() is None, f"dagster dev exited with {proc.returncode}; see {log}"
                    data = dev.graphql("{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }")
                    entries = data["workspaceOrError"]["locationEntries"]
                    return bool(entries) and entries[0]["loadStatus"] == "LOADED"

                wait_for("the webserver to load the code location", loaded, timeout)
                yield dev
            finally:
                _stop_group(proc)
