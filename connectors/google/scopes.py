"""The OAuth scopes the Google connector asks for, and how an admin grants them.

Pure names and words: both the credentials (``auth``) and the reading of
error answers (``answers``) use them, so they live below both.
"""

from __future__ import annotations

from collections.abc import Sequence

from connectors.google.settings import GoogleSettings

_BASE = "https://www.googleapis.com/auth/"
DIRECTORY = _BASE + "admin.directory.user.readonly"
CALENDAR_READ = _BASE + "calendar.readonly"
CALENDAR_WRITE = _BASE + "calendar.events"
GMAIL_METADATA = _BASE + "gmail.metadata"
GMAIL_SEND = _BASE + "gmail.send"


def short(scope: str) -> str:
    """A scope as people read it: ``calendar.readonly``."""
    return scope.removeprefix(_BASE)


def read_scopes(settings: GoogleSettings) -> tuple[str, ...]:
    """The scopes a user's reading token carries."""
    scopes = []
    if settings.calendar or settings.read_timezones:
        scopes.append(CALENDAR_READ)
    if settings.mail:
        scopes.append(GMAIL_METADATA)
    return tuple(scopes)


def grant_hint(settings: GoogleSettings, scopes: Sequence[str]) -> str:
    """What the admin (or the trial user) does so that the credentials carry ``scopes``."""
    names = ",".join(scopes)
    if settings.trial:
        return (f"sign in again so the token covers {names} "
                f"(delete {settings.token_file} and run `bridgework connect google --check`)")
    return ("in the Admin console, Security > Access and data control > API controls > "
            "Domain-wide delegation, give the service account's client ID the scopes: " + names)
