"""Week arithmetic: the ledger's unit of time.

Weeks run Monday to Sunday in UTC and are numbered from ``WEEK_EPOCH``, so a
week index means the same on every machine whatever its time zone.
"""

from __future__ import annotations

import datetime as dt

WEEK_EPOCH = dt.date(1970, 1, 5)  # a Monday
EPOCH_SECONDS = 4 * 86_400  # WEEK_EPOCH at 00:00 UTC, as a POSIX timestamp
WEEK_SECONDS = 7 * 86_400


def week_of(moment: dt.datetime) -> int:
    """The index of the week ``moment`` falls in."""
    return (moment.astimezone(dt.UTC).date() - WEEK_EPOCH).days // 7


def week_of_timestamp(timestamp: float) -> int:
    """``week_of`` for a POSIX timestamp (the counting loop has timestamps, not datetimes)."""
    return (int(timestamp) - EPOCH_SECONDS) // WEEK_SECONDS


def week_start(week: int) -> dt.date:
    """The Monday a week index begins on."""
    return WEEK_EPOCH + dt.timedelta(weeks=week)
