"""The Microsoft connector passes the shared contract suite against the fake Graph server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest

from connectors.base import Connectors, Hold, Interaction, OutgoingMessage, Person, Response
from connectors.microsoft.calendar import HOLD_ID_PROPERTY
from tests.contract.suite import ConnectorContract
from tests.fakes.graph import FakeGraph
from tests.microsoft.conftest import Build

GRAPH_RESPONSES = {
    Response.ACCEPTED: "accepted",
    Response.DECLINED: "declined",
    Response.TENTATIVE: "tentativelyAccepted",
    Response.NEEDS_ACTION: "none",
}


class GraphWorld:
    def __init__(self, fake: FakeGraph, connect: Build) -> None:
        self.fake = fake
        self.tenant = fake.tenant
        self._connectors = connect()

    def seed(self, people: Sequence[Person], meetings: Sequence[Interaction],
             messages: Sequence[Interaction]) -> None:
        for p in people:
            self.tenant.add_user(p.email, p.name, p.department, p.title, timezone=p.timezone)
        # Digests go out from a shared mailbox: in Entra ID its account is disabled.
        self.tenant.add_user("bridgework@example.org", "Bridgework", enabled=False)
        for p in people:
            self.tenant.set_manager(p.email, p.manager)
        for m in meetings:
            self.add_meeting(m)
        for msg in messages:
            self.tenant.add_message(msg.participants[0], list(msg.participants[1:]), msg.start,
                                    message_id=msg.id)

    def connectors(self) -> Connectors:
        return self._connectors

    def add_meeting(self, meeting: Interaction) -> None:
        self.tenant.add_meeting(meeting.participants[0], list(meeting.participants[1:]),
                                meeting.start, meeting.start + meeting.duration)

    def add_foreign_event(self, owner: str, event_id: str, start: dt.datetime,
                          end: dt.datetime) -> None:
        # Someone else's event that carries our hold id (copied, or made by another tool)
        # but not Bridgework's mark.
        self.tenant.add_meeting(owner, [], start, end, props={HOLD_ID_PROPERTY: event_id})

    def respond(self, hold: Hold, email: str, response: Response) -> None:
        self.tenant.respond(hold.organizer, HOLD_ID_PROPERTY, hold.id, email,
                            GRAPH_RESPONSES[response])

    def sent(self) -> list[OutgoingMessage]:
        out = []
        for mail in self.tenant.sent_mail:
            body = mail["body"]
            html = body["content"] if body.get("contentType") == "html" else None
            out.append(OutgoingMessage(mail["headers"].get("X-Bridgework-Key", ""), mail["to"][0],
                                       mail["subject"], "" if html else body["content"], html,
                                       mail["from"]))
        return out


class TestMicrosoftBackend(ConnectorContract):
    @pytest.fixture
    def world(self, fake: FakeGraph, connect: Build) -> GraphWorld:
        return GraphWorld(fake, connect)
