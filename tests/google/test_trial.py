"""The one-person trial: an installed-app OAuth token instead of a service account."""

from __future__ import annotations

import json
import stat
import threading
import webbrowser
from pathlib import Path

import pytest
import requests
import yaml
from click.testing import CliRunner

from agent.cli import main
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


class _Browser(webbrowser.BaseBrowser):
    """The person at the browser: opens the consent page, which sends them back to Bridgework."""

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        # in the background, as a browser would: the sign-in waits for the redirect meanwhile
        threading.Thread(target=requests.get, args=(url,), kwargs={"timeout": 10},
                         daemon=True).start()
        return True


def test_first_connect_signs_in_in_the_browser_then_checks(
        server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = server.fake
    me = "ann@example.org"
    fake.add_user(me, "Ann Example", "Legal")
    fake.signing_in = me
    secret = tmp_path / "client_secret.json"
    secret.write_text(json.dumps({"installed": {
        "client_id": "cid.apps.googleusercontent.com", "client_secret": "shh",
        "auth_uri": server.url + "o/oauth2/auth", "token_uri": server.url + "token",
        "redirect_uris": ["http://localhost"]}}))
    token = tmp_path / "state" / "google-token.json"
    config = tmp_path / "bridgework.yaml"
    config.write_text(yaml.safe_dump({
        "source": {"type": "google", "domain": "example.org", "client_secret_file": str(secret),
                   "token_file": str(token), "api_root": server.url,
                   "token_uri": server.url + "token", "backoff_seconds": 0.01},
        "store": {"path": str(tmp_path / "store")}}))
    monkeypatch.setattr(webbrowser, "get", lambda using=None: _Browser())
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the fake speaks http; Google https

    first = CliRunner().invoke(main, ["connect", "google", "--config", str(config)])
    assert first.exit_code == 0, first.output
    assert f"signed in; token kept in {token}" in first.output
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert stat.S_IMODE(token.parent.stat().st_mode) == 0o700
    assert json.loads(token.read_text())["refresh_token"] in fake.refresh_tokens
    # default rules suggest only: the consent asks for no calendar write
    assert fake.consented == [frozenset(SCOPE + s for s in (
        "admin.directory.user.readonly", "calendar.readonly", "gmail.metadata", "gmail.send"))]

    fake.signing_in = None  # a second run must not open the browser again
    again = CliRunner().invoke(main, ["connect", "google", "--check", "--config", str(config)])
    assert again.exit_code == 0, again.output
    assert "as the trial user" in again.output and "all scopes granted" in again.output
    assert len(fake.consented) == 1
