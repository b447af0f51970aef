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
