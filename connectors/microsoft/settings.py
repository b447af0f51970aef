"""Settings for ``source: {type: microsoft}``.

The client secret never sits in the config file: it comes from an environment
variable (``client_secret_env``) or a file (``client_secret_file``). A
certificate (PEM file holding the private key, plus the thumbprint Entra shows)
may be used instead of a secret.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors.common.envname import EnvName, describe
from connectors.common.errors import ConfigError

PUBLIC_AUTHORITY = "https://login.microsoftonline.com"
PUBLIC_GRAPH = "https://graph.microsoft.com/v1.0"


class MicrosoftSettings(BaseModel):
    """An Entra ID app registration with application permissions on Microsoft Graph."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["microsoft"]
    tenant_id: str = Field(description="directory (tenant) id or verified domain")
    client_id: str = Field(description="application (client) id of the app registration")
    client_secret_env: EnvName | None = Field(
        None, description="environment variable holding the client secret"
    )
    client_secret_file: Path | None = Field(None, description="file holding the client secret")
    certificate_file: Path | None = Field(
        None, description="PEM file with the private key (and certificate) instead of a secret"
    )
    certificate_thumbprint: str | None = Field(None, description="SHA-1 thumbprint of the certificate")
    authority_host: str = Field(
        PUBLIC_AUTHORITY,
        description="sign-in host; e.g. https://login.microsoftonline.us for US Government",
    )
    graph_url: str = Field(
        PUBLIC_GRAPH, description="Graph base URL; e.g. https://graph.microsoft.us/v1.0"
    )
    ca_bundle: Path | None = Field(None, description="CA bundle to trust instead of the system's")
    token_file: Path | None = Field(None, description="persist the token cache here (mode 0600)")
    timeout_seconds: float = Field(30.0, gt=0, description="read timeout of every HTTP call")
    connect_timeout_seconds: float = Field(10.0, gt=0)
    max_retries: int = Field(6, ge=0, le=20, description="retries after 429/503/timeouts")
    backoff_seconds: float = Field(1.0, ge=0, description="first backoff step (doubles, jittered)")
    max_backoff_seconds: float = Field(60.0, ge=0)
    batch_size: int = Field(20, ge=1, le=20, description="calls per $batch request (Graph: 20)")
    mailbox_concurrency: int = Field(4, ge=1, le=4, description="requests in flight per mailbox")
    workers: int = Field(8, ge=1, le=64, description="$batch requests in flight at once")
    page_size: int = Field(200, ge=10, le=1000, description="items per delta page")
    history_days: int = Field(400, ge=7, le=1000, description="how far back the first sync reads")
    lookahead_days: int = Field(60, ge=1, le=365, description="how far ahead calendars are read")
    read_calendar: bool = True
    read_mail: bool = True
    working_hours: bool = Field(True, description="read time zone and working hours per mailbox")
    users: list[str] = Field(default_factory=list, description="only these people; empty: all")
    level_attribute: str | None = Field(
        None, description="user attribute holding a numeric level, e.g. employeeType"
    )
    mail_from: str | None = Field(None, description="mailbox digests are sent from")

    @model_validator(mode="after")
    def _one_credential(self) -> MicrosoftSettings:
        secret = self.client_secret_env is not None or self.client_secret_file is not None
        cert = self.certificate_file is not None or self.certificate_thumbprint is not None
        if secret and cert:
            raise ValueError("give either a client secret or a certificate, not both")
        if not secret and not cert:
            raise ValueError(
                "no credential: set client_secret_env, client_secret_file, or "
                "certificate_file with certificate_thumbprint"
            )
        if self.client_secret_env is not None and self.client_secret_file is not None:
            raise ValueError("give client_secret_env or client_secret_file, not both")
        if cert and (self.certificate_file is None or self.certificate_thumbprint is None):
            raise ValueError("a certificate needs both certificate_file and certificate_thumbprint")
        for name in ("authority_host", "graph_url"):
            if not getattr(self, name).startswith("https://"):
                raise ValueError(f"{name} must be an https:// URL")
        return self

    @property
    def authority(self) -> str:
        return f"{self.authority_host.rstrip('/')}/{self.tenant_id}"

    @property
    def graph_root(self) -> str:
        return self.graph_url.rstrip("/")

    @property
    def scope(self) -> str:
        """The app-only scope: the Graph resource (scheme and host) with ``/.default``."""
        scheme, _, rest = self.graph_root.partition("://")
        return f"{scheme}://{rest.split('/')[0]}/.default"

    def credential(self) -> str | dict[str, str]:
        """What msal takes as ``client_credential``; read when needed, never logged."""
        if self.certificate_file is not None:
            try:
                pem = self.certificate_file.read_text()
            except OSError as exc:
                raise ConfigError(
                    f"cannot read certificate_file {self.certificate_file}: {exc.strerror}"
                ) from None
            thumbprint = (self.certificate_thumbprint or "").replace(":", "").strip()
            return {"private_key": pem, "thumbprint": thumbprint}
        if self.client_secret_file is not None:
            try:
                secret = self.client_secret_file.read_text().strip()
            except OSError as exc:
                raise ConfigError(
                    f"cannot read client_secret_file {self.client_secret_file}: {exc.strerror}"
                ) from None
            if not secret:
                raise ConfigError(f"client_secret_file {self.client_secret_file} is empty")
            return secret
        name = self.client_secret_env or ""
        value = os.environ.get(name, "").strip()
        if not value:
            raise ConfigError(f"{describe(name, 'client_secret_env')} is not set")
        return value
