"""The uninstall against the memory backend and the Google and Microsoft test servers.

Holds are placed by the real place step; one is then met, one declined and
released by upkeep, one replaced by someone else's event under the same id.
After ``release_holds(everything=True)`` no event carrying Bridgework's mark
is left on the server, the foreign event is untouched, and the store says so.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from agent.lifecycle import Cause, Stage
from agent.matcher import Suggestion
from agent.pipeline import Planned, load_org, place, upkeep
from agent.pseudonym import Pseudonymiser
from agent.slots import Slot
from agent.store import MemoryStore
from agent.uninstall import RELEASED_ALL_KEY, releasable, release_holds
from connectors.base import Calendar, Connectors, Hold, Response, hold_id_for
from connectors.memory import MemoryCalendar
from connectors.microsoft.calendar import MARK_PROPERTY
from rules.model import Rules
from tests.contract.suite import contract_people
from tests.contract.test_memory import MemoryWorld
from tests.fakes.google.server import FakeServer
from tests.fakes.google.world import GoogleWorld
from tests.fakes.graph import FakeGraph
from tests.google.conftest import gworld, server  # noqa: F401  (fixtures)
from tests.microsoft.conftest import Build, connect, fake, sleeps  # noqa: F401  (fixtures)
from tests.microsoft.test_contract import GraphWorld


class _World(Protocol):
    """What the uninstall test asks of a contract world."""

    def connectors(self) -> Connectors: ...
    def respond(self, hold: Hold, email: str, response: Response) -> None: ...
    def add_foreign_event(self, owner: str, event_id: str, start: dt.datetime,
                          end: dt.datetime) -> None: ...


RULES = Rules.model_validate({"meetings": {"mode": "invite"}})
MONDAY = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)
PAIRS = (("ada@example.org", "linus@example.org", 1), ("grace@example.org", "rosalind@example.org", 2),
         ("linus@example.org", "rosalind@example.org", 3), ("ada@example.org", "rosalind@example.org", 4))


def _uninstall(world: _World) -> tuple[MemoryStore, list[Hold]]:
    calendar = world.connectors().calendar
    assert calendar is not None
    org = load_org(contract_people(), Pseudonymiser(b"release-test-key-0123456789"))
    plans = []
    for a, b, day in PAIRS:
        pa, pb = org.people[a], org.people[b]
        start = MONDAY + dt.timedelta(days=day, hours=6)  # 14:00 UTC, Tuesday to Friday
        plans.append(Planned(Suggestion((pa, pb), (pa.department, pb.department), "new-tie",
                                        None, 1.0, "test"), hold_id_for("release", a, b),
                             Slot(start, start + dt.timedelta(minutes=30))))
    store = MemoryStore()
    report = place(plans, calendar, store, org, RULES, MONDAY)
    assert len(report.placed) == 4
    holds = [Hold(p.id, p.suggestion.emails[0], p.suggestion.emails, p.slot.start, p.slot.end,
                  "", "", RULES.meetings.mode) for p in plans if p.slot]
    met, declined, lost, _future = holds
    world.respond(met, met.attendees[1], Response.ACCEPTED)
    world.respond(declined, declined.attendees[1], Response.DECLINED)
    upkeep(calendar, store, org, RULES, {}, MONDAY + dt.timedelta(hours=1))
    upkeep(calendar, store, org, RULES, {}, met.end + dt.timedelta(hours=1))
    stages = {r.id: r.status for r in store.suggestions()}
    assert stages[met.id] is Stage.MET and stages[declined.id] is Stage.DECLINED
    # someone deletes one hold and puts their own event under the same id
    calendar.release(lost)
    world.add_foreign_event(lost.organizer, lost.id, lost.start, lost.end)
    now = met.end + dt.timedelta(hours=2)
    result = release_holds(calendar, store, org, RULES, releasable(store.suggestions()), now,
                           everything=True)
    assert result.complete and result.not_ours == [lost.id]
    assert set(result.released) == {met.id, _future.id}  # the past meeting too
    records = {r.id: r for r in store.suggestions()}
    for hold in (met, declined, _future):
        assert records[hold.id].transitions[-1].cause is Cause.UNINSTALL
        assert not calendar.state(hold).exists
    assert records[met.id].status is Stage.MET  # what happened stays true
    assert records[_future.id].status is Stage.CANCELLED
    assert store.meta(RELEASED_ALL_KEY) == now.isoformat()
    assert calendar.state(lost).exists  # someone else's event: left alone
    again = release_holds(calendar, store, org, RULES, releasable(store.suggestions()), now,
                          everything=True)
    assert again.released == [] and len(store.suggestions()[0].transitions) == \
        len(records[store.suggestions()[0].id].transitions)
    return store, holds


def test_memory_backend_keeps_no_marked_event() -> None:
    world = MemoryWorld()
    world.seed(contract_people(), [], [])
    _uninstall(world)
    calendar: Calendar | None = world.connectors().calendar
    assert isinstance(calendar, MemoryCalendar)
    assert [key for key, ev in calendar.events.items() if ev.mark] == []
    assert len(calendar.events) == 1  # the foreign event


def test_google_keeps_no_marked_event(gworld: GoogleWorld, server: FakeServer) -> None:  # noqa: F811
    gworld.seed(contract_people(), [], [])
    _uninstall(gworld)
    assert server.fake.hold_events() == []


def test_microsoft_keeps_no_marked_event(fake: FakeGraph, connect: Build) -> None:  # noqa: F811
    world = GraphWorld(fake, connect)
    world.seed(contract_people(), [], [])
    _uninstall(world)
    marked = [copy for box in fake.tenant.mailboxes.values() for copy in box.events.values()
              if not copy.deleted and MARK_PROPERTY.lower() in copy.props]
    assert marked == []
