"""The lake on S3 (moto): versions published by their manifest, failures mid-write, DuckDB and Polars reads, pruning."""

from datetime import date
from pathlib import Path

import duckdb
import orjson
import polars as pl
import pytest

from gh_assets.lake import Lake, LakeError

from .test_lake_local import DAYS, REPO, capture, page_meta


def objects(lake: Lake) -> list[str]:
    """Every object under the lake root, relative to it."""
    prefix = lake.fs._strip_protocol(str(lake.root)) + "/"
    return sorted(p[len(prefix):] for p in lake.fs.find(str(lake.root)))


def snapshot(lake: Lake, entity: str = "issues") -> dict[date, list[bytes]]:
    """What a reader sees of every raw partition: the page bodies, through the manifests."""
    return {day: [body for _, body, _ in lake.raw_pages(entity, REPO, day)] for _, day in lake.list_partitions("raw", entity)}


def test_raw_round_trip_and_layout(s3_root: str) -> None:
    lake = Lake(s3_root)
    assert lake.remote and lake.location == s3_root
    capture(lake)
    names = objects(lake)
    assert len(names) == 6 and all(n.startswith("raw/issues/repo=demo-org__alpha/date=2025-01-0") for n in names)
    manifest = orjson.loads(lake.fs.cat_file(f"{s3_root}/raw/issues/repo=demo-org__alpha/date=2025-01-02/manifest.json"))
    version = manifest["version"]
    assert manifest["pages"][0]["file"] == f"{version}/pages/00000.json.zst"
    assert f"raw/issues/repo=demo-org__alpha/date=2025-01-02/{version}/pages/00000.json.zst" in names
    meta, body, url = next(lake.raw_pages("issues", REPO, DAYS[1]))
    assert orjson.loads(body) == [{"day": "2025-01-02"}] and url.startswith("s3://") and lake.read_page(url) == body
    assert lake.raw_page_path("issues", REPO, DAYS[1], meta.file) == url
    assert lake.list_partitions("raw", "issues") == [(REPO, d) for d in DAYS]
    assert lake.raw_page_count("issues") == 3 and lake.raw_manifest("issues", REPO, date(2024, 1, 1)) is None
    with pytest.raises(LakeError):
        lake.parquet_glob("staged", "issues", REPO)


def test_rerun_publishes_a_new_version_and_deletes_the_old(s3_root: str) -> None:
    lake = Lake(s3_root)
    capture(lake, bodies={DAYS[0]: b"[1]"})
    first = objects(lake)
    capture(lake, bodies={DAYS[0]: b"[2]"})
    assert snapshot(lake)[DAYS[0]] == [b"[2]"]
    second = objects(lake)
    versioned = [{n for n in names if not n.endswith("/manifest.json")} for names in (first, second)]
    assert len(second) == len(first) and not versioned[0] & versioned[1], "every object of the old version is gone"


def test_failure_mid_capture_leaves_the_previous_version(s3_root: str, monkeypatch: pytest.MonkeyPatch) -> None:
    lake = Lake(s3_root)
    capture(lake, bodies={d: f"[{d.day}]".encode() for d in DAYS})
    before, before_objects = snapshot(lake), objects(lake)
    uploads: list[list[str]] = []
    real = Lake._put_objects

    def failing(self: Lake, objs: dict[str, bytes]) -> None:
        uploads.append(list(objs))
        if len(uploads) == 3:  # two batches of pages are in the bucket; the third upload fails
            raise ConnectionError("simulated S3 outage")
        real(self, objs)

    monkeypatch.setattr("gh_assets.lake._PUT_BATCH", 2)
    monkeypatch.setattr(Lake, "_put_objects", failing)
    writer = lake.raw_writer("issues", REPO, DAYS)
    with pytest.raises(ConnectionError):
        for n in range(10):
            writer.add(f"[new {n}]".encode(), set(DAYS), page_meta(f"/new{n}"))
        writer.commit()
    assert any(u for u in uploads[:2]), "some new pages were written before the failure"
    writer.abort()
    monkeypatch.setattr(Lake, "_put_objects", real)
    assert snapshot(lake) == before, "readers still see the previous version of every partition"
    assert objects(lake) == before_objects, "the aborted version's objects are removed"


def test_failure_between_commits_publishes_whole_partitions_only(s3_root: str, monkeypatch: pytest.MonkeyPatch) -> None:
    lake = Lake(s3_root)
    capture(lake, bodies={d: b"[old]" for d in DAYS})
    real = Lake._put_objects
    manifests: list[str] = []

    def failing(self: Lake, objs: dict[str, bytes]) -> None:
        names = [k for k in objs if k.endswith("/manifest.json")]
        manifests.extend(names)
        if len(manifests) == 2:  # the first day is published, the second day's manifest fails
            raise ConnectionError("simulated S3 outage")
        real(self, objs)

    monkeypatch.setattr(Lake, "_put_objects", failing)
    writer = lake.raw_writer("issues", REPO, DAYS)
    for day in DAYS:
        writer.add(b"[new]", {day}, page_meta(f"/p{day.day}"))
    with pytest.raises(ConnectionError):
        writer.commit()
    writer.abort()
    monkeypatch.setattr(Lake, "_put_objects", real)
    assert snapshot(lake) == {DAYS[0]: [b"[new]"], DAYS[1]: [b"[old]"], DAYS[2]: [b"[old]"]}
    for _, day in lake.list_partitions("raw", "issues"):  # every manifest names objects that exist
        for meta in lake.raw_manifest("issues", REPO, day):
            assert lake.exists(lake.raw_page_path("issues", REPO, day, meta.file))


def test_parquet_partitions_read_by_duckdb_and_polars(s3_root: str) -> None:
    lake = Lake(s3_root)
    for day in DAYS:
        lake.write_parquet(pl.DataFrame({"n": [day.day, day.day * 10]}), "staged", "issues", REPO, day)
    lake.write_parquet(pl.DataFrame({"n": [7]}), "staged", "issues", REPO, DAYS[0])  # a rerun replaces day 1
    files = lake.staged_files("issues", REPO)
    assert len(files) == 3 and all(f.startswith(s3_root) for f in files)
    assert len(objects(lake)) == 6, "one manifest and one Parquet object per partition: the replaced version is gone"
    with duckdb.connect() as con:
        lake.register_filesystem(con)
        lake.register_filesystem(con)  # idempotent on one connection
        total = con.execute("SELECT sum(n) FROM read_parquet($f, hive_partitioning = false, union_by_name = true)", {"f": files}).fetchone()[0]
    assert total == 7 + 2 + 20 + 3 + 30
    assert pl.scan_parquet(files).select(pl.col("n").sum()).collect().item() == total
    with lake.local_reads() as localise, duckdb.connect() as con:  # what the marts read: local copies of the published versions
        first = localise(files)
        assert con.execute("SELECT sum(n) FROM read_parquet($f)", {"f": first}).fetchone()[0] == total
        second = localise(files[:1])
        assert not any(Path(f).exists() for f in first), "each call replaces the previous copies"
    assert not Path(second[0]).exists(), "the copies go with the block"
    path = lake.parquet_path("staged", "issues", REPO, DAYS[0])
    assert lake.exists(path) and pl.read_parquet(path)["n"].to_list() == [7]
    missing = lake.parquet_path("staged", "issues", REPO, date(2024, 1, 1))
    assert not lake.exists(missing)
    assert lake.parquet_files("staged", "issues") == files and lake.list_partitions("staged", "issues") == [(REPO, d) for d in DAYS]


def test_failed_parquet_write_keeps_the_previous_file(s3_root: str, monkeypatch: pytest.MonkeyPatch) -> None:
    lake = Lake(s3_root)
    lake.write_parquet(pl.DataFrame({"n": [1]}), "staged", "issues", REPO, DAYS[0])
    before = objects(lake)
    real = Lake._put_objects

    def failing(self: Lake, objs: dict[str, bytes]) -> None:
        if any(k.endswith("/manifest.json") for k in objs):  # the data object is uploaded, the publish fails
            raise ConnectionError("simulated S3 outage")
        real(self, objs)

    monkeypatch.setattr(Lake, "_put_objects", failing)
    with pytest.raises(ConnectionError):
        lake.write_parquet(pl.DataFrame({"n": [2]}), "staged", "issues", REPO, DAYS[0])
    monkeypatch.setattr(Lake, "_put_objects", real)
    assert pl.read_parquet(lake.parquet_path("staged", "issues", REPO, DAYS[0]))["n"].to_list() == [1]
    assert objects(lake) == before


def test_unpublished_objects_are_invisible(s3_root: str) -> None:
    lake = Lake(s3_root)
    lake.fs.pipe_file(f"{s3_root}/staged/issues/repo=demo-org__alpha/date=2025-01-05/v-orphan/part-0.parquet", b"not parquet")
    assert lake.staged_files("issues", REPO) == [] and lake.list_partitions("staged", "issues") == []


def test_remove_and_prune_on_s3(s3_root: str) -> None:
    lake = Lake(s3_root)
    capture(lake)
    for day in DAYS:
        lake.write_parquet(pl.DataFrame({"a": [1]}), "staged", "issues", REPO, day)
        lake.write_parquet(pl.DataFrame({"a": [1]}), "quarantine", "issues", REPO, day)
    lake.fs.pipe_file(f"{s3_root}/raw/issues/repo=demo-org__alpha/date=2024-12-30/v-orphan/pages/00000.json.zst", b"x")
    lake.remove_partition("quarantine", "issues", REPO, DAYS[2])
    assert lake.list_partitions("quarantine", "issues") == [(REPO, d) for d in DAYS[:2]]
    assert lake.prune_raw(DAYS[2]) == 3, "two published days and an orphaned write before the cutoff"
    assert lake.list_partitions("raw", "issues") == [(REPO, DAYS[2])]
    assert lake.list_partitions("staged", "issues") == [(REPO, d) for d in DAYS]
    assert not [n for n in objects(lake) if n.startswith("raw/") and "date=2025-01-03" not in n]
