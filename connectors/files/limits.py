"""How often a recurring meeting may repeat, so that no export can make a sync hang.

A valid rule such as ``FREQ=SECONDLY`` expands to millions of occurrences, each
one a phantom meeting, and takes minutes and gigabytes to do it. Meetings
repeat at most daily, a few times a day at most: rules that repeat faster are
refused before expansion, and what a series adds to one window is capped.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping

from connectors.files.fields import BadRecord

#: Frequencies that repeat within a day: no meeting series is held this often.
SUB_DAILY = frozenset({"SECONDLY", "MINUTELY", "HOURLY"})
#: Occurrences one series may add per day of the window it is expanded in, on average.
#: A daily meeting adds one; twice a day is the most a person's real series does.
MAX_PER_DAY = 2
#: Also the fewest a series may add to any window, so a short window never cuts a real series.
MIN_PER_WINDOW = 14

_BY_TIME = ("BYHOUR", "BYMINUTE", "BYSECOND")


def rule_parts(line: str) -> dict[str, list[str]]:
    """``FREQ=DAILY;BYHOUR=9,14`` (an optional ``RRULE:`` prefix) as upper-case name -> values."""
    body = line.strip().upper()
    for prefix in ("RRULE:", "EXRULE:"):
        body = body.removeprefix(prefix)
    parts: dict[str, list[str]] = {}
    for item in body.split(";"):
        name, _, values = item.partition("=")
        if name.strip():
            parts[name.strip()] = [v.strip() for v in values.split(",") if v.strip()]
    return parts


def check_frequency(parts: Mapping[str, Iterable[object]]) -> None:
    """Refuse a rule that repeats within a day (by FREQ, or by BYHOUR/BYMINUTE/BYSECOND lists).

    :raises BadRecord: naming the part of the rule that repeats too often.
    """
    freq = [str(f).upper() for f in parts.get("FREQ", ())]
    if freq and freq[0] in SUB_DAILY:
        raise BadRecord(f"FREQ={freq[0]} repeats within a day; a meeting series repeats "
                          "daily at most")
    per_day = 1
    for name in _BY_TIME:
        per_day *= max(1, len(list(parts.get(name, ()))))
    if per_day > MAX_PER_DAY:
        listed = "/".join(n for n in _BY_TIME if n in parts)
        raise BadRecord(f"{listed} make {per_day} meetings a day; a meeting series has "
                          f"at most {MAX_PER_DAY}")


def check_rule_text(text: str) -> None:
    """:func:`check_frequency` for every RRULE and EXRULE line of a rule written as text.

    :raises BadRecord: as :func:`check_frequency`.
    """
    for line in text.splitlines() or [text]:
        head = line.strip().upper()
        if head.startswith(("RDATE", "EXDATE", "DTSTART")):
            continue
        check_frequency(rule_parts(line))


def window_cap(first: dt.datetime, end: dt.datetime) -> int:
    """How many occurrences one series may add between ``first`` and ``end``."""
    days = max(0.0, (end - first).total_seconds() / 86400)
    return max(MIN_PER_WINDOW, math.ceil(days * MAX_PER_DAY))
