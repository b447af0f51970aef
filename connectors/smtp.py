"""Digests by SMTP, for any source (a data directory most of all).

Configured under ``digest.smtp``; the password comes from an environment
variable or a file, never from the config itself. A temporary refusal
(4xx, a dropped connection, a timeout) is retried with the shared capped,
full-jitter backoff (:mod:`connectors.retry`); a permanent one (5xx) is an
error the admin has to fix. Each message carries a
Message-ID derived from its digest key, so a resend can be recognised.
"""

from __future__ import annotations

import logging
import os
import random
import smtplib
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from connectors.base import OutgoingMessage, Sender, as_email
from connectors.common.envname import EnvName, describe
from connectors.common.errors import ConfigError, ConnectorError
from connectors.retry import Backoff

log = logging.getLogger(__name__)


class SmtpSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(description="the mail server")
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = Field(
        "starttls", description="starttls (port 587), ssl (port 465) or none (a local relay)")
    username: str | None = None
    password_env: EnvName = Field("BRIDGEWORK_SMTP_PASSWORD",
                              description="environment variable holding the password")
    password_file: Path | None = Field(None, description="file holding the password")
    ca_bundle: Path | None = Field(None, description="CA bundle to trust instead of the system's")
    timeout_seconds: float = Field(30.0, gt=0)
    max_retries: int = Field(4, ge=0, le=10)
    backoff_seconds: float = Field(2.0, ge=0, description="the longest first wait before a retry")
    backoff_max_seconds: float = Field(60.0, ge=0, description="no wait before a retry is longer")


def _password(settings: SmtpSettings) -> str | None:
    if settings.username is None:
        return None
    if settings.password_file is not None:
        try:
            return settings.password_file.read_text().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read digest.smtp.password_file: {exc.strerror}") from None
    value = os.environ.get(settings.password_env)
    if not value:
        raise ConfigError(f"digest.smtp.username is set but "
                          f"{describe(settings.password_env, 'digest.smtp.password_env')} is empty; "
                          "set it or use password_file")
    return value


class SmtpSender(Sender):
    def __init__(self, settings: SmtpSettings, *, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> None:
        self.settings = settings
        self.backoff = Backoff(settings.backoff_seconds, settings.backoff_max_seconds, sleep,
                               rng or random.Random())
        self._password = _password(settings)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context(cafile=str(s.ca_bundle) if s.ca_bundle else None)
        client: smtplib.SMTP
        if s.security == "ssl":
            client = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds, context=context)
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
            if s.security == "starttls":
                client.starttls(context=context)
        if s.username is not None and self._password is not None:
            client.login(s.username, self._password)
        return client

    def send(self, message: OutgoingMessage) -> None:
        mail = as_email(message)
        attempt = 0
        while True:
            try:
                with self._connect() as client:
                    client.send_message(mail)
                return
            except (smtplib.SMTPNotSupportedError, ssl.SSLError) as exc:
                raise ConnectorError(f"the mail server and digest.smtp.security do not agree: "
                                     f"{exc}") from None
            except FileNotFoundError as exc:
                raise ConfigError(f"digest.smtp.ca_bundle: {exc.strerror}") from None
            except smtplib.SMTPAuthenticationError as exc:
                raise ConnectorError(f"the mail server refused the login ({exc.smtp_code}); "
                                     "check digest.smtp.username and the password") from None
            except smtplib.SMTPResponseException as exc:
                if not 400 <= exc.smtp_code < 500:
                    raise ConnectorError(f"the mail server refused a digest: {exc.smtp_code}") from None
                reason = f"temporary refusal {exc.smtp_code}"
            except smtplib.SMTPRecipientsRefused as exc:
                codes = {code for code, _ in exc.recipients.values()}
                if not all(400 <= c < 500 for c in codes):
                    raise ConnectorError(f"the mail server refused a recipient: {sorted(codes)}") from None
                reason = f"temporary refusal {sorted(codes)}"
            except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError) as exc:
                reason = type(exc).__name__
            if attempt >= self.settings.max_retries:
                raise ConnectorError(f"could not deliver a digest after {attempt + 1} attempts "
                                     f"({reason})")
            delay = self.backoff.delay(attempt)
            log.warning("mail server: %s; retrying in %.1f s", reason, delay)
            self.backoff.pause(delay)
            attempt += 1
