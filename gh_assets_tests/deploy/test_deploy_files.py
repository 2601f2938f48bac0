"""The deployment files agree with the code: Dockerfile COPY sources, CMD module and pins; the Helm values."""

from __future__ import annotations

import fnmatch
import importlib
import json
import re
import tomllib
from pathlib import Path

import dagster as dg
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
VALUES = ROOT / "deploy" / "helm" / "values.yaml"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        current += stripped[:-1] + " " if stripped.endswith("\\") else stripped
        if not stripped.endswith("\\"):
            logical.append(current)
            current = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in logical]


def only(name: str) -> str:
    (args,) = [a for i, a in instructions() if i == name]
    return args


def dockerignore() -> list[str]:
    return [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines() if p.strip() and not p.startswith("#")]


def cmd_module() -> tuple[str, int]:
    cmd = json.loads(only("CMD"))  # exec form: a JSON array
    return cmd[cmd.index("-m") + 1], int(cmd[cmd.index("-p") + 1])


def test_every_copied_file_exists_and_reaches_the_build_context() -> None:
    copies = [a.split() for i, a in instructions() if i == "COPY"]
    assert copies
    ignored = dockerignore()
    for args in copies:
        assert not any(a.startswith("--from") for a in args), "a single-stage build copies from the context only"
        *sources, _dest = [a for a in args if not a.startswith("--")]
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
            assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), f"COPY {source} is excluded by .dockerignore"


def test_dockerignore_keeps_local_state_out() -> None:
    ignored = dockerignore()
    for path in (".venv", "data", ".dagster_home", ".git", "**/__pycache__", ".pytest_cache"):
        assert path in ignored


def test_cmd_serves_the_code_location_on_the_exposed_port() -> None:
    module, port = cmd_module()
    assert json.loads(only("CMD"))[:3] == ["dagster", "code-server", "start"]
    assert port == int(only("EXPOSE"))
    assert isinstance(importlib.import_module(module).defs, dg.Definitions)
    assert only("FROM").startswith("python:3.11")
    assert only("USER") not in ("root", "0"), "the image runs as a non-root user"
    assert not [i for i, _ in instructions() if i == "ENTRYPOINT"], "the Helm chart sets args: an ENTRYPOINT would prefix them"


def test_pip_install_uses_the_lock_and_existing_extras() -> None:
    (install,) = [a for i, a in instructions() if i == "RUN" and "pip install" in a]
    assert "-c requirements.lock" in install
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for extras in re.findall(r'"\.\[([^\]]+)\]"', install):
        for extra in extras.split(","):
            assert extra in project["optional-dependencies"], f"extra {extra!r} is not in pyproject.toml"
    # dagster-k8s is not in the lock: its pin must follow the dagster-postgres release line the project pins.
    (postgres_pin,) = [d for d in project["optional-dependencies"]["postgres"] if d.startswith("dagster-postgres==")]
    assert f'"dagster-k8s=={postgres_pin.split("==")[1]}"' in install


@pytest.fixture(scope="module")
def values() -> dict:
    return yaml.safe_load(VALUES.read_text())


def test_helm_values_have_the_chart_sections(values: dict) -> None:
    for key in ("dagster-user-deployments", "postgresql", "generatePostgresqlPasswordSecret", "runLauncher", "dagsterDaemon", "concurrency", "global"):
        assert key in values, key
    assert values["runLauncher"]["type"] in ("K8sRunLauncher", "CeleryK8sRunLauncher")
    assert values["dagsterDaemon"]["runCoordinator"]["type"] == "QueuedRunCoordinator"
    assert values["postgresql"]["postgresqlScheme"] == "postgresql+psycopg2"


def test_helm_user_deployment_matches_the_image(values: dict) -> None:
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    module, port = cmd_module()
    assert deployment["codeServerArgs"] == ["-m", module]
    assert deployment["port"] == port
    assert set(deployment["image"]) == {"repository", "tag", "pullPolicy"}
    mounts = {m["name"]: m["mountPath"] for m in deployment["volumeMounts"]}
    assert deployment["env"]["GH_ASSETS_DATA_DIR"].startswith(mounts["lake"] + "/"), "the lake lives on the shared volume"
    assert deployment["env"]["GH_ASSETS_CONFIG"].startswith(mounts["sources"] + "/")
    assert "GITHUB_TOKEN" not in deployment["env"] and "GITHUB_TOKENS" not in deployment["env"], "tokens come from a Secret"


def chart_instance_yaml(values: dict) -> dict:
    """The parts of dagster.yaml the chart renders from our values (its _concurrency.tpl, _run-coordinator.tpl)."""
    concurrency = values["concurrency"]
    pools, runs = concurrency["pools"], concurrency["runs"]
    monitoring = values["dagsterDaemon"]["runMonitoring"]
    return {
        "run_coordinator": {"module": "dagster.core.run_coordinator", "class": "QueuedRunCoordinator"},
        "concurrency": {
            "pools": {"default_limit": pools["defaultLimit"], "granularity": pools["granularity"]},
            "runs": {"max_concurrent_runs": runs["maxConcurrentRuns"], "tag_concurrency_limits": runs["tagConcurrencyLimits"]},
        },
        "run_monitoring": {"enabled": monitoring["enabled"], "start_timeout_seconds": monitoring["startTimeoutSeconds"]},
        "run_retries": {"enabled": True, "max_retries": values["dagsterDaemon"]["runRetries"]["maxRetries"]},
    }


def test_helm_limits_make_a_valid_dagster_instance(values: dict, tmp_path: Path) -> None:
    assert values["concurrency"]["enabled"]
    # The chart refuses run limits in both places; Dagster refuses them next to a `concurrency` block.
    queued = values["dagsterDaemon"]["runCoordinator"].get("config", {}).get("queuedRunCoordinator", {})
    assert not {"maxConcurrentRuns", "tagConcurrencyLimits"} & set(queued)
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(chart_instance_yaml(values)))
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        config = instance.get_concurrency_config()
        assert config.pool_config.default_pool_limit == 1  # the DuckDB writer pool stays at 1
        assert config.run_queue_config.max_concurrent_runs == values["concurrency"]["runs"]["maxConcurrentRuns"]
        # The tag the config sensor puts on first loads, limited as in deploy/dagster.postgres.yaml.
        postgres_yaml = yaml.safe_load((ROOT / "deploy" / "dagster.postgres.yaml").read_text())
        keys = {(lim["key"], lim["value"]) for lim in postgres_yaml["concurrency"]["runs"]["tag_concurrency_limits"]}
        assert {(lim["key"], lim["value"]) for lim in config.run_queue_config.tag_concurrency_limits} == keys
    finally:
        instance.dispose()
