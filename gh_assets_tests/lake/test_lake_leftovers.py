"""What dead or interrupted writers leave in the local lake is swept, and a corrupt raw page names its file."""

import os
import socket
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from gh_assets.github.transform import MalformedPage, PageFrames, page_rows
from gh_assets.lake import CorruptPage, Lake, sweep_stale
from gh_assets_tests.lake.test_lake_local import REPO, capture

DAY = date(2025, 1, 1)


def _dead_pid() -> int:
    """A pid no process has: past the kernel's maximum."""
    return int(Path("/proc/sys/kernel/pid_max").read_text()) + 1 if Path("/proc/sys/kernel/pid_max").exists() else 2**22 + 1


def _leftovers(folder: Path) -> dict[str, Path]:
    """One temporary of a dead writer, one of a live one (this process), one unnamed (older code), one superseded."""
    host = socket.gethostname()
    names = {
        "dead": f".{folder.name}.tmp-deadbeef-{_dead_pid()}@{host}",
        "live": f".{folder.name}.tmp-cafebabe-{os.getpid()}@{host}",
        "other_host": f".{folder.name}.tmp-0badf00d-1@not-{host}",
        "unnamed": f".{folder.name}.tmp-abcd1234",
        "old": f".{folder.name}.old-12345678",
    }
    out = {}
    for kind, name in names.items():
        out[kind] = folder.with_name(name)
        (out[kind] / "pages").mkdir(parents=True)
    return out


def test_writing_a_partition_sweeps_what_dead_writers_left(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    staged = Path(lake.partition_dir("staged", "issues", REPO, DAY))
    left = _leftovers(staged)
    lake.write_parquet(pl.DataFrame({"a": [1]}), "staged", "issues", REPO, DAY)
    assert not left["dead"].exists() and not left["unnamed"].exists() and not left["old"].exists()
    # a writer that may still be running (this process, or another machine's) is left alone
    assert left["live"].exists() and left["other_host"].exists()
    assert pl.read_parquet(staged / "part-0.parquet")["a"].to_list() == [1]

    raw = Path(lake.partition_dir("raw", "issues", REPO, DAY))
    left = _leftovers(raw)
    capture(lake, days=[DAY])
    assert not left["dead"].exists() and not left["old"].exists() and left["live"].exists()
    assert sweep_stale(raw) == []  # the commit left nothing of its own


def test_an_interrupted_parquet_write_leaves_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lake = Lake(tmp_path / "lake")

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(pl.DataFrame, "write_parquet", interrupted)
    with pytest.raises(KeyboardInterrupt):
        lake.write_parquet(pl.DataFrame({"a": [1]}), "staged", "issues", REPO, DAY)
    assert [p for p in (tmp_path / "lake").rglob("*") if ".tmp-" in p.name] == []


def test_a_raw_writer_aborted_by_an_interrupt_leaves_no_temporary(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    writer = lake.raw_writer("issues", REPO, [DAY])
    writer.add(b"[]", {DAY}, {"key": "/k", "url": "u", "status": 200, "etag": None, "fetched_at": "2025-01-02T00:00:00.000000Z", "bytes": 2, "items": 0,
                              "rate_limit_limit": None, "rate_limit_remaining": None, "rate_limit_reset": None, "rate_limit_resource": None})
    writer.abort()
    assert [p for p in (tmp_path / "lake").rglob("*") if ".tmp-" in p.name] == []


def _stored_page(lake: Lake) -> Path:
    capture(lake, days=[DAY])
    (meta,) = lake.raw_manifest("issues", REPO, DAY) or []
    return Path(lake.raw_page_path("issues", REPO, DAY, meta.file))


def test_a_corrupt_raw_page_names_its_file_and_partition(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    page = _stored_page(lake)
    page.write_bytes(b"\x28\xb5\x2f\xfd garbage, not a zstd frame")
    for read in (
        lambda: lake.read_page(page),
        lambda: list(lake.raw_pages("issues", REPO, DAY)),
        lambda: PageFrames(lake, "issues", REPO, lambda body, where: page_rows(body, where))(DAY),
    ):
        with pytest.raises(CorruptPage) as caught:
            read()
        message = str(caught.value)
        assert str(page) in message and "repo=demo-org__alpha/date=2025-01-01" in message
        assert "demo-org/alpha on 2025-01-01" in message and "corrupt" in message


def test_bad_json_inside_a_raw_page_names_its_file(tmp_path: Path) -> None:
    import zstandard

    lake = Lake(tmp_path / "lake")
    page = _stored_page(lake)
    page.write_bytes(zstandard.ZstdCompressor().compress(b'[{"id": 1, "title": '))
    with pytest.raises(MalformedPage) as caught:
        PageFrames(lake, "issues", REPO, lambda body, where: page_rows(body, where))(DAY)
    assert str(page) in str(caught.value) and "not valid JSON" in str(caught.value)
