"""The data behind the fake Graph server: users, mailboxes, events, sent mail.

A meeting is stored once and appears as one event *copy* in every invited
mailbox (like Exchange), each copy with its own id. Every change bumps a
tenant-wide sequence number; delta queries return what changed after the
sequence number their token carries.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

UTC = dt.UTC


def g_time(moment: dt.datetime) -> dict[str, str]:
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000")
    return {"dateTime": text, "timeZone": "UTC"}


def parse_g_time(value: dict[str, Any]) -> dt.datetime:
    text = str(value["dateTime"]).rstrip("Z")
    head, _, frac = text.partition(".")
    moment = dt.datetime.fromisoformat(head + ("." + frac[:6] if frac else ""))
    zone = str(value.get("timeZone") or "UTC")
    if moment.tzinfo is None:
        from zoneinfo import ZoneInfo

        moment = moment.replace(tzinfo=UTC if zone == "UTC" else ZoneInfo(zone))
    return moment.astimezone(UTC)


def addr(email: str, name: str = "") -> dict[str, Any]:
    return {"emailAddress": {"name": name or email.split("@")[0], "address": email}}


@dataclass
class User:
    id: str
    mail: str
    display_name: str
    department: str | None
    job_title: str | None
    manager_id: str | None = None
    enabled: bool = True
    has_mailbox: bool = True
    timezone: str = "UTC"
    working_days: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday")
    working_start: str = "09:00:00.0000000"
    working_end: str = "17:00:00.0000000"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Meeting:
    uid: str
    organizer: str
    attendees: list[str]  # without the organiser
    start: dt.datetime
    end: dt.datetime
    subject: str = "Meeting"
    responses: dict[str, str] = field(default_factory=dict)  # email -> Graph response
    cancelled: bool = False
    all_day: bool = False
    show_as: str = "busy"
    kind: str = "singleInstance"
    copies: list[EventCopy] = field(default_factory=list, repr=False)


@dataclass
class EventCopy:
    id: str
    owner: str
    meeting: Meeting
    seq: int
    deleted: bool = False
    transaction_id: str | None = None
    props: dict[str, str] = field(default_factory=dict)  # extended property id (lower) -> value
    prop_names: dict[str, str] = field(default_factory=dict)  # lower -> id as written


@dataclass
class Message:
    id: str
    sender: str
    to: list[str]
    cc: list[str]
    sent: dt.datetime
    message_id: str
    seq: int
    subject: str = "(subject)"


@dataclass
class Mailbox:
    events: dict[str, EventCopy] = field(default_factory=dict)
    sent: dict[str, Message] = field(default_factory=dict)


class Tenant:
    def __init__(self, domain: str = "example.org") -> None:
        self.domain = domain
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}  # id -> user
        self.by_mail: dict[str, User] = {}
        self.mailboxes: dict[str, Mailbox] = {}  # mail -> mailbox
        self.sent_mail: list[dict[str, Any]] = []  # what sendMail delivered
        self.creates = 0
        self.last_seq = 0
        self._seq = itertools.count(1)
        self._ids = itertools.count(1)

    # --- ids and sequence -----------------------------------------------------------------
    def next_seq(self) -> int:
        self.last_seq = next(self._seq)
        return self.last_seq

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}=="

    # --- users -----------------------------------------------------------------------------
    def add_user(self, mail: str, name: str = "", department: str | None = None,
                 title: str | None = None, manager: str | None = None, **kw: Any) -> User:
        with self.lock:
            mail = mail.lower()
            manager_id = self.by_mail[manager.lower()].id if manager else None
            user = User(str(uuid.uuid5(uuid.NAMESPACE_DNS, mail)), mail, name or mail, department,
                        title, manager_id, **kw)
            self.users[user.id] = user
            self.by_mail[mail] = user
            self.mailboxes[mail] = Mailbox()
            return user

    def set_manager(self, mail: str, manager: str | None) -> None:
        with self.lock:
            boss = self.by_mail.get(manager.lower()) if manager else None
            self.by_mail[mail.lower()].manager_id = boss.id if boss else None

    def user(self, key: str) -> User | None:
        key = key.lower()
        return self.users.get(key) or self.by_mail.get(key)

    # --- calendar --------------------------------------------------------------------------
    def add_meeting(self, organizer: str, attendees: list[str], start: dt.datetime,
                    end: dt.datetime, *, uid: str | None = None,
                    responses: dict[str, str] | None = None, props: dict[str, str] | None = None,
                    transaction_id: str | None = None, **kw: Any) -> tuple[Meeting, EventCopy]:
        """A meeting on the organiser's calendar and a copy on each invited user's."""
        with self.lock:
            organizer = organizer.lower()
            others = [a.lower() for a in attendees if a.lower() != organizer]
            meeting = Meeting(uid or f"040000008200E00074C5B7101A82E008{uuid.uuid4().hex.upper()}",
                              organizer, others, start.astimezone(UTC), end.astimezone(UTC), **kw)
            meeting.responses = {a: "accepted" for a in others}
            meeting.responses.update(responses or {})
            own = None
            for owner in [organizer, *others]:
                if owner not in self.mailboxes:
                    continue  # an outside guest: no mailbox here
                copy = EventCopy(self.new_id("AAMkAG"), owner, meeting, self.next_seq())
                if owner == organizer:
                    own = copy
                    copy.transaction_id = transaction_id
                    for key, value in (props or {}).items():
                        copy.props[key.lower()] = value
                        copy.prop_names[key.lower()] = key
                self.mailboxes[owner].events[copy.id] = copy
                meeting.copies.append(copy)
            assert own is not None, "the organiser needs a mailbox"
            return meeting, own

    def touch(self, meeting: Meeting) -> None:
        for copy in meeting.copies:
            copy.seq = self.next_seq()

    def find_by_prop(self, owner: str, prop: str, value: str) -> list[EventCopy]:
        with self.lock:
            box = self.mailboxes.get(owner.lower())
            if box is None:
                return []
            return [c for c in box.events.values()
                    if not c.deleted and c.props.get(prop.lower()) == value]

    def respond(self, owner: str, prop: str, value: str, who: str, response: str) -> None:
        with self.lock:
            for copy in self.find_by_prop(owner, prop, value):
                copy.meeting.responses[who.lower()] = response
                self.touch(copy.meeting)

    def delete_copy(self, copy: EventCopy) -> None:
        with self.lock:
            meeting = copy.meeting
            copy.deleted = True
            copy.seq = self.next_seq()
            if copy.owner == meeting.organizer:  # the organiser deleting cancels it for everyone
                meeting.cancelled = True
                for other in meeting.copies:
                    if other is not copy:
                        other.seq = self.next_seq()

    # --- mail ------------------------------------------------------------------------------
    def add_message(self, sender: str, to: list[str], sent: dt.datetime,
                    cc: list[str] | None = None, message_id: str | None = None) -> Message:
        with self.lock:
            sender = sender.lower()
            msg = Message(self.new_id("AAMkAGM"), sender, [t.lower() for t in to],
                          [c.lower() for c in cc or []], sent.astimezone(UTC),
                          message_id or f"<{uuid.uuid4().hex}@{self.domain}>", self.next_seq())
            self.mailboxes[sender].sent[msg.id] = msg
            return msg

    # --- JSON shapes -----------------------------------------------------------------------
    def event_json(self, copy: EventCopy, expand_prop: str | None = None) -> dict[str, Any]:
        if copy.deleted:
            return {"@odata.type": "#microsoft.graph.event", "id": copy.id,
                    "@removed": {"reason": "deleted"}}
        m = copy.meeting
        organizer = self.by_mail.get(m.organizer)
        attendees = [{"type": "required",
                      "status": {"response": m.responses.get(a, "none"),
                                 "time": "0001-01-01T00:00:00Z"},
                      **addr(a, self.by_mail[a].display_name if a in self.by_mail else "")}
                     for a in m.attendees]
        own = "organizer" if copy.owner == m.organizer else m.responses.get(copy.owner, "none")
        body: dict[str, Any] = {
            "@odata.type": "#microsoft.graph.event",
            "@odata.etag": f'W/"{copy.seq}"',
            "id": copy.id,
            "iCalUId": m.uid,
            "subject": m.subject,
            "type": m.kind,
            "isAllDay": m.all_day,
            "isCancelled": m.cancelled,
            "isOrganizer": copy.owner == m.organizer,
            "showAs": m.show_as,
            "transactionId": copy.transaction_id,
            "start": g_time(m.start),
            "end": g_time(m.end),
            "organizer": addr(m.organizer, organizer.display_name if organizer else ""),
            "attendees": attendees,
            "responseStatus": {"response": own, "time": "0001-01-01T00:00:00Z"},
        }
        if m.kind in ("occurrence", "exception"):  # as Graph gives them: where the series put it
            body["originalStart"] = m.start.astimezone(UTC).isoformat().replace("+00:00", "Z")
        if expand_prop is not None:
            key = expand_prop.lower()
            body["singleValueExtendedProperties"] = (
                [{"id": copy.prop_names[key], "value": copy.props[key]}] if key in copy.props else []
            )
        return body

    def message_json(self, msg: Message) -> dict[str, Any]:
        return {
            "@odata.type": "#microsoft.graph.message",
            "@odata.etag": f'W/"{msg.seq}"',
            "id": msg.id,
            "subject": msg.subject,
            "bodyPreview": "(private body)",
            "internetMessageId": msg.message_id,
            "sentDateTime": msg.sent.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "receivedDateTime": msg.sent.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "from": addr(msg.sender),
            "sender": addr(msg.sender),
            "toRecipients": [addr(t) for t in msg.to],
            "ccRecipients": [addr(c) for c in msg.cc],
        }

    def user_json(self, user: User, manager_select: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": user.id,
            "mail": user.mail if user.has_mailbox else None,
            "userPrincipalName": user.mail,
            "displayName": user.display_name,
            "department": user.department,
            "jobTitle": user.job_title,
            "accountEnabled": user.enabled,
            **user.extra,
        }
        if manager_select:
            boss = self.users.get(user.manager_id or "")
            if boss is not None:
                body["manager"] = {"@odata.type": "#microsoft.graph.user", "id": boss.id,
                                   "mail": boss.mail, "userPrincipalName": boss.mail}
        return body

    def mailbox_settings_json(self, user: User) -> dict[str, Any]:
        return {
            "timeZone": user.timezone,
            "workingHours": {
                "daysOfWeek": list(user.working_days),
                "startTime": user.working_start,
                "endTime": user.working_end,
                "timeZone": {"name": user.timezone},
            },
        }
