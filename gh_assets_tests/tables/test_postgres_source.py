"""A SQL table source against a throwaway PostgreSQL 15 cluster: read in batches, typed, and the DSN never shown."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import dagster as dg
import pytest

from gh_assets_tests.deploy.postgres import Cluster, throwaway_cluster
from gh_assets_tests.tables.conftest import Run

PASSWORD = "s3cret-pw-never-shown"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with throwaway_cluster() as c:
        import adbc_driver_postgresql.dbapi as pg

        with pg.connect(f"postgresql://{c.user}@{c.host}:{c.port}/{c.db}") as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE crm_accounts (id bigint, owner text, revenue numeric(12,2), opened timestamptz, active boolean)")
            cur.execute(
                "INSERT INTO crm_accounts SELECT g, 'owner' || (g % 7), g * 1.5, "
                "timestamptz '2025-01-01 00:00:00+00' + (g % 3) * interval '1 day', g % 2 = 0 FROM generate_series(1, 20000) g"
            )
            cur.execute("INSERT INTO crm_accounts VALUES (20001, NULL, -5, '2025-01-01T12:00:00Z', true)")
            conn.commit()
        yield c


def _dsn(c: Cluster, port: int | None = None) -> str:
    # trust authentication ignores the password: it is there to prove it never leaks
    return f"postgresql://{c.user}:{PASSWORD}@{c.host}:{port or c.port}/{c.db}"


def test_sql_source_reads_in_batches_and_keeps_the_dsn_secret(
    project: Callable[..., Run], cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_DSN", _dsn(cluster))
    config = (
        "  - name: accounts\n    kind: sql\n    dsn_env: CRM_DSN\n    table: crm_accounts\n    batch_bytes: 65536\n"
        "    columns: {id: int, owner: string, revenue: float, opened: datetime, active: bool}\n"
        "    partition_column: opened\n    dedup_keys: [id]\n"
        "    checks: {not_null: [owner], ranges: {revenue: {min: 0}}}\n"
    )
    run = project(config)
    assert run.checks() == {"accounts_schema": False, "accounts_reconciled": True}
    meta = run.metadata("accounts")
    assert meta["batches"] > 1
    assert (meta["records_read"], meta["records_written"], meta["records_failed"]) == (20001, 20000, 1)
    bad = run.quarantined("accounts")
    assert bad.select("id", "source_row").rows() == [("20001", 20001)]
    assert "owner: not_nullable" in bad["quarantine_reason"][0] and "revenue: greater_than_or_equal_to(0.0)" in bad["quarantine_reason"][0]
    assert sorted(p.name for p in (run.data_dir / "lake" / "staged" / "tables" / "accounts").iterdir()) == [
        "date=2025-01-01", "date=2025-01-02", "date=2025-01-03"
    ]
    assert run.duckdb("SELECT count(*), sum(revenue) FROM tables.accounts") == [(20000, sum(g * 1.5 for g in range(1, 20001)))]
    shown = repr(meta) + repr(run.check_metadata("accounts_schema")) + repr(run.check_metadata("accounts_reconciled"))
    assert PASSWORD not in shown and "CRM_DSN" not in shown


@pytest.mark.parametrize("problem", ["missing table", "no server"])
def test_sql_errors_name_the_table_never_the_dsn(
    project: Callable[..., Run], cluster: Cluster, monkeypatch: pytest.MonkeyPatch, problem: str
) -> None:
    from gh_assets_tests.deploy.postgres import _free_port

    monkeypatch.setenv("CRM_DSN", _dsn(cluster, _free_port() if problem == "no server" else None))
    table = "no_such_table" if problem == "missing table" else "crm_accounts"
    run = project(f"  - name: accounts\n    kind: sql\n    dsn_env: CRM_DSN\n    table: {table}\n    infer: true\n")
    assert not run.success
    message = run.error()
    assert "SourceError: table accounts: reading PostgreSQL failed" in message
    # a refused connection may heal and is retried (TABLE_RETRY); a missing table will not and fails at once
    retries = sum(1 for e in run.result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY)
    assert retries == (3 if problem == "no server" else 0)
    assert PASSWORD not in message and _dsn(cluster) not in message
    assert all(PASSWORD not in str(e) for e in run.result.all_events)


def test_inferred_sql_schema(project: Callable[..., Run], cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_DSN", _dsn(cluster))
    run = project("  - name: owners\n    kind: sql\n    dsn_env: CRM_DSN\n    query: SELECT owner, count(*) AS n, min(opened) AS first FROM crm_accounts WHERE owner IS NOT NULL GROUP BY 1\n    infer: true\n")
    assert run.success, run.error()
    schema = run.metadata("owners")["inferred_schema"]
    assert "| owner | string |" in schema and "| n | int |" in schema and "| first | datetime |" in schema
    assert run.duckdb("SELECT count(*) FROM tables.owners") == [(7,)]
