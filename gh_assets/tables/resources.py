"""The PostgreSQL connection of a SQL table source, its DSN bound from an environment variable."""

import dagster as dg
from pydantic import Field

from gh_assets.tables.sources import SourceRead, read_postgres


class PostgresTableSource(dg.ConfigurableResource):
    """A PostgreSQL DSN, set with ``dg.EnvVar(<dsn_env>)``: the UI and run config show the variable's name only."""

    dsn: str = Field(description="libpq URI or key=value DSN; bind it with dg.EnvVar, never a literal.")

    def read(self, query: str, batch_bytes: int, what: str) -> SourceRead:
        return read_postgres(self.dsn, query, batch_bytes, what)


def source_resource_key(table: str) -> str:
    """One resource per SQL table: tables may read different databases."""
    return f"tables_{table}_source"
