"""``people.csv``: the directory of a data directory.

``email`` and ``department`` are required, the rest may be empty and extra
columns are ignored. ``working_hours`` is ``09:00-17:00`` (Monday to Friday)
or days then hours, e.g. ``mon-thu 08:00-16:00`` or ``mon,wed,fri
10:00-18:00``. ``timezone`` is an IANA name. ``level`` is a whole number or a
name (``Senior``) that the rules' ``levels:`` maps to one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.base import DEFAULT_WORKING_HOURS, Directory, Person, WorkingHours
from connectors.common.errors import ConnectorError
from connectors.files.csvrows import csv_rows
from connectors.files.fields import BadRecord
from connectors.people_fields import address as read_address
from connectors.people_fields import department_name

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _parse_days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for item in text.lower().split(","):
        first, _, last = item.strip().partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            raise BadRecord(f"unknown day in {text!r} (use mon..sun)")
        a = _DAYS.index(first)
        b = _DAYS.index(last) if last else a
        span = (b - a) % 7  # "sun-thu" wraps round the week
        days.update((a + k) % 7 for k in range(span + 1))
    return frozenset(days)


def parse_working_hours(text: str) -> WorkingHours:
    """``09:00-17:00`` (Monday to Friday) or ``mon-thu 08:00-16:00``."""
    parts = text.split()
    if len(parts) == 1:
        days, hours = DEFAULT_WORKING_HOURS.weekdays, parts[0]
    elif len(parts) == 2:
        days, hours = _parse_days(parts[0]), parts[1]
    else:
        raise BadRecord(f"working_hours {text!r} is not like 'mon-fri 09:00-17:00'")
    first, sep, last = hours.partition("-")
    try:
        start, end = dt.time.fromisoformat(first), dt.time.fromisoformat(last)
    except ValueError:
        raise BadRecord(f"working_hours {text!r}: hours are not like 09:00-17:00") from None
    if not sep or end <= start:
        raise BadRecord(f"working_hours {text!r}: the end must come after the start")
    return WorkingHours(days, start, end)


def parse_level(text: str) -> tuple[int | None, str]:
    """A level cell: a whole number, or a name such as ``Senior`` kept as the label for the
    rules' ``levels:`` to map (never a problem of the row: the agent reports unmapped names)."""
    text = text.strip()
    if not text:
        return None, ""
    try:
        return int(text), ""
    except ValueError:
        return None, text


REQUIRED_COLUMNS = ("email", "department")


class FilesDirectory(Directory):
    """People from ``people.csv``; read again only when the file changes."""

    reads_files = True

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cache: tuple[tuple[int, int], list[Person]] | None = None

    def people(self) -> Iterator[Person]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            raise ConnectorError(f"{self.path} is missing: the data directory needs a people.csv "
                                 "with at least the columns email and department") from None
        stamp = (st.st_size, st.st_mtime_ns)
        if self._cache is None or self._cache[0] != stamp:
            self.problems.clear()
            self._cache = (stamp, self._read())
        yield from self._cache[1]

    def _read(self) -> list[Person]:
        found: dict[str, Person] = {}
        lines: dict[str, int] = {}
        with closing(csv_rows(self.path, self.problems)) as rows:
            header = [h.strip().lower() for h in next(rows, (1, []))[1]]
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                self.problems.report(self.path, 1, "missing required column(s) "
                                     f"{', '.join(missing)}; no people read")
                return []
            for line_num, row in rows:
                if not any(cell.strip() for cell in row):
                    continue
                record = {name: (row[i].strip() if i < len(row) else "")
                          for i, name in enumerate(header)}
                try:
                    person = self._person(record, line_num)
                except BadRecord as exc:
                    self.problems.report(self.path, line_num, f"{exc}; skipped")
                    continue
                if person.email in found:
                    # the line, not the address: problems are logged, and logs hold no addresses
                    self.problems.report(self.path, line_num, "duplicate email (the same as "
                                         f"line {lines[person.email]}); keeping the first")
                    continue
                found[person.email] = person
                lines[person.email] = line_num
        return list(found.values())

    def _person(self, r: dict[str, str], line: int) -> Person:
        # The same address and department readers as the Google and Graph directories;
        # unlike them a data directory must name a department (its header says so).
        address = read_address(r.get("email")) or ""
        if "@" not in address:
            raise BadRecord("email is not an address")
        department = department_name(r.get("department"))
        if not department:
            raise BadRecord("no department")
        level, level_label = parse_level(r.get("level", ""))
        zone = r.get("timezone") or "UTC"
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            self.problems.report(self.path, line, f"unknown time zone {zone!r}; using UTC")
            zone = "UTC"
        hours = DEFAULT_WORKING_HOURS
        if r.get("working_hours"):
            try:
                hours = parse_working_hours(r["working_hours"])
            except BadRecord as exc:
                self.problems.report(self.path, line, f"{exc}; using 09:00-17:00 Monday-Friday")
        return Person(address, department, r.get("name", ""), r.get("title", ""), level,
                      read_address(r.get("manager")), zone, hours, level_label)

