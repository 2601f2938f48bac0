"""`gh-assets` as a subprocess that tests can stop mid-step: started, watched until a raw step writes, signalled."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cli_env(workdir: Path, api_url: str, **extra: str) -> dict[str, str]:
    """The environment of a CLI run under ``workdir`` against ``api_url`` (the developer's tokens dropped)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GH_ASSETS_", "DAGSTER_HOME"))}
    return {
        **base,
        "GITHUB_API_URL": api_url,
        "GH_ASSETS_DATA_DIR": str(workdir / "data"),
        "DAGSTER_HOME": str(workdir / "home"),
        "GH_ASSETS_CONFIG": str(workdir / "sources.yaml"),
        "GH_ASSETS_LOG_LEVEL": "CRITICAL",
        **extra,
    }


def prepare(workdir: Path, repo: str) -> None:
    """This project's dagster.yaml (pools at 1, run monitoring) and a one-repository sources config."""
    shutil.copy(ROOT / "dagster.yaml", workdir / "dagster.yaml")
    (workdir / "sources.yaml").write_text(f"github:\n  start: 2025-01-01\n  repos: [{repo}]\n")


def start_cli(args: list[str], workdir: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gh_assets.cli", *args], cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def run_cli(args: list[str], workdir: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gh_assets.cli", *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)


def raw_temporaries(workdir: Path) -> list[Path]:
    """Temporary partition folders in the lake (``.date=...tmp-*``): present while a raw step is writing."""
    lake = workdir / "data" / "lake"
    return sorted(p for p in lake.rglob(".date=*") if ".tmp-" in p.name) if lake.exists() else []


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str], timeout: float = 120, what: str = "condition") -> None:
    """Poll ``condition`` until it holds; fail early if ``proc`` exits first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the CLI exited ({proc.returncode}) before {what}:\n{out[-2000:]}\n{err[-2000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# Every list request takes 0.3 s, so the raw step is still sweeping when the test stops the CLI.
SLOW_LISTS = {"issues_per_repo": 600, "start": "2025-01-01", "days": 10, "fault_rate": 1.0, "fault_kinds": ("slow",), "slow_seconds": 0.3}


def ingest_issues_args(repo: str) -> list[str]:
    return ["ingest", "--repo", repo, "--start", "2025-01-01", "--end", "2025-01-10", "--entities", "issues"]


def start_ingest_mid_raw_step(workdir: Path, api_url: str, repo: str) -> subprocess.Popen[str]:
    """``gh-assets ingest`` of ``repo``'s issues, returned once its raw step is writing (against a SLOW_LISTS emulator)."""
    proc = start_cli(ingest_issues_args(repo), workdir, cli_env(workdir, api_url))
    wait_for(lambda: bool(raw_temporaries(workdir)), proc, what="the raw step to start writing")
    return proc
