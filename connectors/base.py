"""Metadata types and the protocols every connector implements.

Connectors yield plain metadata (who met or wrote to whom, when, for how long)
and never a subject, body or attachment name. The core only sees these types.

Sync is chunked: a connector yields :class:`SyncChunk` objects, each carrying
the interactions it read and the cursor to store *after* the pipeline has
safely folded them into the ledger. A crash between the two re-delivers the
chunk, and the ledger ignores interactions it has already counted, so nothing
is lost and nothing is counted twice.

Capabilities are declared on :class:`Backend` (``parallel_safe``,
``reads_files``, ``problems``, and :meth:`Reader.split`); every backend
subclasses its protocol, so callers read them instead of probing.

Errors, in the words of :mod:`connectors.common.errors`, mean the same for every
protocol method:

- ``ConfigError``: the backend's own settings or credential files are unusable;
  nothing was asked of the outside system.
- ``PermissionMissing``: the credentials lack a scope or permission the whole
  call needs, and the message names it. One mailbox or calendar that refuses
  is skipped for the cycle with a warning instead, so one account cannot stop
  everyone.
- ``ConnectorError``: the source failed in a way retrying will not fix: a
  required file is missing or damaged, or the service still failed after the
  backoff and retries the backend does first. For a write the message says
  when the change may or may not have happened.
- ``NotOurEvent``: only from :meth:`Calendar.move` and :meth:`Calendar.release`:
  the event does not carry the hold's mark, so it is left alone.

A bad row, line or record is never raised: it is skipped and reported in the
backend's ``problems`` with its file and line.
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
from pathlib import Path
from typing import ClassVar

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
    #: The level as the directory wrote it when that is a name ("Senior"); the agent turns
    #: it into ``level`` through the rules' ``levels:`` mapping.
    level_label: str = ""

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


class Problems(list[str]):
    """Bad input a backend skipped, each located as ``path:line: what`` and logged once.

    Logged at INFO: the commands print one summary line per kind of problem
    (``agent.notices``), and ``-v`` (or the daemon's INFO log) shows each one.
    """

    def report(self, path: Path | str, line: int | str, what: str) -> None:
        message = f"{path}:{line}: {what}"
        log.info("%s", message)
        self.append(message)


class Backend:
    """What every backend is, and what it declares about itself (never probed).

    The defaults suit a backend that talks to an API over a connection: not
    safe to fork, input that cannot be malformed at a file and line, and an
    empty :attr:`problems` list.
    """

    #: Holds no open connection, so it may be read in a forked worker process.
    parallel_safe: ClassVar[bool] = False
    #: Reads files that people export or edit, so a bad row can be named by file and line
    #: in :attr:`problems`. API backends receive structured answers and leave this False.
    reads_files: ClassVar[bool] = False

    _problems: Problems | None = None

    @property
    def problems(self) -> Problems:
        """The located problems found in this backend's input so far (skipped, not raised)."""
        if self._problems is None:
            self._problems = Problems()
        return self._problems


class Reader(Backend, abc.ABC):
    """A source of interactions read in chunks since stored cursors (Calendar and Mail)."""

    @abc.abstractmethod
    def read(self, people: Sequence[Person], cursors: Mapping[str, str]) -> Iterator[SyncChunk]:
        """Interactions since the stored cursors, in chunks; all of them without a cursor."""

    def split(self, cursors: Mapping[str, str], parts: int) -> Sequence[Reader] | None:
        """This reader as up to ``parts`` readers of byte ranges, read by several workers.

        Together the parts read what :meth:`read` would. Only the last part yields
        cursors, and they hold only once every part is read, so the caller stores
        cursors after all parts are done. None (the default) means it cannot be
        split, or what is unread is too small to be worth it.
        """
        return None


class Directory(Backend, abc.ABC):
    """The people of the organisation, with departments, managers and working hours.

    Raises ConfigError, PermissionMissing or ConnectorError (see the module
    docstring); a person's bad row goes to ``problems``.
    """

    @abc.abstractmethod
    def people(self) -> Iterator[Person]:
        """Every active person, once each.

        :raises ConfigError: the directory's settings or credentials are unusable.
        :raises PermissionMissing: the credentials may not list users (names the scope).
        :raises ConnectorError: the source cannot be read at all (a missing people.csv,
            a service that keeps failing). A bad row is skipped and put in ``problems``.
        """


class Mail(Reader):
    """Message metadata (sender, recipients, time): never a subject, body or attachment.

    Raises ConfigError, PermissionMissing or ConnectorError (see the module
    docstring); a bad message or line goes to ``problems``.
    """

    @abc.abstractmethod
    def read(self, people: Sequence[Person], cursors: Mapping[str, str]) -> Iterator[SyncChunk]:
        """Message metadata since the stored cursors (all of it without one).

        A chunk's cursor is stored only after its interactions are in the ledger;
        a mailbox whose cursor the source forgot starts over (``resynced``).

        :raises ConfigError: the backend's settings or credentials are unusable.
        :raises PermissionMissing: the credentials may not read mail metadata at all.
        :raises ConnectorError: the source failed beyond its retries. One mailbox that
            refuses is skipped this cycle with its cursor kept; a bad message or line is
            skipped and put in ``problems``.
        """


class Sender(Backend, abc.ABC):
    """Delivers digests.

    Raises ConfigError, PermissionMissing or ConnectorError (see the module
    docstring).
    """

    @abc.abstractmethod
    def send(self, message: OutgoingMessage) -> None:
        """Deliver one digest. The same ``message.key`` sent again is recognisable as one.

        :raises ConfigError: no sender address, or unusable credentials or TLS files.
        :raises PermissionMissing: the credentials may not send as the sender address.
        :raises ConnectorError: the server refused the digest or a recipient, or kept
            failing; a send is retried only where it cannot have been delivered already.
        """

    def delivered(self, message: OutgoingMessage) -> bool | None:
        """Whether ``message`` went out, asked after a send a crash interrupted.

        True or False where the backend can tell (a file in the outbox, a copy in Sent
        Items with the message's Message-ID); None where it cannot (plain SMTP). The
        digest step resends only on False, so a digest is never delivered twice.

        :raises ConnectorError: the backend could not be asked.
        """
        return None


class Calendar(Reader):
    """Reads meetings and free/busy; places and looks after Bridgework's own holds.

    The promise that Bridgework changes only what it created lives here, once,
    for every backend: :meth:`move` and :meth:`release` read the event's mark
    first and refuse events whose mark does not name this hold. Backends
    implement the underscored primitives and never call them directly.

    Modes: a :attr:`HoldMode.HOLD` hold is an event on the organiser's calendar
    only; :attr:`HoldMode.INVITE` also invites the other people, so it shows in
    their free/busy until they decline.

    Raises ConfigError, PermissionMissing or ConnectorError, and NotOurEvent
    from move and release (see the module docstring).
    """

    @abc.abstractmethod
    def read(self, people: Sequence[Person], cursors: Mapping[str, str]) -> Iterator[SyncChunk]:
        """Meeting metadata since the stored cursors, recurring events expanded.

        :raises ConfigError: the backend's settings or credentials are unusable.
        :raises PermissionMissing: the credentials may not read calendars at all.
        :raises ConnectorError: the source failed beyond its retries. One calendar that
            refuses is skipped this cycle with its cursor kept; a bad event or line is
            skipped and put in ``problems``.
        """

    @abc.abstractmethod
    def busy(
        self, emails: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> dict[str, list[Busy]]:
        """Busy intervals per person between start and end, sorted by start.

        Holds count as busy for the organiser, and for invitees who have not
        declined. A calendar that cannot be read counts as busy for the whole
        window: no hold may land on meetings nobody can see.

        :raises ConfigError: the backend's settings or credentials are unusable.
        :raises PermissionMissing: the credentials may not read free/busy.
        :raises ConnectorError: the source failed beyond its retries.
        """

    @abc.abstractmethod
    def place(self, hold: Hold) -> None:
        """Create the hold's event; doing it again for the same hold changes nothing.

        :raises ConfigError: the backend's settings or credentials are unusable.
        :raises PermissionMissing: the credentials may not write the organiser's calendar.
        :raises ConnectorError: the calendar refused the event, or failed so that it may
            or may not exist now (the next ``place`` settles it: the id is the same).
        """

    @abc.abstractmethod
    def state(self, hold: Hold) -> HoldState:
        """The event as the calendar has it now, with the responses it can see.

        In HOLD mode the responses name only the organiser until they invite
        someone; a missing event is ``HoldState(exists=False)``, not an error.

        :raises ConfigError: the backend's settings or credentials are unusable.
        :raises PermissionMissing: the credentials may not read the organiser's calendar.
        :raises ConnectorError: the source failed beyond its retries, or holds.ics (files)
            is damaged.
        """

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
        """Give our hold a new time; refuses events that are not ours.

        :raises NotOurEvent: the event with this id does not carry the hold's mark.
        :raises ConfigError: the backend's settings or credentials are unusable.
        :raises PermissionMissing: the credentials may not write the organiser's calendar.
        :raises ConnectorError: the calendar refused the change or kept failing.
        """
        self._ensure_ours(hold, "move")
        self._update_time(hold, start, end)

    def release(self, hold: Hold) -> None:
        """Delete our hold; refuses events that are not ours. Missing is fine.

        :raises NotOurEvent: the event with this id does not carry the hold's mark.
        :raises ConfigError: the backend's settings or credentials are unusable.
        :raises PermissionMissing: the credentials may not write the organiser's calendar.
        :raises ConnectorError: the calendar refused the deletion or kept failing.
        """
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
