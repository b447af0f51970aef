"""``bridgework connect microsoft --check``: the token works and carries every permission needed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from connectors.base import HoldMode
from connectors.common.errors import ConfigError, PermissionMissing


def _mode(rules_path: Path | None) -> HoldMode:
    if rules_path is None:
        from rules.model import Rules

        return Rules().meetings.mode
    from rules.loader import load_rules

    return load_rules(rules_path).meetings.mode


@click.command("microsoft")
@click.option("--check", is_flag=True, help="Verify credentials and every permission the mode needs.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), required=True)
@click.option("--mode", type=click.Choice([m.value for m in HoldMode]), default=None,
              help="Check for this hold mode instead of the one in the rules file.")
def command(check: bool, config_path: str, mode: str | None) -> None:
    """Microsoft 365 connection."""
    from agent.config import load_config
    from connectors.microsoft.auth import TokenProvider, make_session, token_claims
    from connectors.microsoft.client import Call, GraphClient
    from connectors.microsoft.permissions import needed, surplus
    from connectors.microsoft.settings import MicrosoftSettings

    config = load_config(Path(config_path))
    settings = config.source
    if not isinstance(settings, MicrosoftSettings):
        raise ConfigError(f"{config_path}: source.type is {settings.type!r}, not 'microsoft'")
    hold_mode = HoldMode(mode) if mode else _mode(config.rules)
    if not check:
        click.echo(f"tenant {settings.tenant_id}, app {settings.client_id}, mode {hold_mode.value}; "
                   "add --check to verify the token and permissions")
        return
    session = make_session(settings)
    tokens = TokenProvider(settings, session)
    claims = token_claims(tokens.token())
    expires = dt.datetime.fromtimestamp(int(claims.get("exp", 0)), dt.UTC)
    click.echo(f"token: ok (tenant {claims.get('tid', '?')}, app {claims.get('appid', '?')}, "
               f"valid until {expires:%Y-%m-%d %H:%M} UTC)")
    roles = {str(r) for r in claims.get("roles", [])}
    needs = needed(settings, hold_mode, config.digest.enabled)
    missing = []
    for need in needs:
        ok = need.met_by(roles)
        click.echo(f"  {'ok     ' if ok else 'MISSING'} {need.permission:<22} {need.why}")
        if not ok:
            missing.append(need.permission)
    for extra in surplus(roles, needs):
        click.echo(f"  note: broader than needed: {extra}")
    client = GraphClient(settings, session, tokens)
    try:
        client.call(Call("GET", "users?$top=1&$select=id", None, "User.Read.All"))
        click.echo("graph: ok (listed users)")
    except PermissionMissing:
        click.echo("graph: reachable, but listing users was refused")
    if missing:
        raise PermissionMissing(
            f"the app registration lacks {', '.join(missing)} (mode {hold_mode.value}); add them "
            "as application permissions in Entra ID > App registrations > API permissions and "
            "grant admin consent"
        )
    click.echo("all permissions present")
