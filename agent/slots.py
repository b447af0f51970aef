"""When can these people meet: mutual free time inside everyone's working hours.

Pure: people, their busy intervals and the meeting rules in; a slot out.
Each person's limits apply in their own time zone: their working days and
hours, the rules' allowed days and hours, no-meeting days, and a buffer
around anything already on their calendar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from connectors.base import Busy, Person
from rules.model import Meetings

STEP = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class Slot:
    start: dt.datetime
    end: dt.datetime


def horizon_end(start: dt.datetime, working_days: int) -> dt.datetime:
    """The moment ``working_days`` Monday-to-Friday days after ``start`` end."""
    day = start.date()
    counted = 0
    while counted < working_days:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            counted += 1
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def _round_up(moment: dt.datetime) -> dt.datetime:
    moment = moment.astimezone(dt.UTC).replace(second=0, microsecond=0)
    extra = moment.minute % 15
    return moment + dt.timedelta(minutes=(15 - extra) % 15)


def fits_person(person: Person, start: dt.datetime, end: dt.datetime, rules: Meetings) -> bool:
    """Inside this person's working day and the rules' days and hours, in their own zone."""
    zone = ZoneInfo(person.timezone)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    weekday = local_start.weekday()
    hours = person.working_hours
    if weekday not in hours.weekdays or weekday not in rules.days or weekday in rules.no_meeting_days:
        return False
    day = local_start.date()
    # Compare whole local datetimes: a meeting ending at midnight ends on the next day.
    earliest = dt.datetime.combine(day, max(hours.start, rules.hours.start), tzinfo=zone)
    latest = dt.datetime.combine(day, min(hours.end, rules.hours.end), tzinfo=zone)
    return earliest <= local_start and local_end <= latest


def is_free(busy: Sequence[Busy], start: dt.datetime, end: dt.datetime, buffer: dt.timedelta) -> bool:
    return all(b.end + buffer <= start or b.start - buffer >= end for b in busy)


def find_slot(
    people: Sequence[Person],
    busy: Mapping[str, Sequence[Busy]],
    rules: Meetings,
    now: dt.datetime,
) -> Slot | None:
    """The earliest fitting slot at least 12 hours ahead, within the horizon, or None."""
    # Half a day's notice at least, so a hold never lands in someone's next hour.
    first = _round_up(now + dt.timedelta(hours=12))
    last = horizon_end(now, rules.horizon_days)
    length = rules.duration
    start = first
    while start + length <= last:
        end = start + length
        if all(fits_person(p, start, end, rules) for p in people) and all(
            is_free(busy.get(p.email, ()), start, end, rules.buffer) for p in people
        ):
            return Slot(start, end)
        start += STEP
    return None


def _windows(
    person: Person, rules: Meetings, first: dt.date, days: int
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The person's allowed meeting windows over ``days`` local days from ``first``."""
    zone = ZoneInfo(person.timezone)
    hours = person.working_hours
    start_time = max(hours.start, rules.hours.start)
    end_time = min(hours.end, rules.hours.end)
    out = []
    for offset in range(days):
        day = first + dt.timedelta(days=offset)
        weekday = day.weekday()
        if weekday in hours.weekdays and weekday in rules.days and weekday not in rules.no_meeting_days:
            out.append((dt.datetime.combine(day, start_time, tzinfo=zone),
                        dt.datetime.combine(day, end_time, tzinfo=zone)))
    return out


def could_meet(a: Person, b: Person, rules: Meetings, first: dt.date) -> bool:
    """Do their allowed hours ever overlap by a meeting's length in a week? (Calendars aside.)

    The matcher asks this before pairing two people, so it never proposes a
    pair whose time zones and hours leave no common time at all.
    """
    for a_start, a_end in _windows(a, rules, first, 8):
        for b_start, b_end in _windows(b, rules, first, 8):
            if min(a_end, b_end) - max(a_start, b_start) >= rules.duration:
                return True
    return False
