"""``connect microsoft --check``: the app's token against what the configuration needs.

The token's ``roles`` claim lists the application permissions admin consent
granted; each need from :mod:`permissions` is looked up there, and one cheap
Graph call shows the tenant answers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from connectors.base import HoldMode
from connectors.common.errors import PermissionMissing
from connectors.microsoft.auth import TokenProvider, make_session, token_claims
from connectors.microsoft.client import Call, GraphClient
from connectors.microsoft.permissions import Need, needed, surplus
from connectors.microsoft.settings import MicrosoftSettings


@dataclass(frozen=True)
class PermissionCheck:
    need: Need
    ok: bool


@dataclass(frozen=True)
class TokenCheck:
    tenant: str
    app: str
    expires: dt.datetime
    permissions: list[PermissionCheck]
    broader: list[str]  # granted permissions wider than needed, to take back
    lists_users: bool

    @property
    def missing(self) -> list[str]:
        return [p.need.permission for p in self.permissions if not p.ok]


def check_connection(settings: MicrosoftSettings, mode: HoldMode, digests: bool) -> TokenCheck:
    """Get an app-only token and compare its roles with what ``mode`` and ``digests`` need.

    :raises ConnectorError: Entra ID refused the credentials or cannot be reached.
    :raises ConfigError: the certificate cannot sign the token request.
    """
    session = make_session(settings)
    tokens = TokenProvider(settings, session)
    claims = token_claims(tokens.token())
    roles = {str(r) for r in claims.get("roles", [])}
    needs = needed(settings, mode, digests)
    client = GraphClient(settings, session, tokens)
    try:
        client.call(Call("GET", "users?$top=1&$select=id", None, "User.Read.All"))
        lists_users = True
    except PermissionMissing:
        lists_users = False
    return TokenCheck(
        tenant=str(claims.get("tid", "?")),
        app=str(claims.get("appid", "?")),
        expires=dt.datetime.fromtimestamp(int(claims.get("exp", 0)), dt.UTC),
        permissions=[PermissionCheck(need, need.met_by(roles)) for need in needs],
        broader=surplus(roles, needs),
        lists_users=lists_users,
    )
