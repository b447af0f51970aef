"""The data directory connector: the embedded default and what ``bridgework demo`` writes.

Layout (everything except ``people.csv`` is optional)::

    people.csv            email,name,department,title,level,manager,timezone[,working_hours]
    messages.jsonl        {"id", "date", "from", "to": [...], "cc": [...]}
    events.jsonl          {"id", "start", "end", "organizer", "attendees": [...], "status",
                           "responses": {email: accepted|declined|tentative|needsAction},
                           "rrule": "FREQ=WEEKLY;BYDAY=MO", "timezone": "Europe/Berlin",
                           "exdate": ["...+00:00"]}
    calendar/*.ics        iCalendar exports, read for metadata only
    mail/*.mbox           mbox exports, headers only
    outbox/holds.ics      holds Bridgework places (one VEVENT per hold)
    outbox/digests/*.eml  digests Bridgework sends

``people.csv``: ``email`` and ``department`` are required, the rest may be
empty and extra columns are ignored. ``working_hours`` is ``09:00-17:00``
(Monday to Friday) or days then hours, e.g. ``mon-thu 08:00-16:00`` or
``mon,wed,fri 10:00-18:00``. ``timezone`` is an IANA name.

``events.jsonl``: an optional ``timezone`` names the zone a recurring event
repeats in (so a weekly 09:00 stays 09:00 across daylight saving); ``exdate``
lists skipped occurrences. Every time needs a UTC offset.

Only metadata is ever read: no subject, body, location or description is
kept, from any of the sources. A bad row, line or file is reported as
``path:line: problem`` (logged, and kept in the ``problems`` list of the
connector object) and skipped; it never stops the rest.

Incremental reading: the JSONL files are append-only exports, so their cursor
is the byte offset reached (always just past a complete line) plus the file's
identity (inode, and a hash of its first bytes). If the identity changed or
the file shrank, it is read again from the start (``resynced``); the ledger
ignores interactions it already counted. ICS and mbox files are re-read
whole when their size or modification time changes.
"""

from __future__ import annotations

import csv
import datetime as dt
import email.utils
import gc
import hashlib
import json
import logging
import mailbox
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events
from dateutil import rrule as du_rrule

from connectors.base import (
    DEFAULT_WORKING_HOURS,
    Busy,
    Calendar,
    Connectors,
    Directory,
    Hold,
    HoldState,
    Interaction,
    InteractionKind,
    Mail,
    OutgoingMessage,
    Person,
    Problems,
    Response,
    Sender,
    SyncChunk,
    WorkingHours,
    as_email,
)
from connectors.common.clock import Clock, system_clock
from connectors.common.errors import ConnectorError
from connectors.common.fileio import write_private

if TYPE_CHECKING:
    from connectors.registry import FilesSettings

try:  # orjson parses JSON lines about three times faster; the stdlib is the fallback
    import orjson

    _loads: Callable[[bytes], Any] = orjson.loads
except ImportError:  # pragma: no cover - orjson is a dependency
    _loads = json.loads

log = logging.getLogger(__name__)

UTC = dt.UTC
CHUNK_SIZE = 50_000
BLOCK_SIZE = 1 << 22  # bytes read at a time from a JSONL file
MIN_YEAR, MAX_YEAR = 1970, 2200  # plausible years of contact data
SPLIT_MIN_BYTES = 32 * 2**20  # smaller unread mail is read in one piece
HEAD_BYTES = 4096  # how much of a file's start identifies it
HORIZON_AFTER_LATEST = dt.timedelta(weeks=8)
BUSY_MARGIN = dt.timedelta(days=7)  # longest event busy() expects to overlap its window
MARK_PROPERTY = "X-BRIDGEWORK-MARK"
_MEETING = InteractionKind.MEETING
_EMAIL = InteractionKind.EMAIL
_fromisoformat = dt.datetime.fromisoformat
_RECORD_ERRORS = (ValueError, KeyError, TypeError, AttributeError, IndexError, OverflowError)


class BadRecord(ValueError):
    """One row, line or event that cannot be used; the message says why."""


# --------------------------------------------------------------------------- small parsers


def parse_time(value: object, what: str) -> dt.datetime:
    """An ISO 8601 time that carries a UTC offset."""
    if not isinstance(value, str):
        raise BadRecord(f"{what} is not a string")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise BadRecord(f"{what} {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise BadRecord(f"{what} {value!r} has no UTC offset")
    return _plausible(moment, what, value)


def _plausible(moment: dt.datetime, what: str, value: object) -> dt.datetime:
    """Refuse years no export really has: they would overflow date arithmetic later."""
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise BadRecord(f"{what} {value!r} is outside the years {MIN_YEAR}-{MAX_YEAR}")
    return moment


_INTERVAL = re.compile(r"(?:^|;)\s*INTERVAL\s*=\s*(-?\d+)", re.I)


def _check_interval(rule: str) -> None:
    """A zero or negative INTERVAL never advances: expanding it would never end."""
    m = _INTERVAL.search(rule)
    if m and int(m.group(1)) < 1:
        raise BadRecord(f"rrule {rule!r} has INTERVAL={m.group(1)}; it must be 1 or more")


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _parse_days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for item in text.lower().split(","):
        first, _, last = item.strip().partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            raise BadRecord(f"unknown day in {text!r} (use mon..sun)")
        a = _DAYS.index(first)
        b = _DAYS.index(last) if last else a
        span = (b - a) % 7  # "sun-thu" wraps round the week
        days.update((a + k) % 7 for k in range(span + 1))
    return frozenset(days)


def parse_working_hours(text: str) -> WorkingHours:
    """``09:00-17:00`` (Monday to Friday) or ``mon-thu 08:00-16:00``."""
    parts = text.split()
    if len(parts) == 1:
        days, hours = DEFAULT_WORKING_HOURS.weekdays, parts[0]
    elif len(parts) == 2:
        days, hours = _parse_days(parts[0]), parts[1]
    else:
        raise BadRecord(f"working_hours {text!r} is not like 'mon-fri 09:00-17:00'")
    first, sep, last = hours.partition("-")
    try:
        start, end = dt.time.fromisoformat(first), dt.time.fromisoformat(last)
    except ValueError:
        raise BadRecord(f"working_hours {text!r}: hours are not like 09:00-17:00") from None
    if not sep or end <= start:
        raise BadRecord(f"working_hours {text!r}: the end must come after the start")
    return WorkingHours(days, start, end)


def _lower_all(values: object, what: str) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        return [values.lower()]
    if not isinstance(values, list):
        raise BadRecord(f"{what} is not a list of addresses")
    return [v.lower() for v in values]


def _json_problem(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON ({exc.msg}, column {exc.colno})"
    if isinstance(exc, KeyError):
        return f"missing field {exc}"
    if isinstance(exc, BadRecord):
        return str(exc)
    return f"unusable record ({type(exc).__name__}: {exc})"


# --------------------------------------------------------------------------- people.csv

REQUIRED_COLUMNS = ("email", "department")


class FilesDirectory(Directory):
    """People from ``people.csv``; read again only when the file changes."""

    reads_files = True

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cache: tuple[tuple[int, int], list[Person]] | None = None

    def people(self) -> Iterator[Person]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            raise ConnectorError(f"{self.path} is missing: the data directory needs a people.csv "
                                 "with at least the columns email and department") from None
        stamp = (st.st_size, st.st_mtime_ns)
        if self._cache is None or self._cache[0] != stamp:
            self.problems.clear()
            self._cache = (stamp, self._read())
        yield from self._cache[1]

    def _read(self) -> list[Person]:
        found: dict[str, Person] = {}
        with self.path.open(newline="", encoding="utf-8-sig", errors="replace") as f:
            reader = csv.reader(f)
            header = [h.strip().lower() for h in next(reader, [])]
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                self.problems.report(self.path, 1, "missing required column(s) "
                                     f"{', '.join(missing)}; no people read")
                return []
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                record = {name: (row[i].strip() if i < len(row) else "")
                          for i, name in enumerate(header)}
                try:
                    person = self._person(record, reader.line_num)
                except BadRecord as exc:
                    self.problems.report(self.path, reader.line_num, str(exc))
                    continue
                if person.email in found:
                    self.problems.report(self.path, reader.line_num,
                                         f"duplicate email {person.email}; keeping the first")
                    continue
                found[person.email] = person
        return list(found.values())

    def _person(self, r: dict[str, str], line: int) -> Person:
        address = r.get("email", "").lower()
        if "@" not in address:
            raise BadRecord(f"email {address!r} is not an address")
        department = r.get("department", "")
        if not department:
            raise BadRecord(f"{address} has no department")
        level: int | None = None
        if r.get("level"):
            try:
                level = int(r["level"])
            except ValueError:
                self.problems.report(self.path, line, f"level {r['level']!r} is not a whole number")
        zone = r.get("timezone") or "UTC"
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            self.problems.report(self.path, line, f"unknown time zone {zone!r}; using UTC")
            zone = "UTC"
        hours = DEFAULT_WORKING_HOURS
        if r.get("working_hours"):
            try:
                hours = parse_working_hours(r["working_hours"])
            except BadRecord as exc:
                self.problems.report(self.path, line, f"{exc}; using 09:00-17:00 Monday-Friday")
        return Person(address, department, r.get("name", ""), r.get("title", ""), level,
                      r.get("manager", "").lower() or None, zone, hours)


# --------------------------------------------------------------------------- JSONL reading


@dataclass(slots=True)
class _Position:
    """Where a JSONL read stands: the file's identity and the offset just past a full line."""

    inode: int = 0
    head: str = ""
    head_len: int = 0
    offset: int = 0
    line: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def dump(self) -> str:
        return json.dumps({"inode": self.inode, "head": self.head, "head_len": self.head_len,
                           "offset": self.offset, "line": self.line, **self.extra},
                          separators=(",", ":"))


def _head_hash(path: Path, length: int) -> str:
    with path.open("rb") as f:
        return hashlib.sha256(f.read(length)).hexdigest()


def _resume(path: Path, raw: str | None) -> tuple[_Position, bool]:
    """The stored position if it still describes this file, else the start (and True)."""
    if not raw:
        return _Position(), False
    try:
        data = json.loads(raw)
        pos = _Position(int(data.pop("inode")), str(data.pop("head")), int(data.pop("head_len")),
                        int(data.pop("offset")), int(data.pop("line")), data)
    except (ValueError, KeyError, TypeError, AttributeError):
        log.warning("%s: unreadable cursor; reading the file again from the start", path)
        return _Position(), True
    st = path.stat()
    if (st.st_ino != pos.inode or st.st_size < pos.offset
            or _head_hash(path, pos.head_len) != pos.head):
        log.info("%s was rewritten; reading it again from the start", path)
        return _Position(), True
    return pos, False


def _mark(path: Path, pos: _Position, offset: int, line: int) -> str:
    pos.inode = path.stat().st_ino
    pos.offset, pos.line = offset, line
    pos.head_len = min(HEAD_BYTES, offset)
    pos.head = _head_hash(path, pos.head_len)
    return pos.dump()


LineParser = Callable[[bytes, int], None]


def _scan_lines(path: Path, start: int, first_line: int, parse: LineParser,
                problems: Problems | None, end: int | None = None) -> Iterator[tuple[int, int]]:
    """Feed every complete line after ``start`` to ``parse(line, byte_offset)``.

    Yields ``(offset, line_number)`` after each block, the offset being just
    past the last complete line. A final line without a newline is parsed too
    (a file need not end with one) but never counted as read, so a writer still
    appending it is picked up whole next time.
    """
    line_no = first_line
    with path.open("rb") as f:
        f.seek(start)
        base, carry = start, b""
        while block := f.read(BLOCK_SIZE if end is None else max(0, min(BLOCK_SIZE, end - f.tell()))):
            data = carry + block
            cut = data.rfind(b"\n")
            if cut < 0:
                carry = data
                continue
            carry = data[cut + 1:]
            line_no = _parse_block(path, data[:cut], base, line_no, parse, problems)
            base += cut + 1
            yield base, line_no
        if carry and not carry.isspace():
            try:
                parse(carry, base)
            except _RECORD_ERRORS as exc:
                if problems is not None:
                    problems.report(path, line_no + 1,
                                    f"incomplete last line: {_json_problem(exc)}")
        yield base, line_no


def _parse_block(path: Path, block: bytes, at: int, line_no: int, parse: LineParser,
                 problems: Problems | None) -> int:
    """Parse the complete lines of one block; returns the last line number."""
    # Millions of small objects are created and none of them forms a cycle, so the
    # cycle collector would only rescan them again and again: pause it per block.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for raw in block.split(b"\n"):
            line_no += 1
            if raw and not raw.isspace():
                try:
                    parse(raw, at)
                except _RECORD_ERRORS as exc:
                    if problems is not None:
                        problems.report(path, line_no, _json_problem(exc))
            at += len(raw) + 1
    finally:
        if collecting:
            gc.enable()
    return line_no


def _record(raw: bytes) -> dict[str, Any]:
    rec = _loads(raw)
    if type(rec) is not dict:
        raise BadRecord("not a JSON object")
    return rec


def _identifier(value: object) -> str:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise BadRecord("id is missing or not a string")


# --------------------------------------------------------------------------- messages


def message_from_record(rec: Mapping[str, Any]) -> Interaction:
    """One ``messages.jsonl`` record: sender first, recipients de-duplicated in order.

    This runs once per line of exports with millions of lines, so the common
    shape (strings and lists of strings) takes the short way through.
    """
    sender = rec["from"]
    if type(sender) is not str or "@" not in sender:
        raise BadRecord("from is not an address")
    sender = sender.lower()
    to, cc = rec.get("to"), rec.get("cc")
    if type(to) is list and len(to) == 1 and not cc and type(to[0]) is str:
        # most mail has one recipient: the short way
        only = to[0].lower()
        participants: tuple[str, ...] = (sender,) if only == sender else (sender, only)
        size = 1
    else:
        if type(to) is list and not cc:
            recipients = [r.lower() for r in to]
        else:
            recipients = _lower_all(to, "to") + _lower_all(cc, "cc")
        unique = dict.fromkeys(recipients)
        size = len(unique)
        unique.pop(sender, None)
        participants = (sender, *unique)
    date = rec["date"]
    try:
        start = _fromisoformat(date)
    except (TypeError, ValueError):
        start = parse_time(date, "date")
    if start.tzinfo is None:
        raise BadRecord(f"date {date!r} has no UTC offset")
    if not MIN_YEAR <= start.year <= MAX_YEAR:
        _plausible(start, "date", date)
    ident = rec["id"]
    if type(ident) is not str or not ident:
        ident = _identifier(ident)
    return Interaction(ident, _EMAIL, start, participants, size)


# --------------------------------------------------------------------------- events


class _Recurrence(Protocol):
    def between(self, after: dt.datetime, before: dt.datetime,
                inc: bool = False) -> list[dt.datetime]: ...


@dataclass(slots=True)
class _Weekly:
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


def _simple_weekly(rule: str, start: dt.datetime,
                   exdates: list[dt.datetime]) -> _Weekly | None:
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
    return _Weekly(start, interval, count, until, frozenset(x.astimezone(UTC) for x in exdates))


@dataclass(slots=True)
class _Series:
    """A recurring event from events.jsonl, before expansion."""

    first: Interaction
    end_offset: dt.timedelta
    rules: _Recurrence

    def between(self, lo: dt.datetime | None, hi: dt.datetime) -> Iterator[Interaction]:
        """Occurrences starting in ``[lo, hi)`` (from the first one when lo is None)."""
        f = self.first
        after = lo or f.start - dt.timedelta(seconds=1)
        if isinstance(self.rules, _Weekly):
            pairs = self.rules.pairs(after, hi)
        else:
            pairs = [(s, s.astimezone(UTC)) for s in self.rules.between(after, hi, inc=True)]
        lo_utc, hi_utc = (lo.astimezone(UTC) if lo else None), hi.astimezone(UTC)
        for s, utc in pairs:
            if (lo_utc is None or utc >= lo_utc) and utc < hi_utc:
                yield Interaction(f"{f.id}@{utc.isoformat()}", _MEETING, s,
                                  f.participants, f.size, f.duration, f.cancelled)


def event_from_record(rec: Mapping[str, Any]) -> Interaction | _Series:
    """One ``events.jsonl`` record: a single meeting or a recurring series."""
    start = parse_time(rec["start"], "start")
    end = parse_time(rec["end"], "end")
    if end < start:
        raise BadRecord("end is before start")
    organizer = rec.get("organizer")
    invited = [organizer.lower()] if isinstance(organizer, str) and organizer else []
    invited += _lower_all(rec.get("attendees"), "attendees")
    invitees = dict.fromkeys(invited)
    if not invitees:
        raise BadRecord("no organizer and no attendees")
    responses = rec.get("responses")
    if responses:
        declined = {k.lower() for k, v in responses.items() if v == "declined"}
        people = tuple(p for p in invitees if p not in declined)
    else:
        people = tuple(invitees)
    meeting = Interaction(_identifier(rec["id"]), _MEETING, start, people, len(invitees),
                          end - start, rec.get("status") == "cancelled")
    rule = rec.get("rrule")
    if not rule:
        return meeting
    return _series(meeting, rule, rec.get("timezone"), rec.get("exdate"))


def _series(meeting: Interaction, rule: object, zone: object, exdates: object) -> _Series:
    if not isinstance(rule, str):
        raise BadRecord("rrule is not a string")
    _check_interval(rule)
    start = meeting.start
    if zone:
        try:
            start = start.astimezone(ZoneInfo(str(zone)))
        except (ZoneInfoNotFoundError, ValueError):
            raise BadRecord(f"unknown time zone {zone!r}") from None
        meeting = Interaction(meeting.id, _MEETING, start, meeting.participants, meeting.size,
                              meeting.duration, meeting.cancelled)
    skip = [parse_time(ex.upper(), "exdate")
            for ex in (_lower_all(exdates, "exdate") if exdates else [])]
    weekly = _simple_weekly(rule, start, skip)
    if weekly is not None:
        return _Series(meeting, meeting.duration, weekly)
    text = rule if rule.upper().startswith("RRULE:") else f"RRULE:{rule}"
    try:
        rules = du_rrule.rrulestr(text, dtstart=start, forceset=True)
    except (ValueError, TypeError) as exc:
        raise BadRecord(f"rrule {rule!r} is not usable: {exc}") from None
    assert isinstance(rules, du_rrule.rruleset)
    for ex in skip:
        rules.exdate(ex)
    return _Series(meeting, meeting.duration, rules)


# --------------------------------------------------------------------------- ics and mbox


def _address(value: object) -> str:
    text = str(value).strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    return text.lower()


_PARTSTAT = {"ACCEPTED": Response.ACCEPTED, "DECLINED": Response.DECLINED,
             "TENTATIVE": Response.TENTATIVE, "NEEDS-ACTION": Response.NEEDS_ACTION}
#: The only event properties kept from a calendar file: no summary, description or location.
_ICS_KEEP = ("UID", "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID",
             "STATUS", "ORGANIZER", "ATTENDEE", "SEQUENCE", MARK_PROPERTY)


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _attendance(ev: icalendar.cal.Component, owner: str | None) -> tuple[tuple[str, ...], int]:
    """People who did not decline (organiser first) and how many were invited."""
    organizer = ev.get("ORGANIZER")
    invitees: dict[str, str] = {}
    if organizer is not None:
        invitees[_address(organizer)] = "ACCEPTED"
    for att in _as_list(ev.get("ATTENDEE")):
        who = _address(att)
        invitees[who] = str(getattr(att, "params", {}).get("PARTSTAT", "NEEDS-ACTION")).upper()
    if not invitees and owner:
        invitees[owner] = "ACCEPTED"
    people = tuple(p for p, state in invitees.items() if state != "DECLINED" and "@" in p)
    return people, len(invitees)


@dataclass(slots=True)
class _IcsFile:
    path: Path
    problems: Problems | None
    events: list[icalendar.Event] = field(default_factory=list)
    latest: dt.datetime | None = None


def _load_ics(path: Path, problems: Problems | None) -> _IcsFile:
    """Parse a calendar file and keep only well-formed events, stripped to metadata."""
    out = _IcsFile(path, problems)
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
    _plausible(start, f"event {ev['UID']} DTSTART", start.isoformat())
    if "RRULE" in ev:
        rule = ev["RRULE"].to_ical()
        _check_interval(rule.decode() if isinstance(rule, bytes) else str(rule))
    kept = icalendar.Event()
    for name in _ICS_KEEP:
        if name in ev:
            kept[name] = ev[name]
    return kept


def _ics_occurrences(ics: _IcsFile, lo: dt.datetime, hi: dt.datetime) -> Iterator[Interaction]:
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


def _fingerprint(path: Path, *extra: object) -> str:
    st = path.stat()
    return json.dumps([st.st_size, st.st_mtime_ns, *extra], default=str)


_HEADER_PARSER = BytesHeaderParser()


def _message_headers(box: mailbox.mbox, key: str) -> Any:
    """Only the header block of one message: the body is never read."""
    with box.get_file(key) as fp:
        block: list[bytes] = []
        for raw in fp:
            if raw in (b"\n", b"\r\n"):
                break
            block.append(raw)
    return _HEADER_PARSER.parsebytes(b"".join(block))


def _mbox_message(headers: Any) -> Interaction:
    senders = [a.lower() for _, a in email.utils.getaddresses(headers.get_all("From", []))
               if "@" in a]
    if not senders:
        raise BadRecord("no From address")
    recipients = [a.lower() for _, a in email.utils.getaddresses(
        headers.get_all("To", []) + headers.get_all("Cc", [])) if "@" in a]
    raw_date = headers.get("Date")
    if not raw_date:
        raise BadRecord("no Date header")
    try:
        when = email.utils.parsedate_to_datetime(str(raw_date))
    except (ValueError, TypeError, IndexError):
        raise BadRecord(f"unreadable Date {str(raw_date)!r}") from None
    if when.tzinfo is None:
        raise BadRecord(f"Date {str(raw_date)!r} has no UTC offset")
    unique = dict.fromkeys(r for r in recipients if r != senders[0])
    ident = str(headers.get("Message-ID", "")).strip()
    if not ident:  # a stable stand-in so re-reading the file does not count it twice
        seed = "\x1f".join([senders[0], when.isoformat(), *unique])
        ident = "<" + hashlib.sha256(seed.encode()).hexdigest()[:32] + "@bridgework.local>"
    return Interaction(ident, _EMAIL, when, (senders[0], *unique),
                       len(dict.fromkeys(recipients)))


def _mbox_line(box: mailbox.mbox, key: str, path: Path) -> str:
    """The line a message starts on, for problem reports (the mbox table of contents)."""
    toc = getattr(box, "_toc", None)
    if not toc or key not in toc:
        return f"message {key}"
    with path.open("rb") as f:
        return str(f.read(toc[key][0]).count(b"\n") + 1)


# --------------------------------------------------------------------------- mail


def _count_newlines(f: Any, start: int, end: int) -> int:
    f.seek(start)
    count, left = 0, end - start
    while left > 0:
        block = f.read(min(BLOCK_SIZE, left))
        if not block:
            break
        count += block.count(b"\n")
        left -= len(block)
    return count


class MessagesPart(Mail):
    """One byte range of messages.jsonl, read as a source of its own (``FilesMail.split``)."""

    parallel_safe = True
    reads_files = True

    def __init__(self, mail: FilesMail, path: Path, pos: _Position, start: int, end: int,
                 first_line: int, resynced: bool, *, last: bool, cursors: Mapping[str, str]) -> None:
        self.mail, self.path, self.pos = mail, path, pos
        self.start, self.end, self.first_line = start, end, first_line
        self.resynced, self.last, self.cursors = resynced, last, cursors
        self._problems = mail.problems  # one list: a problem is the file's, whichever part found it

    def read(self, people: Sequence[Person], cursors: Mapping[str, str]) -> Iterator[SyncChunk]:
        yield from self.mail._read_range(self.path, self.pos, self.start, self.first_line,
                                         self.end, self.resynced, self.last)
        if self.last:
            mail_dir = self.mail.root / "mail"
            if mail_dir.is_dir():
                for box_path in sorted(mail_dir.glob("*.mbox")):
                    yield from self.mail._read_mbox(box_path, self.cursors)


class FilesMail(Mail):
    """Messages from ``messages.jsonl`` and ``mail/*.mbox``."""

    parallel_safe = True  # plain files, no connections: may be read in a forked process
    reads_files = True

    def __init__(self, root: Path, *, chunk_size: int = CHUNK_SIZE) -> None:
        self.root = root
        self.chunk_size = chunk_size
        self.split_min_bytes = SPLIT_MIN_BYTES

    def read(self, people: Sequence[Person], cursors: Mapping[str, str]) -> Iterator[SyncChunk]:
        path = self.root / "messages.jsonl"
        if path.is_file():
            yield from self._read_jsonl(path, cursors.get("files:messages"))
        mail_dir = self.root / "mail"
        if mail_dir.is_dir():
            for box_path in sorted(mail_dir.glob("*.mbox")):
                yield from self._read_mbox(box_path, cursors)

    def _read_jsonl(self, path: Path, raw: str | None) -> Iterator[SyncChunk]:
        pos, resynced = _resume(path, raw)
        yield from self._read_range(path, pos, pos.offset, pos.line, None, resynced, True)

    def _read_range(self, path: Path, pos: _Position, start: int, first_line: int,
                    end: int | None, resynced: bool, mark: bool) -> Iterator[SyncChunk]:
        """Messages between two byte offsets; cursors only when ``mark`` (the last range)."""
        pending: list[Interaction] = []
        append = pending.append

        def parse(line: bytes, _offset: int) -> None:
            append(message_from_record(_record(line)))

        offset, line = start, first_line
        for offset, line in _scan_lines(path, start, first_line, parse, self.problems, end):
            if len(pending) >= self.chunk_size:
                cursor = _mark(path, pos, offset, line) if mark else None
                yield SyncChunk(list(pending), "files:messages", cursor, resynced)
                pending.clear()
                resynced = False
        cursor = _mark(path, pos, offset, line) if mark else None
        yield SyncChunk(list(pending), "files:messages", cursor, resynced)

    def split(self, cursors: Mapping[str, str], parts: int) -> list[MessagesPart] | None:
        """The unread part of messages.jsonl in ``parts`` line-aligned byte ranges, for
        reading in parallel; None when it is too small to be worth it.

        Only the last range stores cursors, and it also reads the mbox files; the
        caller stores cursors once every range is done (see ``agent/parallel.py``).
        """
        path = self.root / "messages.jsonl"
        if parts < 2 or not path.is_file():
            return None
        pos, resynced = _resume(path, cursors.get("files:messages"))
        size = path.stat().st_size
        if size - pos.offset < self.split_min_bytes:
            return None
        cuts, lines = [pos.offset], [pos.line]
        with path.open("rb") as f:
            for k in range(1, parts):
                target = pos.offset + (size - pos.offset) * k // parts
                f.seek(target)
                f.readline()  # to the start of the next line
                cut = f.tell()
                lines.append(lines[-1] + _count_newlines(f, cuts[-1], cut))
                cuts.append(cut)
        cuts.append(size)
        return [MessagesPart(self, path, pos, cuts[i], cuts[i + 1], lines[i], resynced and i == 0,
                             last=i == parts - 1, cursors=cursors)
                for i in range(parts)]

    def _read_mbox(self, path: Path, cursors: Mapping[str, str]) -> Iterator[SyncChunk]:
        key = f"files:mbox:{path.name}"
        stamp = _fingerprint(path)
        if cursors.get(key) == stamp:
            return
        yield SyncChunk(self._mbox_messages(path), key, stamp, key in cursors)

    def _mbox_messages(self, path: Path) -> list[Interaction]:
        with path.open("rb") as f:
            start = f.read(5)
        if start and start != b"From ":
            self.problems.report(path, 1, "not an mbox file (it must start with a 'From ' line)")
            return []
        box = mailbox.mbox(path, create=False)
        out: list[Interaction] = []
        try:
            for key in box.iterkeys():
                try:
                    out.append(_mbox_message(_message_headers(box, key)))
                except (BadRecord, ValueError, TypeError, IndexError) as exc:
                    self.problems.report(path, _mbox_line(box, key, path), str(exc))
        finally:
            box.close()
        return out


# --------------------------------------------------------------------------- calendar


@dataclass(slots=True)
class _HoldRecord:
    start: dt.datetime
    end: dt.datetime
    mark: str | None
    cancelled: bool
    responses: dict[str, Response]


class FilesCalendar(Calendar):
    """Meetings from ``events.jsonl`` and ``calendar/*.ics``; holds in ``outbox/holds.ics``.

    Recurring events are expanded up to ``horizon``, by default the latest
    event in the data plus ``horizon_after_latest``; a later sync that pushes
    the horizon further adds the occurrences in between.
    """

    parallel_safe = True  # plain files, no connections: may be read in a forked process
    reads_files = True

    def __init__(self, root: Path, outbox: Path | None = None, *,
                 horizon: dt.datetime | None = None,
                 horizon_after_latest: dt.timedelta = HORIZON_AFTER_LATEST,
                 chunk_size: int = CHUNK_SIZE, clock: Clock = system_clock) -> None:
        self.root = root
        self.outbox = outbox or root / "outbox"
        self.holds_path = self.outbox / "holds.ics"
        self.horizon = horizon
        self.horizon_after_latest = horizon_after_latest
        self.chunk_size = chunk_size
        self.clock = clock
        self._busy: _BusyIndex | None = None
        self._holds_cache: tuple[str, dict[str, _HoldRecord]] | None = None

    # --- reading ----------------------------------------------------------------
    def read(self, people: Sequence[Person], cursors: Mapping[str, str]) -> Iterator[SyncChunk]:
        path = self.root / "events.jsonl"
        if path.is_file():
            yield from self._read_jsonl(path, cursors.get("files:events"))
        for ics_path in self._ics_paths():
            yield from self._read_ics(ics_path, cursors)

    def _ics_paths(self) -> list[Path]:
        folder = self.root / "calendar"
        return sorted(folder.glob("*.ics")) if folder.is_dir() else []

    def _horizon_for(self, latest: dt.datetime | None) -> dt.datetime:
        if self.horizon is not None:
            return self.horizon
        if latest is None:
            return self.clock() + self.horizon_after_latest
        return latest + self.horizon_after_latest

    def _read_jsonl(self, path: Path, raw: str | None) -> Iterator[SyncChunk]:
        pos, resynced = _resume(path, raw)
        # Recurring lines are remembered by offset: "done" ones were expanded up to
        # the stored horizon, "pending" ones not at all. They are expanded at the end,
        # once the latest event (and so the horizon) is known.
        done: list[int] = pos.extra.get("done", [])
        pending_series: list[int] = pos.extra.get("pending", [])
        latest_raw = pos.extra.get("latest")
        latest = dt.datetime.fromisoformat(latest_raw) if latest_raw else None
        old_horizon_raw = pos.extra.get("horizon")
        pending: list[Interaction] = []
        append = pending.append
        newest: list[dt.datetime | None] = [latest]

        fresh: list[_Series] = []  # series first seen in this pass, kept for expansion

        def parse(line: bytes, offset: int) -> None:
            item = event_from_record(_record(line))
            if isinstance(item, _Series):
                pending_series.append(offset)
                fresh.append(item)
                start = item.first.start
            else:
                append(item)
                start = item.start
            if newest[0] is None or start > newest[0]:
                newest[0] = start

        def cursor(offset: int, line: int) -> str:
            pos.extra = {"done": done, "pending": pending_series, "horizon": old_horizon_raw,
                         "latest": newest[0].isoformat() if newest[0] else None}
            return _mark(path, pos, offset, line)

        offset, line = pos.offset, pos.line
        for offset, line in _scan_lines(path, pos.offset, pos.line, parse, self.problems):
            if len(pending) >= self.chunk_size:
                yield SyncChunk(list(pending), "files:events", cursor(offset, line), resynced)
                pending.clear()
                resynced = False
        horizon = self._horizon_for(newest[0])
        old_horizon = dt.datetime.fromisoformat(old_horizon_raw) if old_horizon_raw else None
        expansions: list[Iterable[Interaction]] = []
        if old_horizon is None or horizon > old_horizon:
            expansions += [s.between(old_horizon, horizon) for s in self._series_at(path, done)]
        elif old_horizon is not None:
            horizon = old_horizon
        # pending series from an interrupted earlier pass are read again by offset
        earlier = pending_series[: len(pending_series) - len(fresh)]
        expansions += [s.between(None, horizon) for s in [*self._series_at(path, earlier), *fresh]]
        for occurrences in expansions:
            pending.extend(occurrences)
            if len(pending) >= self.chunk_size:
                # No cursor yet: the series count as done only with the last chunk, so
                # a crash in between expands them again (the ledger drops repeats).
                yield SyncChunk(list(pending), "files:events", None, resynced)
                pending.clear()
                resynced = False
        done += pending_series
        pending_series = []
        old_horizon_raw = horizon.isoformat()
        yield SyncChunk(pending, "files:events", cursor(offset, line), resynced)

    def _series_at(self, path: Path, offsets: Iterable[int]) -> Iterator[_Series]:
        """Re-read recurring events by the byte offset of their line."""
        with path.open("rb") as f:
            for offset in offsets:
                f.seek(offset)
                try:
                    item = event_from_record(_record(f.readline()))
                except _RECORD_ERRORS:
                    continue  # reported when the line was first read
                if isinstance(item, _Series):
                    yield item

    def _read_ics(self, path: Path, cursors: Mapping[str, str]) -> Iterator[SyncChunk]:
        key = f"files:ics:{path.name}"
        # the horizon follows from the file itself unless it is fixed, so it joins the stamp
        stamp = _fingerprint(path, self.horizon, self.horizon_after_latest)
        if cursors.get(key) == stamp:
            return
        ics = _load_ics(path, self.problems)
        horizon = self._horizon_for(ics.latest)
        lo = dt.datetime(1970, 1, 1, tzinfo=UTC)
        yield SyncChunk(list(_ics_occurrences(ics, lo, horizon)), key, stamp, key in cursors)

    # --- free/busy ----------------------------------------------------------------
    def busy(
        self, emails: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> dict[str, list[Busy]]:
        index = self._busy_index(start, end, frozenset(e.lower() for e in emails))
        out: dict[str, list[Busy]] = {e: [] for e in emails}
        for who in emails:
            for s, e in index.spans.get(who.lower(), ()):
                if s < end and e > start:
                    out[who].append(Busy(s, e))
        for rec in self._holds().values():
            if rec.cancelled or rec.start >= end or rec.end <= start:
                continue
            for who in emails:
                state = rec.responses.get(who.lower())
                if state is not None and state is not Response.DECLINED:
                    out[who].append(Busy(rec.start, rec.end))
        for spans in out.values():
            spans.sort(key=lambda b: b.start)
        return out

    def _sources_stamp(self) -> str:
        paths = [self.root / "events.jsonl", *self._ics_paths()]
        return "|".join(_fingerprint(p) for p in paths if p.is_file())

    def _busy_index(self, start: dt.datetime, end: dt.datetime,
                    wanted: frozenset[str]) -> _BusyIndex:
        """An index covering the window and these people.

        The first call indexes only the people it asks about (a plan asks once for
        a few dozen); a later call for others builds the index for everyone, once.
        """
        stamp = self._sources_stamp()
        idx = self._busy
        if (idx is not None and idx.stamp == stamp and idx.lo <= start and end <= idx.hi
                and (idx.people is None or wanted <= idx.people)):
            return idx
        lo = min(start, idx.lo) if idx and idx.stamp == stamp else start
        hi = max(end, start + dt.timedelta(weeks=8))
        people = wanted if idx is None else None
        self._busy = idx = _BusyIndex.build(self.root / "events.jsonl", self._ics_paths(),
                                            lo, hi, stamp, people)
        return idx

    # --- holds ------------------------------------------------------------------
    def _holds_calendar(self) -> icalendar.Calendar:
        if not self.holds_path.is_file():
            cal = icalendar.Calendar()
            cal.add("prodid", "-//Bridgework//holds//EN")
            cal.add("version", "2.0")
            return cal
        try:
            return icalendar.Calendar.from_ical(self.holds_path.read_bytes())
        except (ValueError, IndexError, KeyError, TypeError) as exc:
            raise ConnectorError(f"{self.holds_path} cannot be read ({exc}); fix or remove it"
                                 ) from None

    def _holds(self) -> dict[str, _HoldRecord]:
        if not self.holds_path.is_file():
            return {}
        stamp = _fingerprint(self.holds_path, self.holds_path.stat().st_ino)
        if self._holds_cache is None or self._holds_cache[0] != stamp:
            records = {}
            for ev in self._holds_calendar().walk("VEVENT"):
                try:
                    records[str(ev["UID"])] = _hold_record(ev)
                except (KeyError, ValueError, TypeError) as exc:
                    self.problems.report(self.holds_path, "event", f"unusable event ({exc})")
            self._holds_cache = (stamp, records)
        return self._holds_cache[1]

    def _write_holds(self, cal: icalendar.Calendar) -> None:
        write_private(self.holds_path, cal.to_ical())
        self._holds_cache = None

    def place(self, hold: Hold) -> None:
        cal = self._holds_calendar()
        if any(str(ev.get("UID")) == hold.id for ev in cal.walk("VEVENT")):
            return
        cal.add_component(self._hold_event(hold))
        self._write_holds(cal)

    def _hold_event(self, hold: Hold) -> icalendar.Event:
        ev = icalendar.Event()
        ev.add("uid", hold.id)
        ev.add("dtstamp", self.clock().astimezone(UTC))
        ev.add("dtstart", hold.start.astimezone(UTC))
        ev.add("dtend", hold.end.astimezone(UTC))
        ev.add("summary", hold.title)
        ev.add("description", hold.description)
        ev.add("status", "TENTATIVE")
        ev.add("sequence", 0)
        ev.add(MARK_PROPERTY, hold.mark)
        ev.add("X-BRIDGEWORK-MODE", str(hold.mode))
        ev.add("organizer", _cal_address(hold.organizer, "ACCEPTED"))
        for who in dict.fromkeys((hold.organizer, *hold.attendees)):
            state = "ACCEPTED" if who == hold.organizer else "NEEDS-ACTION"
            ev.add("attendee", _cal_address(who, state))
        return ev

    def state(self, hold: Hold) -> HoldState:
        rec = self._holds().get(hold.id)
        if rec is None:
            return HoldState(exists=False)
        return HoldState(True, rec.start, rec.end, rec.cancelled, dict(rec.responses))

    def _read_mark(self, hold: Hold) -> str | None:
        rec = self._holds().get(hold.id)
        return rec.mark if rec else None

    def _update_time(self, hold: Hold, start: dt.datetime, end: dt.datetime) -> None:
        cal = self._holds_calendar()
        for ev in cal.walk("VEVENT"):
            if str(ev.get("UID")) == hold.id:
                for name, value in (("DTSTART", start), ("DTEND", end)):
                    del ev[name]
                    ev.add(name, value.astimezone(UTC))
                sequence = int(ev.get("SEQUENCE", 0)) + 1
                ev.pop("SEQUENCE", None)
                ev.add("sequence", sequence)
        self._write_holds(cal)

    def _delete(self, hold: Hold) -> None:
        cal = self._holds_calendar()
        cal.subcomponents = [c for c in cal.subcomponents
                             if not (c.name == "VEVENT" and str(c.get("UID")) == hold.id)]
        self._write_holds(cal)


def _cal_address(who: str, partstat: str) -> icalendar.vCalAddress:
    addr = icalendar.vCalAddress(f"mailto:{who}")
    addr.params["PARTSTAT"] = partstat
    addr.params["ROLE"] = "REQ-PARTICIPANT"
    return addr


def _hold_record(ev: icalendar.cal.Component) -> _HoldRecord:
    responses: dict[str, Response] = {}
    organizer = ev.get("ORGANIZER")
    if organizer is not None:
        responses[_address(organizer)] = Response.ACCEPTED
    for att in _as_list(ev.get("ATTENDEE")):
        state = str(att.params.get("PARTSTAT", "NEEDS-ACTION")).upper()
        responses[_address(att)] = _PARTSTAT.get(state, Response.NEEDS_ACTION)
    mark = ev.get(MARK_PROPERTY)
    start = ev.decoded("DTSTART")
    end = ev.decoded("DTEND") if "DTEND" in ev else start
    return _HoldRecord(start, end, str(mark) if mark is not None else None,
                       str(ev.get("STATUS", "")).upper() == "CANCELLED", responses)


@dataclass(slots=True)
class _BusyIndex:
    """Busy spans per person for one window, built once from every calendar source."""

    lo: dt.datetime
    hi: dt.datetime
    stamp: str
    spans: dict[str, list[tuple[dt.datetime, dt.datetime]]]
    people: frozenset[str] | None = None  # None: everyone

    @classmethod
    def build(cls, events: Path, ics_paths: Sequence[Path], lo: dt.datetime, hi: dt.datetime,
              stamp: str, people: frozenset[str] | None = None) -> _BusyIndex:
        spans: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {}
        early = lo - BUSY_MARGIN
        # ISO dates sort as text; a day's slack covers any UTC offset
        first_day = (early - dt.timedelta(days=1)).date().isoformat()
        last_day = (hi + dt.timedelta(days=1)).date().isoformat()

        def add(m: Interaction) -> None:
            if m.cancelled:
                return
            m_end = m.start + m.duration
            if m_end <= lo or m.start >= hi:
                return
            for who in m.participants:
                if people is None or who in people:
                    spans.setdefault(who, []).append((m.start, m_end))

        low, high = first_day.encode(), last_day.encode()
        wanted = [p.encode() for p in people] if people is not None else None

        def parse(line: bytes, _offset: int) -> None:
            # Look at the raw bytes before paying for a JSON parse: most lines are
            # one-off meetings far from the window, or concern nobody asked about.
            if wanted is not None:
                folded = line.lower()
                if not any(w in folded for w in wanted):
                    return
            if b'"rrule"' not in line:
                found = _START_DAY.search(line)
                if found and not (low <= found.group(1) <= high):
                    return
            rec = _record(line)
            if not rec.get("rrule"):
                day = rec.get("start")
                if isinstance(day, str) and not (first_day <= day[:10] <= last_day):
                    return
            item = event_from_record(rec)
            if isinstance(item, _Series):
                for m in item.between(early, hi):
                    add(m)
            else:
                add(item)

        if events.is_file():
            for _ in _scan_lines(events, 0, 0, parse, None):
                pass
        for path in ics_paths:
            for m in _ics_occurrences(_load_ics(path, None), early, hi):
                add(m)
        return cls(lo, hi, stamp, spans, people)


# --------------------------------------------------------------------------- digests


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_START_DAY = re.compile(rb'"start"\s*:\s*"(\d{4}-\d{2}-\d{2})')


def digest_filename(key: str) -> str:
    """A safe file name from a message key; the hash keeps distinct keys apart."""
    slug = _UNSAFE.sub("_", key).strip("._")[:80] or "digest"
    return f"{slug}-{hashlib.sha256(key.encode()).hexdigest()[:10]}.eml"


class FilesSender(Sender):
    """Writes each digest as an ``.eml`` file; the same key overwrites its file."""

    KEY_HEADER = "X-Bridgework-Key"

    def __init__(self, outbox: Path) -> None:
        self.folder = outbox / "digests"

    def send(self, message: OutgoingMessage) -> None:
        mail = as_email(message)
        mail[self.KEY_HEADER] = message.key
        write_private(self.folder / digest_filename(message.key), bytes(mail))


# --------------------------------------------------------------------------- assembly


def open_directory(root: Path, outbox: Path | None = None, *,
                   clock: Clock = system_clock) -> Connectors:
    """Every connector of one data directory (``bridgework analyze --data DIR``)."""
    if not root.is_dir():
        raise ConnectorError(f"data directory {root} does not exist or is not a directory")
    outbox = outbox or root / "outbox"
    return Connectors(
        directory=FilesDirectory(root / "people.csv"),
        calendar=FilesCalendar(root, outbox, clock=clock),
        mail=FilesMail(root),
        sender=FilesSender(outbox),
    )


def build(settings: FilesSettings, *, clock: Clock = system_clock) -> Connectors:
    return open_directory(settings.path, settings.outbox, clock=clock)
