"""A ``dagster-daemon run`` subprocess in its own process group, stopped together with everything it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

# A shell that starts pytest in the background ignores SIGINT, children inherit that, and the daemon maps
# SIGTERM onto SIGINT: it would ignore both. Restore SIGINT's default, then exec (no preexec_fn: the test
# process has threads, e.g. the emulator's).
_RESTORE_SIGINT = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": state ppid pgrp ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def stop_group(proc: subprocess.Popen[bytes], *, grace_seconds: float = 20.0) -> None:
    """SIGTERM the whole group (daemon, code server, run workers), then SIGKILL whatever outlives the grace."""
    pgid = proc.pid  # start_new_session: the daemon leads its own group
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        proc.poll()
        if not group_members(pgid):
            break
        time.sleep(0.2)
    else:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=10)


@contextmanager
def running_daemon(home: Path, env: Mapping[str, str], log: Path, *, module: str = "gh_assets.definitions") -> Iterator[subprocess.Popen[bytes]]:
    """``dagster-daemon run -m module`` with ``DAGSTER_HOME=home``; its output goes to ``log``."""
    exe = str(Path(sys.executable).with_name("dagster-daemon"))
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", _RESTORE_SIGINT, exe, "run", "-m", module],
            cwd=home,
            env={**env, "DAGSTER_HOME": str(home)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        stop_group(proc)
