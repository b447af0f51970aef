"""A digest in doubt after a crash, asked of Graph: found in the sending mailbox's Sent
Items by internetMessageId (Mail.ReadBasic.All, no bodies), it is recorded and not resent;
not there, it is sent once under the same Message-ID; where the app may not look, it is
left alone."""

from __future__ import annotations

import datetime as dt

from connectors.base import OutgoingMessage, as_email
from tests.fakes.doubt import Doubt
from tests.fakes.graph import FakeGraph
from tests.microsoft.conftest import Build

SENDER = "bridgework@example.org"


def _digest(fake: FakeGraph) -> OutgoingMessage:
    fake.tenant.add_user(SENDER, "Bridgework", enabled=False)  # a shared mailbox sends digests
    fake.tenant.add_user("ana@example.org", "Ana", "Sales")
    return OutgoingMessage("person/2026-W12/ana@example.org", "ana@example.org", "Your week",
                           "text", "<p>html</p>", SENDER)


def _message_ids(fake: FakeGraph) -> list[str | None]:
    return [m["message_id"] for m in fake.tenant.sent_mail]


def test_a_digest_graph_shows_in_sent_items_is_recorded_and_not_resent(
        fake: FakeGraph, connect: Build) -> None:
    message, doubt = _digest(fake), Doubt()
    sender = connect().sender
    assert sender is not None
    doubt.leave(sender, message, went=True)
    report = doubt.rerun(sender, message)
    assert (report.sent, report.already_sent, report.in_doubt) == (0, 1, 0)
    assert doubt.recorded_sent(message)
    assert _message_ids(fake) == [str(as_email(message, SENDER)["Message-ID"])]
    asked = [k for k in fake.requests if k.startswith("GET") and k.endswith("sentitems/messages")]
    assert asked and fake.requests[asked[0]] == 1


def test_a_digest_graph_does_not_show_is_sent_once_with_the_same_message_id(
        fake: FakeGraph, connect: Build) -> None:
    message, doubt = _digest(fake), Doubt()
    sender = connect().sender
    assert sender is not None
    fake.tenant.add_message(SENDER, ["ana@example.org"], dt.datetime.now(dt.UTC))  # other sent mail
    doubt.leave(sender, message, went=False)
    assert not fake.tenant.sent_mail
    report = doubt.rerun(sender, message)
    assert (report.sent, report.already_sent, report.in_doubt) == (1, 0, 0)
    assert _message_ids(fake) == [str(as_email(message, SENDER)["Message-ID"])]
    assert fake.tenant.sent_mail[0]["saved"]
    assert sender.delivered(message) is True  # the Sent Items copy is found the next time
    assert doubt.rerun(sender, message).sent == 0


def test_without_mail_read_permission_graph_cannot_tell_and_nothing_is_resent(
        fake: FakeGraph, connect: Build) -> None:
    message, doubt = _digest(fake), Doubt()
    fake.roles.discard("Mail.ReadBasic.All")  # the app may send but not look
    sender = connect(read_mail=False).sender
    assert sender is not None and sender.delivered(message) is None
    doubt.leave(sender, message, went=False)
    report = doubt.rerun(sender, message)
    assert (report.sent, report.in_doubt) == (0, 1) and not fake.tenant.sent_mail
