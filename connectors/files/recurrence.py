"""Recurring events of ``events.jsonl``: a series before expansion, and its occurrences.

An optional ``timezone`` names the zone a series repeats in, so a weekly
09:00 stays 09:00 across daylight saving; ``exdate`` lists skipped
occurrences. The common weekly rule is expanded without dateutil.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule as du_rrule

from connectors.base import Interaction, InteractionKind
from connectors.files.fields import BadRecord, check_interval, lower_all, parse_time
from connectors.files.limits import check_rule_text, window_cap

UTC = dt.UTC
_MEETING = InteractionKind.MEETING


class _Recurrence(Protocol):
    def xafter(self, when: dt.datetime, count: int | None = None,
               inc: bool = False) -> Iterator[dt.datetime]: ...


@dataclass(slots=True)
class Weekly:
    """The common rule (every n weeks, maybe UNTIL or COUNT, nothing else) without dateutil.

    dateutil walks every occurrence from the first one on each call; this jumps
    straight to the window. Adding whole weeks to an aware time keeps its wall
    clock time, as dateutil does, so daylight saving behaves the same.
    """

    start: dt.datetime
    interval: int
    count: int | None
    until: dt.datetime | None
    skip: frozenset[dt.datetime]

    def between(self, after: dt.datetime, before: dt.datetime,
                inc: bool = False) -> list[dt.datetime]:
        return [local for local, _ in self.pairs(after, before)]

    def pairs(self, after: dt.datetime, before: dt.datetime
              ) -> list[tuple[dt.datetime, dt.datetime]]:
        """Occurrences in ``[after, before]`` as (local time, the same in UTC)."""
        step = dt.timedelta(weeks=self.interval)
        # Compared in UTC: times sharing one tzinfo compare without offset look-ups.
        lo, hi = after.astimezone(UTC), before.astimezone(UTC)
        until = self.until if self.until is not None else hi
        end = min(hi, until)
        # a day's slack absorbs daylight saving; the comparisons below are exact
        k = max(0, (lo - self.start - dt.timedelta(days=1)) // step)
        stop = self.count if self.count is not None else 1 << 62
        out: list[tuple[dt.datetime, dt.datetime]] = []
        while k < stop:
            local = self.start + k * step
            utc = local.astimezone(UTC)
            if utc > end:
                break
            if utc >= lo and utc not in self.skip:
                out.append((local, utc))
            k += 1
        return out


_SIMPLE_WEEKLY = re.compile(r"^(?:FREQ=WEEKLY|INTERVAL=\d+|COUNT=\d+|UNTIL=\d{8}T\d{6}Z)$")


def simple_weekly(rule: str, start: dt.datetime,
                   exdates: list[dt.datetime]) -> Weekly | None:
    parts = rule.upper().removeprefix("RRULE:").strip().split(";")
    if "FREQ=WEEKLY" not in parts or not all(_SIMPLE_WEEKLY.match(p) for p in parts):
        return None
    fields = dict(p.split("=", 1) for p in parts)
    if "COUNT" in fields and "UNTIL" in fields:
        return None
    until = None
    if "UNTIL" in fields:
        until = dt.datetime.strptime(fields["UNTIL"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    interval = int(fields.get("INTERVAL", "1"))
    if interval < 1:
        return None
    count = int(fields["COUNT"]) if "COUNT" in fields else None
    return Weekly(start, interval, count, until, frozenset(x.astimezone(UTC) for x in exdates))


@dataclass(slots=True)
class Series:
    """A recurring event from events.jsonl, before expansion."""

    first: Interaction
    end_offset: dt.timedelta
    rules: _Recurrence | Weekly
    #: Set when an expansion stopped at :func:`window_cap`; the reader reports it.
    capped: bool = False

    def between(self, lo: dt.datetime | None, hi: dt.datetime) -> Iterator[Interaction]:
        """Occurrences starting in ``[lo, hi)`` (from the first one when lo is None).

        At most :func:`window_cap` of them: more sets :attr:`capped`.
        """
        f = self.first
        after = lo or f.start - dt.timedelta(seconds=1)
        if isinstance(self.rules, Weekly):
            pairs = self.rules.pairs(after, hi)  # once a week at most: never near the cap
        else:
            pairs = self._capped(self.rules, after, hi)
        lo_utc, hi_utc = (lo.astimezone(UTC) if lo else None), hi.astimezone(UTC)
        for s, utc in pairs:
            if (lo_utc is None or utc >= lo_utc) and utc < hi_utc:
                yield Interaction(f"{f.id}@{utc.isoformat()}", _MEETING, s,
                                  f.participants, f.size, f.duration, f.cancelled)

    def _capped(self, rules: _Recurrence, after: dt.datetime, hi: dt.datetime
                ) -> list[tuple[dt.datetime, dt.datetime]]:
        # Lazily, one past the cap at most: an RDATE list or a dense rule costs no more.
        cap = window_cap(max(after, self.first.start), hi)
        out: list[tuple[dt.datetime, dt.datetime]] = []
        for s in rules.xafter(after, count=cap + 1, inc=True):
            if s >= hi:
                break
            out.append((s, s.astimezone(UTC)))
        if len(out) > cap:
            self.capped = True
            del out[cap:]
        return out


def series(meeting: Interaction, rule: object, zone: object, exdates: object) -> Series:
    """The meeting repeated by ``rule`` (an RRULE), in ``zone``, skipping ``exdates``."""
    if not isinstance(rule, str):
        raise BadRecord("rrule is not a string")
    check_interval(rule)
    check_rule_text(rule)
    start = meeting.start
    if zone:
        try:
            start = start.astimezone(ZoneInfo(str(zone)))
        except (ZoneInfoNotFoundError, ValueError):
            raise BadRecord(f"unknown time zone {zone!r}") from None
        meeting = Interaction(meeting.id, _MEETING, start, meeting.participants, meeting.size,
                              meeting.duration, meeting.cancelled)
    skip = [parse_time(ex.upper(), "exdate")
            for ex in (lower_all(exdates, "exdate") if exdates else [])]
    weekly = simple_weekly(rule, start, skip)
    if weekly is not None:
        return Series(meeting, meeting.duration, weekly)
    text = rule if rule.upper().startswith("RRULE:") else f"RRULE:{rule}"
    try:
        rules = du_rrule.rrulestr(text, dtstart=start, forceset=True)
    except (ValueError, TypeError) as exc:
        raise BadRecord(f"rrule {rule!r} is not usable: {exc}") from None
    assert isinstance(rules, du_rrule.rruleset)
    for ex in skip:
        rules.exdate(ex)
    return Series(meeting, meeting.duration, rules)

