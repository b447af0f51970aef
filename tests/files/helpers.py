"""Writing data directories for the files connector tests."""

from __future__ import annotations

import csv
import email
import json
from collections.abc import Iterable, Sequence
from email import policy
from pathlib import Path
from typing import Any

import icalendar

from connectors.base import Interaction, OutgoingMessage, Person
from connectors.files.outbox import FilesSender

PEOPLE_COLUMNS = ["email", "name", "department", "title", "level", "manager", "timezone"]


def write_people(root: Path, people: Iterable[Person]) -> None:
    with (root / "people.csv").open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(PEOPLE_COLUMNS)
        for p in people:
            out.writerow([p.email, p.name, p.department, p.title,
                          "" if p.level is None else p.level, p.manager or "", p.timezone])


def event_record(m: Interaction) -> dict[str, Any]:
    return {"id": m.id, "start": m.start.isoformat(), "end": (m.start + m.duration).isoformat(),
            "organizer": m.participants[0], "attendees": list(m.participants[1:]),
            "status": "cancelled" if m.cancelled else "confirmed"}


def message_record(m: Interaction) -> dict[str, Any]:
    return {"id": m.id, "date": m.start.isoformat(), "from": m.participants[0],
            "to": list(m.participants[1:]), "cc": []}


def append_lines(path: Path, records: Sequence[dict[str, Any]]) -> None:
    with path.open("a") as f:
        for rec in records:
            f.write(json.dumps(rec) + "\n")


def edit_holds(path: Path, uid: str, change: Any) -> None:
    """Edit one VEVENT of holds.ics the way a person (or their calendar app) would."""
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    for ev in cal.walk("VEVENT"):
        if str(ev["UID"]) == uid:
            change(ev)
    path.write_bytes(cal.to_ical())


def sent_digests(outbox: Path) -> list[OutgoingMessage]:
    found = []
    for path in sorted((outbox / "digests").glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        text = msg.get_body(("plain",))
        html = msg.get_body(("html",))
        found.append(OutgoingMessage(
            str(msg[FilesSender.KEY_HEADER]), str(msg["To"]), str(msg["Subject"]),
            text.get_content() if text else "",
            html.get_content() if html else None,
            str(msg["From"])))
    return found
