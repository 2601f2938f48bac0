"""The CLI before and around its runs: resources resolved as a run does, the config checked first, one home setup."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from gh_assets import cli
from gh_assets.emulator import Emulator, EmulatorConfig
from gh_assets.environment import MAX_RATE_LIMIT_WAIT_ENV, resolved_resource
from gh_assets_tests.cli_process import ROOT, cli_env, prepare, run_cli, wait_for
from gh_assets_tests.ingest import point_cli_at

TOKEN = "ghp_cli_guards_token_0042"


def test_org_listing_and_repos_commands_use_the_resolved_api_url_and_token(tmp_path: Path) -> None:
    prepare(tmp_path, "acme/api")
    (tmp_path / "sources.yaml").write_text("github:\n  start: 2025-01-01\n  orgs:\n    - org: acme\n")
    # Only TOKEN is accepted: an unresolved dg.EnvVar would send no token (401) to a URL named GITHUB_API_URL.
    config = EmulatorConfig(seed=5, repos=("acme/api", "acme/web"), tokens=(TOKEN,), issues_per_repo=30, start="2025-01-01", days=5)
    with Emulator(config) as emu:
        env = cli_env(tmp_path, emu.url, GITHUB_TOKEN=TOKEN)
        listed = run_cli(["repos", "list"], tmp_path, env)
        assert listed.returncode == 0, listed.stderr[-2000:]
        assert "acme/api" in listed.stdout and "acme/web" in listed.stdout
        synced = run_cli(["repos", "sync"], tmp_path, env)
        assert synced.returncode == 0, synced.stderr[-2000:]
        assert "added: acme/api, acme/web" in synced.stdout
        ingested = run_cli(["ingest", "--org", "acme", "--start", "2025-01-01", "--end", "2025-01-05", "--entities", "issues"], tmp_path, env)
        assert ingested.returncode == 0, ingested.stdout[-2000:] + ingested.stderr[-2000:]
        org_requests = [r for r in emu.request_log if r.path.startswith("/orgs/acme/repos")]
    assert len(org_requests) == 3 and all(r.status == 200 for r in org_requests)
    assert TOKEN not in listed.stdout + synced.stdout + ingested.stdout + ingested.stderr


@pytest.mark.parametrize("config_text", [None, "github:\n  start: not-a-date\n  repos: [demo-org/one]\n", "github: [unclosed\n"])
def test_a_missing_or_invalid_config_fails_before_any_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], config_text: str | None
) -> None:
    with Emulator(EmulatorConfig(seed=1, repos=("demo-org/one",), issues_per_repo=5)) as emu:
        point_cli_at(monkeypatch, emu.url, tmp_path, "demo-org/one", date(2025, 1, 1))
        config = tmp_path / "sources.yaml"
        if config_text is None:
            config.unlink()
        else:
            config.write_text(config_text)
        code = cli.main(["ingest", "--repo", "demo-org/one", "--start", "2025-01-01", "--end", "2025-01-02"])
        requests = list(emu.request_log)
    err = " ".join(capsys.readouterr().err.split())  # the paragraph is wrapped at 100 columns
    assert code == 2 and err.startswith(f"gh-assets: {config}") and "Traceback" not in err, err
    assert ("not found" in err) if config_text is None else ("invalid sources config" in err or "not valid YAML" in err)
    assert requests == []


def test_max_rate_limit_wait_reaches_the_runs_github_client(monkeypatch: pytest.MonkeyPatch) -> None:
    args = cli.build_parser().parse_args(["ingest", "--repo", "a/b", "--start", "2025-01-01", "--end", "2025-01-01", "--max-rate-limit-wait", "2.5"])
    assert args.max_rate_limit_wait == 2.5
    for name in ("replay", "demo"):
        assert "--max-rate-limit-wait" in cli.build_parser()._subparsers._group_actions[0].choices[name].format_help()
    monkeypatch.setenv(MAX_RATE_LIMIT_WAIT_ENV, "2.5")
    with resolved_resource("github").client() as client:
        assert client.max_rate_limit_wait == 2.5
    monkeypatch.delenv(MAX_RATE_LIMIT_WAIT_ENV)
    assert resolved_resource("github").max_rate_limit_wait_seconds == 3600
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["ingest", "--repo", "a/b", "--start", "2025-01-01", "--end", "2025-01-01", "--max-rate-limit-wait", "-1"])


def test_an_ingest_past_its_rate_limit_wait_fails_at_once(tmp_path: Path) -> None:
    prepare(tmp_path, "demo-org/one")
    # Two requests an hour: the raw step needs more, and must not wait the hour for the reset.
    config = EmulatorConfig(seed=1, repos=("demo-org/one",), issues_per_repo=300, rate_limit=2, rate_reset_seconds=3600, start="2025-01-01", days=5)
    with Emulator(config) as emu:
        done = run_cli(
            ["ingest", "--repo", "demo-org/one", "--start", "2025-01-01", "--end", "2025-01-05", "--entities", "issues", "--max-rate-limit-wait", "1"],
            tmp_path,
            cli_env(tmp_path, emu.url, GITHUB_TOKEN=TOKEN),
            timeout=120,
        )
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert "rate limit" in done.stderr.lower()


_OPEN_HOME = """
import sys, time
from pathlib import Path
from gh_assets import cli
import dagster
Path(sys.argv[2]).touch()  # imported: ready
go = Path(sys.argv[1])
while not go.exists():
    time.sleep(0.002)
cli._instance(None)
print("ok")
"""


def test_commands_opening_a_fresh_dagster_home_at_once_create_it_once(tmp_path: Path) -> None:
    home, go = tmp_path / "home", tmp_path / "go"
    env = {**cli_env(tmp_path, "http://127.0.0.1:9"), "DAGSTER_HOME": str(home)}
    (tmp_path / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    ready = [tmp_path / f"ready-{n}" for n in range(4)]
    procs = [
        subprocess.Popen([sys.executable, "-c", _OPEN_HOME, str(go), str(r)], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for r in ready
    ]
    for proc in procs:
        wait_for(lambda: all(r.exists() for r in ready), proc, timeout=120, what="every process to import the CLI")
    go.touch()  # all four open the fresh home at the same moment
    results = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0 and out.strip() == "ok", err[-3000:]
    assert (home / "dagster.yaml").read_text() == (ROOT / "dagster.yaml").read_text()
