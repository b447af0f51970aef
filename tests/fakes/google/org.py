"""A synthetic Workspace domain for the fake: people, a year of meetings and mail.

Contact is bursty (a busy week now and then, quiet weeks too) and one
department pair stops meeting and writing in the last ``drift_weeks`` weeks,
so the analysis has a real seam to find and steady pairs to leave alone.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from tests.fakes.google.server import FakeGoogle

DEPARTMENTS = ("Sales", "Legal", "Engineering", "Finance", "Support")
WEEK = dt.timedelta(days=7)


@dataclass
class Truth:
    people: list[str]
    departments: dict[str, str]
    drifting: tuple[str, str] | None
    events: int = 0
    messages: int = 0


def _slot(rng: random.Random, week_start: dt.datetime) -> float:
    day = week_start + dt.timedelta(days=rng.randrange(5), hours=9 + rng.randrange(8))
    return day.timestamp()


def populate(fake: FakeGoogle, *, users: int = 50, weeks: int = 52, now: dt.datetime,
             seed: int = 1, drift: tuple[str, str] | None = ("Legal", "Sales"),
             drift_weeks: int = 8, meetings: float = 3.0, mails: float = 2.0,
             departments: tuple[str, ...] = DEPARTMENTS) -> Truth:
    """Fill ``fake`` with ``users`` people and ``weeks`` of contact ending before ``now``."""
    rng = random.Random(seed)
    emails = [f"user{i:04d}@{fake.domain}" for i in range(users)]
    dept = {e: departments[i % len(departments)] for i, e in enumerate(emails)}
    heads = {d: next(e for e in emails if dept[e] == d) for d in departments}
    for i, email in enumerate(emails):
        manager = heads[dept[email]] if heads[dept[email]] != email else None
        fake.add_user(email, f"User {i}", dept[email], "Engineer" if i % 7 else "Manager",
                      manager, timezone="UTC")
    by_dept = {d: [e for e in emails if dept[e] == d] for d in departments}
    truth = Truth(emails, dept, drift)
    monday = (now - dt.timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0,
                                                              microsecond=0)

    def partner(person: str, recent: bool) -> str:
        if rng.random() < 0.55:
            pool = by_dept[dept[person]]
        else:
            other = rng.choice([d for d in departments if d != dept[person]])
            if recent and drift and {dept[person], other} == set(drift):
                other = dept[person]  # the planted seam: this pair has stopped talking
            pool = by_dept[other]
        choice = rng.choice(pool)
        return choice if choice != person else rng.choice(emails)

    for week in range(weeks, 0, -1):
        start = monday - week * WEEK
        recent = week <= drift_weeks
        burst = 2.0 if rng.random() < 0.1 else (0.4 if rng.random() < 0.1 else 1.0)
        for person in emails:
            for _ in range(_count(rng, meetings * burst)):
                others = {partner(person, recent) for _ in range(rng.choice((1, 1, 2)))}
                others.discard(person)
                if not others:
                    continue
                begin = _slot(rng, start)
                fake.add_event(person, sorted(others), begin, begin + rng.choice((1800, 3600)))
                truth.events += 1
            for _ in range(_count(rng, mails * burst)):
                to = partner(person, recent)
                if to != person:
                    fake.add_message(person, [to], when=_slot(rng, start) + rng.randrange(3600))
                    truth.messages += 1
    return truth


def _count(rng: random.Random, mean: float) -> int:
    whole = int(mean)
    return whole + (1 if rng.random() < mean - whole else 0)
