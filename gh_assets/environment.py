"""Resources bound from environment variables, with the embedded defaults when a variable is unset.

| variable | default | what |
| --- | --- | --- |
| GITHUB_API_URL | https://api.github.com | the API root (the bundled emulator offline) |
| GITHUB_TOKEN | unset (anonymous) | the token; bound through dg.EnvVar so its value never enters config or the UI |
| GITHUB_TOKENS | unset | several tokens, comma-separated; requests go to the one with the most budget left |
| GH_ASSETS_DATA_DIR | ./data | the lake (``lake/``) and the DuckDB warehouse (``warehouse.duckdb``) |
| GH_ASSETS_LAKE_ROOT | <GH_ASSETS_DATA_DIR>/lake | the lake root: a folder or ``s3://bucket/prefix`` (AWS_* variables for endpoint and keys) |
| GH_ASSETS_RAW_RETENTION_DAYS | unset (keep forever) | days of raw pages lake_retention_job keeps |
| GH_ASSETS_CONFIG | ./sources.yaml | the sources config |
| GH_ASSETS_MAX_RATE_LIMIT_WAIT | 3600 | seconds a run may wait for a spent rate limit to reset before it fails |
| GH_ASSETS_CONDITIONAL_REQUESTS | true | false: stored ETags are not sent, every page is fetched whole (what ``ingest --repair`` sets) |
| GH_ASSETS_POSTGRES_DSN | unset (no publish) | the PostgreSQL that ``publish/*`` copies marts to; dg.EnvVar, never logged |
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from gh_assets.config import CONFIG_ENV, DEFAULT_CONFIG
from gh_assets.github.client import DEFAULT_API_URL
from gh_assets.github.resources import GitHubResource, SourcesResource
from gh_assets.publish.resources import publish_resources
from gh_assets.resources import LakeResource

DATA_DIR_ENV = "GH_ASSETS_DATA_DIR"
DEFAULT_DATA_DIR = "data"
WAREHOUSE_FILE = "warehouse.duckdb"
LAKE_ROOT_ENV = "GH_ASSETS_LAKE_ROOT"
RAW_RETENTION_ENV = "GH_ASSETS_RAW_RETENTION_DAYS"
DUCKDB_MEMORY_ENV = "GH_ASSETS_DUCKDB_MEMORY_LIMIT"
CONDITIONAL_REQUESTS_ENV = "GH_ASSETS_CONDITIONAL_REQUESTS"
# What DuckDB may hold before it spills to disk (its own default is 80% of RAM). A mart rebuild of 10^6 issues
# stays near 0.6 GB of resident memory with 512MB; more makes large rebuilds a little faster.
DEFAULT_DUCKDB_MEMORY = "512MB"
MAX_RATE_LIMIT_WAIT_ENV = "GH_ASSETS_MAX_RATE_LIMIT_WAIT"
DEFAULT_MAX_RATE_LIMIT_WAIT = 3600.0


def _env_or(name: str, default: str | None) -> str | dg.EnvVar | None:
    # dg.EnvVar fails at launch when the variable is unset, and these all have sound defaults, so the
    # choice is made when the definitions load: set -> EnvVar (the UI shows the name, never the value).
    return dg.EnvVar(name) if os.environ.get(name) else default


def data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


def lake_root(data: Path | None = None) -> str | Path:
    """``$GH_ASSETS_LAKE_ROOT`` (a folder or ``s3://bucket/prefix``), else ``<data dir>/lake``."""
    return os.environ.get(LAKE_ROOT_ENV) or (data_dir() if data is None else data) / "lake"


def max_rate_limit_wait() -> float:
    """``$GH_ASSETS_MAX_RATE_LIMIT_WAIT`` in seconds (default 3600).

    Read when the resources are built, like the DuckDB memory limit: Dagster's ``EnvVar`` binds strings and
    ints only, and this is a float (the CLI's ``--max-rate-limit-wait`` sets it before it builds them).
    """
    value = os.environ.get(MAX_RATE_LIMIT_WAIT_ENV)
    if not value:
        return DEFAULT_MAX_RATE_LIMIT_WAIT
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also refuses nan
        raise ValueError(f"{MAX_RATE_LIMIT_WAIT_ENV}={value!r}: expected a number of seconds >= 0")
    return seconds


def conditional_requests() -> bool:
    """``$GH_ASSETS_CONDITIONAL_REQUESTS`` (default true): whether stored ETags are sent as If-None-Match."""
    return os.environ.get(CONDITIONAL_REQUESTS_ENV, "true").strip().lower() not in ("false", "0", "no", "off")


def duckdb_config() -> dict[str, str]:
    return {"memory_limit": os.environ.get(DUCKDB_MEMORY_ENV) or DEFAULT_DUCKDB_MEMORY}


def resolved_resource(key: str) -> dg.ConfigurableResource:
    """The resource ``key`` exactly as a run gets it: built from the environment now, its ``dg.EnvVar`` fields resolved.

    Code outside a run (the CLI listing an organisation's repositories) must use this, never
    ``build_resources()[key]`` directly: that one still holds ``EnvVar`` placeholders, not their values.
    """
    return build_resources()[key].process_config_and_initialize()


def build_resources() -> dict[str, object]:
    return {
        "github": GitHubResource(
            api_url=_env_or("GITHUB_API_URL", DEFAULT_API_URL),
            token=_env_or("GITHUB_TOKEN", None),
            tokens=_env_or("GITHUB_TOKENS", None),
            max_rate_limit_wait_seconds=max_rate_limit_wait(),
            conditional_requests=conditional_requests(),
        ),
        "lake": LakeResource(
            data_dir=_env_or(DATA_DIR_ENV, DEFAULT_DATA_DIR),
            root=_env_or(LAKE_ROOT_ENV, None),
            raw_retention_days=dg.EnvVar.int(RAW_RETENTION_ENV) if os.environ.get(RAW_RETENTION_ENV) else None,
        ),
        # DuckDBResource takes a path, not a directory: derived from the same variable as the lake.
        # A memory limit makes DuckDB spill to disk instead of growing with the mart.
        "duckdb": DuckDBResource(database=str(data_dir() / WAREHOUSE_FILE), connection_config=duckdb_config()),
        "sources": SourcesResource(path=_env_or(CONFIG_ENV, DEFAULT_CONFIG)),
        **publish_resources(),  # "postgres", bound to $GH_ASSETS_POSTGRES_DSN with dg.EnvVar, only when it is set
    }
