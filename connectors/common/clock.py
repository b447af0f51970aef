"""Time comes from an injected clock so the core stays pure and tests stay exact."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def fixed_clock(moment: dt.datetime) -> Clock:
    if moment.tzinfo is None:
        raise ValueError("a clock must give aware datetimes")
    return lambda: moment
