"""Metadata types and the protocols every connector implements.

Connectors yield plain metadata (who met or wrote to whom, when, for how long)
and never a subject, body or attachment name. The core only sees these types.

Sync is chunked: a connector yields :class:`SyncChunk` objects, each carrying
the interactions it read and the cursor to store *after* the pipeline has
safely folded them into the ledger. A crash between the two re-delivers the
chunk, and the ledger ignores interactions it has already counted, so nothing
is lost and nothing is counted twice.
"""

from __future__ import annotations

import abc
import base64
import datetime as dt
import hashlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from enum import StrEnum
from typing import Protocol, runtime_checkable

from connectors.common.errors import NotOurEvent

log = logging.getLogger(__name__)

#: Key of the private property / header that marks an event as Bridgework's own.
MARK_KEY = "bridgework"


def hold_mark(hold_id: str) -> str:
    """The value stored in an event's private mark: names the hold it belongs to."""
    return f"hold/{hold_id}"


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """When a person takes meetings, in their own time zone."""

    weekdays: frozenset[int] = frozenset(range(5))  # Monday is 0
    start: dt.time = dt.time(9, 0)
    end: dt.time = dt.time(17, 0)


DEFAULT_WORKING_HOURS = WorkingHours()


@dataclass(frozen=True, slots=True)
class Person:
    email: str  # lower-cased
    department: str
    name: str = ""
    title: str = ""
    level: int | None = None
    manager: str | None = None  # manager's e-mail, lower-cased
    timezone: str = "UTC"
    working_hours: WorkingHours = DEFAULT_WORKING_HOURS

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else self.email.split("@")[0]


class InteractionKind(StrEnum):
    MEETING = "meeting"
    EMAIL = "email"


@dataclass(slots=True)
class Interaction:
    """One meeting occurrence or one message, as metadata only. Treat as immutable.

    (Not ``frozen``: connectors create millions of these, and a frozen
    dataclass costs several times more to construct.)

    ``participants`` holds the people who took part, organiser or sender first,
    without those who declined. ``size`` is the full audience (invitees or
    recipients, declined and external included) so broadcasts can be told
    apart from real contact.
    """

    id: str  # unique within the source; recurring occurrences carry their start
    kind: InteractionKind
    start: dt.datetime  # aware
    participants: tuple[str, ...]
    size: int
    duration: dt.timedelta = dt.timedelta(0)
    cancelled: bool = False


#: The start given to a cancellation whose time the source no longer tells.
UNKNOWN_TIME = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def cancellation(interaction_id: str) -> Interaction:
    """A meeting the source reports deleted, known only by its id (e.g. Google's stubs).

    The ledger drops a future meeting it was keeping for that id.
    """
    return Interaction(interaction_id, InteractionKind.MEETING, UNKNOWN_TIME, (), 0, cancelled=True)


@dataclass(frozen=True, slots=True)
class Busy:
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True, slots=True)
class SyncChunk:
    """Interactions read from a source, and the cursor to keep once they are stored."""

    interactions: Sequence[Interaction]
    cursor_key: str
    cursor: str | None
    resynced: bool = False  # the source had forgotten our cursor and started over


class HoldMode(StrEnum):
    SUGGEST = "suggest"  # digest only, nothing on calendars
    HOLD = "hold"  # tentative hold on the organiser's calendar
    INVITE = "invite"  # the hold invites the other person too


class Response(StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"
    TENTATIVE = "tentative"
    NEEDS_ACTION = "needsAction"


def hold_id_for(*parts: str) -> str:
    """A deterministic event id: base32hex (Google's alphabet), lower case, 32 chars."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()[:20]
    return base64.b32hexencode(digest).decode().lower().rstrip("=")


@dataclass(frozen=True, slots=True)
class Hold:
    """A tentative meeting Bridgework places; ``id`` is the same for the same suggestion."""

    id: str
    organizer: str
    attendees: tuple[str, ...]  # both people, organiser included
    start: dt.datetime
    end: dt.datetime
    title: str
    description: str
    mode: HoldMode = HoldMode.HOLD
    video: bool = False
    timezone: str = "UTC"

    @property
    def mark(self) -> str:
        return hold_mark(self.id)


@dataclass(frozen=True, slots=True)
class HoldState:
    """What the calendar says about a hold now."""

    exists: bool
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    cancelled: bool = False
    responses: Mapping[str, Response] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A digest e-mail. ``key`` identifies it so a resend can be recognised."""

    key: str
    to: str
    subject: str
    text: str
    html: str | None = None
    sender: str | None = None


def as_email(message: OutgoingMessage, default_sender: str = "bridgework@localhost") -> EmailMessage:
    """A digest as a MIME message (text, and HTML as the alternative).

    The Message-ID comes from the digest key, so the same digest sent twice
    can be recognised by the receiving side.
    """
    mail = EmailMessage()
    mail["From"] = message.sender or default_sender
    mail["To"] = message.to
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = f"<{hashlib.sha256(message.key.encode()).hexdigest()[:32]}@bridgework>"
    mail.set_content(message.text)
    if message.html:
        mail.add_alternative(message.html, subtype="html")
    return mail


@runtime_checkable
class Directory(Protocol):
    def people(self) -> Iterator[Person]:
        """Every active person, once each."""
        ...


@runtime_checkable
class Mail(Protocol):
    def read(self, people: Sequence[Person], cursors: Mapping[str, str]) -> Iterator[SyncChunk]:
        """Message metadata since the stored cursors (all of it without one)."""
        ...


@runtime_checkable
class Sender(Protocol):
    def send(self, message: OutgoingMessage) -> None: ...


class Calendar(abc.ABC):
    """Reads meetings and free/busy; places and looks after Bridgework's own holds.

    The promise that Bridgework changes only what it created lives here, once,
    for every backend: :meth:`move` and :meth:`release` read the event's mark
    first and refuse events whose mark does not name this hold. Backends
    implement the underscored primitives and never call them directly.
    """

    @abc.abstractmethod
    def read(self, people: Sequence[Person], cursors: Mapping[str, str]) -> Iterator[SyncChunk]:
        """Meeting metadata since the stored cursors, recurring events expanded."""

    @abc.abstractmethod
    def busy(
        self, emails: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> dict[str, list[Busy]]:
        """Busy intervals per person between start and end."""

    @abc.abstractmethod
    def place(self, hold: Hold) -> None:
        """Create the hold's event; doing it again for the same hold changes nothing."""

    @abc.abstractmethod
    def state(self, hold: Hold) -> HoldState:
        """The event as the calendar has it now, with attendee responses."""

    @abc.abstractmethod
    def _read_mark(self, hold: Hold) -> str | None:
        """The mark stored on the event with ``hold.id``, or None (no event, or unmarked)."""

    @abc.abstractmethod
    def _update_time(self, hold: Hold, start: dt.datetime, end: dt.datetime) -> None: ...

    @abc.abstractmethod
    def _delete(self, hold: Hold) -> None: ...

    def _ensure_ours(self, hold: Hold, action: str) -> None:
        mark = self._read_mark(hold)
        if mark != hold.mark:
            log.warning("refused to %s event %s: it does not carry Bridgework's mark", action, hold.id)
            raise NotOurEvent(f"event {hold.id} was not created by Bridgework; refusing to {action} it")

    def move(self, hold: Hold, start: dt.datetime, end: dt.datetime) -> None:
        """Give our hold a new time; refuses events that are not ours."""
        self._ensure_ours(hold, "move")
        self._update_time(hold, start, end)

    def release(self, hold: Hold) -> None:
        """Delete our hold; refuses events that are not ours. Missing is fine."""
        if not self.state(hold).exists:
            return
        self._ensure_ours(hold, "delete")
        self._delete(hold)


@dataclass
class Connectors:
    """The set of backends one configuration selects."""

    directory: Directory
    calendar: Calendar | None = None
    mail: Mail | None = None
    sender: Sender | None = None
