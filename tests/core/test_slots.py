"""Slots: inside everyone's working hours in their own zone, never over busy time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.slots import find_slot, fits_person, is_free
from connectors.base import Busy, Person, WorkingHours
from rules.model import Meetings

NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)  # a Monday
ZONES = ["Europe/London", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "America/Los_Angeles",
         "Australia/Sydney", "UTC"]


def person(email: str, zone: str, days: frozenset[int] = frozenset(range(5)),
           start: int = 9, end: int = 17) -> Person:
    return Person(email, "D", timezone=zone, working_hours=WorkingHours(days, dt.time(start), dt.time(end)))


def test_slot_respects_both_zones() -> None:
    london = person("a@x", "Europe/London")
    new_york = person("b@x", "America/New_York")
    slot = find_slot([london, new_york], {}, Meetings(), NOW)
    assert slot is not None
    assert slot.start.astimezone(ZoneInfo("America/New_York")).hour >= 10
    assert slot.end.astimezone(ZoneInfo("Europe/London")).time() <= dt.time(16)


def test_busy_and_buffer_push_the_slot() -> None:
    a, b = person("a@x", "UTC"), person("b@x", "UTC")
    first = find_slot([a, b], {}, Meetings(), NOW)
    assert first is not None
    busy = {"a@x": [Busy(first.start, first.end + dt.timedelta(minutes=5))]}
    second = find_slot([a, b], busy, Meetings(), NOW)
    assert second is not None
    assert second.start >= first.end + dt.timedelta(minutes=15)


def test_no_meeting_days_and_four_day_weeks() -> None:
    rules = Meetings.model_validate({"no_meeting_days": ["tuesday"]})
    a = person("a@x", "UTC", frozenset({0, 1, 2, 3}))
    late = dt.datetime(2026, 11, 23, 17, tzinfo=dt.UTC)
    slot = find_slot([a], {}, rules, late)
    assert slot is not None and slot.start.weekday() == 2


def test_no_overlap_gives_none() -> None:
    sydney = person("a@x", "Australia/Sydney", start=9, end=12)
    la = person("b@x", "America/Los_Angeles", start=9, end=12)
    assert find_slot([sydney, la], {}, Meetings(), NOW) is None


@settings(max_examples=60, deadline=None)
@given(
    zones=st.lists(st.sampled_from(ZONES), min_size=2, max_size=3),
    starts=st.lists(st.integers(6, 11), min_size=3, max_size=3),
    lengths=st.lists(st.integers(6, 10), min_size=3, max_size=3),
    busy_hours=st.lists(st.tuples(st.integers(0, 9 * 24), st.integers(1, 6)), max_size=12),
    duration=st.sampled_from([15, 30, 45, 60]),
    buffer=st.sampled_from([0, 10, 30]),
)
def test_any_slot_found_respects_every_limit(zones: list[str], starts: list[int], lengths: list[int],
                                             busy_hours: list[tuple[int, int]], duration: int,
                                             buffer: int) -> None:
    people = [person(f"p{i}@x", z, start=starts[i], end=min(starts[i] + lengths[i], 23))
              for i, z in enumerate(zones)]
    busy = {p.email: [Busy(NOW + dt.timedelta(hours=h), NOW + dt.timedelta(hours=h + n))
                      for h, n in busy_hours[i::len(people)]] for i, p in enumerate(people)}
    rules = Meetings.model_validate({"duration": f"{duration}m", "buffer": f"{buffer}m",
                                     "hours": "08:00-18:00"})
    slot = find_slot(people, busy, rules, NOW)
    if slot is None:
        return
    assert slot.start >= NOW + dt.timedelta(hours=12)
    assert slot.end - slot.start == dt.timedelta(minutes=duration)
    for p in people:
        assert fits_person(p, slot.start, slot.end, rules)
        local = slot.start.astimezone(ZoneInfo(p.timezone))
        assert local.weekday() in p.working_hours.weekdays
        assert p.working_hours.start <= local.time()
        zone = ZoneInfo(p.timezone)
        end_of_day = dt.datetime.combine(local.date(), p.working_hours.end, tzinfo=zone)
        assert slot.end.astimezone(zone) <= end_of_day
        assert is_free(busy[p.email], slot.start, slot.end, dt.timedelta(minutes=buffer))


def test_a_meeting_ending_at_midnight_is_not_inside_the_day() -> None:
    ny = person("a@x", "America/New_York")
    start = dt.datetime(2026, 11, 26, 4, 30, tzinfo=dt.UTC)  # 23:30 in New York
    assert not fits_person(ny, start, start + dt.timedelta(minutes=30), Meetings())
    late = Meetings.model_validate({"hours": "00:00-24:00"})
    owl = Person("o@x", "D", timezone="UTC", working_hours=WorkingHours(frozenset(range(7)),
                                                                      dt.time(0), dt.time(23, 59, 59)))
    midnight = dt.datetime(2026, 11, 26, 23, 30, tzinfo=dt.UTC)
    assert not fits_person(owl, midnight, midnight + dt.timedelta(minutes=30), late)


def test_could_meet_knows_when_zones_never_overlap() -> None:
    from agent.slots import could_meet

    rules = Meetings()  # 10:00-16:00 in each person's own zone
    berlin, new_york = person("a@x", "Europe/Berlin"), person("b@x", "America/New_York")
    london = person("c@x", "Europe/London")
    assert not could_meet(berlin, new_york, rules, NOW.date())  # 09-15 UTC against 15-21 UTC
    assert could_meet(london, new_york, rules, NOW.date())  # 15:00-16:00 UTC
    assert find_slot([berlin, new_york], {}, rules, NOW) is None
    assert find_slot([london, new_york], {}, rules, NOW) is not None
