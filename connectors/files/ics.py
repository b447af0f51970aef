"""``calendar/*.ics``: iCalendar exports, read for metadata only.

Only the properties in ``_ICS_KEEP`` survive parsing: no summary,
description or location is ever kept. All-day entries are not meetings.
A file is re-read whole when its fingerprint changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import icalendar
import recurring_ical_events

from connectors.base import Interaction, InteractionKind, Problems, Response
from connectors.files.fields import BadRecord, check_interval, plausible

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
            kept = _clean_event(ev)
        except BadRecord as exc:
            if problems is not None:
                problems.report(path, where, str(exc))
            continue
        if kept is None:
            continue
        start = kept.decoded("DTSTART")
        out.events.append(kept)
        if out.latest is None or start > out.latest:
            out.latest = start
    return out


def _clean_event(ev: icalendar.cal.Component) -> icalendar.Event | None:
    """A copy with metadata only; None for all-day events (not meetings)."""
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
    if "RRULE" in ev:
        rule = ev["RRULE"].to_ical()
        check_interval(rule.decode() if isinstance(rule, bytes) else str(rule))
    kept = icalendar.Event()
    for name in _ICS_KEEP:
        if name in ev:
            kept[name] = ev[name]
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
    for occ in occurrences:
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

