from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import icalendar
import pytest

from connectors.base import Connectors, Hold, Interaction, OutgoingMessage, Person, Response
from connectors.files import open_directory
from tests.contract.suite import ConnectorContract
from tests.files.helpers import (
    append_lines,
    edit_holds,
    event_record,
    message_record,
    sent_digests,
    write_people,
)


class FilesWorld:
    """A data directory in a temporary folder; changes are made to the files themselves."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.outbox = root / "outbox"
        self._connectors: Connectors | None = None

    def seed(self, people: Sequence[Person], meetings: Sequence[Interaction],
             messages: Sequence[Interaction]) -> None:
        write_people(self.root, people)
        append_lines(self.root / "events.jsonl", [event_record(m) for m in meetings])
        append_lines(self.root / "messages.jsonl", [message_record(m) for m in messages])

    def connectors(self) -> Connectors:
        if self._connectors is None:
            self._connectors = open_directory(self.root)
        return self._connectors

    def add_meeting(self, meeting: Interaction) -> None:
        append_lines(self.root / "events.jsonl", [event_record(meeting)])

    def add_foreign_event(self, owner: str, event_id: str, start: dt.datetime,
                          end: dt.datetime) -> None:
        path = self.outbox / "holds.ics"
        if path.exists():
            cal = icalendar.Calendar.from_ical(path.read_bytes())
        else:
            cal = icalendar.Calendar()
            cal.add("prodid", "-//someone else//EN")
            cal.add("version", "2.0")
        ev = icalendar.Event()
        ev.add("uid", event_id)
        ev.add("dtstart", start)
        ev.add("dtend", end)
        ev.add("summary", "Someone else's meeting")
        ev.add("organizer", f"mailto:{owner}")
        cal.add_component(ev)
        self.outbox.mkdir(parents=True, exist_ok=True)
        path.write_bytes(cal.to_ical())

    def respond(self, hold: Hold, email: str, response: Response) -> None:
        partstat = {Response.ACCEPTED: "ACCEPTED", Response.DECLINED: "DECLINED",
                    Response.TENTATIVE: "TENTATIVE", Response.NEEDS_ACTION: "NEEDS-ACTION"}

        def change(ev: icalendar.Event) -> None:
            for att in ev.get("ATTENDEE", []):
                if str(att).lower() == f"mailto:{email}":
                    att.params["PARTSTAT"] = partstat[response]

        edit_holds(self.outbox / "holds.ics", hold.id, change)

    def sent(self) -> list[OutgoingMessage]:
        return sent_digests(self.outbox)

    def add_bad_record(self, part: str) -> str:
        path, line = {
            "directory": (self.root / "people.csv", "not-an-address,Nobody,Sales,,,,UTC"),
            "calendar": (self.root / "events.jsonl", '{"id": "bad", "start": "next tuesday"}'),
            "mail": (self.root / "messages.jsonl", '{"id": "bad", "from": '),
        }[part]
        with path.open("a") as f:
            f.write(line + "\n")
        return f"{path}:{len(path.read_text().splitlines())}"


class TestFilesBackend(ConnectorContract):
    @pytest.fixture
    def world(self, tmp_path: Path) -> FilesWorld:
        return FilesWorld(tmp_path)
