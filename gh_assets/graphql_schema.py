"""GitHub's public GraphQL schema, loaded once per process (no Dagster, no HTTP).

The SDL ships inside the package (``gh_assets/emulator/github_schema.graphql``, MIT, see
``github_schema.LICENSE.md`` beside it). Both the emulator (which executes queries on it) and the
client (which validates its queries against it before sending) call :func:`load_github_schema`.
Building the schema takes about 1.3 s, so it is built lazily on first use and cached; a lock makes
concurrent first calls build it once. Treat the returned schema as read-only: it is shared.
"""

from __future__ import annotations

import threading
from pathlib import Path

import graphql

__all__ = ["SCHEMA_PATH", "load_github_schema", "validate_query"]

SCHEMA_PATH = Path(__file__).resolve().parent / "emulator" / "github_schema.graphql"

_lock = threading.Lock()
_schema: graphql.GraphQLSchema | None = None


def load_github_schema() -> graphql.GraphQLSchema:
    """The shared, cached :class:`graphql.GraphQLSchema` of GitHub's API (built on the first call)."""
    global _schema
    schema = _schema
    if schema is not None:
        return schema
    with _lock:
        if _schema is None:
            sdl = SCHEMA_PATH.read_text(encoding="utf-8")
            # GitHub's SDL defines EnterpriseOwnerInfo.repositoryDeployKeySetting(organizations) twice,
            # so the SDL validation would refuse it; the schema itself is usable.
            _schema = graphql.build_schema(sdl, assume_valid_sdl=True)
        return _schema


def validate_query(query: str) -> list[graphql.GraphQLError]:
    """Syntax and schema errors of ``query`` (``[]`` when GitHub's schema accepts it)."""
    try:
        document = graphql.parse(query)
    except graphql.GraphQLError as exc:
        return [exc]
    return list(graphql.validate(load_github_schema(), document))
