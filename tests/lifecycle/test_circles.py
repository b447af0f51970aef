"""Peer circles: a season's stable membership, one time for all, and a lifecycle per member."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from agent.ledger import LedgerFiles, week_of
from agent.lifecycle import Cause, Stage, member_stage
from agent.matcher import CIRCLE_MIN, History, Suggestion, circle_members, peer_circles
from agent.pipeline import Analysis, Org, Planned, load_org, plan, upkeep
from agent.pipeline.records import hold_for_record, record_for
from agent.pseudonym import Pseudonymiser
from agent.slots import Slot, fits_person
from agent.store import MemoryStore
from connectors.base import Hold, Person, Response
from connectors.memory import MemoryCalendar
from rules.model import Rules

DEPARTMENTS = ("Engineering", "Sales", "Legal", "Finance", "People", "Design")
RULES = Rules.model_validate({"pairing": {"circles": {"enabled": True, "size": 5,
                                                      "cadence_weeks": 4, "season_weeks": 12}},
                              "meetings": {"mode": "invite"}})
NOW = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)  # a Monday
KEY = b"circles-test-key-0123456789"


def people() -> list[Person]:
    zones = ("Europe/London", "Europe/Berlin", "Europe/Lisbon")
    return [Person(f"{d.lower()}{i}@x.org", d, f"{d} {i}", level=3 if i < 3 else 4,
                   timezone=zones[i % 3])
            for d in DEPARTMENTS for i in range(6)]


def test_a_season_keeps_its_circles_and_the_next_one_rotates_them() -> None:
    everyone = people()
    first = circle_members(everyone, RULES.pairing, season=10)
    assert first == circle_members(list(reversed(everyone)), RULES.pairing, season=10)
    for circle in first:
        assert len(circle) == 5
        assert len({p.department for p in circle}) == 5  # each from a different department
        assert len({p.level for p in circle}) == 1  # one level
    members = {frozenset(p.email for p in c) for c in first}
    assert members != {frozenset(p.email for p in c) for c in
                       circle_members(everyone, RULES.pairing, season=11)}


def test_circles_meet_on_their_cadence_and_a_member_without_room_sits_out() -> None:
    everyone = people()
    week = 10 * RULES.pairing.circles.season_weeks  # the first week of season 10
    circles = peer_circles(everyone, History(), RULES.pairing, week, f"week-{week}")
    assert [frozenset(s.emails) for s in circles] == \
        [frozenset(p.email for p in c) for c in circle_members(everyone, RULES.pairing, 10)]
    assert peer_circles(everyone, History(last_circle_week=week), RULES.pairing, week + 2,
                        "w") == []  # not due yet
    busy = circles[0].emails[0]
    later = peer_circles(everyone, History(last_circle_week=week, this_week={busy: 1}),
                         RULES.pairing, week + 4, f"week-{week + 4}")
    assert frozenset(later[0].emails) == frozenset(circles[0].emails) - {busy}
    assert len(later[0].emails) == 4 >= CIRCLE_MIN
    two_out = History(last_circle_week=week, this_week={e: 1 for e in circles[0].emails[:2]})
    assert frozenset(circles[0].emails) not in {
        frozenset(s.emails) for s in peer_circles(everyone, two_out, RULES.pairing, week + 4, "w")}


def test_one_time_every_member_can_make() -> None:
    org = load_org(people(), Pseudonymiser(KEY))
    analysis = Analysis(NOW.date(), len(org.people), [], [], {}, 0, 0)
    planned = plan(analysis, org, RULES, History(), {}, None, NOW)
    circles = [p for p in planned if p.suggestion.reason == "peer-circle"]
    assert circles and all(p.slot is not None for p in circles)
    for item in circles:
        assert item.slot is not None
        for person in item.suggestion.people:
            assert fits_person(person, item.slot.start, item.slot.end, RULES.meetings)


def _circle(calendar: MemoryCalendar,
            start: dt.datetime) -> tuple[MemoryStore, Planned, Org, Hold]:
    org = load_org(people(), Pseudonymiser(KEY))
    members = tuple(org.people[f"{d.lower()}0@x.org"] for d in DEPARTMENTS[:5])
    suggestion = Suggestion(members, tuple(p.department for p in members), "peer-circle", None,
                            1.0, "circles")
    item = Planned(suggestion, f"circle{start:%H}" + "0" * 24,
                   Slot(start, start + RULES.meetings.duration))
    record = record_for(item, org, RULES, NOW, Stage.PLANNED)
    hold = hold_for_record(record, org, RULES)
    assert hold is not None
    calendar.place(hold)
    store = MemoryStore()
    store.save_suggestion(record.advance(Stage.HELD, Cause.PLACED, NOW))
    return store, item, org, hold


def test_each_member_has_a_lifecycle_and_the_circle_goes_on_until_below_quorum() -> None:
    calendar = MemoryCalendar()
    start = NOW + dt.timedelta(days=3, hours=6)  # Thursday 14:00 UTC
    store, item, org, hold = _circle(calendar, start)
    emails = item.suggestion.emails
    calendar.respond(hold, emails[1], Response.DECLINED)
    upkeep(calendar, store, org, RULES, {}, NOW + dt.timedelta(hours=1))
    (record,) = store.suggestions()
    assert record.status is Stage.HELD and record.transitions[-1].cause is Cause.MEMBER_DECLINED
    assert member_stage(record, org.pseudonym[emails[1]]) is Stage.DECLINED
    assert member_stage(record, org.pseudonym[emails[2]]) is Stage.HELD
    assert calendar.state(hold).exists
    upkeep(calendar, store, org, RULES, {}, NOW + dt.timedelta(hours=2))  # nothing new
    assert len(store.suggestions()[0].transitions) == len(record.transitions)
    calendar.respond(hold, emails[2], Response.DECLINED)
    calendar.respond(hold, emails[3], Response.DECLINED)
    upkeep(calendar, store, org, RULES, {}, NOW + dt.timedelta(hours=3))
    (record,) = store.suggestions()
    assert record.status is Stage.DECLINED and not calendar.state(hold).exists


def test_a_circle_meets_with_its_quorum_and_only_who_came_is_counted(tmp_path: Path) -> None:
    calendar = MemoryCalendar()
    start = NOW + dt.timedelta(days=3, hours=6)
    store, item, org, hold = _circle(calendar, start)
    emails = item.suggestion.emails
    for email in emails[1:3]:  # the organiser and two more: three of five
        calendar.respond(hold, email, Response.ACCEPTED)
    ledger = LedgerFiles(tmp_path / "ledger", Pseudonymiser(KEY), RULES.signals)
    upkeep(calendar, store, org, RULES, {}, NOW + dt.timedelta(hours=1), ledger)
    assert store.suggestions()[0].status is Stage.ACCEPTED
    upkeep(calendar, store, org, RULES, {}, start + dt.timedelta(hours=1), ledger)
    assert store.suggestions()[0].status is Stage.MET
    week = ledger.load_week(week_of(start))
    came = {ledger.id_of(e) for e in emails[:3]}
    assert week.a.size == 3  # the three pairs among those who accepted
    assert {int(x) for x in week.a} | {int(x) for x in week.b} == came
