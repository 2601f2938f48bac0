"""Peer benchmark: load a repository's GitHub issues with dlt's rest_api source into DuckDB."""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

DESTINATION = "duckdb"
DATASET = "github"
PIPELINE = "peer_dlt_issues"


@contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore the previous values."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _config(api_url: str, repo: str, since: str) -> dict[str, Any]:
    owner, name = repo.split("/", 1)
    return {
        "client": {"base_url": api_url.rstrip("/") + "/"},
        "resources": [
            {
                "name": "issues",
                "primary_key": "id",
                "write_disposition": "merge",
                "endpoint": {
                    "path": f"repos/{owner}/{name}/issues",
                    "params": {"state": "all", "sort": "updated", "direction": "asc", "per_page": 100},
                    "paginator": "header_link",
                    "data_selector": "$",
                    "incremental": {"start_param": "since", "cursor_path": "updated_at", "initial_value": since},
                },
            }
        ],
    }


def run_dlt(
    api_url: str,
    repo: str,
    workdir: pathlib.Path,
    *,
    since: str = "2025-01-01T00:00:00Z",
    loader_file_format: str | None = None,
) -> dict[str, Any]:
    """Load every issue of ``repo`` from ``api_url`` into a DuckDB file under ``workdir`` and time ``pipeline.run``.

    ``loader_file_format=None`` keeps dlt's default for DuckDB (``insert_values``); ``"parquet"`` is dlt's
    documented alternative. Returns ``{"records", "seconds", "dlt_version", "destination", "loader_file_format"}``;
    ``records`` is counted in the destination table.
    """
    workdir = pathlib.Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        "DLT_DATA_DIR": str(workdir / "dlt_data"),
        "DLT_PROJECT_DIR": str(workdir),
        "RUNTIME__DLT_TELEMETRY": "false",
    }
    with _environ(env):
        import dlt
        from dlt.sources.rest_api import rest_api_source

        pipeline = dlt.pipeline(
            pipeline_name=PIPELINE,
            pipelines_dir=str(workdir / "pipelines"),
            destination=dlt.destinations.duckdb(str(workdir / f"{PIPELINE}.duckdb")),
            dataset_name=DATASET,
        )
        source = rest_api_source(_config(api_url, repo, since))
        started = time.perf_counter()
        pipeline.run(source, loader_file_format=loader_file_format)
        seconds = time.perf_counter() - started
        file_format = loader_file_format or pipeline.destination.capabilities().preferred_loader_file_format

        table = pipeline.default_schema.naming.normalize_table_identifier("issues")
        with pipeline.sql_client() as client:
            rows = client.execute_sql(f"SELECT count(*) FROM {client.make_qualified_table_name(table)}")
        return {
            "records": int(rows[0][0]),
            "seconds": seconds,
            "dlt_version": dlt.__version__,
            "destination": DESTINATION,
            "loader_file_format": file_format,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.peer_dlt", description=__doc__)
    parser.add_argument("--url", required=True, help="GitHub API base URL, e.g. http://127.0.0.1:41234")
    parser.add_argument("--repo", required=True, help="owner/name")
    parser.add_argument("--workdir", required=True, type=pathlib.Path, help="directory for dlt state and the DuckDB file")
    parser.add_argument("--since", default="2025-01-01T00:00:00Z")
    parser.add_argument(
        "--loader-file-format", default=None, choices=["insert_values", "parquet", "jsonl"], help="default: dlt's own"
    )
    args = parser.parse_args(argv)
    result = run_dlt(args.url, args.repo, args.workdir, since=args.since, loader_file_format=args.loader_file_format)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
