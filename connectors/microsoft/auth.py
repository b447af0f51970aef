"""App-only tokens from Entra ID through msal, and the HTTP session both share.

The session trusts exactly the CA bundle the settings name (``trust_env`` off,
so a machine-wide ``REQUESTS_CA_BUNDLE`` or proxy variable cannot override
it); without a bundle it behaves like any requests session. The token cache
lives in memory, or in ``token_file`` (mode 0600) when one is configured.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from typing import Any

import msal
import requests

from connectors.common.errors import ConfigError, ConnectorError
from connectors.common.fileio import write_private
from connectors.microsoft.settings import MicrosoftSettings

log = logging.getLogger(__name__)


def make_session(settings: MicrosoftSettings) -> requests.Session:
    session = requests.Session()
    if settings.ca_bundle is not None:
        session.trust_env = False
        session.verify = str(settings.ca_bundle)
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=64)
    session.mount("https://", adapter)
    return session


class TokenProvider:
    """Hands out a valid access token; msal refreshes it shortly before it expires."""

    def __init__(self, settings: MicrosoftSettings, session: requests.Session) -> None:
        self._settings = settings
        self._session = session
        self._lock = threading.Lock()
        self._cache = msal.SerializableTokenCache()
        if settings.token_file is not None and settings.token_file.exists():
            try:
                self._cache.deserialize(settings.token_file.read_text())
            except (OSError, ValueError):
                log.warning("ignoring an unreadable token cache at %s", settings.token_file)
        self._app: msal.ConfidentialClientApplication | None = None

    def _application(self) -> msal.ConfidentialClientApplication:
        if self._app is None:
            timeout = (self._settings.connect_timeout_seconds, self._settings.timeout_seconds)
            try:
                self._app = msal.ConfidentialClientApplication(
                    self._settings.client_id,
                    client_credential=self._settings.credential(),
                    authority=self._settings.authority,
                    http_client=self._session,
                    instance_discovery=False,
                    token_cache=self._cache,
                    timeout=timeout,
                )
            except (ValueError, requests.RequestException) as exc:
                raise ConnectorError(
                    f"cannot reach the Entra ID tenant {self._settings.tenant_id} at "
                    f"{self._settings.authority_host}: {_short(exc)}"
                ) from None
        return self._app

    def token(self) -> str:
        with self._lock:
            app = self._application()
            try:
                result = app.acquire_token_for_client(scopes=[self._settings.scope])
            except requests.RequestException as exc:
                raise ConnectorError(f"cannot reach the sign-in service: {_short(exc)}") from None
            except Exception as exc:  # msal/PyJWT signing errors have no common base class
                if self._settings.certificate_file is None:
                    raise
                raise ConfigError(
                    f"certificate_file {self._settings.certificate_file} cannot sign the sign-in "
                    f"request ({type(exc).__name__}); it must hold an RSA private key"
                ) from None
            self._persist()
        if "access_token" not in result:
            code = result.get("error", "unknown_error")
            detail = str(result.get("error_description", "")).splitlines()[0:1]
            raise ConnectorError(
                f"Entra ID refused the app's credentials ({code}): {' '.join(detail)}".rstrip()
            )
        return str(result["access_token"])

    def invalidate(self) -> None:
        """Forget cached access tokens (after Graph said 401), so the next call gets a new one."""
        with self._lock:
            for item in list(self._cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                self._cache.remove_at(item)
            self._persist()

    def _persist(self) -> None:
        path = self._settings.token_file
        if path is not None and self._cache.has_state_changed:
            write_private(path, self._cache.serialize().encode())
            self._cache.has_state_changed = False


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT access token, read without verifying (only to report roles)."""
    try:
        payload = token.split(".")[1]
        padded = payload + "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
