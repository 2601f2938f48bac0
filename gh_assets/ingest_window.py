"""The window of days `gh-assets ingest` covers: explicit dates, `--since Nd`, or the last 7 days (no Dagster)."""

from __future__ import annotations

import re
from datetime import date, timedelta

DEFAULT_DAYS = 7
_SINCE = re.compile(r"(\d+)d")


class WindowError(ValueError):
    """The dates given to a command do not make a window; the message names the option and what to type."""


def parse_day(value: str) -> date:
    """``YYYY-MM-DD`` as a date; an impossible one (``2025-02-30``) is refused with the reason."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise WindowError(f"{value!r} is not a date: write YYYY-MM-DD, e.g. 2025-01-31")
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise WindowError(f"{value} is not a day of the calendar ({exc})") from None


def parse_since(value: str) -> int:
    """``30d`` as 30 days (at least 1)."""
    match = _SINCE.fullmatch(value.strip())
    if not match:
        raise WindowError(f"{value!r} is not a number of days: write e.g. 30d for the last 30 days")
    days = int(match.group(1))
    if days < 1:
        raise WindowError(f"{value}: the window must cover at least one day (1d)")
    return days


def ingest_window(start: date | None, end: date | None, since_days: int | None, today: date) -> tuple[date, date]:
    """``[start, end]``: given dates win; ``--since N`` is the N days ending at ``end`` (default today); with no
    date at all, the last :data:`DEFAULT_DAYS` days including today; ``--start`` alone runs to today."""
    if since_days is not None and start is not None:
        raise WindowError("--since and --start both set the first day: give one of them")
    last = end or today
    if start is None:
        start = last - timedelta(days=(since_days or DEFAULT_DAYS) - 1)
    if start > last:
        raise WindowError(f"--start {start} is after --end {last}" if end else f"--start {start} is after today ({today}): give --end too, or an earlier --start")
    return start, last
