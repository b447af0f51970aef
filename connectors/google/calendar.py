"""Google Calendar: incremental meeting sync, free/busy, and Bridgework's own holds.

Reading: one ``events.list`` per user (``singleEvents``, 2500 a page), many
users to a batch request. The first sync reads ``history_days`` back and ends
with a ``nextSyncToken``; later syncs send only that token, so a user whose
calendar did not change costs one call in a shared batch. A 410 means Google
forgot the token: start that user over and say so (``resynced``).

The same meeting sits in every attendee's calendar under the same event id,
so its interaction id (event id plus original start) is the same whichever
calendar it was read from and the ledger counts it once.

Only metadata fields are requested (``fields=``): no title, description or
location ever leaves Google.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from googleapiclient.errors import HttpError

from connectors.base import (
    MARK_KEY,
    Busy,
    Calendar,
    Hold,
    HoldMode,
    HoldState,
    Interaction,
    InteractionKind,
    Person,
    Response,
    SyncChunk,
    cancellation,
)
from connectors.common.clock import Clock, system_clock
from connectors.common.errors import PermissionMissing
from connectors.google.answers import Transient, classify, status_of
from connectors.google.scopes import CALENDAR_READ, CALENDAR_WRITE, read_scopes
from connectors.google.transport import Call, GoogleClient

log = logging.getLogger(__name__)

PAGE = 2500
FREEBUSY_CHUNK = 50
EVENT_FIELDS = (
    "items(id,status,start,end,organizer/email,attendees(email,responseStatus,resource),"
    "originalStartTime,recurringEventId,updated,transparency),nextPageToken,nextSyncToken"
)
HOLD_FIELDS = "id,status,start,end,attendees(email,responseStatus),extendedProperties"


def parse_time(value: Mapping[str, Any] | None) -> dt.datetime | None:
    """An event time as an aware datetime; None for all-day dates."""
    if not value or not value.get("dateTime"):
        return None
    moment = dt.datetime.fromisoformat(str(value["dateTime"]).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def interaction_id(event: Mapping[str, Any]) -> str:
    original = (event.get("originalStartTime") or {}).get("dateTime")
    return f"gcal:{event['id']}@{original}" if original else f"gcal:{event['id']}"


def to_interaction(event: Mapping[str, Any], owner: str) -> Interaction | None:
    """One event as meeting metadata; None for all-day events and stubs without a time."""
    cancelled = event.get("status") == "cancelled"
    start = parse_time(event.get("start")) or parse_time(event.get("originalStartTime"))
    if not event.get("id"):
        return None
    if start is None:
        # incremental sync reports a deleted event as a bare id: still worth telling the ledger
        return cancellation(interaction_id(event)) if cancelled else None
    end = parse_time(event.get("end")) or start
    people = [a for a in event.get("attendees") or [] if not a.get("resource")]
    organizer = str((event.get("organizer") or {}).get("email") or owner).lower()
    present = [str(a["email"]).lower() for a in people
               if a.get("email") and a.get("responseStatus") != "declined"]
    declined = {str(a.get("email", "")).lower() for a in people
                if a.get("responseStatus") == "declined"}
    ordered = ([organizer] if organizer not in declined else []) + present
    participants = tuple(dict.fromkeys(ordered)) if people else (organizer,)
    return Interaction(
        id=interaction_id(event),
        kind=InteractionKind.MEETING,
        start=start,
        participants=participants,
        size=max(len(people), 1),
        duration=max(end - start, dt.timedelta(0)),
        cancelled=cancelled,
    )


def _hold_body(hold: Hold) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": hold.id,
        "summary": hold.title,
        "description": hold.description,
        "start": {"dateTime": _iso(hold.start), "timeZone": hold.timezone},
        "end": {"dateTime": _iso(hold.end), "timeZone": hold.timezone},
        "status": "tentative",
        "transparency": "opaque",
        "guestsCanModify": False,
        "extendedProperties": {"private": {MARK_KEY: hold.mark}},
    }
    if hold.mode is HoldMode.INVITE:
        body["attendees"] = [
            {"email": a, **({"organizer": True, "responseStatus": "accepted"}
                            if a == hold.organizer else {})}
            for a in dict.fromkeys(hold.attendees)
        ]
    if hold.video:
        body["conferenceData"] = {"createRequest": {
            "requestId": hold.id, "conferenceSolutionKey": {"type": "hangoutsMeet"}}}
    return body


class GoogleCalendar(Calendar):
    def __init__(self, client: GoogleClient, clock: Clock = system_clock) -> None:
        self._client = client
        self._clock = clock
        self._read = read_scopes(client.settings)
        self._write = (CALENDAR_WRITE,)

    # --- reading ------------------------------------------------------------------
    def _calendar_id(self, user: str) -> str:
        return "primary" if self._client.settings.trial else user

    def _users(self, people: Sequence[Person]) -> list[str]:
        if self._client.settings.trial:
            return ["me"]
        return list(dict.fromkeys(p.email for p in people))

    def read(self, people: Sequence[Person], cursors: Mapping[str, str]) -> Iterator[SyncChunk]:
        client = self._client
        events = client.service("calendar").events()  # building a resource is slow: once
        since = _iso(self._clock() - dt.timedelta(days=client.settings.history_days))
        queue: collections.deque[Call] = collections.deque()
        out: collections.deque[SyncChunk] = collections.deque()
        waiting = iter(self._users(people))

        def admit() -> None:
            user = next(waiting, None)
            if user is not None:
                queue.append(list_call(user, cursors.get(key(user)), None, False))

        def key(user: str) -> str:
            return f"google:calendar:{user}"

        def list_call(user: str, token: str | None, page: str | None, resynced: bool) -> Call:
            def make() -> Any:
                params: dict[str, Any] = {"calendarId": self._calendar_id(user),
                                          "singleEvents": True, "maxResults": PAGE,
                                          "fields": EVENT_FIELDS, "pageToken": page}
                if token:
                    params["syncToken"] = token
                else:
                    params["timeMin"] = since
                return events.list(**params)

            def done(answer: Any) -> None:
                found = [i for i in (to_interaction(e, user) for e in answer.get("items") or [])
                         if i is not None]
                nxt = answer.get("nextPageToken")
                if nxt:
                    out.append(SyncChunk(found, key(user), None, resynced))
                    queue.append(list_call(user, token, nxt, resynced))
                    return
                out.append(SyncChunk(found, key(user), answer.get("nextSyncToken"), resynced))
                admit()

            def failed(exc: HttpError) -> bool:
                if status_of(exc) == 410:  # the sync token is too old: read everything again
                    log.info("calendar sync token of %s expired; full resync", user)
                    queue.append(list_call(user, None, None, True))
                    return True
                if status_of(exc) == 404:  # no calendar (e.g. no Calendar licence)
                    log.info("no calendar for %s; skipped", user)
                    admit()
                    return True
                outcome = classify(exc, "reading a calendar", CALENDAR_READ, client.settings)
                if isinstance(outcome, (Transient, PermissionMissing)):
                    return False  # retried, or the whole sync needs the admin
                # One mailbox refusing (a policy, a broken account) must not stop everyone:
                # skip it this time; its cursor is kept, so nothing is lost.
                log.warning("could not read one calendar (%s); skipped this cycle", outcome)
                admit()
                return True

            return Call(user, "calendar", 1, make, done, f"reading {user}'s calendar",
                        CALENDAR_READ, self._read, failed=failed)

        for _ in range(client.settings.batch_size * 2):
            admit()
        for _ in client.run_batches(queue):
            while out:
                yield out.popleft()
        while out:
            yield out.popleft()

    def busy(self, emails: Sequence[str], start: dt.datetime,
             end: dt.datetime) -> dict[str, list[Busy]]:
        client = self._client
        svc = client.service("calendar")
        subject = client.settings.admin_subject or "me"
        result: dict[str, list[Busy]] = {e: [] for e in emails}
        for begin in range(0, len(emails), FREEBUSY_CHUNK):
            chunk = list(emails[begin : begin + FREEBUSY_CHUNK])
            body: dict[str, Any] = {"timeMin": _iso(start), "timeMax": _iso(end),
                                    "items": [{"id": e} for e in chunk]}

            def make(body: dict[str, Any] = body) -> Any:
                return svc.freebusy().query(body=body)

            answer = client.execute(make,
                                    user=subject, scopes=self._read, what="reading free/busy",
                                    scope=CALENDAR_READ, api="calendar")
            for email, info in (answer.get("calendars") or {}).items():
                if email not in result:
                    continue
                if info.get("errors"):
                    # a calendar we cannot see is not a free one: never hold time over it
                    log.warning("free/busy unavailable for one person; treated as busy")
                    result[email].append(Busy(start, end))
                    continue
                for span in info.get("busy") or []:
                    b_start, b_end = parse_time({"dateTime": span["start"]}), \
                        parse_time({"dateTime": span["end"]})
                    if b_start and b_end:
                        result[email].append(Busy(b_start, b_end))
        for spans in result.values():
            spans.sort(key=lambda b: b.start)
        return result

    # --- holds --------------------------------------------------------------------
    def _call(self, hold: Hold, make: Callable[[Any], Any], what: str, *, write: bool,
              expect: tuple[int, ...] = ()) -> Any:
        events = self._client.service("calendar").events()
        return self._client.execute(
            lambda: make(events), user=hold.organizer, expect=expect,
            scopes=self._write if write else self._read, api="calendar",
            what=f"{what} hold {hold.id} on {hold.organizer}'s calendar",
            scope=CALENDAR_WRITE if write else CALENDAR_READ)

    def _get(self, hold: Hold) -> dict[str, Any] | None:
        cal = self._calendar_id(hold.organizer)
        try:
            event = self._call(hold, lambda ev: ev.get(calendarId=cal, eventId=hold.id,
                                                        fields=HOLD_FIELDS), "reading", write=False,
                               expect=(404, 410))
        except HttpError as exc:
            if status_of(exc) in (404, 410):
                return None
            raise
        return event if isinstance(event, dict) else None

    def place(self, hold: Hold) -> None:
        cal = self._calendar_id(hold.organizer)
        updates = "all" if hold.mode is HoldMode.INVITE else "none"
        try:
            self._call(hold, lambda ev: ev.insert(
                calendarId=cal, body=_hold_body(hold), sendUpdates=updates,
                conferenceDataVersion=1 if hold.video else 0, fields="id"), "placing", write=True,
                expect=(409,))
        except HttpError as exc:
            if status_of(exc) != 409:
                raise
            log.debug("hold %s already placed", hold.id)  # the same suggestion, placed before

    def state(self, hold: Hold) -> HoldState:
        event = self._get(hold)
        if event is None:
            return HoldState(exists=False)
        if event.get("status") == "cancelled":
            return HoldState(exists=False, cancelled=True)
        responses: dict[str, Response] = {}
        for attendee in event.get("attendees") or []:
            status = attendee.get("responseStatus")
            if attendee.get("email") and status in Response._value2member_map_:
                responses[str(attendee["email"]).lower()] = Response(status)
        if not event.get("attendees"):
            responses[hold.organizer] = Response.ACCEPTED  # a hold on the organizer's own calendar
        return HoldState(True, parse_time(event.get("start")), parse_time(event.get("end")),
                         False, responses)

    def _read_mark(self, hold: Hold) -> str | None:
        event = self._get(hold)
        if event is None or event.get("status") == "cancelled":
            return None
        private = (event.get("extendedProperties") or {}).get("private") or {}
        mark = private.get(MARK_KEY)
        return str(mark) if mark is not None else None

    def _update_time(self, hold: Hold, start: dt.datetime, end: dt.datetime) -> None:
        cal = self._calendar_id(hold.organizer)
        body = {"start": {"dateTime": _iso(start), "timeZone": hold.timezone},
                "end": {"dateTime": _iso(end), "timeZone": hold.timezone}}
        updates = "all" if hold.mode is HoldMode.INVITE else "none"
        self._call(hold, lambda ev: ev.patch(calendarId=cal, eventId=hold.id, body=body,
                                             sendUpdates=updates, fields="id"),
                   "moving", write=True)

    def _delete(self, hold: Hold) -> None:
        cal = self._calendar_id(hold.organizer)
        updates = "all" if hold.mode is HoldMode.INVITE else "none"
        try:
            self._call(hold, lambda ev: ev.delete(calendarId=cal, eventId=hold.id,
                                                  sendUpdates=updates), "deleting", write=True,
                       expect=(404, 410))
        except HttpError as exc:
            if status_of(exc) not in (404, 410):
                raise
