"""Test plumbing around the fake: service account keys, settings, a contract World."""

from __future__ import annotations

import datetime as dt
import functools
import json
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from connectors.base import Connectors, Hold, Interaction, OutgoingMessage, Person, Response
from connectors.google.settings import GoogleSettings
from tests.fakes.google.server import FakeGoogle, FakeServer

ADMIN = "admin@example.org"


@functools.lru_cache(maxsize=1)
def _rsa_pair() -> tuple[str, str]:
    """One RSA key pair per test session (generating keys is the slow part)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


def write_key(path: Path, fake: FakeGoogle, name: str = "bridgework") -> Path:
    """A service account key file whose public half the fake trusts."""
    private, public = _rsa_pair()
    key_id = secrets.token_hex(8)
    fake.register_key(key_id, public)
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "bridgework-test", "private_key_id": key_id,
        "private_key": private, "client_email": f"{name}@bridgework-test.iam.gserviceaccount.com",
        "client_id": "1234567890", "token_uri": "https://oauth2.googleapis.com/token",
    }))
    path.chmod(0o600)
    return path


def settings_for(server: FakeServer, tmp: Path, **extra: Any) -> GoogleSettings:
    fake = server.fake
    values: dict[str, Any] = {
        "type": "google", "domain": fake.domain, "admin_subject": ADMIN,
        "credentials_file": write_key(tmp / "reader.json", fake),
        "send_credentials_file": write_key(tmp / "sender.json", fake, "sender"),
        "send_as": "bridgework@example.org",
        "api_root": server.url, "token_uri": server.url + "token",
        "timeout_seconds": 2.0, "backoff_seconds": 0.01, "backoff_max_seconds": 0.05,
    }
    values.update(extra)
    return GoogleSettings(**values)


def epoch(moment: dt.datetime) -> float:
    return moment.timestamp()


class GoogleWorld:
    """Seeds the fake server and hands out Google connectors pointed at it."""

    def __init__(self, server: FakeServer, tmp: Path, clock_now: dt.datetime,
                 **settings: Any) -> None:
        self.server = server
        self.fake = server.fake
        self.fake.add_user(ADMIN, "Admin Person", "IT", admin=True, listed=False)
        self.fake.add_user("bridgework@example.org", "Bridgework", "IT", listed=False)
        self.settings = settings_for(server, tmp, **settings)
        self.now = clock_now
        self.slept: list[float] = []
        self._offset = 0.0  # injected sleeps move this clock instead of waiting
        self._connectors: Connectors | None = None

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self._offset += seconds

    def monotonic(self) -> float:
        return time.monotonic() + self._offset

    def seed(self, people: Sequence[Person], meetings: Sequence[Interaction],
             messages: Sequence[Interaction]) -> None:
        for p in people:
            self.fake.add_user(p.email, p.name, p.department, p.title, p.manager,
                               timezone=p.timezone)
        for m in meetings:
            self.add_meeting(m)
        for msg in messages:
            sender, *to = msg.participants
            self.fake.add_message(sender, list(to), when=epoch(msg.start), message_id=msg.id)

    def connectors(self) -> Connectors:
        from connectors.google import build

        if self._connectors is None:
            self._connectors = build(self.settings, clock=lambda: self.now,
                                     sleep=self.sleep, monotonic=self.monotonic)
        return self._connectors

    def add_meeting(self, meeting: Interaction) -> None:
        organizer, *others = meeting.participants
        self.fake.add_event(organizer, others, epoch(meeting.start),
                            epoch(meeting.start + meeting.duration))

    def add_foreign_event(self, owner: str, event_id: str, start: dt.datetime,
                          end: dt.datetime) -> None:
        self.fake.add_event(owner, [], epoch(start), epoch(end), event_id=event_id)

    def respond(self, hold: Hold, email: str, response: Response) -> None:
        self.fake.respond(hold.id, email, response.value)

    def sent(self) -> list[OutgoingMessage]:
        out = []
        for mime in self.fake.sent:
            body = mime.get_body(("plain",))
            out.append(OutgoingMessage(key=str(mime["Message-ID"]), to=str(mime["To"]),
                                       subject=str(mime["Subject"]),
                                       text=body.get_content() if body else "",
                                       sender=str(mime["From"])))
        return out
