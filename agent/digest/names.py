"""How people and moments are written in a digest.

A first name is friendlier than a full one, but two Alexes in one company
make "coffee with Alex" useless: a name is shortened only when nobody else
in the organisation shares it. Times are always the reader's own.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from connectors.base import Person


class Names:
    """Short names that stay unambiguous across the whole directory."""

    def __init__(self, people: Iterable[Person]) -> None:
        everyone = list(people)
        self._first = Counter(p.first_name.casefold() for p in everyone)
        self._full = Counter(_full(p).casefold() for p in everyone)

    def short(self, person: Person) -> str:
        """The first name; the full name when another shares it; the e-mail too when
        the full name is shared as well."""
        if self._first[person.first_name.casefold()] <= 1:
            return person.first_name
        full = _full(person)
        if self._full[full.casefold()] <= 1:
            return full
        return f"{full} <{person.email}>"

    def full(self, person: Person) -> str:
        full = _full(person)
        return full if self._full[full.casefold()] <= 1 else f"{full} <{person.email}>"


def _full(person: Person) -> str:
    return person.name.strip() or person.email


def local(moment: dt.datetime, zone: str) -> dt.datetime:
    return moment.astimezone(ZoneInfo(zone))


def when(moment: dt.datetime, zone: str) -> str:
    """Like "Tue 1 Dec, 14:30" in the reader's zone."""
    at = local(moment, zone)
    return f"{at:%a} {at.day} {at:%b}, {at:%H:%M}"


def zone_label(moment: dt.datetime, zone: str) -> str:
    """The zone as the reader knows it: its city and current abbreviation."""
    at = local(moment, zone)
    city = zone.rsplit("/", 1)[-1].replace("_", " ")
    abbreviation = at.tzname() or ""
    if not abbreviation or abbreviation.startswith(("+", "-")):
        offset = at.utcoffset() or dt.timedelta()
        hours, rest = divmod(int(offset.total_seconds()) // 60, 60)
        abbreviation = f"UTC{hours:+d}" + (f":{rest:02d}" if rest else "")
    return f"{city} time ({abbreviation})" if city != "UTC" else "UTC"


def day(value: dt.date) -> str:
    return f"{value.day} {value:%b}"
