"""A hold's lifecycle against a real backend: the part of the contract upkeep relies on.

Mixed into :class:`tests.contract.suite.ConnectorContract`, so every backend
the contract covers runs it: the real upkeep step and the real uninstall,
over the backend's own place, state, busy, move and release.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from agent.ledger import LedgerFiles, week_of
from agent.lifecycle import Cause, Stage
from agent.matcher import Suggestion
from agent.pipeline import Org, Planned, load_org, upkeep
from agent.pipeline.records import hold_for_record, record_for
from agent.pseudonym import Pseudonymiser
from agent.slots import Slot, fits_person
from agent.store import MemoryStore, SuggestionRecord
from agent.uninstall import release_holds
from connectors.base import (
    Calendar,
    Hold,
    Interaction,
    InteractionKind,
    Person,
    Response,
    hold_id_for,
)
from rules.model import Rules

if TYPE_CHECKING:
    from tests.contract.suite import World

ADA, LINUS = "ada@example.org", "linus@example.org"
KEY = b"lifecycle-contract-key-0123456789"
RULES = Rules.model_validate({"meetings": {"mode": "invite"}})
#: Thursday of the contract's week, 14:00 UTC: inside Ada's (London) and Linus's (Berlin) hours.
START = dt.datetime(2026, 3, 5, 14, 0, tzinfo=dt.UTC)


class _Placed:
    """One hold placed through the backend and recorded as the pipeline records it."""

    def __init__(self, calendar: Calendar, people: list[Person]) -> None:
        self.calendar = calendar
        self.org: Org = load_org(people, Pseudonymiser(KEY))
        a, b = self.org.people[ADA], self.org.people[LINUS]
        suggestion = Suggestion((a, b), (a.department, b.department), "new-tie", None, 1.0, "test")
        slot = Slot(START, START + RULES.meetings.duration)
        item = Planned(suggestion, hold_id_for("lifecycle-contract", ADA, LINUS), slot)
        planned = record_for(item, self.org, RULES, START - dt.timedelta(days=4), Stage.PLANNED)
        hold = hold_for_record(planned, self.org, RULES)
        assert hold is not None
        self.hold: Hold = hold
        calendar.place(hold)
        self.store = MemoryStore()
        self.store.save_suggestion(planned.advance(Stage.HELD, Cause.PLACED, START - dt.timedelta(days=4)))

    @property
    def record(self) -> SuggestionRecord:
        return self.store.suggestions()[0]

    def upkeep(self, now: dt.datetime, ledger: LedgerFiles | None = None) -> dict[str, int]:
        return upkeep(self.calendar, self.store, self.org, RULES, {}, now, ledger).outcomes


class LifecycleContract:
    """Needs the ``seeded`` fixture of ConnectorContract."""

    def _placed(self, seeded: World) -> _Placed:
        from tests.contract.suite import contract_people

        calendar = seeded.connectors().calendar
        assert calendar is not None
        return _Placed(calendar, contract_people())

    def test_lifecycle_accepted_then_met_enters_the_ledger_once(self, seeded: World,
                                                                 tmp_path: Path) -> None:
        placed = self._placed(seeded)
        seeded.respond(placed.hold, LINUS, Response.ACCEPTED)
        placed.upkeep(START - dt.timedelta(days=2))
        assert placed.record.status is Stage.ACCEPTED
        assert placed.record.transitions[-1].by == (placed.org.pseudonym[LINUS],)
        ledger = LedgerFiles(tmp_path / "ledger", Pseudonymiser(KEY), RULES.signals)
        after = placed.hold.end + dt.timedelta(hours=1)
        assert placed.upkeep(after, ledger) == {"met": 1}
        assert placed.record.status is Stage.MET
        assert placed.record.transitions[-1].cause is Cause.HAPPENED
        assert ledger.load_week(week_of(START)).weight.tolist() == [0.5]  # half an hour between the two, once
        placed.upkeep(after + dt.timedelta(hours=1), ledger)  # nothing left to look after
        again = LedgerFiles(tmp_path / "ledger", Pseudonymiser(KEY), RULES.signals)
        again.add([_met_copy(placed.hold)], placed.org.people, after)  # a rerun after a crash
        again.commit(after)
        assert again.load_week(week_of(START)).weight.tolist() == [0.5]

    def test_lifecycle_a_declined_hold_is_released(self, seeded: World) -> None:
        placed = self._placed(seeded)
        seeded.respond(placed.hold, LINUS, Response.DECLINED)
        assert placed.upkeep(START - dt.timedelta(days=2)) == {"declined": 1}
        assert placed.record.status is Stage.DECLINED
        assert placed.record.transitions[-1].by == (placed.org.pseudonym[LINUS],)
        assert not placed.calendar.state(placed.hold).exists

    def test_lifecycle_a_clash_moves_the_hold_to_a_free_time(self, seeded: World) -> None:
        placed = self._placed(seeded)
        clash = Interaction("clash", InteractionKind.MEETING, START - dt.timedelta(minutes=15),
                            (LINUS, "rosalind@example.org"), 2, dt.timedelta(hours=1))
        seeded.add_meeting(clash)
        now = START - dt.timedelta(days=3)
        assert placed.upkeep(now) == {"move": 1}
        record = placed.record
        assert record.status is Stage.MOVED and record.transitions[-1].cause is Cause.CONFLICT
        assert record.start is not None and record.end is not None
        start, end = dt.datetime.fromisoformat(record.start), dt.datetime.fromisoformat(record.end)
        state = placed.calendar.state(placed.hold)
        assert state.start is not None and state.start.astimezone(dt.UTC) == start != START
        for email in (ADA, LINUS):
            assert fits_person(placed.org.people[email], start, end, RULES.meetings)
        busy = placed.calendar.busy([LINUS], start, end)[LINUS]
        assert [(b.start, b.end) for b in busy] in ([], [(start, end)])  # only the hold itself

    def test_lifecycle_no_move_within_a_day_of_the_start(self, seeded: World) -> None:
        placed = self._placed(seeded)
        clash = Interaction("late-clash", InteractionKind.MEETING, START,
                            (LINUS, "rosalind@example.org"), 2, dt.timedelta(minutes=30))
        seeded.add_meeting(clash)
        assert placed.upkeep(START - dt.timedelta(hours=20)) == {"keep": 1}
        state = placed.calendar.state(placed.hold)
        assert state.start is not None and state.start.astimezone(dt.UTC) == START

    def test_lifecycle_unanswered_is_released_before_it_starts(self, seeded: World) -> None:
        placed = self._placed(seeded)
        assert placed.upkeep(START - RULES.meetings.release_unanswered - dt.timedelta(minutes=5)) \
            == {"keep": 1}
        assert placed.upkeep(START - RULES.meetings.release_unanswered) == {"expired": 1}
        assert placed.record.status is Stage.EXPIRED
        assert not placed.calendar.state(placed.hold).exists

    def test_lifecycle_uninstall_leaves_no_event(self, seeded: World) -> None:
        placed = self._placed(seeded)
        seeded.respond(placed.hold, LINUS, Response.ACCEPTED)
        now = START - dt.timedelta(days=1)
        report = release_holds(placed.calendar, placed.store, placed.org, RULES,
                               placed.store.suggestions(), now, everything=True)
        assert report.released == [placed.hold.id] and report.complete
        assert not placed.calendar.state(placed.hold).exists
        assert placed.record.status is Stage.CANCELLED
        assert placed.record.transitions[-1].cause is Cause.UNINSTALL
        again = release_holds(placed.calendar, placed.store, placed.org, RULES,
                              placed.store.suggestions(), now, everything=True)
        assert again.released == [] and again.absent == [placed.hold.id]


def _met_copy(hold: Hold) -> Interaction:
    from agent.holds import met_interaction_id

    return Interaction(met_interaction_id(hold.id), InteractionKind.MEETING, hold.start,
                       hold.attendees, 2, hold.end - hold.start)
