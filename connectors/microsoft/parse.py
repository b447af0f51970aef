"""Graph JSON → Bridgework metadata. Only who, when and how long; nothing else is read."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.base import (
    DEFAULT_WORKING_HOURS,
    Interaction,
    InteractionKind,
    Response,
    WorkingHours,
)

log = logging.getLogger(__name__)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

RESPONSES = {
    "accepted": Response.ACCEPTED,
    "organizer": Response.ACCEPTED,
    "declined": Response.DECLINED,
    "tentativelyaccepted": Response.TENTATIVE,
    "none": Response.NEEDS_ACTION,
    "notresponded": Response.NEEDS_ACTION,
}


def graph_time(value: Mapping[str, Any] | None) -> dt.datetime | None:
    """A Graph ``dateTimeTimeZone`` (we always ask for UTC) as an aware datetime."""
    if not value or not value.get("dateTime"):
        return None
    text = str(value["dateTime"])
    head, dot, frac = text.partition(".")
    text = f"{head}.{frac[:6]}" if dot else head  # Graph sends seven fractional digits
    moment = dt.datetime.fromisoformat(text.rstrip("Z"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(str(value.get("timeZone") or "UTC")))
    return moment.astimezone(dt.UTC)


def to_graph_time(moment: dt.datetime) -> dict[str, str]:
    utc = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return {"dateTime": utc.isoformat(timespec="seconds"), "timeZone": "UTC"}


@functools.lru_cache(maxsize=256)
def zone(name: str) -> dt.tzinfo:
    """An IANA zone from an IANA or a Windows zone name (Exchange uses both)."""
    iana = iana_zone(name)
    return ZoneInfo(iana) if iana else dt.UTC


def iana_zone(name: str) -> str | None:
    if not name:
        return None
    try:
        ZoneInfo(name)
        return name
    except (ZoneInfoNotFoundError, ValueError):
        pass
    try:
        from tzlocal.windows_tz import win_tz  # shipped with APScheduler's tzlocal
    except ImportError:  # pragma: no cover - tzlocal is a dependency of apscheduler
        return "UTC" if name in ("UTC", "Coordinated Universal Time") else None
    return win_tz.get(name)


def address(recipient: Mapping[str, Any] | None) -> str | None:
    if not recipient:
        return None
    email = (recipient.get("emailAddress") or {}).get("address")
    return str(email).strip().lower() if email else None


def meeting(event: Mapping[str, Any], owner: str) -> Interaction | None:
    """One calendar occurrence as seen in ``owner``'s calendar, or None if it is no meeting.

    The id is the iCalUId (plus ``originalStart`` for an occurrence of a series), the
    same in every attendee's copy and not changed by a move, so a meeting seen in five
    calendars is still one interaction for the ledger, and a rescheduled one is not two.
    """
    if "@removed" in event or event.get("isAllDay"):
        return None
    start = graph_time(event.get("start"))
    end = graph_time(event.get("end"))
    uid = event.get("iCalUId") or event.get("id")
    if start is None or end is None or not uid:
        return None
    organizer = address(event.get("organizer")) or owner
    invited: list[str] = []
    declined: set[str] = set()
    for attendee in event.get("attendees") or []:
        if attendee.get("type") == "resource":
            continue  # rooms and equipment are not people
        who = address(attendee)
        if not who or who in invited:
            continue
        invited.append(who)
        if str((attendee.get("status") or {}).get("response", "")).lower() == "declined":
            declined.add(who)
    own = str((event.get("responseStatus") or {}).get("response", "")).lower()
    if own == "declined":
        declined.add(owner)
    audience = [organizer, *(w for w in invited if w != organizer)]
    participants = tuple(w for w in audience if w not in declined or w == organizer)
    if len(audience) < 2:
        return None  # a personal appointment: no contact between people
    return Interaction(
        id=_meeting_id(str(uid), event.get("originalStart")),
        kind=InteractionKind.MEETING,
        start=start,
        participants=participants,
        size=len(audience),
        duration=max(end - start, dt.timedelta(0)),
        cancelled=bool(event.get("isCancelled")),
    )


def _meeting_id(uid: str, original_start: object) -> str:
    """Stable across attendees' copies and across a move: an occurrence keeps the start
    its series gave it (``originalStart``) however it is rescheduled."""
    return f"ms:{uid}@{original_start}" if original_start else f"ms:{uid}"


def message(item: Mapping[str, Any], owner: str) -> Interaction | None:
    """A sent message's header metadata (sender, recipients, date) as one interaction."""
    if "@removed" in item:
        return None
    sent = item.get("sentDateTime") or item.get("receivedDateTime")
    if not sent:
        return None
    start = dt.datetime.fromisoformat(str(sent).replace("Z", "+00:00")).astimezone(dt.UTC)
    sender = address(item.get("from")) or owner
    recipients: list[str] = []
    for field in ("toRecipients", "ccRecipients"):
        for recipient in item.get(field) or []:
            who = address(recipient)
            if who and who not in recipients and who != sender:
                recipients.append(who)
    if not recipients:
        return None
    key = item.get("internetMessageId") or f"ms-mail:{owner}:{item.get('id')}"
    return Interaction(
        id=str(key),
        kind=InteractionKind.EMAIL,
        start=start,
        participants=(sender, *recipients),
        size=len(recipients),
    )


def working_hours(settings: Mapping[str, Any]) -> tuple[str | None, WorkingHours]:
    """(IANA time zone, working hours) from a ``mailboxSettings`` resource."""
    hours = settings.get("workingHours") or {}
    tz_name = iana_zone(str((hours.get("timeZone") or {}).get("name") or "")) or iana_zone(
        str(settings.get("timeZone") or "")
    )
    days = frozenset(
        WEEKDAYS.index(str(d).lower()) for d in hours.get("daysOfWeek") or []
        if str(d).lower() in WEEKDAYS
    )
    try:
        start = dt.time.fromisoformat(str(hours["startTime"])[:8])
        end = dt.time.fromisoformat(str(hours["endTime"])[:8])
    except (KeyError, ValueError):
        return tz_name, DEFAULT_WORKING_HOURS
    if not days or end <= start:
        return tz_name, DEFAULT_WORKING_HOURS
    return tz_name, WorkingHours(days, start, end)


def response(status: Mapping[str, Any] | None) -> Response:
    return RESPONSES.get(str((status or {}).get("response", "none")).lower(), Response.NEEDS_ACTION)
