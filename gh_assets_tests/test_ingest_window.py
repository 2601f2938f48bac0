"""The window `gh-assets ingest` covers: the last 7 days by default, --since Nd, --start/--end, and one clear error per bad input."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from gh_assets import cli
from gh_assets.ingest_window import WindowError, ingest_window, parse_day, parse_since

TODAY = date(2026, 3, 10)


@pytest.mark.parametrize(
    ("start", "end", "since", "expected"),
    [
        (None, None, None, (date(2026, 3, 4), TODAY)),  # the last 7 days, today included
        (None, None, 30, (date(2026, 2, 9), TODAY)),
        (None, date(2026, 1, 31), 30, (date(2026, 1, 2), date(2026, 1, 31))),
        (None, date(2026, 1, 31), None, (date(2026, 1, 25), date(2026, 1, 31))),
        (date(2026, 3, 1), None, None, (date(2026, 3, 1), TODAY)),
        (date(2025, 1, 1), date(2025, 1, 31), None, (date(2025, 1, 1), date(2025, 1, 31))),
        (date(2025, 1, 1), date(2025, 1, 1), None, (date(2025, 1, 1), date(2025, 1, 1))),
    ],
)
def test_window(start: date | None, end: date | None, since: int | None, expected: tuple[date, date]) -> None:
    assert ingest_window(start, end, since, TODAY) == expected


@pytest.mark.parametrize(
    ("start", "end", "since", "message"),
    [
        (date(2025, 2, 1), date(2025, 1, 31), None, "--start 2025-02-01 is after --end 2025-01-31"),
        (date(2026, 4, 1), None, None, "--start 2026-04-01 is after today (2026-03-10)"),
        (date(2026, 3, 1), None, 5, "--since and --start both set the first day"),
    ],
)
def test_window_errors(start: date, end: date | None, since: int | None, message: str) -> None:
    with pytest.raises(WindowError, match=re.escape(message)):
        ingest_window(start, end, since, TODAY)


@pytest.mark.parametrize(
    ("value", "message"),
    [("2025-02-30", "2025-02-30 is not a day of the calendar (day is out of range for month)"),
     ("2025-13-01", "2025-13-01 is not a day of the calendar (month must be in 1..12)"),
     ("31/01/2025", "'31/01/2025' is not a date: write YYYY-MM-DD"),
     ("20250131", "'20250131' is not a date: write YYYY-MM-DD")],
)
def test_impossible_and_malformed_days(value: str, message: str) -> None:
    with pytest.raises(WindowError, match=re.escape(message)):
        parse_day(value)


@pytest.mark.parametrize(("value", "message"), [("30", "'30' is not a number of days: write e.g. 30d"), ("1w", "'1w' is not a number"),
                                                ("-3d", "'-3d' is not a number"), ("0d", "0d: the window must cover at least one day")])
def test_bad_since(value: str, message: str) -> None:
    assert parse_since("30d") == 30 and parse_since(" 7d ") == 7
    with pytest.raises(WindowError, match=message):
        parse_since(value)


@pytest.fixture
def ranges(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, date, date]]:
    """Every range the command would run, with nothing run, resolved or printed."""
    seen: list[tuple[str, date, date]] = []

    def run_range(instance: object, repo: str, start: date, end: date, *args: object, **kwargs: object) -> cli.RunOutcome:
        seen.append((repo, start, end))
        return cli.RunOutcome(repo, start, end, True, [], None)

    monkeypatch.setattr(cli, "load_sources", lambda *a, **k: None)
    monkeypatch.setattr(cli, "_instance", lambda *a: None)
    monkeypatch.setattr(cli, "_resolve_on_github", lambda instance, repos: (list(repos), []))
    monkeypatch.setattr(cli, "_ensure_partitions", lambda instance, repos: list(repos))
    monkeypatch.setattr(cli, "_run_range", run_range)
    for name in ("_run_analytics", "_run_publish", "_print_summary", "_print_completeness"):
        monkeypatch.setattr(cli, name, lambda *a, **k: None)
    return seen


def test_ingest_without_dates_runs_the_last_seven_days(ranges: list[tuple[str, date, date]]) -> None:
    today = datetime.now(tz=UTC).date()
    assert cli.main(["ingest", "--repo", "o/r"]) == 0
    assert ranges == [("o/r", today - timedelta(days=6), today)]
    assert cli.main(["ingest", "--repo", "o/r", "--since", "30d"]) == 0
    assert ranges[-1] == ("o/r", today - timedelta(days=29), today)
    assert cli.main(["ingest", "--repo", "o/r", "--start", "2025-01-01", "--end", "2025-01-31"]) == 0
    assert ranges[-1] == ("o/r", date(2025, 1, 1), date(2025, 1, 31))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--start", "2025-02-01", "--end", "2025-01-31"], "gh-assets: --start 2025-02-01 is after --end 2025-01-31"),
        (["--start", "2025-02-30"], "argument --start: 2025-02-30 is not a day of the calendar (day is out of range for month)"),
        (["--end", "2025-1-5"], "argument --end: '2025-1-5' is not a date: write YYYY-MM-DD"),
        (["--since", "thirty"], "argument --since: 'thirty' is not a number of days: write e.g. 30d"),
        (["--since", "3d", "--start", "2025-01-01"], "gh-assets: --since and --start both set the first day: give one of them"),
    ],
)
def test_one_clear_error_each(argv: list[str], message: str, ranges: list[tuple[str, date, date]], capsys: pytest.CaptureFixture[str]) -> None:
    if message.startswith("argument"):  # refused by the parser, before the command runs
        with pytest.raises(SystemExit) as exit_info:
            cli.main(["ingest", "--repo", "o/r", *argv])
        assert exit_info.value.code == 2
    else:
        assert cli.main(["ingest", "--repo", "o/r", *argv]) == 2
    err = capsys.readouterr().err
    assert message in " ".join(err.split()) and not ranges
    assert "Traceback" not in err


def test_repair_needs_no_dates(monkeypatch: pytest.MonkeyPatch) -> None:
    called: list[bool] = []
    monkeypatch.setattr(cli, "_repair", lambda args: called.append(args.start is None and args.end is None and args.since is None) or 0)
    assert cli.main(["ingest", "--repair"]) == 0
    assert called == [True]
