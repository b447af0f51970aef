"""Calendars over Graph: meetings by delta, free/busy by getSchedule, and our holds.

A hold is an ordinary event on the organiser's calendar with ``showAs:
tentative`` and two single-value extended properties: the hold id (how we
find the event again, the way Google uses a client-chosen event id) and the
mark (``hold.mark``, the proof that Bridgework created it). The shared
:class:`Calendar` layer refuses to move or delete an event whose mark is not
ours; this module only supplies the primitives. ``transactionId`` = hold id
makes a repeated create return the first event instead of a second one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from typing import Any
from urllib.parse import quote

from connectors.base import Busy, Calendar, Hold, HoldMode, HoldState, Person, Response, SyncChunk
from connectors.common.clock import Clock
from connectors.microsoft import parse
from connectors.microsoft.client import Call, GraphClient
from connectors.microsoft.delta import DeltaReader, Feed, window

log = logging.getLogger(__name__)

PROPERTY_SET = "{7d0f4c6e-2b1a-4f39-9a55-3c8e1b6d2f40}"
MARK_PROPERTY = f"String {PROPERTY_SET} Name bridgework"
HOLD_ID_PROPERTY = f"String {PROPERTY_SET} Name bridgeworkHoldId"
READ = "Calendars.Read"
WRITE = "Calendars.ReadWrite"
MAX_SCHEDULES = 20  # people per getSchedule call
MAX_SPAN = dt.timedelta(days=61)  # getSchedule wants windows under 62 days
BUSY_STATUSES = frozenset({"busy", "tentative", "oof"})


def _q(value: str) -> str:
    return quote(value, safe="")


class MicrosoftCalendar(Calendar):
    def __init__(self, client: GraphClient, ids: MutableMapping[str, str], clock: Clock) -> None:
        self._client = client
        self._ids = ids  # e-mail -> Graph user id, filled by the directory
        self._clock = clock
        self._reader = DeltaReader(client, Feed(
            prefix="microsoft:calendar",
            permission=READ,
            start=self._start,
            parse=parse.meeting,
            stale=self._stale,
        ))

    def _user(self, email: str) -> str:
        return _q(self._ids.get(email, email))

    # --- meetings -----------------------------------------------------------------------
    def _start(self, email: str) -> tuple[str, str | None]:
        settings = self._client.settings
        start, end = window(self._clock(), settings.history_days, settings.lookahead_days)
        url = (f"users/{self._user(email)}/calendarView/delta"
               f"?startDateTime={start}&endDateTime={end}")
        return url, end

    def _stale(self, until: str | None) -> bool:
        """Restart a delta chain once half of its look-ahead has gone by."""
        if until is None:
            return True
        end = dt.datetime.fromisoformat(until.replace("Z", "+00:00"))
        margin = dt.timedelta(days=self._client.settings.lookahead_days / 2)
        return end - self._clock() < margin

    def read(self, people: Sequence[Person], cursors: Mapping[str, str]) -> Iterator[SyncChunk]:
        return self._reader.read(people, cursors)

    # --- free/busy ----------------------------------------------------------------------
    def busy(
        self, emails: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> dict[str, list[Busy]]:
        out: dict[str, list[Busy]] = {e: [] for e in emails}
        calls = []
        for group_start in range(0, len(emails), MAX_SCHEDULES):
            group = list(emails[group_start : group_start + MAX_SCHEDULES])
            since = start
            while since < end:
                until = min(end, since + MAX_SPAN)
                calls.append(Call(
                    "POST", f"users/{self._user(group[0])}/calendar/getSchedule", group[0], READ,
                    body={"schedules": group, "startTime": parse.to_graph_time(since),
                          "endTime": parse.to_graph_time(until), "availabilityViewInterval": 15},
                ))
                since = until
        for reply in self._client.batch(calls):
            for schedule in reply.body.get("value", []):
                who = str(schedule.get("scheduleId", "")).lower()
                if "error" in schedule:
                    # a calendar we cannot see is not a free one: never hold time over it
                    log.warning("free/busy unavailable for one person (%s); treated as busy",
                                (schedule["error"] or {}).get("responseCode", "error"))
                    if who in out:
                        out[who].append(Busy(start, end))
                    continue
                for item in schedule.get("scheduleItems") or []:
                    if str(item.get("status", "")).lower() not in BUSY_STATUSES:
                        continue
                    b_start, b_end = parse.graph_time(item.get("start")), parse.graph_time(item.get("end"))
                    if who in out and b_start and b_end:
                        out[who].append(Busy(b_start, b_end))
        for spans in out.values():
            spans.sort(key=lambda b: b.start)
        return out

    # --- holds ----------------------------------------------------------------------------
    def _find(self, hold: Hold, permission: str = READ) -> dict[str, Any] | None:
        condition = (f"singleValueExtendedProperties/Any(ep: ep/id eq '{HOLD_ID_PROPERTY}' "
                     f"and ep/value eq '{hold.id}')")
        expand = f"singleValueExtendedProperties($filter=id eq '{MARK_PROPERTY}')"
        url = (f"users/{self._user(hold.organizer)}/events?$filter={_q(condition)}"
               f"&$expand={_q(expand)}&$select=id,start,end,isCancelled,attendees,organizer")
        reply = self._client.call(Call("GET", url, hold.organizer, permission))
        found = reply.body.get("value", [])
        if len(found) > 1:
            log.warning("hold %s has %d events; using the first", hold.id, len(found))
        return found[0] if found else None

    def place(self, hold: Hold) -> None:
        if self._find(hold) is not None:
            return
        attendees = [] if hold.mode is not HoldMode.INVITE else [
            {"emailAddress": {"address": a}, "type": "required"}
            for a in hold.attendees if a != hold.organizer
        ]
        body: dict[str, Any] = {
            "subject": hold.title,
            "body": {"contentType": "text", "content": hold.description},
            "start": parse.to_graph_time(hold.start),
            "end": parse.to_graph_time(hold.end),
            "showAs": "tentative",
            "isReminderOn": False,
            "responseRequested": bool(attendees),
            "attendees": attendees,
            "transactionId": hold.id,
            "singleValueExtendedProperties": [
                {"id": HOLD_ID_PROPERTY, "value": hold.id},
                {"id": MARK_PROPERTY, "value": hold.mark},
            ],
        }
        if hold.video:
            body.update(isOnlineMeeting=True, onlineMeetingProvider="teamsForBusiness")
        self._client.call(Call("POST", f"users/{self._user(hold.organizer)}/events",
                               hold.organizer, WRITE, body=body))
        log.debug("placed hold %s", hold.id)

    def state(self, hold: Hold) -> HoldState:
        event = self._find(hold)
        if event is None:
            return HoldState(exists=False)
        responses: dict[str, Response] = {hold.organizer: Response.ACCEPTED}
        for attendee in event.get("attendees") or []:
            who = parse.address(attendee)
            if who and who != hold.organizer:
                responses[who] = parse.response(attendee.get("status"))
        return HoldState(
            exists=True,
            start=parse.graph_time(event.get("start")),
            end=parse.graph_time(event.get("end")),
            cancelled=bool(event.get("isCancelled")),
            responses=responses,
        )

    def _read_mark(self, hold: Hold) -> str | None:
        event = self._find(hold)
        if event is None:
            return None
        for prop in event.get("singleValueExtendedProperties") or []:
            if str(prop.get("id", "")).lower() == MARK_PROPERTY.lower():
                return str(prop.get("value"))
        return None

    def _event_url(self, hold: Hold) -> str | None:
        event = self._find(hold, WRITE)
        if event is None:
            return None
        return f"users/{self._user(hold.organizer)}/events/{_q(str(event['id']))}"

    def _update_time(self, hold: Hold, start: dt.datetime, end: dt.datetime) -> None:
        url = self._event_url(hold)
        if url is not None:
            body = {"start": parse.to_graph_time(start), "end": parse.to_graph_time(end)}
            self._client.call(Call("PATCH", url, hold.organizer, WRITE, body=body))

    def _delete(self, hold: Hold) -> None:
        url = self._event_url(hold)
        if url is not None:
            self._client.call(Call("DELETE", url, hold.organizer, WRITE, allow=frozenset({404})))
