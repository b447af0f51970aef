"""A small organisation on real servers: calendars in Radicale, mailboxes in Dovecot.

It seeds the way real servers end up: a meeting sits in every attendee's
calendar under one UID (what a scheduling server delivers), a message in
the sender's Sent folder and in each recipient's INBOX. The connectors
under test are built from settings, as a config file would build them.
"""

from __future__ import annotations

import csv
import datetime as dt
import email
import email.utils
from collections.abc import Sequence
from pathlib import Path

import icalendar

from connectors.base import Connectors, Hold, Interaction, OutgoingMessage, Person, Response
from connectors.caldav import build as build_caldav
from connectors.caldav.settings import CalDavSettings
from connectors.common.clock import fixed_clock
from connectors.imap.settings import ImapServer
from connectors.smtp import SmtpSender, SmtpSettings
from tests.servers.dovecot import MASTER, MASTER_PASSWORD, Dovecot
from tests.servers.radicale import ADMIN, ADMIN_PASSWORD, Radicale
from tests.servers.smtp import SmtpServer

UTC = dt.UTC


def private_file(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


def write_people(path: Path, people: Sequence[Person]) -> Path:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["email", "name", "department", "title", "level", "manager", "timezone"])
        for p in people:
            out.writerow([p.email, p.name, p.department, p.title,
                          "" if p.level is None else p.level, p.manager or "", p.timezone])
    return path


def event_ics(uid: str, start: dt.datetime, end: dt.datetime, organizer: str,
              attendees: Sequence[str], *, partstat: dict[str, str] | None = None,
              rrule: str | None = None, exdates: Sequence[dt.datetime] = (),
              rdates: Sequence[dt.datetime] = (), overrides: Sequence[icalendar.Event] = (),
              status: str | None = None, tzid: str | None = None) -> str:
    """One object: an event series (or single event) and its overridden occurrences."""
    cal = icalendar.Calendar()
    cal.add("PRODID", "-//Bridgework tests//EN")
    cal.add("VERSION", "2.0")
    event = icalendar.Event()
    event.add("UID", uid)
    event.add("DTSTAMP", dt.datetime(2026, 1, 1, tzinfo=UTC))
    event.add("SUMMARY", "Private subject that must never be read")
    if tzid:
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(tzid)
        event.add("DTSTART", start.astimezone(zone))
        event.add("DTEND", end.astimezone(zone))
    else:
        event.add("DTSTART", start)
        event.add("DTEND", end)
    if status:
        event.add("STATUS", status)
    event.add("ORGANIZER", icalendar.vCalAddress(f"mailto:{organizer}"))
    for who in attendees:
        address = icalendar.vCalAddress(f"mailto:{who}")
        address.params["PARTSTAT"] = (partstat or {}).get(who, "ACCEPTED")
        event.add("ATTENDEE", address, encode=False)
    if rrule:
        event.add("RRULE", icalendar.vRecur.from_ical(rrule))
    for moment in exdates:
        event.add("EXDATE", moment)
    for moment in rdates:
        event.add("RDATE", moment)
    cal.add_component(event)
    for override in overrides:
        cal.add_component(override)
    if tzid:
        cal.add_missing_timezones()
    return cal.to_ical().decode()


def mail_bytes(message_id: str, when: dt.datetime, sender: str, to: Sequence[str],
               cc: Sequence[str] = ()) -> bytes:
    lines = [f"From: {sender}", f"To: {', '.join(to)}"]
    if cc:
        lines.append(f"Cc: {', '.join(cc)}")
    lines += [f"Date: {email.utils.format_datetime(when)}", f"Message-ID: {message_id}",
              "Subject: a private subject", "", "a private body", ""]
    return "\r\n".join(lines).encode()


class StandardsWorld:
    """Satisfies tests.contract.suite.World against Radicale, Dovecot and aiosmtpd."""

    def __init__(self, radicale: Radicale, dovecot: Dovecot, smtp: SmtpServer, tmp: Path,
                 now: dt.datetime, **caldav: object) -> None:
        self.radicale, self.dovecot, self.smtp = radicale, dovecot, smtp
        self.tmp, self.now = tmp, now
        self.people_csv = tmp / "people.csv"
        self._caldav_extra = caldav
        self._connectors: Connectors | None = None
        self._calendars: set[str] = set()

    # --- settings, as a config file gives them ------------------------------------------
    def imap_settings(self, **extra: object) -> ImapServer:
        secret = private_file(self.tmp / "imap.secret", MASTER_PASSWORD)
        return ImapServer.model_validate({
            "host": "127.0.0.1", "port": self.dovecot.port, "security": "none",
            "username": MASTER, "password_file": secret, "backoff_seconds": 0, **extra})

    def caldav_settings(self, **extra: object) -> CalDavSettings:
        secret = private_file(self.tmp / "caldav.secret", ADMIN_PASSWORD)
        return CalDavSettings.model_validate({
            "type": "caldav", "url": self.radicale.url, "people": self.people_csv,
            "username": ADMIN, "password_file": secret, "backoff_seconds": 0,
            "imap": self.imap_settings(), **self._caldav_extra, **extra})

    def connectors(self) -> Connectors:
        if self._connectors is None:
            built = build_caldav(self.caldav_settings(), clock=fixed_clock(self.now))
            built.sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=self.smtp.port,
                                                   security="none", backoff_seconds=0))
            self._connectors = built
        return self._connectors

    # --- seeding ------------------------------------------------------------------------
    def calendar_of(self, user: str) -> str:
        if user not in self._calendars:
            self.radicale.make_calendar(user)
            self._calendars.add(user)
        return self.radicale.href(user)

    def put_event(self, users: Sequence[str], name: str, ics: str) -> None:
        for user in dict.fromkeys(users):
            reply = self.radicale.put(self.calendar_of(user) + name, ics)
            assert reply.status_code in (200, 201, 204), reply.text

    def seed(self, people: Sequence[Person], meetings: Sequence[Interaction],
             messages: Sequence[Interaction]) -> None:
        write_people(self.people_csv, people)
        for p in people:
            self.calendar_of(p.email)
        for m in meetings:
            self.add_meeting(m)
        for msg in messages:
            self.add_message(msg)

    def add_meeting(self, meeting: Interaction) -> None:
        organizer = meeting.participants[0]
        ics = event_ics(meeting.id, meeting.start, meeting.start + meeting.duration, organizer,
                        list(meeting.participants))
        self.put_event(meeting.participants, f"{meeting.id}.ics", ics)

    def add_message(self, msg: Interaction) -> None:
        sender, *recipients = msg.participants
        raw = mail_bytes(msg.id, msg.start, sender, recipients)
        self.dovecot.append(sender, "Sent", raw, msg.start)
        for who in recipients:
            self.dovecot.append(who, "INBOX", raw, msg.start)

    def add_foreign_event(self, owner: str, event_id: str, start: dt.datetime,
                          end: dt.datetime) -> None:
        # someone's own event that happens to sit where the hold would, without the mark
        ics = event_ics(f"{event_id}@bridgework", start, end, owner, [])
        self.put_event([owner], f"{event_id}.ics", ics)

    def hold_href(self, hold: Hold) -> str:
        return self.calendar_of(hold.organizer) + f"{hold.id}.ics"

    def respond(self, hold: Hold, email: str, response: Response) -> None:
        """The attendee answers in their own copy (Radicale delivers nothing further)."""
        href = self.calendar_of(email) + f"{hold.id}.ics"
        data = self.radicale.get(href)
        if data is None:  # not delivered to them: the answer lands on the organiser's copy
            href = self.hold_href(hold)
            data = self.radicale.get(href)
        assert data is not None
        cal = icalendar.Calendar.from_ical(data)
        for event in cal.walk("VEVENT"):
            for attendee in event.get("ATTENDEE", []):
                if str(attendee).lower() == f"mailto:{email}":
                    attendee.params["PARTSTAT"] = {"needsAction": "NEEDS-ACTION"}.get(
                        response.value, response.value.upper())
        self.radicale.put(href, cal.to_ical())

    def add_bad_record(self, part: str) -> str:
        assert part == "directory", part  # the servers' answers are not files
        with self.people_csv.open("a") as f:
            f.write("not-an-address,Nobody,Sales,,,,UTC\n")
        return f"{self.people_csv}:{len(self.people_csv.read_text().splitlines())}"

    def sent(self) -> list[OutgoingMessage]:
        out = []
        for message in self.smtp.inbox.messages:
            body = message.get_body(("plain",)) if hasattr(message, "get_body") else None
            out.append(OutgoingMessage(str(message["Message-ID"]), str(message["To"]),
                                       str(message["Subject"]), str(body or ""), None,
                                       str(message["From"])))
        return out
