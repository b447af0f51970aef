"""Every suggestion: across a drifting seam, inside both people's hours, over no busy time, within caps."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable

from agent.slots import fits_person
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
