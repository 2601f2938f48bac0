"""A clean start-up: loading the definitions prints no BetaWarning, and `dg check defs` validates the project."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gh_assets.dagster_warnings import CHOSEN_BETA_APIS

ROOT = Path(__file__).resolve().parents[1]
INSTANCE_YAML = ROOT / "dagster.yaml"


def test_loading_the_definitions_prints_no_warning() -> None:
    def load(*flags: str) -> str:
        proc = subprocess.run([sys.executable, *flags, "-c", "import gh_assets.definitions"], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc.stderr

    assert "Warning" not in load(), "as dagster dev loads it"
    # With every warning shown once (-W default), still no BetaWarning (deprecations are another matter).
    assert "BetaWarning" not in load("-W", "default")


def test_only_named_beta_apis_are_silenced() -> None:
    import warnings

    import dagster as dg

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        from gh_assets.dagster_warnings import silence_chosen_beta_warnings

        silence_chosen_beta_warnings()
        warnings.warn("Parameter `foo` of function `bar` is currently in beta, and may change", dg.BetaWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["Parameter `foo` of function `bar` is currently in beta, and may change"]
    assert all(why for _, why in CHOSEN_BETA_APIS)


@pytest.mark.skipif(shutil.which("dg", path=str(Path(sys.executable).parent)) is None, reason="dagster-dg-cli (the test extra) is not installed")
def test_dg_check_defs(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(INSTANCE_YAML, home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "VIRTUAL_ENV": str(Path(sys.executable).parents[1])}
    proc = subprocess.run([str(Path(sys.executable).parent / "dg"), "check", "defs"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "All definitions loaded successfully." in out and "BetaWarning" not in out
