"""Credentials: a delegated service account per user, or one trial user's OAuth token.

Each user gets one token carrying every read scope the connector needs, cached
for its lifetime, so a sync cycle costs at most one token request per user per
hour. Writing holds asks for ``calendar.events`` separately, and only when a
hold is actually written.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import google_auth_httplib2
import httplib2
from google.auth import exceptions as auth_exceptions
from google.auth.credentials import Credentials
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

from connectors.common.errors import ConfigError, ConnectorError, PermissionMissing
from connectors.common.fileio import write_private
from connectors.google.answers import Transient
from connectors.google.scopes import grant_hint, short
from connectors.google.settings import GoogleSettings

log = logging.getLogger(__name__)

class CredentialSource(Protocol):
    def for_user(self, user: str, scopes: Sequence[str]) -> Credentials: ...

    def client_id(self) -> str: ...


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror}") from None
    except ValueError:
        raise ConfigError(f"{what} {path} is not JSON") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {path} is not a JSON object")
    return data


class ServiceAccountSource:
    """A service account with domain-wide delegation: one credential per (user, scopes)."""

    def __init__(self, key_file: Path, token_uri: str | None) -> None:
        info = _read_json(key_file, "service account key")
        if info.get("type") != "service_account":
            raise ConfigError(f"{key_file} is not a service account key (type is not service_account)")
        if token_uri:
            info["token_uri"] = token_uri
        try:
            self._base = service_account.Credentials.from_service_account_info(info)
        except (ValueError, KeyError) as exc:
            raise ConfigError(f"service account key {key_file} is incomplete: {exc}") from None
        self._client_id = str(info.get("client_id", ""))
        self._cache: dict[tuple[str, tuple[str, ...]], Credentials] = {}

    def client_id(self) -> str:
        return self._client_id

    def for_user(self, user: str, scopes: Sequence[str]) -> Credentials:
        key = (user, tuple(sorted(scopes)))
        creds = self._cache.get(key)
        if creds is None:
            creds = self._base.with_scopes(list(key[1])).with_subject(user)
            self._cache[key] = creds
        return creds


class TrialSource:
    """One person's OAuth token: every 'user' is that person."""

    def __init__(self, token_file: Path, token_uri: str | None) -> None:
        info = _read_json(token_file, "OAuth token file")
        if token_uri:
            info["token_uri"] = token_uri
        self._file = token_file
        try:
            creds = user_credentials.Credentials.from_authorized_user_info(info)
        except ValueError as exc:
            raise ConfigError(f"OAuth token file {token_file} is incomplete: {exc}") from None
        # from_authorized_user_info always names Google's endpoint; keep an override.
        self._creds = creds.with_token_uri(token_uri) if token_uri else creds

    def client_id(self) -> str:
        return self._creds.client_id or ""

    def for_user(self, user: str, scopes: Sequence[str]) -> Credentials:
        return self._creds

    def save(self) -> None:
        write_private(self._file, self._creds.to_json().encode())


def credential_source(settings: GoogleSettings) -> CredentialSource:
    if settings.credentials_file is not None:
        return ServiceAccountSource(settings.credentials_file, settings.token_uri)
    assert settings.token_file is not None
    if not settings.token_file.exists():
        raise ConfigError(
            f"no OAuth token at {settings.token_file}: run `bridgework connect google --check "
            "--config FILE` once to sign in"
        )
    return TrialSource(settings.token_file, settings.token_uri)


def sign_in_needed(settings: GoogleSettings) -> bool:
    """The one-person trial has no token yet: the browser sign-in must run first."""
    return settings.trial and settings.token_file is not None and not settings.token_file.exists()


def sign_in(settings: GoogleSettings, scopes: Sequence[str]) -> Path:
    """The one-person trial: run the browser sign-in once and keep the token (0600).

    :returns: the token file.
    :raises ConfigError: the settings name no client secret or token file.
    """
    from google_auth_oauthlib.flow import InstalledAppFlow

    if settings.client_secret_file is None or settings.token_file is None:
        raise ConfigError("the trial needs client_secret_file and token_file")
    flow = InstalledAppFlow.from_client_secrets_file(str(settings.client_secret_file), list(scopes))
    creds = flow.run_local_server(host="127.0.0.1", port=0, open_browser=True)
    write_private(settings.token_file, creds.to_json().encode())
    return settings.token_file


def ensure_token(creds: Credentials, http: httplib2.Http, settings: GoogleSettings,
                 user: str, scopes: Sequence[str]) -> None:
    """Fetch a token if the cached one is missing or about to expire.

    A refusal names the scopes and says how to grant them; other failures are
    connection problems the caller may retry.
    """
    if creds.valid:
        return
    try:
        creds.refresh(google_auth_httplib2.Request(http))
    except auth_exceptions.RefreshError as exc:
        text = str(exc)
        if getattr(exc, "retryable", False):
            raise Transient(f"token endpoint: {text[:200]}") from None
        if "unauthorized_client" in text or "access_denied" in text or "invalid_scope" in text:
            raise PermissionMissing(
                f"Google refused a token for {user} with scopes "
                f"{', '.join(map(short, scopes))}: {grant_hint(settings, scopes)}"
            ) from None
        if "invalid_grant" in text:
            raise PermissionMissing(
                f"Google refused to act as {user}: {text[:200]}. Check that the user exists "
                "and that domain-wide delegation is enabled for the service account"
            ) from None
        raise ConnectorError(f"cannot get a Google token for {user}: {text[:200]}") from None
    except (auth_exceptions.TransportError, OSError, httplib2.HttpLib2Error) as exc:
        raise Transient(f"token endpoint: {exc}") from None
