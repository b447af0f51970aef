"""What an error answer from Google means: retry later, grant a scope, or give up.

Shared by the token fetching in ``auth`` and the calls in ``transport``, so
neither has to import the other for it.
"""

from __future__ import annotations

import json

from googleapiclient.errors import HttpError

from connectors.common.errors import ConnectorError, PermissionMissing
from connectors.google.scopes import grant_hint, short
from connectors.google.settings import GoogleSettings
from connectors.retry import retry_after

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "backendError"})
SCOPE_REASONS = frozenset({"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"})


class Transient(Exception):
    """A failure worth retrying after a pause (throttling, 5xx, timeouts).

    ``retry_after`` is the wait Google asked for, in seconds, when it named one.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def error_reason(exc: HttpError) -> str:
    """Google's machine-readable reason for an error answer, or ''."""
    try:
        body = json.loads(exc.content.decode("utf-8", "replace"))
    except (ValueError, AttributeError):
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return str(error or "")
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("reason"):
            return str(detail["reason"])
    for item in error.get("errors") or []:
        if isinstance(item, dict) and item.get("reason"):
            return str(item["reason"])
    return str(error.get("status", ""))


def status_of(exc: HttpError) -> int:
    return int(exc.resp.status)


def classify(exc: HttpError, what: str, scope: str, settings: GoogleSettings) -> Exception:
    """The exception to act on for an error answer: Transient, PermissionMissing, ConnectorError."""
    status, reason = status_of(exc), error_reason(exc)
    if status in RETRY_STATUS or (status == 403 and reason in RATE_REASONS):
        return Transient(f"{what}: HTTP {status} {reason}".strip(), retry_after(exc.resp))
    if status == 403 and (reason in SCOPE_REASONS or b"insufficient authentication scopes"
                          in (exc.content or b"").lower()):
        return PermissionMissing(
            f"Google refused {what}: the credentials lack the scope {short(scope)}; "
            + grant_hint(settings, [scope])
        )
    text = exc.content.decode("utf-8", "replace")[:300] if exc.content else ""
    return ConnectorError(f"Google refused {what}: HTTP {status} {reason} {text}".rstrip())
