from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest

from connectors.base import Connectors, Hold, Interaction, OutgoingMessage, Person, Response
from connectors.memory import MemoryCalendar, MemoryDirectory, MemoryMail, MemorySender
from tests.contract.suite import ConnectorContract


class MemoryWorld:
    def __init__(self) -> None:
        self.directory = MemoryDirectory()
        self.calendar = MemoryCalendar()
        self.mail = MemoryMail()
        self.sender = MemorySender()

    def seed(self, people: Sequence[Person], meetings: Sequence[Interaction],
             messages: Sequence[Interaction]) -> None:
        for p in people:
            self.directory.add(p)
        for m in meetings:
            self.calendar.add_meeting(m)
        for msg in messages:
            self.mail.add(msg)

    def connectors(self) -> Connectors:
        return Connectors(self.directory, self.calendar, self.mail, self.sender)

    def add_meeting(self, meeting: Interaction) -> None:
        self.calendar.add_meeting(meeting)

    def add_foreign_event(self, owner: str, event_id: str, start: dt.datetime,
                          end: dt.datetime) -> None:
        self.calendar.add_foreign_event(owner, event_id, start, end)

    def respond(self, hold: Hold, email: str, response: Response) -> None:
        self.calendar.respond(hold, email, response)

    def sent(self) -> list[OutgoingMessage]:
        return list(self.sender.sent)


class TestMemoryBackend(ConnectorContract):
    @pytest.fixture
    def world(self) -> MemoryWorld:
        return MemoryWorld()
