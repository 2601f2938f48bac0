"""Bad CSV files: wrong delimiter, missing columns, bad encoding fail naming file and line; ragged rows and bad values are quarantined with the line."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gh_assets_tests.tables.conftest import Run

MEMBERS = """\
  - name: members
    kind: csv
    path: data/members.csv
    columns: {login: string, team: string, age: int, joined_on: date}
"""


def test_good_file_is_staged_and_loaded(project: Callable[..., Run]) -> None:
    run = project(MEMBERS, {"data/members.csv": "login,team,age,joined_on\nann,core,30,2024-01-02\nbob,web,41,2024-02-03\n"})
    assert run.success, run.error()
    assert run.staged("members").rows() == [("ann", "core", 30, __import__("datetime").date(2024, 1, 2)), ("bob", "web", 41, __import__("datetime").date(2024, 2, 3))]
    assert run.checks() == {"members_schema": True, "members_reconciled": True}
    meta = run.metadata("members")
    assert (meta["records_read"], meta["records_written"], meta["records_failed"], meta["error_rate"]) == (2, 2, 0, 0.0)
    assert meta["bytes_read"] > 0 and meta["bytes_written"] > 0 and meta["duration_seconds"] >= 0


def test_wrong_delimiter_fails_naming_the_file_and_the_columns(project: Callable[..., Run]) -> None:
    run = project(MEMBERS, {"data/members.csv": "login;team;age;joined_on\nann;core;30;2024-01-02\n"})
    assert not run.success
    message = run.error()
    assert "members.csv, line 1: expected columns login,team,age,joined_on, found 'login;team;age;joined_on' - wrong delimiter?" in message
    assert not (run.data_dir / "lake" / "staged").exists()  # nothing half-written


def test_missing_required_columns_fail(project: Callable[..., Run]) -> None:
    run = project(MEMBERS, {"data/members.csv": "login,team\nann,core\n"})
    assert not run.success
    assert "members.csv, line 1: missing required columns age, joined_on (the header has login, team)" in run.error()


def test_required_columns_of_an_inferred_table(project: Callable[..., Run]) -> None:
    config = "  - name: members\n    kind: csv\n    path: data/m.csv\n    infer: true\n    checks: {required: [login, age]}\n"
    run = project(config, {"data/m.csv": "login,team\nann,core\n"})
    assert "m.csv, line 1: missing required columns age" in run.error()


def test_bad_encoding_names_the_byte_offset_and_line(project: Callable[..., Run]) -> None:
    data = "login,team,age,joined_on\nann,core,30,2024-01-02\n".encode() + "jos\xe9,core,30,2024-01-02\n".encode("latin-1")
    run = project(MEMBERS, {"data/members.csv": data})
    assert not run.success
    offset = data.index(b"\xe9")
    assert f"members.csv: not UTF-8 at byte offset {offset} (line 3, byte 0xe9): save the file as UTF-8" in run.error()


@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "quoted"])
def test_ragged_rows_are_quarantined_with_their_line(project: Callable[..., Run], quoted: bool) -> None:
    note = '"multi\nline"' if quoted else "x"
    rows = f"login,team,age,joined_on\nann,core,30,2024-01-02\nbob,web,{note}\n\ncid,web,3,2024-01-02,extra\ndee,ops,50,2024-03-04\n"
    run = project(MEMBERS, {"data/members.csv": rows})
    assert not run.success  # the blocking schema check fails the step; the good rows are staged all the same
    bad = run.quarantined("members").sort("source_line")
    assert bad["source_line"].to_list() == [3, 6 if quoted else 5]
    assert bad["quarantine_reason"].to_list() == [
        "line 3: 3 fields, expected 4 (ragged row)",
        f"line {6 if quoted else 5}: 5 fields, expected 4 (ragged row)",
    ]
    assert all(f.endswith("members.csv") for f in bad["source_file"])
    assert run.staged("members")["login"].to_list() == ["ann", "dee"]
    assert run.checks() == {"members_schema": False, "members_reconciled": True}
    meta = run.metadata("members")
    assert (meta["records_read"], meta["records_written"], meta["records_failed"], meta["blank_lines_skipped"]) == (4, 2, 2, 1)
    assert meta["error_rate"] == 0.5


def test_type_errors_are_quarantined_with_the_reason(project: Callable[..., Run]) -> None:
    rows = "login,team,age,joined_on\nann,core,thirty,2024-01-02\nbob,web,41,2024-02-30\n\"cid, jr\",web,7,2024-02-01\n"
    run = project(MEMBERS, {"data/members.csv": rows})
    bad = run.quarantined("members").sort("source_line")
    assert bad.select("login", "age", "joined_on", "quarantine_reason", "source_line").rows() == [
        ("ann", "thirty", "2024-01-02", "age: not an int (value thirty)", 2),
        ("bob", "41", "2024-02-30", "joined_on: not a date (YYYY-MM-DD) (value 2024-02-30)", 3),
    ]
    assert run.staged("members")["login"].to_list() == ["cid, jr"]


def test_a_glob_reads_every_file_and_an_empty_match_fails(project: Callable[..., Run]) -> None:
    config = MEMBERS.replace("data/members.csv", "data/part-*.csv")
    files = {
        "data/part-1.csv": "login,team,age,joined_on\nann,core,30,2024-01-02\n",
        "data/part-2.csv": "joined_on,age,login,team,extra\n2024-01-03,31,bob,web,zzz\n",
    }
    run = project(config, files)
    assert run.success, run.error()
    assert sorted(run.staged("members")["login"]) == ["ann", "bob"]
    assert run.metadata("members")["files"] == 2
    assert run.metadata("members")["ignored_columns"] == ["extra"]
    run = project(MEMBERS.replace("data/members.csv", "nowhere/*.csv"))
    assert "nowhere/*.csv: no file matches this path" in run.error()
