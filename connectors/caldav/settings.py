"""Settings for ``source: {type: caldav}``: calendars on any CalDAV server.

People come from a ``people.csv`` (the files connector's reader); calendars
from the server, found for each person through their principal's
calendar-home-set. See docs/caldav-imap.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from connectors.accounts import AccountSettings
from connectors.imap.settings import ImapServer


class CalDavSettings(AccountSettings):
    type: Literal["caldav"]
    url: str = Field(description="the server's CalDAV root, e.g. https://dav.example.org/")
    people: Path = Field(description="people.csv: email,name,department,title,level,manager,...")
    principal_path: str = Field(
        "/{login}/", description="with one account: where each person's principal is, "
        "relative to url; {login} is the person's user name (Radicale: /{login}/, "
        "Nextcloud: /remote.php/dav/principals/users/{login}/)")
    hold_calendar: str | None = Field(
        None, description="the calendar holds go in (its name in the URL or its display name); "
        "default: the person's first calendar that takes events")
    invitations: Literal["auto", "server", "bridgework"] = Field(
        "auto", description="who delivers an invite-mode hold to the other person: server (CalDAV "
        "scheduling, RFC 6638: Nextcloud, Fastmail, Stalwart, SOGo), bridgework (it writes the "
        "invitation into their calendar itself, for servers without scheduling such as "
        "Radicale; needs write access), auto: server when the server says it schedules")
    history_days: int = Field(400, ge=7, le=3650, description="how far back the first sync reads")
    lookahead_days: int = Field(60, ge=1, le=365, description="how far ahead meetings are read")
    incremental: Literal["auto", "etag"] = Field(
        "auto", description="auto: sync-token (RFC 6578) where a calendar offers one, else "
        "ctag and etags; etag: always ctag and etags (for servers whose sync-token is broken)")
    busy_from: Literal["events", "free-busy-query"] = Field(
        "events", description="events: read free/busy from the events (declines and "
        "transparency respected); free-busy-query: ask the server (when the account may see "
        "only free/busy)")
    ca_bundle: Path | None = Field(None, description="CA bundle to trust instead of the system's")
    timeout_seconds: float = Field(30.0, gt=0, description="timeout of every request")
    max_retries: int = Field(4, ge=0, le=10, description="retries of a failed or throttled request")
    backoff_seconds: float = Field(1.0, ge=0, description="first backoff delay (doubles, jittered)")
    max_backoff_seconds: float = Field(60.0, ge=0)
    max_occurrences: int = Field(
        5000, ge=10, description="occurrences read from one event series in the window; "
        "beyond it the series is reported and cut")
    imap: ImapServer | None = Field(
        None, description="read mail metadata from this IMAP server too (same people.csv)")

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("url must start with https:// (or http:// for a local server)")
        return value if value.endswith("/") else value + "/"

    @field_validator("principal_path")
    @classmethod
    def _template(cls, value: str) -> str:
        try:
            value.format(login="x")
        except (KeyError, IndexError, ValueError):
            raise ValueError("principal_path may use only {login}") from None
        return value
