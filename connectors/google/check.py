"""``connect google --check``: which scopes the configured mode needs, and which work.

Each scope is asked for on its own, so a refusal names exactly the scope
that domain-wide delegation lacks; then one cheap call per API shows that the
API is switched on for the project and answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connectors.base import HoldMode
from connectors.common.errors import BridgeworkError
from connectors.google.auth import ServiceAccountSource, credential_source
from connectors.google.scopes import (
    CALENDAR_READ,
    CALENDAR_WRITE,
    DIRECTORY,
    GMAIL_METADATA,
    GMAIL_SEND,
)
from connectors.google.settings import GoogleSettings
from connectors.google.transport import GoogleClient


@dataclass(frozen=True)
class ScopeCheck:
    scope: str
    why: str
    ok: bool
    problem: str = ""


@dataclass(frozen=True)
class ConnectionCheck:
    """Every scope the configuration needs, tried; and the client ID an admin grants them to."""

    scopes: list[ScopeCheck]
    client_id: str

    @property
    def missing(self) -> list[str]:
        return [result.scope for result in self.scopes if not result.ok]


def needed_scopes(settings: GoogleSettings, mode: HoldMode) -> list[tuple[str, str, bool]]:
    """(scope, why, on the sending key?) for everything the configuration will do."""
    needed = [(DIRECTORY, "read the user directory", False)]
    if settings.calendar or settings.read_timezones:
        needed.append((CALENDAR_READ, "read calendars and free/busy", False))
    if settings.mail:
        needed.append((GMAIL_METADATA, "read mail headers (no subjects or bodies)", False))
    if mode in (HoldMode.HOLD, HoldMode.INVITE):
        needed.append((CALENDAR_WRITE, f"place holds (mode {mode.value})", False))
    if settings.send_credentials_file is not None or settings.trial:
        needed.append((GMAIL_SEND, "send digests", settings.send_credentials_file is not None))
    return needed


def _probe(client: GoogleClient, scope: str, user: str) -> Callable[[], Any] | None:
    """One harmless read that needs ``scope``; None when a token is proof enough."""
    if scope == DIRECTORY:
        svc = client.service("directory")
        view = "domain_public" if client.settings.trial else "admin_view"
        return lambda: svc.users().list(customer=client.settings.customer, maxResults=1,
                                        viewType=view, fields="users/primaryEmail")
    if scope in (CALENDAR_READ, CALENDAR_WRITE):
        svc = client.service("calendar")
        cal = "primary" if client.settings.trial else user
        return lambda: svc.events().list(calendarId=cal, maxResults=1, fields="items/id")
    if scope == GMAIL_METADATA:
        svc = client.service("gmail")
        return lambda: svc.users().getProfile(userId="me", fields="historyId")
    return None  # gmail.send: a token with the scope is all we can check without sending


def check(settings: GoogleSettings, mode: HoldMode, reader: GoogleClient,
          sender: GoogleClient | None) -> list[ScopeCheck]:
    results = []
    for scope, why, on_sender in needed_scopes(settings, mode):
        client = sender if on_sender and sender is not None else reader
        user = (settings.send_as or settings.admin_subject) if on_sender \
            else (settings.admin_subject or "me")
        assert user is not None
        probe = _probe(client, scope, user)
        try:
            if probe is None:
                client.bind(client.service("gmail").users().getProfile(userId="me"), user,
                            (scope,))
            else:
                client.execute(probe, user=user, scopes=(scope,), what=f"a test call ({why})",
                               scope=scope)
        except BridgeworkError as exc:
            results.append(ScopeCheck(scope, why, False, exc.message))
            continue
        results.append(ScopeCheck(scope, why, True))
    return results


def check_connection(settings: GoogleSettings, mode: HoldMode) -> ConnectionCheck:
    """Try each scope ``mode`` needs with the configured reading and sending credentials.

    :raises ConfigError: a key or token file is missing or unreadable.
    """
    reader = GoogleClient(settings, credential_source(settings))
    sender = None
    if settings.send_credentials_file is not None:
        sender = GoogleClient(settings, ServiceAccountSource(settings.send_credentials_file,
                                                             settings.token_uri))
    return ConnectionCheck(check(settings, mode, reader, sender), reader.source.client_id())
