"""Property: whatever rules the model accepts, the suggestions respect every cap,
exclusion and hour limit those rules set.

The organisation, its drifting seams, lapsed ties, calendars and suggestion
history are drawn by hypothesis too; the real ``pipeline.exclusions`` and
``pipeline.plan`` do the work.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from agent import pipeline
from agent.drift import SeamResult
from agent.matcher import History, in_cooldown
from agent.pseudonym import Pseudonymiser
from agent.slots import horizon_end
from connectors.base import Busy, Person, WorkingHours
from rules.model import WEEKDAYS, Rules

DEPARTMENTS = ("Legal", "Trading", "Research", "Sales", "Ops")
ZONES = ("Europe/London", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "UTC")
NOW = dt.datetime(2024, 6, 3, 7, 30, tzinfo=dt.UTC)
PSEUDO = Pseudonymiser(b"property-test-key-0123456789")


@st.composite
def people(draw: st.DrawFn) -> list[Person]:
    count = draw(st.integers(6, 26))
    out = []
    for i in range(count):
        start = draw(st.integers(6, 11))
        out.append(Person(
            email=f"p{i}@example.com",
            department=draw(st.sampled_from(DEPARTMENTS)),
            name=f"P{i} Person",
            title=draw(st.sampled_from(("Engineer", "Senior Engineer", "Intern", "Director", ""))),
            # mostly one level, so that peer circles can form
            level=draw(st.one_of(st.just(3), st.none(), st.integers(1, 5))),
            manager=f"p{draw(st.integers(0, count - 1))}@example.com" if i and draw(st.booleans())
            else None,
            timezone=draw(st.sampled_from(ZONES)),
            working_hours=WorkingHours(
                frozenset(draw(st.sets(st.integers(0, 6), min_size=1))),
                dt.time(start), dt.time(start + draw(st.integers(4, 10)))),
        ))
    return out


def hours() -> st.SearchStrategy[str]:
    return st.tuples(st.integers(0, 20), st.integers(2, 12)).map(
        lambda t: f"{t[0]:02d}:00-{min(t[0] + t[1], 24):02d}:00")


@st.composite
def rules_data(draw: st.DrawFn, emails: list[str]) -> dict[str, Any]:
    def some(values: Any, most: int = 2) -> Any:
        return draw(st.lists(st.sampled_from(values), max_size=most, unique=True))

    def rarely(values: Any) -> Any:
        return some(values) if draw(st.integers(0, 3)) == 0 else []

    include_departments = rarely(DEPARTMENTS)
    include_levels = rarely([1, 2, 3, 4, 5])
    include_people = rarely(emails)
    days = some(list(WEEKDAYS), 7) or ["monday"]
    week = draw(st.sampled_from([0, 1, 1, 2, 3]))
    return {
        "participants": {
            "include_departments": include_departments,
            "exclude_departments": [d for d in rarely(DEPARTMENTS) if d not in include_departments],
            "include_levels": include_levels,
            "exclude_levels": [lv for lv in rarely([1, 2, 4, 5]) if lv not in include_levels],
            "exclude_titles": rarely(["^senior", "intern", "dir"]),
            "include_people": include_people,
            "exclude_people": [e for e in rarely(emails) if e not in include_people],
            "managers_only": draw(st.integers(0, 5)) == 0,
            "opt_out": rarely(emails),
        },
        "pairing": {
            "reconnect_first": draw(st.booleans()),
            "same_level_first": draw(st.booleans()),
            "max_level_distance": draw(st.integers(0, 4)),
            "cooldown_weeks": draw(st.integers(0, 20)),
            "per_person_per_week": week,  # drawn above, so the month cap can be at least it
            "per_person_per_month": week + draw(st.integers(0, 3)),
            "per_seam_per_week": draw(st.integers(0, 6)),
            "circles": {
                "enabled": draw(st.booleans()),
                "size": draw(st.integers(4, 6)),
                "cadence_weeks": draw(st.integers(1, 8)),
                "same_level": draw(st.booleans()),
            },
        },
        "meetings": {
            "duration": draw(st.sampled_from(["15m", "30m", "45m", "1h", "90m"])),
            "days": days,
            "no_meeting_days": some(days[1:]) if len(days) > 1 else [],
            "hours": draw(hours()),
            "buffer": draw(st.sampled_from(["0m", "5m", "15m", "30m"])),
            "horizon_days": draw(st.integers(1, 15)),
        },
    }


def seam(a: str, b: str) -> SeamResult:
    return SeamResult((a, b), 0.1, 0.01, -0.9, 5.0, 0.001, 0.001, 50.0, 1.0, True, True,
                      "drifting", "seams (defaults)")


@st.composite
def scenario(draw: st.DrawFn) -> tuple[Any, ...]:
    staff = draw(people())
    emails = [p.email for p in staff]
    try:
        rules = Rules.model_validate(draw(rules_data(emails)))
    except ValidationError:
        assume(False)
        raise
    departments = sorted({p.department for p in staff})
    pairs = [(a, b) for i, a in enumerate(departments) for b in departments[i + 1:]]
    drifting = draw(st.lists(st.sampled_from(pairs), unique=True, min_size=1)) if pairs else []
    lapsed = draw(st.lists(st.tuples(st.sampled_from(emails), st.sampled_from(emails)),
                           max_size=6))
    history = History()
    for email in draw(st.lists(st.sampled_from(emails), max_size=8)):
        history.this_week[email] = history.this_week.get(email, 0) + 1
    for email in draw(st.lists(st.sampled_from(emails), max_size=12)):
        history.last_28_days[email] = history.last_28_days.get(email, 0) + 1
    for email, count in history.this_week.items():  # this week is inside the 28 days
        history.last_28_days[email] = max(history.last_28_days.get(email, 0), count)
    for a, b in draw(st.lists(st.tuples(st.sampled_from(emails), st.sampled_from(emails)),
                              max_size=6)):
        history.last_paired[frozenset((a, b))] = NOW.date() - dt.timedelta(
            days=draw(st.integers(1, 200)))
    busy: dict[str, list[Busy]] = {}
    for email in emails:
        for _ in range(draw(st.integers(0, 4))):
            start = NOW + dt.timedelta(minutes=15 * draw(st.integers(0, 4 * 24 * 14)))
            busy.setdefault(email, []).append(
                Busy(start, start + dt.timedelta(minutes=draw(st.sampled_from([30, 60, 120])))))
    opted = set(draw(st.lists(st.sampled_from(emails), max_size=3)))
    return staff, rules, drifting, lapsed, history, busy, opted


def _fits(person: Person, start: dt.datetime, end: dt.datetime, rules: Rules) -> bool:
    local_start = start.astimezone(ZoneInfo(person.timezone))
    local_end = end.astimezone(ZoneInfo(person.timezone))
    meetings = rules.meetings
    day = local_start.weekday()
    return (
        local_start.date() == (local_end - dt.timedelta(microseconds=1)).date()
        and day in meetings.days and day not in meetings.no_meeting_days
        and day in person.working_hours.weekdays
        and local_start.time() >= max(meetings.hours.start, person.working_hours.start)
        and local_end.time() <= min(meetings.hours.end, person.working_hours.end)
    )


# derandomize: the same examples every run, so the suite never fails by luck
@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(scenario())
def test_suggestions_respect_the_rules(case: tuple[Any, ...]) -> None:
    staff, rules, drifting, lapsed, history, busy, opted = case
    org = pipeline.load_org(staff, PSEUDO)
    excluded = pipeline.exclusions(org, rules, opted)
    analysis = pipeline.Analysis(NOW.date(), len(staff), [seam(a, b) for a, b in drifting],
                                 [(a, b, 5.0) for a, b in lapsed if a != b], {}, 0, 0)

    def lookup(emails: list[str], start: dt.datetime, end: dt.datetime) -> dict[str, list[Busy]]:
        return {e: [b for b in busy.get(e, []) if b.start < end and b.end > start] for e in emails}

    plans = pipeline.plan(analysis, org, rules, history, excluded, lookup, NOW)
    event("suggestions" if plans else "no suggestion")
    pairing, meetings = rules.pairing, rules.meetings
    counts = Counter(e for item in plans for e in item.suggestion.emails)
    per_seam = Counter(item.suggestion.seam for item in plans if item.suggestion.seam)
    booked: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {}
    for item in plans:
        s = item.suggestion
        # exclusions and opt-outs
        assert not set(s.emails) & set(excluded), (s.emails, excluded)
        assert len(set(s.emails)) == len(s.emails)
        if s.reason == "peer-circle":
            assert pairing.circles.enabled and len(s.people) == pairing.circles.size
            assert len({p.department for p in s.people}) == len(s.people)
            if pairing.circles.same_level:
                assert len({p.level for p in s.people}) == 1
        else:
            a, b = s.people
            assert s.seam is not None and {a.department, b.department} == set(s.seam)
            assert not in_cooldown(a.email, b.email, history, pairing, NOW.date())
            if a.level is not None and b.level is not None:
                assert abs(a.level - b.level) <= pairing.max_level_distance
        if item.slot is None:
            continue
        start, end = item.slot.start, item.slot.end
        assert end - start == meetings.duration
        assert start >= NOW + dt.timedelta(hours=12)
        assert end <= horizon_end(NOW, meetings.horizon_days)
        for person in s.people:
            assert _fits(person, start, end, rules), (person, start, rules.meetings)
            for other in busy.get(person.email, []):
                assert other.end + meetings.buffer <= start or other.start - meetings.buffer >= end
            for b_start, b_end in booked.get(person.email, []):
                assert b_end <= start or b_start >= end, "two suggestions overlap"
            booked.setdefault(person.email, []).append((start, end))
    # caps, counting what history already holds
    for email, n in counts.items():
        assert history.this_week.get(email, 0) + n <= pairing.per_person_per_week, (email, n)
        assert history.last_28_days.get(email, 0) + n <= pairing.per_person_per_month, (email, n)
    for key, n in per_seam.items():
        assert n <= pairing.per_seam_per_week, (key, n)
