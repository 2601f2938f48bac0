"""A throwaway PostgreSQL cluster on 127.0.0.1 for tests, from the server binaries on the machine."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

REQUIRE_ENV = "GH_ASSETS_REQUIRE_POSTGRES"  # set by .ci/run: a missing server fails instead of skipping


@dataclass(frozen=True)
class Cluster:
    host: str
    port: int
    user: str
    db: str

    @property
    def env(self) -> dict[str, str]:
        return {"DAGSTER_PG_HOST": self.host, "DAGSTER_PG_PORT": str(self.port), "DAGSTER_PG_USER": self.user,
                "DAGSTER_PG_PASSWORD": "", "DAGSTER_PG_DB": self.db}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    if not shutil.which("initdb") or not shutil.which("pg_ctl"):
        message = "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{message}, and {REQUIRE_ENV} is set")
        pytest.skip(message)
    as_root = os.geteuid() == 0  # the server refuses to run as root: run it as the postgres user
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    base = Path(tempfile.mkdtemp(prefix="gh-assets-pg-"))
    data = base / "data"
    if as_root:
        shutil.chown(base, "postgres")
    port = _free_port()
    user = "postgres" if as_root else os.environ.get("USER", "postgres")
    subprocess.run([*prefix, "initdb", "-D", str(data), "--auth=trust", "-U", user], check=True, capture_output=True)
    subprocess.run(
        [*prefix, "pg_ctl", "-D", str(data), "-o", f"-h 127.0.0.1 -p {port} -k {base}", "-l", str(base / "log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run([*prefix, "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", user, "dagster"], check=True, capture_output=True)
        yield Cluster("127.0.0.1", port, user, "dagster")
    finally:
        subprocess.run([*prefix, "pg_ctl", "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
