"""The one-person trial: an installed-app OAuth token instead of a service account."""

from __future__ import annotations

import json
from pathlib import Path

from connectors.base import OutgoingMessage
from connectors.google import build
from connectors.google.settings import GoogleSettings
from tests.fakes.google.server import FakeServer
from tests.google.conftest import NOW
from tests.google.helpers import drain, people

SCOPE = "https://www.googleapis.com/auth/"


def test_trial_reads_own_calendar_and_mail(server: FakeServer, tmp_path: Path) -> None:
    fake = server.fake
    folks = people(3)
    for p in folks:
        fake.add_user(p.email, p.name, p.department)
    me, other, third = (p.email for p in folks)
    fake.add_event(other, [me], at_now(1), at_now(1) + 1800)
    fake.add_event(other, [third], at_now(2), at_now(2) + 1800)  # not on my calendar
    fake.add_message(other, [me], when=at_now(1))  # received: the trial reads the whole box
    fake.add_refresh_token("refresh-1", me, {SCOPE + s for s in (
        "admin.directory.user.readonly", "calendar.readonly", "gmail.metadata", "gmail.send")})
    token = tmp_path / "token.json"
    token.write_text(json.dumps({"refresh_token": "refresh-1", "client_id": "cid",
                                 "client_secret": "secret", "token_uri": server.url + "token"}))
    settings = GoogleSettings(type="google", domain="example.org", token_file=token,
                              api_root=server.url, token_uri=server.url + "token",
                              backoff_seconds=0.01, backoff_max_seconds=0.02)
    conn = build(settings, clock=lambda: NOW)
    assert {p.email for p in conn.directory.people()} == {me, other, third}
    assert conn.calendar is not None and conn.mail is not None and conn.sender is not None
    meetings, cursors, _ = drain(conn.calendar.read(folks, {}))
    assert [m.participants for m in meetings] == [(other, me)]
    assert list(cursors) == ["google:calendar:me"]
    mails, _, _ = drain(conn.mail.read(folks, {}))
    assert [m.participants for m in mails] == [(other, me)]
    conn.sender.send(OutgoingMessage("k", me, "Your week", "text", sender=me))
    assert [str(m["To"]) for m in fake.sent] == [me]


def at_now(days: float) -> float:
    from tests.google.helpers import DAY

    return NOW.timestamp() - days * DAY
