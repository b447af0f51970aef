"""Microsoft Graph sync cost against the local fake Graph server.

Builds a fake tenant (default 1,000 people, a year of meetings and sent
mail), then measures with the real connector:

* the initial sync (directory with mailbox settings, calendars, mail):
  HTTP requests, Graph calls inside them, throttling (the fake answers a share
  of calls with 429 + Retry-After and blocks that mailbox until it passes),
  the most requests any mailbox had in flight, and wall time;
* an incremental cycle with nothing changed: HTTP requests per person.

Run: ``.venv/bin/python bench/graph_sync.py [--users 1000] [--weeks 52]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connectors.base import Person, SyncChunk  # noqa: E402
from connectors.microsoft.auth import TokenProvider, make_session  # noqa: E402
from connectors.microsoft.calendar import MicrosoftCalendar  # noqa: E402
from connectors.microsoft.client import GraphClient  # noqa: E402
from connectors.microsoft.directory import MicrosoftDirectory  # noqa: E402
from connectors.microsoft.mail import MicrosoftMail  # noqa: E402
from connectors.microsoft.settings import MicrosoftSettings  # noqa: E402
from tests.fakes.graph import FakeGraph, Tenant  # noqa: E402

DEPARTMENTS = ("Engineering", "Sales", "Product", "Marketing", "Finance", "Legal", "Operations",
               "People", "Design", "Support")


def make_tenant(users: int, weeks: int, now: dt.datetime, seed: int) -> tuple[Tenant, int, int]:
    """People in departments; each organises ~2 meetings and sends ~5 mails a week."""
    rng = random.Random(seed)
    tenant = Tenant("bench.example")
    emails = [f"user{i:05d}@bench.example" for i in range(users)]
    for i, email in enumerate(emails):
        tenant.add_user(email, f"User {i}", DEPARTMENTS[i % len(DEPARTMENTS)], "Staff",
                        manager=emails[(i // 8) * 8] if i % 8 else None)
    start = now - dt.timedelta(weeks=weeks)
    meetings = messages = 0
    for week in range(weeks):
        monday = start + dt.timedelta(weeks=week)
        for email in emails:
            for _ in range(rng.choice((1, 2, 2, 3))):
                others = rng.sample(emails, rng.choice((1, 1, 2, 3, 4)))
                at = monday + dt.timedelta(days=rng.randrange(5), hours=8 + rng.randrange(9))
                tenant.add_meeting(email, others, at, at + dt.timedelta(minutes=30))
                meetings += 1
            for _ in range(rng.choice((3, 5, 7))):
                at = monday + dt.timedelta(days=rng.randrange(5), minutes=rng.randrange(600))
                tenant.add_message(email, rng.sample(emails, rng.choice((1, 1, 2, 3))), at)
                messages += 1
    return tenant, meetings, messages


def drain(chunks: Iterable[SyncChunk], cursors: dict[str, str]) -> int:
    count = 0
    for chunk in chunks:
        count += len(chunk.interactions)
        if chunk.cursor is not None:
            cursors[chunk.cursor_key] = chunk.cursor
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--throttle", type=float, default=0.01, help="share of calls answered 429")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    now = dt.datetime.now(dt.UTC)
    started = time.monotonic()
    tenant, meetings, messages = make_tenant(args.users, args.weeks, now, args.seed)
    copies = sum(len(b.events) for b in tenant.mailboxes.values())
    print(f"fake tenant: {args.users:,} people, {meetings:,} meetings ({copies:,} calendar copies), "
          f"{messages:,} sent messages, built in {time.monotonic() - started:.1f}s")

    with tempfile.TemporaryDirectory() as tmp, FakeGraph(Path(tmp), tenant) as fake:
        fake.throttle_rate = args.throttle
        settings = MicrosoftSettings.model_validate(fake.settings_dict(
            workers=args.workers, history_days=args.weeks * 7 + 7))
        session = make_session(settings)
        client = GraphClient(settings, session, TokenProvider(settings, session))
        ids: dict[str, str] = {}
        directory = MicrosoftDirectory(client, ids)
        calendar = MicrosoftCalendar(client, ids, lambda: now)
        mail = MicrosoftMail(client, ids, lambda: now)

        # --- initial sync ---------------------------------------------------------------
        cursors: dict[str, str] = {}
        begin, wire = time.monotonic(), fake.http_requests
        people: list[Person] = list(directory.people())
        read_meetings = drain(calendar.read(people, {}), cursors)
        read_mail = drain(mail.read(people, {}), cursors)
        took = time.monotonic() - begin
        http = fake.http_requests - wire - fake.token_requests - 1  # minus sign-in discovery
        s = client.stats
        print("\ninitial sync")
        print(f"  people {len(people):,}, meetings read {read_meetings:,}, messages read {read_mail:,}")
        print(f"  HTTP requests {http:,} ({http / len(people):.2f} per person) carrying "
              f"{s.calls:,} Graph calls in {s.batches:,} $batch requests")
        print(f"  throttled (429) {fake.throttled:,}, retries {s.retries:,}, "
              f"waited {s.slept_seconds:.0f}s in total across workers")
        print(f"  came back before Retry-After passed: {fake.early_returns}")
        print(f"  most requests in flight for one mailbox: {max(fake.max_in_flight.values())}"
              f" (limit {settings.mailbox_concurrency})")
        print(f"  wall time {took:.1f}s with {settings.workers} workers")

        # --- incremental cycles, nothing changed -------------------------------------------
        fake.throttle_rate = 0.0
        for label, with_hours in (("directory with mailbox settings", True),
                                  ("directory without mailbox settings", False)):
            client.settings = settings.model_copy(update={"working_hours": with_hours})
            wire = fake.http_requests
            begin = time.monotonic()
            people = list(directory.people())
            changed = drain(calendar.read(people, cursors), cursors) + drain(mail.read(people, cursors),
                                                                            cursors)
            http = fake.http_requests - wire
            print(f"\nincremental cycle, no changes ({label})")
            print(f"  HTTP requests {http:,} = {http / len(people):.3f} per person "
                  f"(unbatched it would be {2 + int(with_hours)} per person); "
                  f"items read {changed}; {time.monotonic() - begin:.1f}s")
        calendar_only = fake.http_requests
        drain(calendar.read(people, cursors), cursors)
        drain(mail.read(people, cursors), cursors)
        http = fake.http_requests - calendar_only
        print(f"\nincremental calendar + mail only: {http} requests = {http / len(people):.3f} per person")


if __name__ == "__main__":
    main()
