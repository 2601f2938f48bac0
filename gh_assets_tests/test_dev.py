"""`gh-assets dev` (what `make dev` runs): the webserver comes up, loads the code location, and stops on SIGTERM."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_dev_loads_the_code_location(tmp_path: Path) -> None:
    for name in ("workspace.yaml", "sources.yaml", "dagster.yaml"):  # as in the repository root
        shutil.copy(ROOT / name, tmp_path / name)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_API_URL", "GITHUB_TOKEN", "GH_ASSETS_CONFIG")}
    env.update(DAGSTER_HOME=str(tmp_path / "home"), GH_ASSETS_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "gh_assets.cli", "dev", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        entries = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                response = httpx.post(
                    f"http://127.0.0.1:{port}/graphql",
                    json={"query": "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
                    "locationOrLoadError { __typename ... on PythonError { message } } } } } }"},
                    timeout=5,
                )
                entries = response.json()["data"]["workspaceOrError"]["locationEntries"]
                if entries and entries[0]["loadStatus"] == "LOADED":
                    break
            except (httpx.HTTPError, KeyError, TypeError, ValueError):
                pass
            time.sleep(0.5)  # polling a server that is starting, not waiting for a result
        assert entries == [{"name": "gh_assets", "loadStatus": "LOADED", "locationOrLoadError": {"__typename": "RepositoryLocation"}}]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert "serving the demo repositories from the GitHub emulator" in out
    # A clean start-up: the instance config where Dagster reads it, and no BetaWarning flood.
    assert (tmp_path / "home" / "dagster.yaml").read_text() == (ROOT / "dagster.yaml").read_text()
    assert "Found a dagster instance configuration value" not in out and "BetaWarning" not in out, out[:3000]
    leftover = subprocess.run(["pgrep", "-f", f"--port {port}"], capture_output=True, text=True).stdout.strip()
    assert not leftover, f"dagster processes left running: {leftover}"
