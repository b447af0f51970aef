"""``calendar/*.ics``: iCalendar exports, read for metadata only.

Only the properties in ``_ICS_KEEP`` survive parsing: no summary,
description or location is ever kept. All-day entries are not meetings.
A file is re-read whole when its fingerprint changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import icalendar
import recurring_ical_events

from connectors.base import Interaction, InteractionKind, Problems, Response
from connectors.files.fields import BadRecord, check_interval, plausible
from connectors.files.limits import MAX_PER_DAY, check_frequency, window_cap

UTC = dt.UTC
_MEETING = InteractionKind.MEETING
#: The property that marks an event (in holds.ics, or an export of it) as Bridgework's.
MARK_PROPERTY = "X-BRIDGEWORK-MARK"


def address(value: object) -> str:
    text = str(value).strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    return text.lower()


PARTSTAT = {"ACCEPTED": Response.ACCEPTED, "DECLINED": Response.DECLINED,
             "TENTATIVE": Response.TENTATIVE, "NEEDS-ACTION": Response.NEEDS_ACTION}
#: The only event properties kept from a calendar file: no summary, description or location.
_ICS_KEEP = ("UID", "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID",
             "STATUS", "ORGANIZER", "ATTENDEE", "SEQUENCE", MARK_PROPERTY)


def as_list(value: object) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _attendance(ev: icalendar.cal.Component, owner: str | None) -> tuple[tuple[str, ...], int]:
    """People who did not decline (organiser first) and how many were invited."""
    organizer = ev.get("ORGANIZER")
    invitees: dict[str, str] = {}
    if organizer is not None:
        invitees[address(organizer)] = "ACCEPTED"
    for att in as_list(ev.get("ATTENDEE")):
        who = address(att)
        invitees[who] = str(getattr(att, "params", {}).get("PARTSTAT", "NEEDS-ACTION")).upper()
    if not invitees and owner:
        invitees[owner] = "ACCEPTED"
    people = tuple(p for p, state in invitees.items() if state != "DECLINED" and "@" in p)
    return people, len(invitees)


@dataclass(slots=True)
class IcsFile:
    path: Path
    problems: Problems | None
    events: list[icalendar.Event] = field(default_factory=list)
    latest: dt.datetime | None = None
    #: The line of each kept event's BEGIN:VEVENT, by UID, to locate what expansion finds.
    lines: dict[str, int] = field(default_factory=dict)

    def report(self, line: int, what: str) -> None:
        if self.problems is not None:
            self.problems.report(self.path, line, what)


def load_ics(path: Path, problems: Problems | None) -> IcsFile:
    """Parse a calendar file and keep only well-formed events, stripped to metadata."""
    out = IcsFile(path, problems)
    try:
        data = path.read_bytes()
        calendars = icalendar.Calendar.from_ical(data, multiple=True)
    except (ValueError, IndexError, KeyError, TypeError, OSError) as exc:
        if problems is not None:
            problems.report(path, 1, f"not a readable iCalendar file ({type(exc).__name__})")
        return out
    if not calendars:
        if problems is not None:
            problems.report(path, 1, "no VCALENDAR found")
        return out
    lines = [n for n, text in enumerate(data.splitlines(), 1)
             if text.strip().upper() == b"BEGIN:VEVENT"]
    events = [ev for cal in calendars for ev in cal.walk("VEVENT")]
    for n, ev in enumerate(events):
        where = lines[n] if n < len(lines) else 1
        try:
            kept = _clean_event(ev, partial(out.report, where))
        except BadRecord as exc:
            out.report(where, str(exc))
            continue
        if kept is None:
            continue
        start = kept.decoded("DTSTART")
        out.events.append(kept)
        out.lines.setdefault(str(kept["UID"]), where)
        if out.latest is None or start > out.latest:
            out.latest = start
    return out


def _clean_event(ev: icalendar.cal.Component,
                 warn: Callable[[str], None]) -> icalendar.Event | None:
    """A copy with metadata only; None for all-day events (not meetings).

    A broken RDATE or EXDATE is left out (and ``warn`` told) so the series
    stays; a broken or too frequent RRULE drops the event.
    """
    if "UID" not in ev:
        raise BadRecord("VEVENT without UID")
    if "DTSTART" not in ev:
        raise BadRecord(f"event {ev['UID']} has no DTSTART")
    try:
        start = ev.decoded("DTSTART")
        end = ev.decoded("DTEND") if "DTEND" in ev else None
    except (ValueError, TypeError, KeyError) as exc:
        raise BadRecord(f"event {ev['UID']}: unreadable time ({exc})") from None
    if not isinstance(start, dt.datetime):
        return None  # an all-day entry: a holiday or an out-of-office note, not a meeting
    if start.tzinfo is None or (isinstance(end, dt.datetime) and end.tzinfo is None):
        raise BadRecord(f"event {ev['UID']} has a floating time (no UTC offset or TZID)")
    plausible(start, f"event {ev['UID']} DTSTART", start.isoformat())
    for rule in as_list(ev.get("RRULE")):
        if isinstance(rule, icalendar.vBroken):
            raise BadRecord(f"event {ev['UID']}: unreadable RRULE")
        text = rule.to_ical()
        check_interval(text.decode() if isinstance(text, bytes) else str(text))
        try:
            check_frequency(rule)
        except BadRecord as exc:
            raise BadRecord(f"event {ev['UID']}: {exc}") from None
    kept = icalendar.Event()
    for name in _ICS_KEEP:
        if name not in ev:
            continue
        values = as_list(ev[name])
        usable = [v for v in values if not isinstance(v, icalendar.vBroken)]
        if len(usable) < len(values):
            warn(f"event {ev['UID']}: unreadable {name} left out, the rest of the event kept")
            if not usable:
                continue
        kept[name] = usable if isinstance(ev[name], list) else usable[0]
    return kept


def ics_occurrences(ics: IcsFile, lo: dt.datetime, hi: dt.datetime) -> Iterator[Interaction]:
    """Every occurrence starting in ``[lo, hi)``, recurring events expanded."""
    owner = ics.path.stem.lower() if "@" in ics.path.stem else None
    if not ics.events:
        return
    cal = icalendar.Calendar()
    for ev in ics.events:
        cal.add_component(ev)
    try:
        occurrences = recurring_ical_events.of(cal, skip_bad_series=True).between(lo, hi)
    except Exception as exc:  # the library's errors have no common base class
        if ics.problems is not None:
            ics.problems.report(ics.path, 1, f"cannot expand recurring events ({exc})")
        return
    for occ in _capped(ics, occurrences, hi):
        start = occ.decoded("DTSTART")
        if not isinstance(start, dt.datetime) or start.tzinfo is None:
            continue
        length = occ.decoded("DURATION", dt.timedelta())
        end = occ.decoded("DTEND") if "DTEND" in occ else start + length
        people, size = _attendance(occ, owner)
        if not people:
            continue
        cancelled = str(occ.get("STATUS", "")).upper() == "CANCELLED"
        yield Interaction(f"{occ['UID']}@{start.astimezone(UTC).isoformat()}", _MEETING, start,
                          people, size, end - start, cancelled)



def _capped(ics: IcsFile, occurrences: list[icalendar.cal.Component],
            hi: dt.datetime) -> Iterator[icalendar.cal.Component]:
    """The occurrences, each series' stopping at its :func:`window_cap` (reported once)."""
    first: dict[str, dt.datetime] = {}
    counts: dict[str, int] = {}
    for occ in sorted(occurrences, key=_utc_start):
        uid = str(occ.get("UID", ""))
        start = first.setdefault(uid, _utc_start(occ))
        seen = counts[uid] = counts.get(uid, 0) + 1
        cap = window_cap(start, hi)
        if seen == cap + 1:
            ics.report(ics.lines.get(uid, 1), f"event {uid} has more occurrences than "
                       f"{MAX_PER_DAY} a day on average; only the first ones were kept")
        if seen <= cap:
            yield occ


def _utc_start(occ: icalendar.cal.Component) -> dt.datetime:
    start = occ.decoded("DTSTART")
    if not isinstance(start, dt.datetime):
        start = dt.datetime.combine(start, dt.time())
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return start.astimezone(UTC)
