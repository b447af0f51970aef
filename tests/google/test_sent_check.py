"""A digest in doubt after a crash, asked of Gmail: found among the sending mailbox's SENT
messages by its Message-ID (the reading key's gmail.metadata; gmail.send cannot list and
gmail.metadata allows no q search), it is recorded and not resent; not there, it is sent
once, under the same Message-ID; where Gmail cannot be asked, it is left alone."""

from __future__ import annotations

import time
from pathlib import Path

from connectors.base import OutgoingMessage, as_email
from connectors.google.sender import SENT_SCAN
from tests.fakes.doubt import Doubt
from tests.fakes.google.server import FakeServer
from tests.fakes.google.world import GoogleWorld
from tests.google.conftest import NOW
from tests.google.helpers import people, seed_people

SENDER = "bridgework@example.org"  # the world's digest mailbox (outside the directory)


def _digest(world: GoogleWorld) -> OutgoingMessage:
    (person,) = seed_people(world, people(1))
    return OutgoingMessage(f"person/2026-W12/{person.email}", person.email, "Your week", "text",
                           "<p>html</p>", SENDER)


def _message_ids(world: GoogleWorld) -> list[str]:
    return [str(m["Message-ID"]) for m in world.fake.sent]


def test_a_digest_gmail_shows_as_sent_is_recorded_and_not_resent(gworld: GoogleWorld) -> None:
    message, doubt = _digest(gworld), Doubt()
    sender = gworld.connectors().sender
    assert sender is not None
    doubt.leave(sender, message, went=True)
    report = doubt.rerun(sender, message)
    assert (report.sent, report.already_sent, report.in_doubt) == (0, 1, 0)
    assert doubt.recorded_sent(message)
    assert _message_ids(gworld) == [str(as_email(message, SENDER)["Message-ID"])]
    assert gworld.fake.requested_headers >= {"message-id"}  # headers only, never a body


def test_a_digest_gmail_does_not_show_is_sent_once_with_the_same_message_id(
        gworld: GoogleWorld) -> None:
    message, doubt = _digest(gworld), Doubt()
    sender = gworld.connectors().sender
    assert sender is not None
    gworld.fake.add_message(SENDER, ["someone@example.org"], when=time.time())  # other sent mail
    doubt.leave(sender, message, went=False)
    assert not gworld.fake.sent
    report = doubt.rerun(sender, message)
    assert (report.sent, report.already_sent, report.in_doubt) == (1, 0, 0)
    assert _message_ids(gworld) == [str(as_email(message, SENDER)["Message-ID"])]
    assert sender.delivered(message) is True  # the copy Gmail filed is found the next time
    assert doubt.rerun(sender, message).sent == 0


def test_without_mail_reading_gmail_cannot_tell_and_nothing_is_resent(
        server: FakeServer, tmp_path: Path) -> None:
    world = GoogleWorld(server, tmp_path, NOW, mail=False)  # no gmail.metadata to look with
    message, doubt = _digest(world), Doubt()
    sender = world.connectors().sender
    assert sender is not None and sender.delivered(message) is None
    doubt.leave(sender, message, went=False)
    report = doubt.rerun(sender, message)
    assert (report.sent, report.in_doubt) == (0, 1) and not world.fake.sent


def test_a_busy_sending_mailbox_beyond_the_newest_checked_is_not_guessed(gworld: GoogleWorld) -> None:
    message = _digest(gworld)
    sender = gworld.connectors().sender
    assert sender is not None
    for _ in range(SENT_SCAN + 1):
        gworld.fake.add_message(SENDER, ["someone@example.org"], when=time.time())
    assert sender.delivered(message) is None  # not among the newest, and more lie beyond
