"""A CSV table source read from S3 (moto on 127.0.0.1): the same rows as from local disk, errors naming the object."""

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from gh_assets.tables.runs import materialise_tables
from gh_assets_tests.lake.conftest import s3_env

ROOT = Path(__file__).resolve().parents[2]
CSV = (ROOT / "demo" / "data" / "team_members.csv").read_bytes()


def _config(path: Path, source: str) -> Path:
    text = (ROOT / "sources.yaml").read_text()
    # the shipped demo table, pointed at another location
    text = text.replace("demo/data/team_members.csv", source)
    path.write_text(text)
    return path


def test_csv_on_s3_loads_like_the_local_file(s3_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    s3_env(monkeypatch, s3_server)
    boto3.client("s3", endpoint_url=s3_server).create_bucket(Bucket="csv-bucket")
    boto3.client("s3", endpoint_url=s3_server).put_object(Bucket="csv-bucket", Key="team/members.csv", Body=CSV)
    rows = {}
    for where, source in (("local", str(ROOT / "demo" / "data" / "team_members.csv")), ("s3", "s3://csv-bucket/team/*.csv")):
        monkeypatch.setenv("GH_ASSETS_DATA_DIR", str(tmp_path / where))
        with dg.instance_for_test() as instance:
            ok, checks, error = materialise_tables(instance, str(_config(tmp_path / f"{where}.yaml", source)))
        assert (ok, error) == (True, None), error
        assert {outcome for _, _, outcome in checks} == {"passed"}
        with duckdb.connect(str(tmp_path / where / "warehouse.duckdb"), read_only=True) as con:
            rows[where] = con.execute("SELECT * FROM tables.team_members ORDER BY ALL").fetchall()
    assert rows["s3"] == rows["local"] and rows["s3"]

    with dg.instance_for_test() as instance:
        ok, _, error = materialise_tables(instance, str(_config(tmp_path / "missing.yaml", "s3://csv-bucket/none/*.csv")))
    assert not ok and "s3://csv-bucket/none/*.csv: no file matches this path" in (error or "")
