"""CalDAV and IMAP sync cost against real local servers (Radicale and Dovecot).

Seeds ``--people`` people (default 200) with ``--weeks`` (default 52) of
calendar and mail: each person's calendar holds weekly and fortnightly
series with colleagues plus single meetings (one collection PUT per person),
and each person sends a few messages a week, found in their Sent folder and
the recipients' INBOX (Maildir files written where Dovecot keeps them, with
the message date as arrival time). Then, with the real connectors:

* the first sync of every calendar and mailbox: wall time, CalDAV requests
  and IMAP commands per person;
* an idle cycle (nothing changed): requests and commands per person.
  Target: at most 2 CalDAV requests per person unchanged.

Run: ``.venv/bin/python bench/caldav_imap_sync.py [--people 200] [--weeks 52]``
(needs Radicale from the test extras and Debian's dovecot-imapd).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import icalendar  # noqa: E402

from connectors.base import Person, SyncChunk  # noqa: E402
from connectors.caldav import build  # noqa: E402
from connectors.caldav.calendar import CalDavCalendar  # noqa: E402
from connectors.caldav.settings import CalDavSettings  # noqa: E402
from connectors.common.clock import fixed_clock  # noqa: E402
from connectors.imap.mail import ImapMail  # noqa: E402
from tests.servers.dovecot import MASTER, MASTER_PASSWORD, Dovecot  # noqa: E402
from tests.servers.radicale import ADMIN, ADMIN_PASSWORD, Radicale  # noqa: E402
from tests.servers.world import mail_bytes, private_file, write_people  # noqa: E402

UTC = dt.UTC
DEPARTMENTS = ("Engineering", "Finance", "Legal", "Sales", "Support")


def _event(uid: str, start: dt.datetime, minutes: int, people: list[str],
           rule: str | None = None) -> icalendar.Event:
    event = icalendar.Event()
    event.add("UID", uid)
    event.add("DTSTAMP", start)
    event.add("DTSTART", start)
    event.add("DTEND", start + dt.timedelta(minutes=minutes))
    event.add("SUMMARY", "private")
    event.add("ORGANIZER", icalendar.vCalAddress(f"mailto:{people[0]}"))
    for who in people:
        address = icalendar.vCalAddress(f"mailto:{who}")
        address.params["PARTSTAT"] = "ACCEPTED"
        event.add("ATTENDEE", address, encode=False)
    if rule:
        event.add("RRULE", icalendar.vRecur.from_ical(rule))
    return event


def seed_calendars(radicale: Radicale, emails: list[str], first: dt.datetime, weeks: int,
                   rng: random.Random) -> int:
    objects = 0
    for n, email in enumerate(emails):
        cal = icalendar.Calendar()
        cal.add("PRODID", "-//Bridgework bench//EN")
        cal.add("VERSION", "2.0")
        others = [e for e in emails if e != email]
        for k in range(4):
            start = first + dt.timedelta(days=k % 5, hours=9 + k)
            cal.add_component(_event(f"w{n}-{k}", start, 30, [email, *rng.sample(others, 1 + k % 3)],
                                     "FREQ=WEEKLY"))
        for k in range(2):
            start = first + dt.timedelta(days=1 + k, hours=14)
            cal.add_component(_event(f"f{n}-{k}", start, 60, [email, *rng.sample(others, 4)],
                                     "FREQ=WEEKLY;INTERVAL=2"))
        for k in range(weeks):
            start = first + dt.timedelta(weeks=k, days=rng.randrange(5), hours=9 + rng.randrange(8))
            cal.add_component(_event(f"s{n}-{k}", start, 45, [email, rng.choice(others)]))
        objects += 6 + weeks
        radicale.request("MKCOL", f"/{email}/")
        reply = radicale.request("PUT", f"/{email}/calendar/", cal.to_ical(),
                                 {"Content-Type": "text/calendar"})
        assert reply.status_code in (201, 204), reply.text
    return objects


def seed_mail(dovecot: Dovecot, emails: list[str], first: dt.datetime, weeks: int,
              rng: random.Random) -> int:
    """Maildir files where Dovecot keeps them (as a delivery agent would leave them)."""
    owner = os.stat(dovecot.dir)
    count = 0

    def drop(user: str, folder: str, name: str, raw: bytes, when: dt.datetime) -> None:
        box = dovecot.dir / "home" / user / "Maildir" / (f".{folder}" if folder != "INBOX" else "")
        cur = box / "cur"
        if not cur.exists():
            for sub in ("cur", "new", "tmp"):
                (box / sub).mkdir(parents=True, exist_ok=True)
            for path in [dovecot.dir / "home" / user, *(dovecot.dir / "home" / user).rglob("*")]:
                os.chown(path, owner.st_uid, owner.st_gid)
        path = cur / f"{int(when.timestamp())}.{name}.bench:2,S"
        path.write_bytes(raw)
        os.utime(path, (when.timestamp(), when.timestamp()))
        os.chown(path, owner.st_uid, owner.st_gid)

    for n, sender in enumerate(emails):
        others = [e for e in emails if e != sender]
        for week in range(weeks):
            for k in range(3):
                when = first + dt.timedelta(weeks=week, days=rng.randrange(5),
                                            hours=8 + rng.randrange(10))
                to = rng.sample(others, 1 + (k == 2) * 2)
                raw = mail_bytes(f"<{n}.{week}.{k}@bench>", when, sender, to)
                name = f"{n}_{week}_{k}"
                drop(sender, "Sent", name, raw, when)
                for who in to:
                    drop(who, "INBOX", name, raw, when)
                count += 1
    return count


def sync(source: CalDavCalendar | ImapMail, people: list[Person],
         cursors: dict[str, str]) -> tuple[int, float]:
    start = time.perf_counter()
    read = 0
    chunk: SyncChunk
    for chunk in source.read(people, cursors):
        read += len(chunk.interactions)
        if chunk.cursor is not None:
            cursors[chunk.cursor_key] = chunk.cursor
    return read, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--weeks", type=int, default=52)
    args = parser.parse_args()
    rng = random.Random(7)
    emails = [f"b{i:04d}@example.org" for i in range(args.people)]
    people = [Person(e, DEPARTMENTS[i % len(DEPARTMENTS)]) for i, e in enumerate(emails)]
    now = dt.datetime.now(UTC).replace(microsecond=0)
    first = now - dt.timedelta(weeks=args.weeks)
    work = Path(tempfile.mkdtemp(prefix="bw-bench-"))
    radicale = Radicale({e: "pw" for e in emails})
    dovecot = Dovecot({e: "pw" for e in emails})
    try:
        t = time.perf_counter()
        objects = seed_calendars(radicale, emails, first, args.weeks, rng)
        messages = seed_mail(dovecot, emails, first, args.weeks, rng)
        print(f"seeded {args.people} people x {args.weeks} weeks: {objects:,} calendar objects, "
              f"{messages:,} messages in {time.perf_counter() - t:.1f} s")
        settings = CalDavSettings.model_validate({
            "type": "caldav", "url": radicale.url,
            "people": write_people(work / "people.csv", people), "username": ADMIN,
            "password_file": private_file(work / "caldav.secret", ADMIN_PASSWORD),
            "history_days": args.weeks * 7 + 7,
            "imap": {"host": "127.0.0.1", "port": dovecot.port, "security": "none",
                     "username": MASTER,
                     "password_file": private_file(work / "imap.secret", MASTER_PASSWORD),
                     "history_days": args.weeks * 7 + 7}})
        built = build(settings, clock=fixed_clock(now))
        calendar, mail = built.calendar, built.mail
        assert isinstance(calendar, CalDavCalendar) and isinstance(mail, ImapMail)
        cursors: dict[str, str] = {}
        n = args.people
        read, seconds = sync(calendar, people, cursors)
        first_requests = calendar.requests
        print(f"CalDAV first sync: {read:,} occurrences in {seconds:.1f} s, "
              f"{first_requests / n:.2f} requests per person")
        read, seconds = sync(mail, people, cursors)
        first_commands, first_logins = mail.commands, mail.logins
        print(f"IMAP first sync:   {read:,} messages in {seconds:.1f} s, "
              f"{first_commands / n:.2f} commands per person (sign-in included)")
        _, seconds = sync(calendar, people, cursors)
        idle = (calendar.requests - first_requests) / n
        print(f"CalDAV idle cycle: {seconds:.2f} s, {idle:.2f} requests per person "
              f"(target <= 2) {'OK' if idle <= 2 else 'OVER'}")
        _, seconds = sync(mail, people, cursors)
        print(f"IMAP idle cycle:   {seconds:.2f} s, "
              f"{(mail.commands - first_commands) / n:.2f} commands per person "
              f"({(mail.logins - first_logins) / n:.0f} sign-in + STATUS of Sent and INBOX)")
        print(f"problems reported: {len(calendar.problems) + len(mail.problems)}")
    finally:
        radicale.stop()
        dovecot.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
