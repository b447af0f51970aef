"""One line of ``messages.jsonl`` or ``events.jsonl`` as metadata.

``messages.jsonl``: ``{"id", "date", "from", "to": [...], "cc": [...]}``.
``events.jsonl``: ``{"id", "start", "end", "organizer", "attendees": [...],
"status", "responses": {email: accepted|declined|tentative|needsAction},
"rrule", "timezone", "exdate": [...]}``. Every time needs a UTC offset.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from connectors.base import Interaction, InteractionKind
from connectors.files.fields import (
    MAX_YEAR,
    MIN_YEAR,
    BadRecord,
    identifier,
    lower_all,
    parse_time,
    plausible,
)
from connectors.files.recurrence import Series, series

_MEETING = InteractionKind.MEETING
_EMAIL = InteractionKind.EMAIL
_fromisoformat = dt.datetime.fromisoformat


def message_from_record(rec: Mapping[str, Any]) -> Interaction:
    """One ``messages.jsonl`` record: sender first, recipients de-duplicated in order.

    This runs once per line of exports with millions of lines, so the common
    shape (strings and lists of strings) takes the short way through.
    """
    sender = rec["from"]
    if type(sender) is not str or "@" not in sender:
        raise BadRecord("from is not an address")
    sender = sender.lower()
    to, cc = rec.get("to"), rec.get("cc")
    if type(to) is list and len(to) == 1 and not cc and type(to[0]) is str:
        # most mail has one recipient: the short way
        only = to[0].lower()
        participants: tuple[str, ...] = (sender,) if only == sender else (sender, only)
        size = 1
    else:
        if type(to) is list and not cc:
            recipients = [r.lower() for r in to]
        else:
            recipients = lower_all(to, "to") + lower_all(cc, "cc")
        unique = dict.fromkeys(recipients)
        size = len(unique)
        unique.pop(sender, None)
        participants = (sender, *unique)
    date = rec["date"]
    try:
        start = _fromisoformat(date)
    except (TypeError, ValueError):
        start = parse_time(date, "date")
    if start.tzinfo is None:
        raise BadRecord(f"date {date!r} has no UTC offset")
    if not MIN_YEAR <= start.year <= MAX_YEAR:
        plausible(start, "date", date)
    ident = rec["id"]
    if type(ident) is not str or not ident:
        ident = identifier(ident)
    return Interaction(ident, _EMAIL, start, participants, size)


def event_from_record(rec: Mapping[str, Any]) -> Interaction | Series:
    """One ``events.jsonl`` record: a single meeting or a recurring series."""
    start = parse_time(rec["start"], "start")
    end = parse_time(rec["end"], "end")
    if end < start:
        raise BadRecord("end is before start")
    organizer = rec.get("organizer")
    invited = [organizer.lower()] if isinstance(organizer, str) and organizer else []
    invited += lower_all(rec.get("attendees"), "attendees")
    invitees = dict.fromkeys(invited)
    if not invitees:
        raise BadRecord("no organizer and no attendees")
    responses = rec.get("responses")
    if responses:
        declined = {k.lower() for k, v in responses.items() if v == "declined"}
        people = tuple(p for p in invitees if p not in declined)
    else:
        people = tuple(invitees)
    meeting = Interaction(identifier(rec["id"]), _MEETING, start, people, len(invitees),
                          end - start, rec.get("status") == "cancelled")
    rule = rec.get("rrule")
    if not rule:
        return meeting
    return series(meeting, rule, rec.get("timezone"), rec.get("exdate"))
