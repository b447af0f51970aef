"""An in-memory backend: the reference every contract test also runs against.

It behaves like a small calendar server: events live per calendar owner,
holds are ordinary events that carry Bridgework's mark, and other events
(``add_foreign_event``) carry none, so the safety rules can be exercised.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from connectors.base import (
    Busy,
    Calendar,
    Directory,
    Hold,
    HoldMode,
    HoldState,
    Interaction,
    InteractionKind,
    Mail,
    OutgoingMessage,
    Person,
    Response,
    Sender,
    SyncChunk,
)

CHUNK = 500


@dataclass
class StoredEvent:
    owner: str
    id: str
    start: dt.datetime
    end: dt.datetime
    attendees: tuple[str, ...]
    mark: str | None = None
    cancelled: bool = False
    responses: dict[str, Response] = field(default_factory=dict)


def _chunks(
    items: Sequence[Interaction], key: str, start_at: int
) -> Iterator[SyncChunk]:
    """Yield items after ``start_at`` in chunks whose cursor is the position reached."""
    for begin in range(start_at, len(items), CHUNK):
        part = items[begin : begin + CHUNK]
        yield SyncChunk(part, key, json.dumps({"pos": begin + len(part)}))
    if start_at >= len(items):
        yield SyncChunk([], key, json.dumps({"pos": len(items)}))


def _position(cursors: Mapping[str, str], key: str) -> int:
    raw = cursors.get(key)
    return int(json.loads(raw)["pos"]) if raw else 0


class MemoryDirectory(Directory):
    def __init__(self, people: Iterable[Person] = ()) -> None:
        self._people = {p.email: p for p in people}

    def add(self, person: Person) -> None:
        self._people[person.email] = person

    def people(self) -> Iterator[Person]:
        yield from self._people.values()


class MemoryMail(Mail):
    """Messages in arrival order; the cursor is how many have been read."""

    def __init__(self, messages: Iterable[Interaction] = ()) -> None:
        self._messages: list[Interaction] = list(messages)

    def add(self, message: Interaction) -> None:
        self._messages.append(message)

    def read(self, people: Sequence[Person], cursors: Mapping[str, str]) -> Iterator[SyncChunk]:
        yield from _chunks(self._messages, "memory:mail", _position(cursors, "memory:mail"))


class MemoryCalendar(Calendar):
    def __init__(self, meetings: Iterable[Interaction] = ()) -> None:
        self._meetings: list[Interaction] = list(meetings)
        self.events: dict[tuple[str, str], StoredEvent] = {}
        self.calls: dict[str, int] = {}
        #: Every change made to an existing event: (what, owner, id, the event's mark then).
        self.writes: list[tuple[str, str, str, str | None]] = []
        self._index: _MeetingIndex | None = None

    # --- test helpers -----------------------------------------------------------
    def add_meeting(self, meeting: Interaction) -> None:
        self._meetings.append(meeting)
        self._index = None

    def add_foreign_event(self, owner: str, event_id: str, start: dt.datetime,
                          end: dt.datetime, mark: str | None = None) -> None:
        """An event Bridgework did not create (or one with someone else's mark)."""
        self.events[(owner, event_id)] = StoredEvent(owner, event_id, start, end, (owner,), mark)

    def respond(self, hold: Hold, email: str, response: Response) -> None:
        """``email`` answers the hold; in HOLD mode, as if the organiser had invited them."""
        event = self.events[(hold.organizer, hold.id)]
        if email not in event.attendees:
            event.attendees = (*event.attendees, email)
        event.responses[email] = response

    def cancel(self, hold: Hold) -> None:
        self.events[(hold.organizer, hold.id)].cancelled = True

    # --- Calendar ---------------------------------------------------------------
    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def read(self, people: Sequence[Person], cursors: Mapping[str, str]) -> Iterator[SyncChunk]:
        self._count("read")
        yield from _chunks(self._meetings, "memory:calendar", _position(cursors, "memory:calendar"))

    def busy(
        self, emails: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> dict[str, list[Busy]]:
        self._count("busy")
        wanted = set(emails)
        out: dict[str, list[Busy]] = {e: [] for e in emails}
        if self._index is None:
            self._index = _MeetingIndex(self._meetings)
        for m in self._index.overlapping(start, end):
            for who in set(m.participants) & wanted:
                out[who].append(Busy(m.start, m.start + m.duration))
        for ev in self.events.values():
            if ev.cancelled or ev.end <= start or ev.start >= end:
                continue
            for who in {ev.owner, *ev.attendees} & wanted:
                if ev.responses.get(who) is not Response.DECLINED:
                    out[who].append(Busy(ev.start, ev.end))
        for spans in out.values():
            spans.sort(key=lambda b: b.start)
        return out

    def place(self, hold: Hold) -> None:
        self._count("place")
        key = (hold.organizer, hold.id)
        if key in self.events:
            return
        # A HOLD-mode hold sits on the organiser's calendar only; INVITE invites the others.
        invited = hold.attendees if hold.mode is HoldMode.INVITE else (hold.organizer,)
        responses = {hold.organizer: Response.ACCEPTED}
        responses.update({a: Response.NEEDS_ACTION for a in invited if a != hold.organizer})
        self.events[key] = StoredEvent(hold.organizer, hold.id, hold.start, hold.end,
                                       invited, hold.mark, responses=responses)

    def state(self, hold: Hold) -> HoldState:
        self._count("state")
        ev = self.events.get((hold.organizer, hold.id))
        if ev is None:
            return HoldState(exists=False)
        return HoldState(True, ev.start, ev.end, ev.cancelled, dict(ev.responses))

    def _read_mark(self, hold: Hold) -> str | None:
        ev = self.events.get((hold.organizer, hold.id))
        return ev.mark if ev else None

    def _update_time(self, hold: Hold, start: dt.datetime, end: dt.datetime) -> None:
        self._count("move")
        key = (hold.organizer, hold.id)
        self.writes.append(("move", *key, self.events[key].mark))
        self.events[key] = replace(self.events[key], start=start, end=end)

    def _delete(self, hold: Hold) -> None:
        self._count("release")
        key = (hold.organizer, hold.id)
        self.writes.append(("release", *key, self.events[key].mark))
        del self.events[key]


class _MeetingIndex:
    """The calendar's meetings sorted by start, so free/busy reads a window, not everything."""

    def __init__(self, meetings: Iterable[Interaction]) -> None:
        kept = sorted((m for m in meetings if m.kind is InteractionKind.MEETING and not m.cancelled),
                      key=lambda m: m.start)
        self._meetings = kept
        self._starts = [m.start for m in kept]
        self._longest = max((m.duration for m in kept), default=dt.timedelta(0))

    def overlapping(self, start: dt.datetime, end: dt.datetime) -> Iterator[Interaction]:
        first = bisect.bisect_left(self._starts, start - self._longest)
        last = bisect.bisect_left(self._starts, end)
        for m in self._meetings[first:last]:
            if m.start + m.duration > start:
                yield m


class MemorySender(Sender):
    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> None:
        self.sent.append(message)
