"""Fixtures of the deployment tests: one throwaway PostgreSQL cluster per test module."""

from collections.abc import Iterator

import pytest

from gh_assets_tests.deploy.postgres import Cluster, throwaway_cluster


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with throwaway_cluster() as c:
        yield c
