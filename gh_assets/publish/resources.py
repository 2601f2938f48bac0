"""The PostgreSQL the marts are published to, configured from ``GH_ASSETS_POSTGRES_DSN`` through ``dg.EnvVar``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from gh_assets.publish.errors import PostgresConnectionError, PostgresError, redact

if TYPE_CHECKING:
    import psycopg

DSN_ENV = "GH_ASSETS_POSTGRES_DSN"


class PostgresResource(dg.ConfigurableResource):
    """A libpq DSN (``postgresql://user:password@host:5432/db`` or ``host=... dbname=...``); bind it with
    ``dg.EnvVar`` so the UI shows the variable's name, never its value."""

    dsn: str = Field(description=f"Set from ${DSN_ENV}; never logged, and redacted from every error message.")
    connect_timeout_seconds: int = Field(default=10, description="How long to wait for the server before failing the step.")

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        """An autocommit connection (open transactions explicitly); psycopg errors come out with the DSN redacted."""
        # psycopg is the optional `postgres` extra: imported when a publish runs, so the code location loads without it.
        import psycopg

        try:
            conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=self.connect_timeout_seconds, application_name="gh_assets publish")
        except psycopg.Error as exc:
            # `from None`: the original exception (and its message, which can quote the DSN) is not chained
            raise PostgresConnectionError(f"cannot connect to PostgreSQL (check ${DSN_ENV}): {redact(str(exc), self.dsn)}") from None
        try:
            with conn:
                yield conn
        except psycopg.Error as exc:
            raise PostgresError(f"PostgreSQL error: {redact(str(exc), self.dsn)}") from None


def publish_resources() -> dict[str, PostgresResource]:
    """``{"postgres": ...}`` bound to ``$GH_ASSETS_POSTGRES_DSN`` when it is set, else nothing (no publish assets either)."""
    return {"postgres": PostgresResource(dsn=dg.EnvVar(DSN_ENV))} if os.environ.get(DSN_ENV) else {}
