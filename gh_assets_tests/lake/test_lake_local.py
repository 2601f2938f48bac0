"""The lake on local disk: the layout, renamed partitions, listing and raw pruning stay as they were."""

from datetime import date
from pathlib import Path

import dagster as dg
import orjson
import polars as pl
import pytest

from gh_assets.lake import Lake, LakeError, RawWriter
from gh_assets.resources import LakeResource

REPO = "demo-org/alpha"
DAYS = [date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3)]


def page_meta(key: str) -> dict:
    return {
        "key": key, "url": f"https://api.example/{key}", "status": 200, "etag": f'"{key}"', "fetched_at": "2025-01-04T00:00:00.000000Z",
        "bytes": 2, "items": 1, "rate_limit_limit": None, "rate_limit_remaining": None, "rate_limit_reset": None, "rate_limit_resource": None,
    }


def capture(lake: Lake, entity: str = "issues", days: list[date] = DAYS, bodies: dict[date, bytes] | None = None) -> None:
    writer = lake.raw_writer(entity, REPO, days)
    for day in days:
        body = (bodies or {}).get(day, orjson.dumps([{"day": day.isoformat()}]))
        writer.add(body, {day}, page_meta(f"/p{day.day}"))
    writer.commit()


def test_layout_is_unchanged(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    assert not lake.remote and lake.root == tmp_path / "lake"
    capture(lake)
    written = lake.write_parquet(pl.DataFrame({"a": [1]}), "staged", "issues", REPO, DAYS[0])
    assert written == tmp_path / "lake" / "staged" / "issues" / "repo=demo-org__alpha" / "date=2025-01-01" / "part-0.parquet"
    files = sorted(str(p.relative_to(tmp_path / "lake")) for p in (tmp_path / "lake").rglob("*") if p.is_file())
    assert files == [
        *(f"raw/issues/repo=demo-org__alpha/date={d}/{f}" for d in DAYS for f in ("manifest.json", "pages/00000.json.zst")),
        "staged/issues/repo=demo-org__alpha/date=2025-01-01/part-0.parquet",
    ]
    manifest = orjson.loads((tmp_path / "lake" / "raw/issues/repo=demo-org__alpha/date=2025-01-02/manifest.json").read_bytes())
    assert set(manifest) == {"entity", "repo", "date", "pages"} and manifest["pages"][0]["file"] == "pages/00000.json.zst"
    assert lake.parquet_path("staged", "issues", REPO, DAYS[0]) == written
    assert lake.parquet_glob("staged", "issues", REPO) == str(tmp_path / "lake/staged/issues/repo=demo-org__alpha/date=*/*.parquet")
    assert lake.location == str((tmp_path / "lake").resolve())


def test_reads_listing_and_existence(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    capture(lake)
    for day in DAYS:
        lake.write_parquet(pl.DataFrame({"a": [day.day]}), "staged", "issues", REPO, day)
    meta, body, path = next(lake.raw_pages("issues", REPO, DAYS[1]))
    assert orjson.loads(body) == [{"day": "2025-01-02"}] and path == lake.raw_page_path("issues", REPO, DAYS[1], meta.file)
    assert lake.read_page(path) == body
    assert lake.list_partitions("raw", "issues") == [(REPO, d) for d in DAYS]
    assert lake.list_partitions("staged", "issues", REPO) == [(REPO, d) for d in DAYS]
    assert lake.staged_files("issues", REPO) == [str(lake.parquet_path("staged", "issues", REPO, d)) for d in DAYS]
    assert lake.raw_page_count("issues") == 3
    assert lake.exists(lake.parquet_path("staged", "issues", REPO, DAYS[0]))
    assert not lake.exists(lake.parquet_path("staged", "issues", REPO, date(2024, 1, 1)))
    assert lake.list_partitions("staged", "pulls") == [] and lake.staged_files("pulls", REPO) == []
    with pytest.raises(LakeError):
        _ = lake.fs  # a local lake has no object-store filesystem


def test_rerun_replaces_a_partition_whole_and_leaves_no_temporaries(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    capture(lake, bodies={DAYS[0]: b"[1]"})
    capture(lake, bodies={DAYS[0]: b"[2]"})
    assert [body for _, body, _ in lake.raw_pages("issues", REPO, DAYS[0])] == [b"[2]"]
    lake.write_parquet(pl.DataFrame({"a": [1]}), "quarantine", "issues", REPO, DAYS[0])
    lake.write_parquet(pl.DataFrame({"a": [2]}), "quarantine", "issues", REPO, DAYS[0])
    assert pl.read_parquet(lake.parquet_path("quarantine", "issues", REPO, DAYS[0]))["a"].to_list() == [2]
    lake.remove_partition("quarantine", "issues", REPO, DAYS[0])
    assert lake.list_partitions("quarantine", "issues") == []
    assert not [p for p in (tmp_path / "lake").rglob(".*")], "no hidden temporary or old folder is left"


def test_failed_capture_publishes_nothing(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    capture(lake, bodies={DAYS[0]: b"[1]"})
    writer = lake.raw_writer("issues", REPO, DAYS)
    writer.add(b"[9]", {DAYS[0]}, page_meta("/p1"))
    writer.abort()
    assert [body for _, body, _ in lake.raw_pages("issues", REPO, DAYS[0])] == [b"[1]"]
    assert not [p for p in (tmp_path / "lake").rglob(".*")]


def test_a_failed_background_write_fails_the_commit_and_publishes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages are compressed and written on the writer's thread: its error still reaches the sweep."""
    lake = Lake(tmp_path / "lake")
    capture(lake, bodies={DAYS[0]: b"[1]"})
    real = RawWriter._write_page

    def failing(self: RawWriter, body: bytes, paths: list[Path]) -> None:
        if body == b"[3]":
            raise OSError(28, "No space left on device")
        real(self, body, paths)

    monkeypatch.setattr(RawWriter, "_write_page", failing)
    writer = lake.raw_writer("issues", REPO, DAYS)
    for n in (2, 3, 4):
        writer.add(f"[{n}]".encode(), {DAYS[0]}, page_meta(f"/p{n}"))
    with pytest.raises(OSError, match="No space left"):
        writer.commit()
    writer.abort()
    assert [body for _, body, _ in lake.raw_pages("issues", REPO, DAYS[0])] == [b"[1]"]
    assert not [p for p in (tmp_path / "lake").rglob(".*")]


def test_prune_raw_removes_only_old_raw_partitions(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    capture(lake)
    capture(lake, entity="commits", days=[date(2024, 12, 1)])
    for day in DAYS:
        lake.write_parquet(pl.DataFrame({"a": [1]}), "staged", "issues", REPO, day)
        lake.write_parquet(pl.DataFrame({"a": [1]}), "quarantine", "issues", REPO, day)
    assert lake.raw_partitions_before(DAYS[2]) == [("commits", REPO, date(2024, 12, 1)), ("issues", REPO, DAYS[0]), ("issues", REPO, DAYS[1])]
    assert lake.prune_raw(DAYS[2]) == 3
    assert lake.list_partitions("raw", "issues") == [(REPO, DAYS[2])]
    assert lake.list_partitions("raw", "commits") == []
    assert lake.list_partitions("staged", "issues") == [(REPO, d) for d in DAYS]
    assert lake.list_partitions("quarantine", "issues") == [(REPO, d) for d in DAYS]
    assert lake.prune_raw(DAYS[2]) == 0


def test_resource_root_defaults_to_the_data_dir(tmp_path: Path) -> None:
    assert LakeResource(data_dir=str(tmp_path)).lake.root == tmp_path / "lake"
    assert LakeResource(data_dir=str(tmp_path), root=str(tmp_path / "elsewhere")).lake.root == tmp_path / "elsewhere"
    remote = LakeResource(data_dir=str(tmp_path), root="s3://bucket/prefix/").lake
    assert remote.remote and remote.root == "s3://bucket/prefix"
    assert remote.partition_dir("staged", "issues", REPO, DAYS[0]) == "s3://bucket/prefix/staged/issues/repo=demo-org__alpha/date=2025-01-01"


def test_environment_binds_the_lake_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gh_assets.environment import build_resources, lake_root

    monkeypatch.setenv("GH_ASSETS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("GH_ASSETS_LAKE_ROOT", raising=False)
    monkeypatch.delenv("GH_ASSETS_RAW_RETENTION_DAYS", raising=False)
    assert lake_root() == tmp_path / "lake"
    lake = build_resources()["lake"]
    assert lake.root is None and lake.raw_retention_days is None
    monkeypatch.setenv("GH_ASSETS_LAKE_ROOT", "s3://b/p")
    monkeypatch.setenv("GH_ASSETS_RAW_RETENTION_DAYS", "30")
    assert lake_root() == "s3://b/p"
    with dg.build_resources({"lake": build_resources()["lake"]}) as resources:
        assert (resources.lake.lake.root, resources.lake.raw_retention_days) == ("s3://b/p", 30)
