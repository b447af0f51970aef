"""Settings for ``source: {type: imap}`` and for the ``imap:`` section beside a CalDAV source.

Only message headers are read (From, To, Cc, Date, Message-ID), of each
person's sent folder and INBOX. See docs/caldav-imap.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from connectors.accounts import AccountSettings


class ImapServer(AccountSettings):
    """An IMAP server and how to sign in to every person's mailbox."""

    host: str = Field(description="the IMAP server")
    port: int | None = Field(None, ge=1, le=65535, description="default 993 (ssl) or 143")
    security: Literal["ssl", "starttls", "none"] = Field(
        "ssl", description="ssl (port 993), starttls (143) or none (a local server only)")
    master_separator: str | None = Field(
        None, min_length=1, max_length=3,
        description="with one master account: log in as <person><separator><master> (e.g. '*' "
        "for Dovecot) instead of SASL PLAIN with an authorization identity")
    sent_folder: str = Field(
        "Sent", description="the sent folder's name where the server marks none \\Sent")
    inbox: bool = Field(True, description="also read INBOX (mail people received)")
    history_days: int = Field(400, ge=7, le=3650, description="how far back the first sync reads")
    ca_bundle: Path | None = Field(None, description="CA bundle to trust instead of the system's")
    timeout_seconds: float = Field(30.0, gt=0, description="timeout of every command")
    max_retries: int = Field(3, ge=0, le=10, description="retries of a dropped connection")
    backoff_seconds: float = Field(1.0, ge=0, description="first backoff delay (doubles, jittered)")
    max_backoff_seconds: float = Field(30.0, ge=0)
    fetch_batch: int = Field(500, ge=1, le=5000, description="messages per FETCH command")

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.security == "ssl" else 143)


class ImapSettings(ImapServer):
    type: Literal["imap"]
    people: Path = Field(description="people.csv: email,name,department,title,level,manager,...")
