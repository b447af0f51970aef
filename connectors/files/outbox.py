"""What Bridgework writes into a data directory's outbox.

``outbox/holds.ics`` holds one VEVENT per hold Bridgework placed; people
answer (PARTSTAT) or cancel (STATUS) in the file itself, and the calendar
reads their answers back. ``outbox/digests/*.eml`` holds one file per
digest, named after its key, so sending the same digest again overwrites it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import icalendar

from connectors.base import Hold, HoldMode, OutgoingMessage, Problems, Response, Sender, as_email
from connectors.common.clock import Clock
from connectors.common.errors import ConnectorError
from connectors.common.fileio import write_private
from connectors.files.ics import MARK_PROPERTY, PARTSTAT, address, as_list
from connectors.files.lines import fingerprint

UTC = dt.UTC


@dataclass(slots=True)
class HoldRecord:
    """One hold as holds.ics has it now."""

    start: dt.datetime
    end: dt.datetime
    mark: str | None
    cancelled: bool
    responses: dict[str, Response]


class HoldsFile:
    """``holds.ics``, read again only when it changes; every write replaces it atomically."""

    def __init__(self, path: Path, problems: Problems, clock: Clock) -> None:
        self.path = path
        self.problems = problems
        self.clock = clock
        self._cache: tuple[str, dict[str, HoldRecord]] | None = None

    def _calendar(self) -> icalendar.Calendar:
        if not self.path.is_file():
            cal = icalendar.Calendar()
            cal.add("prodid", "-//Bridgework//holds//EN")
            cal.add("version", "2.0")
            return cal
        try:
            return icalendar.Calendar.from_ical(self.path.read_bytes())
        except (ValueError, IndexError, KeyError, TypeError) as exc:
            raise ConnectorError(f"{self.path} cannot be read ({exc}); fix or remove it"
                                 ) from None

    def records(self) -> dict[str, HoldRecord]:
        """Every hold in the file by id.

        :raises ConnectorError: the file is not iCalendar (named, never silently reset).
        """
        if not self.path.is_file():
            return {}
        stamp = fingerprint(self.path, self.path.stat().st_ino)
        if self._cache is None or self._cache[0] != stamp:
            records = {}
            for ev in self._calendar().walk("VEVENT"):
                try:
                    records[str(ev["UID"])] = _hold_record(ev)
                except (KeyError, ValueError, TypeError) as exc:
                    self.problems.report(self.path, "event", f"unusable event ({exc})")
            self._cache = (stamp, records)
        return self._cache[1]

    def _write(self, cal: icalendar.Calendar) -> None:
        write_private(self.path, cal.to_ical())
        self._cache = None

    def add(self, hold: Hold) -> None:
        """Write the hold's event unless the file has one with its id already."""
        cal = self._calendar()
        if any(str(ev.get("UID")) == hold.id for ev in cal.walk("VEVENT")):
            return
        cal.add_component(self._event(hold))
        self._write(cal)

    def _event(self, hold: Hold) -> icalendar.Event:
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
        # A HOLD-mode hold is the organiser's alone (they may invite the other person
        # by adding an ATTENDEE); INVITE invites everyone, who then answer in the file.
        invited = hold.attendees if hold.mode is HoldMode.INVITE else ()
        for who in dict.fromkeys((hold.organizer, *invited)):
            state = "ACCEPTED" if who == hold.organizer else "NEEDS-ACTION"
            ev.add("attendee", _cal_address(who, state))
        return ev

    def move(self, hold_id: str, start: dt.datetime, end: dt.datetime) -> None:
        """A new time for the event with this id (the caller has checked it is ours)."""
        cal = self._calendar()
        for ev in cal.walk("VEVENT"):
            if str(ev.get("UID")) == hold_id:
                for name, value in (("DTSTART", start), ("DTEND", end)):
                    del ev[name]
                    ev.add(name, value.astimezone(UTC))
                sequence = int(ev.get("SEQUENCE", 0)) + 1
                ev.pop("SEQUENCE", None)
                ev.add("sequence", sequence)
        self._write(cal)

    def remove(self, hold_id: str) -> None:
        """Take the event with this id out of the file (the caller has checked it is ours)."""
        cal = self._calendar()
        cal.subcomponents = [c for c in cal.subcomponents
                             if not (c.name == "VEVENT" and str(c.get("UID")) == hold_id)]
        self._write(cal)


def _cal_address(who: str, partstat: str) -> icalendar.vCalAddress:
    addr = icalendar.vCalAddress(f"mailto:{who}")
    addr.params["PARTSTAT"] = partstat
    addr.params["ROLE"] = "REQ-PARTICIPANT"
    return addr


def _hold_record(ev: icalendar.cal.Component) -> HoldRecord:
    responses: dict[str, Response] = {}
    organizer = ev.get("ORGANIZER")
    if organizer is not None:
        responses[address(organizer)] = Response.ACCEPTED
    for att in as_list(ev.get("ATTENDEE")):
        state = str(att.params.get("PARTSTAT", "NEEDS-ACTION")).upper()
        responses[address(att)] = PARTSTAT.get(state, Response.NEEDS_ACTION)
    mark = ev.get(MARK_PROPERTY)
    start = ev.decoded("DTSTART")
    end = ev.decoded("DTEND") if "DTEND" in ev else start
    return HoldRecord(start, end, str(mark) if mark is not None else None,
                      str(ev.get("STATUS", "")).upper() == "CANCELLED", responses)


# --------------------------------------------------------------------------- digests

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


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

    def delivered(self, message: OutgoingMessage) -> bool:
        # the file appears whole or not at all (write_private renames it into place)
        return (self.folder / digest_filename(message.key)).is_file()
