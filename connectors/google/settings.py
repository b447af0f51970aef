"""Settings for ``source: {type: google}``.

Two ways to sign in:

- an organisation: a service account key (``credentials_file``) with
  domain-wide delegation, acting as each user in turn and as ``admin_subject``
  for the directory;
- a one-person trial: an OAuth installed-app client (``client_secret_file``)
  whose token is kept in ``token_file`` (mode 0600).

Digests are sent with separate credentials (``send_credentials_file``) so the
reading key never holds ``gmail.send``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class GoogleQuota(BaseModel):
    """Per-user per-minute budgets the connector keeps below Google's own limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    calendar_per_minute: int = Field(
        500, ge=1, description="Calendar API requests per user per minute (Google allows 600)"
    )
    gmail_units_per_minute: int = Field(
        12_000, ge=5, description="Gmail quota units per user per minute (Google allows 15,000)"
    )


class GoogleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["google"]
    domain: str = Field(description="the Workspace primary domain, e.g. example.org")
    customer: str = Field("my_customer", description="Directory customer id")
    admin_subject: str | None = Field(
        None, description="an admin the service account acts as to read the directory"
    )
    credentials_file: Path | None = Field(
        None, description="service account key (JSON) with domain-wide delegation"
    )
    send_credentials_file: Path | None = Field(
        None, description="service account key used only for gmail.send (digests)"
    )
    send_as: str | None = Field(None, description="mailbox digests are sent from")
    client_secret_file: Path | None = Field(
        None, description="OAuth installed-app client (one-person trial)"
    )
    token_file: Path | None = Field(None, description="where the trial's OAuth token is kept")
    calendar: bool = Field(True, description="read calendars")
    mail: bool = Field(True, description="read Gmail metadata")
    read_timezones: bool = Field(True, description="read each user's calendar time zone")
    history_days: int = Field(400, ge=7, description="how far back a first sync reads")
    api_root: str | None = Field(
        None, description="override of Google's API host (tests, proxies), e.g. http://127.0.0.1:8080/"
    )
    token_uri: str | None = Field(None, description="override of the OAuth token endpoint")
    batch_size: int = Field(50, ge=1, le=100, description="calls per batch request")
    timeout_seconds: float = Field(30.0, gt=0, description="timeout of every HTTP call")
    max_retries: int = Field(6, ge=0, description="retries of a throttled or failed call")
    backoff_seconds: float = Field(1.0, ge=0, description="first backoff delay")
    backoff_max_seconds: float = Field(64.0, ge=0, description="longest backoff delay")
    quota: GoogleQuota = Field(default_factory=GoogleQuota)

    @model_validator(mode="after")
    def _one_way_in(self) -> GoogleSettings:
        service = self.credentials_file is not None
        trial = self.client_secret_file is not None or self.token_file is not None
        if service and trial:
            raise ValueError(
                "use either credentials_file (service account) or client_secret_file/"
                "token_file (one-person trial), not both"
            )
        if not service and not trial:
            raise ValueError(
                "give credentials_file (a service account key with domain-wide delegation) "
                "or token_file and client_secret_file (one-person trial)"
            )
        if service and not self.admin_subject:
            raise ValueError("admin_subject is needed with a service account (to read the directory)")
        if trial and self.token_file is None:
            raise ValueError("token_file is needed for the one-person trial")
        return self

    @property
    def trial(self) -> bool:
        return self.credentials_file is None

    def endpoint(self, api: str) -> str | None:
        """The api_endpoint override for one API, or None for Google's own host."""
        if self.api_root is None:
            return None
        root = self.api_root if self.api_root.endswith("/") else self.api_root + "/"
        return root + "calendar/v3/" if api == "calendar" else root

    def batch_uri(self, api: str) -> str:
        paths = {"calendar": "batch/calendar/v3", "gmail": "batch/gmail/v1",
                 "directory": "batch/admin/directory_v1"}
        if self.api_root is None:
            hosts = {"calendar": "https://www.googleapis.com/", "gmail": "https://gmail.googleapis.com/",
                     "directory": "https://admin.googleapis.com/"}
            return hosts[api] + paths[api]
        root = self.api_root if self.api_root.endswith("/") else self.api_root + "/"
        return root + paths[api]
