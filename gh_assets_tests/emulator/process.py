"""The emulator's CLI as a subprocess for tests: started, its URL read from the first line, stopped cleanly."""

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def emulator_cli(*args: str) -> Iterator[str]:
    """Run ``python -m gh_assets.emulator --port 0 ARGS``; yield its URL; assert it exits 0 on SIGTERM."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gh_assets.emulator", "--port", "0", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        match = re.fullmatch(r"GitHub emulator listening on (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        yield match.group(1)
    finally:
        proc.terminate()
        try:
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
