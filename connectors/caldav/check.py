"""``bridgework connect caldav --check``: sign in, list what each person's account shows.

Pure reporting: the CLI prints the result. Nothing is written to the server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from connectors.base import HoldMode, Person
from connectors.caldav.calendar import CalDavCalendar
from connectors.caldav.dav import DavError


@dataclass
class PersonCheck:
    email: str
    calendars: list[str] = field(default_factory=list)  # display names or paths
    sync_tokens: bool = True  # every calendar offers one
    hold_calendar: str | None = None
    may_write: bool | None = None
    problem: str | None = None


@dataclass
class CalDavCheck:
    people: list[PersonCheck]
    server_schedules: bool | None
    requests: int

    @property
    def missing(self) -> list[PersonCheck]:
        return [p for p in self.people if p.problem is not None]


def check_connection(calendar: CalDavCalendar, people: Sequence[Person],
                     mode: HoldMode) -> CalDavCheck:
    """What the configured account can see for each person, and what holds would need."""
    found: list[PersonCheck] = []
    schedules: bool | None = None
    for person in people:
        seen = PersonCheck(person.email)
        found.append(seen)
        try:
            home = calendar.discover(person.email)
            usable = home.event_calendars()
            seen.calendars = [c.name or c.href for c in usable]
            seen.sync_tokens = all(c.sync_token for c in usable)
            if not usable:
                seen.problem = "no calendar that takes events"
                continue
            dav, href = calendar.hold_address(person.email)
            seen.hold_calendar = href.rsplit("/", 1)[0] + "/"
            if mode is not HoldMode.SUGGEST:
                seen.may_write = dav.may_write(seen.hold_calendar)
                if seen.may_write is False:
                    seen.problem = f"the account may not write holds into {seen.hold_calendar}"
            if schedules is None:
                schedules = dav.schedules(seen.hold_calendar)
        except DavError as exc:
            where = exc.message.split(" ")[1] if exc.message.count(" ") > 1 else ""
            seen.problem = (f"no calendar home (404 at {where}); is principal_path right, and "
                            "does the person have an account?" if exc.status == 404
                            else exc.message)
    return CalDavCheck(found, schedules, calendar.requests)
