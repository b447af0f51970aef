from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from connectors.base import Interaction, Person, SyncChunk
from tests.fakes.google.world import GoogleWorld

DAY = 86_400.0


def people(n: int, departments: tuple[str, ...] = ("Sales", "Legal", "Ops")) -> list[Person]:
    return [Person(f"p{i:03d}@example.org", departments[i % len(departments)], f"Person {i}")
            for i in range(n)]


def seed_people(world: GoogleWorld, folks: Iterable[Person]) -> list[Person]:
    found = list(folks)
    for p in found:
        world.fake.add_user(p.email, p.name, p.department, timezone="Europe/Paris")
    return found


def drain(chunks: Iterable[SyncChunk], cursors: dict[str, str] | None = None
          ) -> tuple[list[Interaction], dict[str, str], list[SyncChunk]]:
    got: list[Interaction] = []
    out = dict(cursors or {})
    seen: list[SyncChunk] = []
    for chunk in chunks:
        seen.append(chunk)
        got.extend(chunk.interactions)
        if chunk.cursor is not None:
            out[chunk.cursor_key] = chunk.cursor
    return got, out, seen


def at(world: GoogleWorld, days_ago: float, hour: int = 10) -> float:
    day = world.now - dt.timedelta(days=days_ago)
    return day.replace(hour=hour, minute=0, second=0, microsecond=0).timestamp()
