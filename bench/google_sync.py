"""Google sync cost against the local fake: requests per user, and per-user quotas.

Prints:
- the initial sync of N users × a year of meetings and mail: HTTP requests
  (batches count once), calls inside batches, token requests, time, and the
  busiest user's per-minute use of each quota next to Google's limit (the
  fake enforces those limits and counts every breach);
- an incremental cycle with no changes: HTTP requests per user, with the
  tokens still valid and again after they expired (a cycle an hour later).

Run: .venv/bin/python bench/google_sync.py [--users 1000] [--weeks 52]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.google import build
from tests.fakes.google.org import populate
from tests.fakes.google.server import FakeGoogle, FakeServer
from tests.fakes.google.world import GoogleWorld

CALENDAR_LIMIT = 600  # Calendar API queries per user per minute
GMAIL_LIMIT = 15_000  # Gmail quota units per user per minute (250 a second)


def _delta(after: Counter[str], before: Counter[str], key: str) -> int:
    return after[key] - before[key]


def _cycle(conn, people, cursors):  # type: ignore[no-untyped-def]
    read = 0
    for source in (conn.calendar, conn.mail):
        for chunk in source.read(people, cursors):
            read += len(chunk.interactions)
            if chunk.cursor is not None:
                cursors[chunk.cursor_key] = chunk.cursor
    return read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--meetings", type=float, default=3.0, help="meetings organised a week")
    parser.add_argument("--mails", type=float, default=2.0, help="messages sent a week")
    args = parser.parse_args()

    fake = FakeGoogle(calendar_per_minute=CALENDAR_LIMIT, gmail_units_per_minute=GMAIL_LIMIT)
    now = dt.datetime.now(dt.UTC)
    with FakeServer(fake) as server, tempfile.TemporaryDirectory() as tmp:
        world = GoogleWorld(server, Path(tmp), now)
        started = time.perf_counter()
        truth = populate(fake, users=args.users, weeks=args.weeks, now=now,
                         meetings=args.meetings, mails=args.mails)
        print(f"fake domain: {args.users} users, {args.weeks} weeks, {truth.events:,} events, "
              f"{truth.messages:,} messages (built in {time.perf_counter() - started:.1f}s)")
        conn = build(world.settings.model_copy(update={"backoff_seconds": 1.0,
                                                       "backoff_max_seconds": 32.0}))
        assert conn.calendar is not None and conn.mail is not None

        before = fake.stats.copy()
        started = time.perf_counter()
        people = list(conn.directory.people())
        cursors: dict[str, str] = {}
        read = _cycle(conn, people, cursors)
        elapsed = time.perf_counter() - started
        after = fake.stats.copy()
        http = _delta(after, before, "http_requests")
        print(f"\ninitial sync: {len(people)} people, {read:,} interactions read "
              f"in {elapsed:.1f}s")
        print(f"  HTTP requests: {http:,} ({http / len(people):.2f} per user); "
              f"batches {_delta(after, before, 'batch_requests'):,}, "
              f"calls inside batches {_delta(after, before, 'inner_calls'):,}, "
              f"single calls {_delta(after, before, 'api_calls'):,}, "
              f"token requests {_delta(after, before, 'token_requests'):,}")
        print(f"  largest batch: {max(fake.batch_sizes)} calls")
        print(f"  busiest user, calendar: {fake.quota_peak['calendar']} requests/min "
              f"(limit {CALENDAR_LIMIT}); gmail: {fake.quota_peak['gmail']} units/min "
              f"(limit {GMAIL_LIMIT:,})")
        print(f"  quota breaches answered 429/403: {fake.quota_violations}")

        for label, expire in (("tokens still valid", False), ("tokens expired", True)):
            if expire:
                fake.expire_tokens()
                for creds in _all_credentials(conn):
                    creds.token = None  # as after an hour: the cached tokens are stale
            before = fake.stats.copy()
            started = time.perf_counter()
            changed = _cycle(conn, people, cursors)
            elapsed = time.perf_counter() - started
            after = fake.stats.copy()
            http = _delta(after, before, "http_requests")
            tokens = _delta(after, before, "token_requests")
            print(f"\nincremental cycle, no changes ({label}): {changed} interactions, "
                  f"{elapsed:.2f}s")
            print(f"  HTTP requests: {http:,} = {http / len(people):.3f} per user "
                  f"(API {(http - tokens) / len(people):.3f}, token {tokens / len(people):.3f})")
        print(f"\nquota breaches in total: {fake.quota_violations}")


def _all_credentials(conn):  # type: ignore[no-untyped-def]
    client = conn.calendar._client
    return [authed.credentials for authed in client._authed.values()]


if __name__ == "__main__":
    main()
