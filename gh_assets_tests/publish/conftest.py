"""Fixtures of the publish tests: a throwaway PostgreSQL cluster per module with a password-protected role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gh_assets.publish.resources import DSN_ENV
from gh_assets_tests.deploy.postgres import Cluster, throwaway_cluster

PUBLISHER = "publisher"
PASSWORD = "pw-7f3a9c-Sekrit"  # distinctive, so a test can search every log and message for it


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with throwaway_cluster() as c:
        yield c


def superuser(cluster: Cluster) -> psycopg.Connection:
    return psycopg.connect(host=cluster.host, port=cluster.port, user=cluster.user, dbname=cluster.db, autocommit=True)


@pytest.fixture(scope="module")
def dsn(cluster: Cluster) -> str:
    """A URL DSN of a role that must log in with its password (the cluster trusts everyone else)."""
    with superuser(cluster) as conn:
        conn.execute(f"CREATE ROLE {PUBLISHER} LOGIN PASSWORD '{PASSWORD}'")
        conn.execute(f"GRANT CREATE ON DATABASE {cluster.db} TO {PUBLISHER}")
        (hba,) = conn.execute("SHOW hba_file").fetchone()
        path = Path(hba)
        # the first matching line wins: put the password rule above the cluster's trust lines
        path.write_text(f"host all {PUBLISHER} 127.0.0.1/32 scram-sha-256\n" + path.read_text())
        conn.execute("SELECT pg_reload_conf()")
    return f"postgresql://{PUBLISHER}:{PASSWORD}@{cluster.host}:{cluster.port}/{cluster.db}"


@pytest.fixture
def dsn_env(dsn: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The DSN in $GH_ASSETS_POSTGRES_DSN, as a deployment binds it."""
    monkeypatch.setenv(DSN_ENV, dsn)
    return dsn
