"""Digests over SMTP against a real local server (aiosmtpd)."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from agent.config import load_config
from connectors.base import OutgoingMessage
from connectors.common.errors import ConnectorError
from connectors.smtp import SmtpSender, SmtpSettings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """Accepts mail; refuses the first ``refuse`` deliveries with a given code."""

    def __init__(self, refuse: int = 0, code: str = "421 try again later") -> None:
        self.messages: list[Message] = []
        self.refuse, self.code = refuse, code

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            self.refuse -= 1
            return self.code
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


MESSAGE = OutgoingMessage("person/2026-W48/ada@example.org", "ada@example.org",
                          "Your Bridgework week", "plain words", "<p>html words</p>",
                          "bridgework@example.org")


def sender(port: int, **extra: Any) -> SmtpSender:
    settings = SmtpSettings(host="127.0.0.1", port=port, security="none", backoff_seconds=0, **extra)
    return SmtpSender(settings, sleep=lambda _: None)


def test_a_digest_arrives_with_text_and_html(server: tuple[Inbox, int]) -> None:
    inbox, port = server
    sender(port).send(MESSAGE)
    [got] = inbox.messages
    assert got["To"] == "ada@example.org" and got["Subject"] == "Your Bridgework week"
    assert got["Message-ID"].endswith("@bridgework>") and got["Date"]
    parts = {p.get_content_type(): p.get_payload(decode=True) for p in got.walk()
             if not p.is_multipart()}
    assert b"plain words" in parts["text/plain"] and b"html words" in parts["text/html"]


def test_temporary_refusals_are_retried(server: tuple[Inbox, int]) -> None:
    inbox, port = server
    inbox.refuse = 2
    sender(port).send(MESSAGE)
    assert len(inbox.messages) == 1


def test_permanent_refusal_is_an_error(server: tuple[Inbox, int]) -> None:
    inbox, port = server
    inbox.refuse, inbox.code = 1, "554 no thanks"
    with pytest.raises(ConnectorError, match="554"):
        sender(port).send(MESSAGE)


def test_nobody_listening_gives_up_after_retries() -> None:
    with pytest.raises(ConnectorError, match="after 3 attempts"):
        sender(free_port(), max_retries=2).send(MESSAGE)


def test_retries_wait_the_shared_capped_full_jitter_backoff() -> None:
    import random

    waits: list[float] = []
    settings = SmtpSettings(host="127.0.0.1", port=free_port(), security="none", max_retries=6,
                            backoff_seconds=1.0, backoff_max_seconds=5.0)
    smtp = SmtpSender(settings, sleep=waits.append, rng=random.Random(7))
    with pytest.raises(ConnectorError, match="after 7 attempts"):
        smtp.send(MESSAGE)
    ceilings = [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]  # doubling from backoff_seconds, capped
    assert len(waits) == 6 and all(0 <= w <= c for w, c in zip(waits, ceilings, strict=True))
    assert list(smtp.backoff.slept) == waits and len(set(waits)) == 6  # jittered, not fixed


def test_config_selects_smtp_for_digests(tmp_path: Path, server: tuple[Inbox, int],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.engine import open_engine

    inbox, port = server
    monkeypatch.setenv("BRIDGEWORK_SECRET_KEY", "smtp-test-key-0123456789")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "people.csv").write_text("email,department\na@x.org,Legal\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"source:\n  type: files\n  path: data\nstore:\n  path: state\n"
                   f"digest:\n  smtp:\n    host: 127.0.0.1\n    port: {port}\n    security: none\n")
    engine = open_engine(load_config(cfg))
    assert engine.connectors.sender is not None
    engine.connectors.sender.send(MESSAGE)
    assert len(inbox.messages) == 1


def test_a_login_without_a_password_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from connectors.common.errors import ConfigError

    monkeypatch.delenv("BRIDGEWORK_SMTP_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="BRIDGEWORK_SMTP_PASSWORD"):
        SmtpSender(SmtpSettings(host="h", username="bridgework"))
