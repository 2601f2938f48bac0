"""An S3 server (moto, in-process on 127.0.0.1) and an s3:// lake root with throwaway credentials."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

pytest.importorskip("s3fs")
pytest.importorskip("moto")

# Distinctive values: tests assert they appear in no metadata, log or stored file.
ACCESS_KEY = "AKIAGHASSETSTEST0042"
SECRET_KEY = "gh-assets-test-secret-3f9c2b7e-never-logged"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A moto S3 server on a free port; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_env(mp: pytest.MonkeyPatch, endpoint: str) -> None:
    mp.setenv("AWS_ENDPOINT_URL", endpoint)
    mp.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    mp.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    mp.setenv("AWS_REGION", "us-east-1")
    mp.delenv("AWS_PROFILE", raising=False)
    mp.delenv("AWS_SESSION_TOKEN", raising=False)


def make_bucket(endpoint: str) -> str:
    """A new bucket on the server (created with boto3 and explicit keys, not through the lake)."""
    import boto3

    name = f"lake-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name="us-east-1").create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_root(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """``s3://<new bucket>/lake`` with the AWS variables pointing at the moto server."""
    s3_env(monkeypatch, s3_server)
    return f"s3://{make_bucket(s3_server)}/lake"
