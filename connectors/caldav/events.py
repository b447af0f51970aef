"""iCalendar objects as meeting metadata, busy time, and Bridgework's hold events.

Pure functions: text in, metadata out. One CalDAV object is one VCALENDAR
holding one event series (the master and its overridden occurrences), so it
is parsed and expanded on its own; a broken object becomes a
:class:`BadObject` with the reason, and never stops the others.

Only who, when and how long are read: summary, description, location and
attachments are never looked at.
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from connectors.base import (
    Busy,
    Hold,
    HoldMode,
    HoldState,
    Interaction,
    InteractionKind,
    Response,
)

log = logging.getLogger(__name__)

#: The property that marks an event as Bridgework's own; its value is ``hold.mark``.
MARK_PROPERTY = "X-BRIDGEWORK-HOLD"
PRODID = "-//Bridgework//CalDAV holds//EN"
_NOT_PEOPLE = {"RESOURCE", "ROOM"}
_PARTSTAT = {
    "ACCEPTED": Response.ACCEPTED,
    "DECLINED": Response.DECLINED,
    "TENTATIVE": Response.TENTATIVE,
    "NEEDS-ACTION": Response.NEEDS_ACTION,
}
_PARTSTAT_OUT = {v: k for k, v in _PARTSTAT.items()}
_SERIES_ERRORS = (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError,
                  AssertionError, ZeroDivisionError, RecursionError)


class BadObject(ValueError):
    """One calendar object that cannot be read; the message says why."""


def parse_object(data: str | bytes) -> icalendar.Calendar:
    """One VCALENDAR from a server's calendar-data.

    :raises BadObject: it is not iCalendar, or not a VCALENDAR.
    """
    try:
        with warnings.catch_warnings():
            # vendor TZIDs ("/mozilla.org/.../Europe/Berlin") are common and read correctly
            warnings.simplefilter("ignore", icalendar.error.GloballyUniqueTZIDGuessed)
            cal = icalendar.Calendar.from_ical(data)
    except _SERIES_ERRORS as exc:
        raise BadObject(f"not iCalendar ({type(exc).__name__}: {_short(exc)})") from None
    if not isinstance(cal, icalendar.Calendar):
        raise BadObject("not a VCALENDAR")
    return cal


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text[:160]


def address(value: object) -> str:
    """A calendar user address as a lower-case e-mail ("" when it is not mailto:)."""
    text = str(value).strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    return text.lower() if "@" in text else ""


def _listed(value: object) -> list[object]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _value(component: icalendar.cal.Component, name: str) -> Any:
    """A property's date, time or period value (None when absent or not a time)."""
    return getattr(component.get(name), "dt", None)


def _aware(value: object, zone: ZoneInfo) -> dt.datetime | None:
    """An event time as an aware datetime; floating times are the owner's; None for dates."""
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


@dataclass(frozen=True, slots=True)
class Attendance:
    organizer: str
    present: tuple[str, ...]  # organiser first, without those who declined
    invited: int  # people invited (rooms and resources left out), declined included
    partstat: dict[str, Response]


def attendance(event: icalendar.cal.Component, owner: str) -> Attendance:
    organizer = address(event.get("ORGANIZER")) or owner
    people, declined, partstat = [], set(), {}
    for attendee in _listed(event.get("ATTENDEE")):
        params = getattr(attendee, "params", {})
        if str(params.get("CUTYPE", "INDIVIDUAL")).upper() in _NOT_PEOPLE:
            continue
        who = address(attendee)
        if not who:
            continue
        people.append(who)
        state = _PARTSTAT.get(str(params.get("PARTSTAT", "NEEDS-ACTION")).upper(),
                              Response.NEEDS_ACTION)
        partstat[who] = state
        if state is Response.DECLINED:
            declined.add(who)
    if not people:
        return Attendance(organizer, (organizer,), 1, partstat)
    ordered = ([organizer] if organizer not in declined else []) + \
        [p for p in people if p not in declined]
    return Attendance(organizer, tuple(dict.fromkeys(ordered)), len(dict.fromkeys(people)),
                      partstat)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence of an event, with what the pipeline and free/busy need."""

    id: str
    start: dt.datetime
    end: dt.datetime
    attendance: Attendance
    cancelled: bool
    transparent: bool

    def interaction(self) -> Interaction:
        return Interaction(self.id, InteractionKind.MEETING, self.start, self.attendance.present,
                           self.attendance.invited, max(self.end - self.start, dt.timedelta(0)),
                           self.cancelled)

    def busy_for(self, email: str) -> bool:
        if self.cancelled or self.transparent:
            return False
        return self.attendance.partstat.get(email) is not Response.DECLINED


def occurrence_id(uid: str, recurrence: dt.datetime | None) -> str:
    """The same for a meeting whichever attendee's calendar it was read from."""
    if recurrence is None:
        return f"caldav:{uid}"
    return f"caldav:{uid}@{recurrence.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"


_PERIOD = {"SECONDLY": 1, "MINUTELY": 60, "HOURLY": 3600, "DAILY": 86400, "WEEKLY": 604800,
           "MONTHLY": 2_629_746, "YEARLY": 31_556_952}  # seconds (months and years on average)
#: Rule steps worth computing for one series: a rule that would take more (a minutely rule
#: started years ago) is reported instead of expanded, so no object can stall a sync.
MAX_RULE_STEPS = 50_000


def _steps(rule: Any, start: object, hi: dt.datetime, lo: dt.datetime | None = None) -> float:
    """An upper bound of the occurrences a rule makes from its start (or ``lo``) to ``hi``."""
    freq = str((rule.get("FREQ") or ["DAILY"])[0]).upper()
    period = _PERIOD.get(freq, 86400) * max(int((rule.get("INTERVAL") or [1])[0]), 1)
    begin = start if isinstance(start, dt.datetime) else dt.datetime(2000, 1, 1)
    begin = begin if begin.tzinfo else begin.replace(tzinfo=dt.UTC)
    if lo is not None:
        begin = max(begin, lo)
    until = (rule.get("UNTIL") or [None])[0]
    end = hi
    if isinstance(until, dt.datetime):
        end = min(hi, until if until.tzinfo else until.replace(tzinfo=dt.UTC))
    steps = max((end - begin).total_seconds(), 0) / period + 1
    if rule.get("COUNT"):
        steps = min(steps, float(rule["COUNT"][0]))
    spread = 1.0
    for part, per in (("BYSECOND", 1), ("BYMINUTE", 1), ("BYHOUR", 1), ("BYYEARDAY", 1),
                      ("BYMONTHDAY", 12 if freq == "YEARLY" else 1), ("BYMONTH", 1),
                      ("BYDAY", {"YEARLY": 53, "MONTHLY": 5}.get(freq, 1))):
        if rule.get(part):
            spread *= len(rule[part]) * per
    return steps * spread


def occurrences(cal: icalendar.Calendar, owner: str, zone: ZoneInfo, lo: dt.datetime,
                hi: dt.datetime, cap: int) -> list[Occurrence]:
    """Timed occurrences overlapping [lo, hi), recurrences expanded, in order of start.

    All-day events are left out (they are not meetings). Floating times are read
    in the owner's zone.

    :raises BadObject: the object or its series cannot be read (a broken property or
        rule, no UID, more than ``cap`` occurrences in the window, or a rule too costly
        to expand).
    """
    try:
        return _occurrences(cal, owner, zone, lo, hi, cap)
    except BadObject:
        raise
    except _SERIES_ERRORS as exc:
        raise BadObject(f"cannot expand the series ({type(exc).__name__}: {_short(exc)})") from None


def _occurrences(cal: icalendar.Calendar, owner: str, zone: ZoneInfo, lo: dt.datetime,
                 hi: dt.datetime, cap: int) -> list[Occurrence]:
    uid = ""
    series = False  # a single event keeps one id when it is moved; series name them by time
    for event in cal.walk("VEVENT"):
        uid = uid or str(event.get("UID", ""))
        # floating times are the owner's, so daylight saving applies where they live
        for name in ("DTSTART", "DTEND", "RECURRENCE-ID"):
            moment = _value(event, name)
            if isinstance(moment, dt.datetime) and moment.tzinfo is None:
                event.pop(name)
                event.add(name, moment.replace(tzinfo=zone))
        series = series or any(event.get(n) is not None for n in ("RRULE", "RDATE", "RECURRENCE-ID"))
        rules: list[Any] = _listed(event.get("RRULE"))
        for rule in rules:
            first = _value(event, "DTSTART")
            if _steps(rule, first, hi) > MAX_RULE_STEPS:
                raise BadObject(f"the rule {rule.to_ical().decode()[:80]} makes too many "
                                "occurrences to expand; skipped")
            if (expected := _steps(rule, first, hi, lo)) > cap:
                raise BadObject(f"more than {cap} occurrences in the window (about "
                                f"{expected:,.0f}); the series is skipped")
    if not uid:
        if any(True for _ in cal.walk("VEVENT")):
            raise BadObject("an event has no UID")
        return []
    found = []
    for event in recurring_ical_events.of(cal).between(lo, hi):
        start = _aware(_value(event, "DTSTART"), zone)
        if start is None:
            continue
        end = _aware(_value(event, "DTEND"), zone)
        found.append(Occurrence(
            occurrence_id(uid, _aware(_value(event, "RECURRENCE-ID"), zone) if series else None),
            start, end if end is not None and end >= start else start,
            attendance(event, owner),
            str(event.get("STATUS", "")).upper() == "CANCELLED",
            str(event.get("TRANSP", "")).upper() == "TRANSPARENT"))
        if len(found) > cap:
            raise BadObject(f"more than {cap} occurrences in the window; the series is skipped")
    found.sort(key=lambda o: (o.start, o.id))
    return found


def first_uid(cal: icalendar.Calendar) -> str:
    for event in cal.walk("VEVENT"):
        if event.get("UID"):
            return str(event["UID"])
    return ""


# --------------------------------------------------------------------------- free/busy


_BUSY_TYPES = {"BUSY", "BUSY-TENTATIVE", "BUSY-UNAVAILABLE"}


def free_busy_periods(data: str | bytes) -> list[Busy]:
    """Busy periods of a free-busy-query answer (a VFREEBUSY); FREE periods left out.

    :raises BadObject: the answer is not a VCALENDAR.
    """
    cal = parse_object(data)
    spans: list[Busy] = []
    for fb in cal.walk("VFREEBUSY"):
        for prop in _listed(fb.get("FREEBUSY")):
            kind = str(getattr(prop, "params", {}).get("FBTYPE", "BUSY")).upper()
            if kind in _BUSY_TYPES:
                for period in _listed(getattr(prop, "dt", None)):
                    spans.extend(_period(period))
    return spans


def _period(period: object) -> list[Busy]:
    if not isinstance(period, tuple) or len(period) != 2:
        return []
    start, second = period
    end = start + second if isinstance(second, dt.timedelta) else second
    if not isinstance(start, dt.datetime) or not isinstance(end, dt.datetime):
        return []
    start = start if start.tzinfo else start.replace(tzinfo=dt.UTC)
    end = end if end.tzinfo else end.replace(tzinfo=dt.UTC)
    return [Busy(start, end)] if end > start else []


# --------------------------------------------------------------------------- holds


def hold_uid(hold: Hold) -> str:
    return f"{hold.id}@bridgework"


def hold_object(hold: Hold, *, sequence: int = 0, now: dt.datetime | None = None,
                start: dt.datetime | None = None, end: dt.datetime | None = None,
                partstat: dict[str, Response] | None = None) -> str:
    """The hold as a whole VCALENDAR: tentative, opaque, marked, with a deterministic UID."""
    cal = icalendar.Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    event = icalendar.Event()
    event.add("UID", hold_uid(hold))
    event.add("DTSTAMP", (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC))
    event.add("DTSTART", (start or hold.start).astimezone(dt.UTC))
    event.add("DTEND", (end or hold.end).astimezone(dt.UTC))
    event.add("SUMMARY", hold.title)
    event.add("DESCRIPTION", hold.description)
    event.add("STATUS", "TENTATIVE")
    event.add("TRANSP", "OPAQUE")
    event.add("SEQUENCE", sequence)
    event.add(MARK_PROPERTY, hold.mark)
    organizer = icalendar.vCalAddress(f"mailto:{hold.organizer}")
    event.add("ORGANIZER", organizer)
    if hold.mode is HoldMode.INVITE:
        known = partstat or {}
        for who in dict.fromkeys(hold.attendees):
            attendee = icalendar.vCalAddress(f"mailto:{who}")
            attendee.params["CUTYPE"] = "INDIVIDUAL"
            attendee.params["ROLE"] = "REQ-PARTICIPANT"
            state = known.get(who, Response.ACCEPTED if who == hold.organizer
                              else Response.NEEDS_ACTION)
            attendee.params["PARTSTAT"] = _PARTSTAT_OUT[state]
            if who != hold.organizer:
                attendee.params["RSVP"] = "TRUE"
            event.add("ATTENDEE", attendee, encode=False)
    cal.add_component(event)
    return cal.to_ical().decode()


@dataclass(frozen=True, slots=True)
class StoredHold:
    """What the server has at a hold's address."""

    mark: str | None
    state: HoldState
    sequence: int


def read_hold(data: str | bytes, hold: Hold) -> StoredHold:
    """The event at a hold's address: its mark and its state (responses as the server has them).

    :raises BadObject: the data is not iCalendar.
    """
    cal = parse_object(data)
    event = next(iter(cal.walk("VEVENT")), None)
    if event is None:
        return StoredHold(None, HoldState(exists=False), 0)
    mark = event.get(MARK_PROPERTY)
    sequence = int(event.get("SEQUENCE", 0) or 0)
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        return StoredHold(str(mark) if mark else None, HoldState(exists=False, cancelled=True),
                          sequence)
    zone = ZoneInfo("UTC")
    start = _aware(_value(event, "DTSTART"), zone)
    end = _aware(_value(event, "DTEND"), zone)
    seen = attendance(event, hold.organizer)
    responses = dict(seen.partstat) or {hold.organizer: Response.ACCEPTED}
    return StoredHold(str(mark) if mark is not None else None,
                      HoldState(True, start, end, False, responses), sequence)


def moved(data: str | bytes, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> str:
    """The hold's stored object with a new time: everything else (responses too) kept.

    :raises BadObject: the data is not iCalendar or holds no event.
    """
    cal = parse_object(data)
    event = next(iter(cal.walk("VEVENT")), None)
    if event is None:
        raise BadObject("no VEVENT to move")
    sequence = int(event.get("SEQUENCE", 0) or 0) + 1
    for name, value in (("DTSTART", start.astimezone(dt.UTC)), ("DTEND", end.astimezone(dt.UTC)),
                        ("DTSTAMP", now.astimezone(dt.UTC)), ("SEQUENCE", sequence)):
        event.pop(name, None)
        event.add(name, value)
    return cal.to_ical().decode()
