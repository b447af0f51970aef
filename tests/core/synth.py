"""A small synthetic organisation for core tests (the demo generator is tested on its own)."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from connectors.base import Interaction, InteractionKind, Person, WorkingHours

DEPARTMENTS = ("Engineering", "Sales", "Legal", "Finance")
ZONES = ("Europe/London", "America/New_York", "Europe/Lisbon", "Asia/Tokyo")


@dataclass
class Synth:
    people: list[Person]
    meetings: list[Interaction]
    messages: list[Interaction]
    as_of: dt.datetime


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def make_org(
    *, per_dept: int = 8, weeks: int = 34, seed: int = 3, drift: tuple[str, str] | None = ("Legal", "Sales"),
    as_of: dt.datetime = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC), recent: int = 6,
) -> Synth:
    """Departments that meet each other weekly; ``drift`` stops meeting in the recent weeks."""
    rng = random.Random(seed)
    people: list[Person] = []
    for d_index, dept in enumerate(DEPARTMENTS):
        for i in range(per_dept):
            email = f"{dept.lower()}{i}@example.org"
            manager = f"{dept.lower()}0@example.org" if i else None
            people.append(Person(email, dept, f"{dept[:3]}{i} Person", "Staff", 2 + i % 3, manager,
                                 ZONES[d_index % len(ZONES)] if d_index < 3 else "Europe/London",
                                 WorkingHours()))
    by_dept = {d: [p for p in people if p.department == d] for d in DEPARTMENTS}
    first = monday(as_of.date()) - dt.timedelta(weeks=weeks)
    meetings: list[Interaction] = []
    messages: list[Interaction] = []
    n = 0
    for w in range(weeks):
        week = first + dt.timedelta(weeks=w)
        in_recent = w >= weeks - recent
        for dept, members in by_dept.items():
            start = dt.datetime.combine(week, dt.time(13), tzinfo=dt.UTC)
            meetings.append(Interaction(f"team-{dept}-{w}", InteractionKind.MEETING, start,
                                        tuple(p.email for p in members), len(members),
                                        dt.timedelta(hours=1)))
        for i, d1 in enumerate(DEPARTMENTS):
            for d2 in DEPARTMENTS[i + 1:]:
                drifting = drift is not None and {d1, d2} == set(drift) and in_recent
                count = rng.randint(3, 6) if not drifting else rng.randint(0, 1)
                for _ in range(count):
                    a, b = rng.choice(by_dept[d1]), rng.choice(by_dept[d2])
                    day = week + dt.timedelta(days=rng.randint(0, 4), hours=rng.randint(9, 15))
                    start = dt.datetime.combine(day, dt.time(rng.randint(9, 15)), tzinfo=dt.UTC)
                    n += 1
                    meetings.append(Interaction(f"m{n}", InteractionKind.MEETING, start,
                                                (a.email, b.email), 2, dt.timedelta(minutes=45)))
                    messages.append(Interaction(f"<{n}@example.org>", InteractionKind.EMAIL,
                                                start + dt.timedelta(hours=1), (a.email, b.email), 1))
    # a standing tie inside the drifting seam that lapses
    if drift:
        a, b = by_dept[drift[0]][1], by_dept[drift[1]][1]
        for w in range(weeks - recent):
            start = dt.datetime.combine(first + dt.timedelta(weeks=w, days=2), dt.time(15), tzinfo=dt.UTC)
            meetings.append(Interaction(f"tie-{w}", InteractionKind.MEETING, start, (a.email, b.email),
                                        2, dt.timedelta(minutes=30)))
    return Synth(people, meetings, messages, as_of)
