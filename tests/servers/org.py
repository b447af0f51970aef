"""A small organisation on the real servers, with one seam that has gone quiet.

Four departments of three people. Every department pair keeps three weekly
one-to-one series going (three distinct ties a week), except Legal and
Sales, whose series ended ``QUIET_WEEKS`` ago. Each department has a weekly
team meeting with a skipped week (EXDATE) and a moved one (an override).
Mail: everyone writes to a few colleagues each week, one status mail goes
to nine people, and one announcement goes to 40 addresses (a broadcast,
which must not count).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from pathlib import Path

import icalendar

from connectors.base import Person
from tests.servers.dovecot import Dovecot
from tests.servers.radicale import Radicale
from tests.servers.world import event_ics, mail_bytes, write_people

DEPARTMENTS = ("Engineering", "Finance", "Legal", "Sales")
SEAM = ("Legal", "Sales")
WEEKS, QUIET_WEEKS = 34, 7


@dataclass
class Org:
    people: list[Person]
    now: dt.datetime
    objects: int = 0
    messages: int = 0
    series: dict[str, list[str]] = field(default_factory=dict)  # uid -> attendees


def _monday(now: dt.datetime) -> dt.datetime:
    day = (now - dt.timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0,
                                                           microsecond=0)
    return day.astimezone(dt.UTC)


def _moved(uid: str, original: dt.datetime, attendees: list[str]) -> icalendar.Event:
    event = icalendar.Event()
    event.add("UID", uid)
    event.add("DTSTAMP", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    event.add("RECURRENCE-ID", original)
    event.add("DTSTART", original + dt.timedelta(hours=2))
    event.add("DTEND", original + dt.timedelta(hours=3))
    event.add("ORGANIZER", icalendar.vCalAddress(f"mailto:{attendees[0]}"))
    for who in attendees:
        address = icalendar.vCalAddress(f"mailto:{who}")
        address.params["PARTSTAT"] = "ACCEPTED"
        event.add("ATTENDEE", address, encode=False)
    return event


def seed(radicale: Radicale, dovecot: Dovecot, people_csv: Path, now: dt.datetime) -> Org:
    people = [Person(f"p{i:03d}@example.org", DEPARTMENTS[i // 3], f"Person {i}", "Engineer", 3,
                     None if i % 3 == 0 else f"p{i - i % 3:03d}@example.org", "UTC")
              for i in range(12)]
    write_people(people_csv, people)
    org = Org(people, now)
    by_dept = {d: [p.email for p in people if p.department == d] for d in DEPARTMENTS}
    first = _monday(now) - dt.timedelta(weeks=WEEKS)
    quiet = _monday(now) - dt.timedelta(weeks=QUIET_WEEKS)
    for person in people:
        radicale.make_calendar(person.email)

    def put(uid: str, attendees: list[str], ics: str) -> None:
        for who in attendees:
            assert radicale.put(radicale.href(who, name=f"{uid}.ics"), ics).status_code == 201
        org.objects += 1
        org.series[uid] = attendees

    for n, (a, b) in enumerate(itertools.combinations(DEPARTMENTS, 2)):
        for k in range(3):
            pair = [by_dept[a][k], by_dept[b][(k + n) % 3]]
            start = first + dt.timedelta(days=k % 5, hours=9 + n)
            rule = "FREQ=WEEKLY"
            if {a, b} == set(SEAM):
                rule += f";UNTIL={quiet:%Y%m%dT%H%M%SZ}"
            put(f"tie-{a}-{b}-{k}", pair,
                event_ics(f"tie-{a}-{b}-{k}", start, start + dt.timedelta(hours=1), pair[0], pair,
                          rrule=rule, tzid="Europe/London"))
    for n, department in enumerate(DEPARTMENTS):
        team = by_dept[department]
        start = first + dt.timedelta(days=4, hours=10 + n)
        uid = f"team-{department}"
        skipped, moved = start + dt.timedelta(weeks=5), start + dt.timedelta(weeks=9)
        put(uid, team, event_ics(uid, start, start + dt.timedelta(minutes=30), team[0], team,
                                 rrule="FREQ=WEEKLY", exdates=[skipped],
                                 overrides=[_moved(uid, moved, team)]))
    _mail(dovecot, org, by_dept, first)
    return org


def _mail(dovecot: Dovecot, org: Org, by_dept: dict[str, list[str]], first: dt.datetime) -> None:
    everyone = [p.email for p in org.people]
    outsiders = [f"x{i:02d}@elsewhere.example" for i in range(28)]

    def send(message_id: str, when: dt.datetime, sender: str, to: list[str],
             cc: list[str] | None = None) -> None:
        raw = mail_bytes(message_id, when, sender, to, cc or [])
        dovecot.append(sender, "Sent", raw, when)
        for who in dict.fromkeys(to + (cc or [])):
            if who in everyone and who != sender:
                dovecot.append(who, "INBOX", raw, when)
        org.messages += 1

    for week in range(0, WEEKS, 4):  # a status mail to nine people, once a month
        when = first + dt.timedelta(weeks=week, days=1, hours=15)
        send(f"<status-{week}@example.org>", when, everyone[0], everyone[1:4], everyone[4:10])
    send("<all-hands@example.org>", first + dt.timedelta(weeks=3, days=2, hours=8), everyone[0],
         everyone + outsiders)  # 40 addresses: a broadcast
