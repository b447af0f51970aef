"""Every suggestion: across a drifting seam, inside both people's hours, over no busy time, within caps."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable

from agent.lifecycle import Stage
from agent.pipeline import load_org, with_our_holds
from agent.pseudonym import Pseudonymiser
from agent.slots import fits_person
from agent.store import SuggestionRecord
from connectors.base import Busy, Person
from rules.model import Rules
from tests.core.conftest import World
from tests.core.synth import make_org


def test_suggestions_over_weeks_respect_seams_hours_busy_and_caps(make_world: Callable[..., World]) -> None:
    rules = Rules.model_validate({
        "meetings": {"mode": "invite", "buffer": "15m"},
        "pairing": {"per_seam_per_week": 4, "per_person_per_week": 1, "per_person_per_month": 2,
                    "cooldown_weeks": 12},
    })
    world = make_world(rules, make_org(per_dept=10))
    drifting: set[frozenset[str]] = set()
    for _ in range(6):  # six weekly cycles
        report = world.engine.run_once()
        drifting |= {frozenset(d) for d in report.analysis.drifting}
        for record in report.place.placed:
            emails = [world.engine.org().by_pseudonym[p] for p in record.people]
            people = [world.engine.org().people[e] for e in emails]
            assert frozenset(p.department for p in people) in drifting
            start = dt.datetime.fromisoformat(record.start or "")
            end = dt.datetime.fromisoformat(record.end or "")
            for p in people:
                assert fits_person(p, start, end, rules.meetings)
                others = [m for m in world.synth.meetings if p.email in m.participants]
                spans = [(m.start, m.start + m.duration) for m in others]
                assert all(e + rules.meetings.buffer <= start or s - rules.meetings.buffer >= end
                           for s, e in spans)
        world.clock.now += dt.timedelta(days=7)
    records = world.store.suggestions()
    assert records, "the drifting seam got suggestions"
    by_week: Counter[tuple[int, str]] = Counter()
    pairs: Counter[frozenset[str]] = Counter()
    for r in records:
        for p in r.people:
            by_week[(r.week, p)] += 1
        pairs[frozenset(r.people)] += 1
    assert max(by_week.values()) <= 1
    assert max(pairs.values()) == 1  # twelve-week cool-down: no pair twice in six weeks
    for r in records:  # at most two in any 28 days
        created = dt.datetime.fromisoformat(r.created)
        for p in r.people:
            window = [o for o in records if p in o.people
                      and 0 <= (created - dt.datetime.fromisoformat(o.created)).days < 28]
            assert len(window) <= 2



def test_our_own_holds_count_as_busy_for_everyone_in_them() -> None:
    # In hold mode only the organiser's calendar shows the hold: the other person's
    # free/busy does not, so the next plan must count our own holds as busy.
    people = [Person("a@x.org", "Legal"), Person("b@x.org", "Sales"), Person("c@x.org", "Sales")]
    org = load_org(people, Pseudonymiser(b"k" * 32))
    at = dt.datetime(2026, 12, 3, 15, tzinfo=dt.UTC)

    def record(stage: Stage, start: dt.datetime) -> SuggestionRecord:
        return SuggestionRecord(f"id-{stage}", (org.pseudonym["a@x.org"], org.pseudonym["b@x.org"]),
                                ("Legal", "Sales"), "drifting", 49, at.isoformat(), stage, "hold",
                                start.isoformat(), (start + dt.timedelta(minutes=30)).isoformat())

    records = [record(Stage.HELD, at), record(Stage.DECLINED, at + dt.timedelta(hours=1)),
               record(Stage.ACCEPTED, at - dt.timedelta(days=30))]
    calendar = {"a@x.org": [Busy(at + dt.timedelta(hours=3), at + dt.timedelta(hours=4))]}
    lookup = with_our_holds(lambda emails, s, e: {k: v for k, v in calendar.items() if k in emails},
                            records, org)
    found = lookup(["a@x.org", "b@x.org", "c@x.org"], at - dt.timedelta(days=1), at + dt.timedelta(days=7))
    hold = Busy(at, at + dt.timedelta(minutes=30))
    assert found["b@x.org"] == [hold]  # the invitee who cannot see it on their calendar
    assert sorted(found["a@x.org"], key=lambda b: b.start) == [hold, *calendar["a@x.org"]]
    assert found["c@x.org"] == []  # declined and out-of-window holds take no time
