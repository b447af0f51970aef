"""Upkeep through the real engine over memory connectors: each hold followed to its end."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from agent.ledger import week_of
from agent.lifecycle import Cause, Stage
from agent.store import SuggestionRecord
from connectors.base import Interaction, InteractionKind, Response
from connectors.memory import StoredEvent
from rules.model import Rules
from tests.core.conftest import World


def invite_rules(**meetings: object) -> Rules:
    return Rules.model_validate({"meetings": {"mode": "invite", **meetings},
                                 "pairing": {"per_seam_per_week": 3}})


def placed(world: World) -> tuple[SuggestionRecord, StoredEvent, str]:
    """The first hold of a fresh cycle, its calendar event, and the invitee."""
    report = world.engine.run_once()
    record = sorted(report.place.placed, key=lambda r: r.id)[0]
    event = next(ev for (owner, id_), ev in world.calendar.events.items() if id_ == record.id)
    other = next(a for a in event.attendees if a != event.owner)
    return record, event, other


def stored(world: World, record: SuggestionRecord) -> SuggestionRecord:
    return next(r for r in world.store.suggestions() if r.id == record.id)


def pair_weight(world: World, a: str, b: str, week: int) -> float:
    ledger = world.engine.ledger
    ia, ib = ledger.id_of(a), ledger.id_of(b)
    contacts = ledger.load_week(week)
    lo, hi = min(ia or 0, ib or 0), max(ia or 0, ib or 0)
    return float(sum(w for x, y, w in zip(contacts.a, contacts.b, contacts.weight, strict=True)
                     if (x, y) == (lo, hi)))


def answered(world: World, response: Response,
             stage: Stage) -> tuple[SuggestionRecord, StoredEvent, str]:
    """The first hold, answered by its invitee: recorded in ``stage``, naming who answered."""
    record, event, other = placed(world)
    event.responses[other] = response
    world.clock.now += dt.timedelta(minutes=30)
    world.engine.upkeep()
    got = stored(world, record)
    assert got.status is stage
    assert got.transitions[-1].by == (world.engine.org().pseudonym[other],)
    return got, event, other


def test_acceptance_is_recorded_and_an_accepted_hold_is_never_moved(
        make_world: Callable[..., World]) -> None:
    world = make_world(invite_rules())
    record, event, other = answered(world, Response.ACCEPTED, Stage.ACCEPTED)
    world.calendar.add_foreign_event(other, "their-own", event.start, event.end)
    world.engine.upkeep()
    assert world.calendar.events[(event.owner, record.id)].start == event.start  # theirs now
    assert stored(world, record).status is Stage.ACCEPTED


def test_an_unanswered_hold_is_released_the_configured_time_before_it_starts(
        make_world: Callable[..., World]) -> None:
    world = make_world(invite_rules(release_unanswered="1d"))
    record, event, _ = placed(world)
    world.clock.now = event.start - dt.timedelta(days=1, minutes=1)
    world.engine.upkeep()
    assert stored(world, record).status is Stage.HELD
    world.clock.now = event.start - dt.timedelta(days=1)
    assert world.engine.upkeep().outcomes.get("expired", 0) >= 1
    got = stored(world, record)
    assert got.status is Stage.EXPIRED and got.transitions[-1].cause is Cause.UNANSWERED
    assert (event.owner, record.id) not in world.calendar.events


def test_met_only_when_the_calendar_still_shows_it(make_world: Callable[..., World]) -> None:
    world = make_world(invite_rules())
    report = world.engine.run_once()
    first, second = sorted(report.place.placed, key=lambda r: r.id)[:2]
    events = {id_: ev for (_, id_), ev in world.calendar.events.items()}
    for ev in (events[first.id], events[second.id]):
        for a in ev.attendees:
            ev.responses[a] = Response.ACCEPTED
    world.clock.now += dt.timedelta(minutes=5)
    world.engine.upkeep()
    events[first.id].cancelled = True  # accepted, then called off on the calendar
    later = events[second.id].start + dt.timedelta(days=2)  # its people moved it
    events[second.id].start, events[second.id].end = later, later + dt.timedelta(minutes=30)
    world.clock.now = max(ev.end for ev in events.values() if ev.start < later) + dt.timedelta(hours=1)
    world.engine.upkeep()
    assert stored(world, first).status is Stage.CANCELLED
    assert stored(world, first).transitions[-1].cause is Cause.DELETED
    moved = stored(world, second)
    assert moved.status is Stage.ACCEPTED and moved.start == later.isoformat()
    assert moved.transitions[-1].cause is Cause.RESCHEDULED
    world.clock.now = later + dt.timedelta(hours=1)
    world.engine.upkeep()
    assert stored(world, second).status is Stage.MET


def test_a_met_hold_enters_the_ledger_once_and_its_copy_read_back_is_skipped(
        make_world: Callable[..., World], monkeypatch: pytest.MonkeyPatch) -> None:
    world = make_world(invite_rules())
    record, event, other = placed(world)
    for a in event.attendees:
        event.responses[a] = Response.ACCEPTED
    world.clock.now = event.end + dt.timedelta(hours=1)
    week = week_of(event.start)
    before = pair_weight(world, event.owner, other, week)
    real_save = world.store.save_suggestion

    def killed_on_met(r: SuggestionRecord) -> None:
        if r.status is Stage.MET:
            raise RuntimeError("killed after the ledger, before the store")
        real_save(r)

    monkeypatch.setattr(world.store, "save_suggestion", killed_on_met)
    with pytest.raises(RuntimeError):
        world.engine.upkeep()
    monkeypatch.setattr(world.store, "save_suggestion", real_save)
    world.restart()
    world.engine.upkeep()
    assert stored(world, record).status is Stage.MET
    assert pair_weight(world, event.owner, other, week) == pytest.approx(before + 0.5)
    # a backend that lists our events gives the met hold back as an ordinary meeting
    world.calendar.add_meeting(Interaction("read-back", InteractionKind.MEETING, event.start,
                                           (event.owner, other), 2, event.end - event.start))
    world.engine.sync()
    assert pair_weight(world, event.owner, other, week) == pytest.approx(before + 0.5)
    # while a real meeting of the two at another time still counts
    world.calendar.add_meeting(Interaction("real", InteractionKind.MEETING,
                                           event.start - dt.timedelta(hours=2),
                                           (event.owner, other), 2, dt.timedelta(minutes=30)))
    world.engine.sync()
    assert pair_weight(world, event.owner, other, week) == pytest.approx(before + 1.0)


def test_a_declined_hold_records_who_declined(make_world: Callable[..., World]) -> None:
    world = make_world(invite_rules())
    got, event, _ = answered(world, Response.DECLINED, Stage.DECLINED)
    assert (event.owner, got.id) not in world.calendar.events
    assert [t.stage for t in got.transitions] == [Stage.SUGGESTED, Stage.PLANNED, Stage.HELD,
                                                  Stage.DECLINED]
