"""``bridgework connect``: check the connection to Google Workspace or Microsoft 365.

The checks live in the connector packages (``connectors.google.check``,
``connectors.microsoft.check``) and return results; this module reads the
configuration and the rules, works out the hold mode, and prints. Connector
libraries load inside the commands, so a missing extra only matters to the
command that needs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from agent.cli_common import CONTEXT, config_option, json_option, print_json
from connectors.base import HoldMode
from connectors.common.errors import ConfigError, PermissionMissing

if TYPE_CHECKING:
    from agent.config import Config

_Settings = TypeVar("_Settings")


def hold_mode(config: Config) -> HoldMode:
    """The hold mode the configuration's rules ask for (the built-in default without a file).

    :raises RulesError: the rules file has problems (each one located).
    """
    from rules.loader import load_rules

    return load_rules(config.rules).meetings.mode


def _load(config_path: Path, kind: type[_Settings], name: str) -> tuple[Config, _Settings]:
    """The configuration and its source settings, which must be of type ``name``."""
    from agent.config import load_config

    config = load_config(Path(config_path))
    settings = config.source
    if not isinstance(settings, kind):
        raise ConfigError(f"{config_path}: source.type is {settings.type!r}, not {name!r}")
    return config, settings


@click.group(context_settings=CONTEXT)
def connect() -> None:
    """Check the connection to Google Workspace, Microsoft 365, CalDAV or IMAP."""


@connect.command("google")
@click.option("--check", is_flag=True, help="Verify credentials and every scope the mode needs.")
@config_option
@json_option
def google(check: bool, config_path: Path, as_json: bool) -> None:
    """Google Workspace connection: credentials and scopes."""
    from connectors.google.auth import sign_in, sign_in_needed
    from connectors.google.check import check_connection, needed_scopes
    from connectors.google.scopes import grant_hint, short
    from connectors.google.settings import GoogleSettings

    config, settings = _load(config_path, GoogleSettings, "google")
    mode = hold_mode(config)
    if sign_in_needed(settings):
        token = sign_in(settings, [scope for scope, _, _ in needed_scopes(settings, mode)])
        if not as_json:
            click.echo(f"signed in; token kept in {token}")
    if not check:
        if as_json:
            print_json({"domain": settings.domain, "mode": mode.value, "checked": False})
            return
        click.echo("nothing to do: add --check to verify credentials and scopes")
        return
    result = check_connection(settings, mode)
    if as_json:
        print_json({"domain": settings.domain, "mode": mode.value, "checked": True,
                    "scopes": [{"scope": s.scope, "ok": s.ok, "why": s.why, "problem": s.problem}
                               for s in result.scopes],
                    "missing": list(result.missing)})
        if result.missing:
            raise PermissionMissing(f"{len(result.missing)} scope(s) missing: "
                                    + ", ".join(short(s) for s in result.missing))
        return
    click.echo(f"Google Workspace {settings.domain}, mode {mode.value}, as "
               f"{'the trial user' if settings.trial else settings.admin_subject}")
    for scope in result.scopes:
        click.echo(f"  {'ok     ' if scope.ok else 'MISSING'} {short(scope.scope):34} {scope.why}")
        if not scope.ok:
            click.echo(f"          {scope.problem}")
    if result.missing:
        click.echo("\nTo grant what is missing: " + grant_hint(settings, result.missing))
        if result.client_id and not settings.trial:
            click.echo(f"Client ID: {result.client_id}")
        raise PermissionMissing(f"{len(result.missing)} scope(s) missing: "
                                + ", ".join(short(s) for s in result.missing))
    click.echo("all scopes granted")


@connect.command("microsoft")
@click.option("--check", is_flag=True, help="Verify credentials and every permission the mode needs.")
@config_option
@click.option("--mode", type=click.Choice([m.value for m in HoldMode]), default=None,
              help="Check for this hold mode instead of the one in the rules file.")
@json_option
def microsoft(check: bool, config_path: Path, mode: str | None, as_json: bool) -> None:
    """Microsoft 365 connection: the app's token and every Graph permission the mode needs."""
    from connectors.microsoft.check import check_connection
    from connectors.microsoft.permissions import grant_hint
    from connectors.microsoft.settings import MicrosoftSettings

    config, settings = _load(config_path, MicrosoftSettings, "microsoft")
    wanted = HoldMode(mode) if mode else hold_mode(config)
    if not check:
        if as_json:
            print_json({"tenant": settings.tenant_id, "app": settings.client_id,
                        "mode": wanted.value, "checked": False})
            return
        click.echo(f"tenant {settings.tenant_id}, app {settings.client_id}, mode {wanted.value}; "
                   "add --check to verify the token and permissions")
        return
    result = check_connection(settings, wanted, config.digest.enabled)
    if as_json:
        print_json({"tenant": result.tenant, "app": result.app, "mode": wanted.value,
                    "checked": True, "expires": result.expires.isoformat(),
                    "permissions": [{"permission": p.need.permission, "ok": p.ok,
                                     "why": p.need.why} for p in result.permissions],
                    "broader": list(result.broader), "lists_users": result.lists_users,
                    "missing": [str(m) for m in result.missing]})
        if result.missing:
            raise PermissionMissing(grant_hint(result.missing, wanted))
        return
    click.echo(f"token: ok (tenant {result.tenant}, app {result.app}, "
               f"valid until {result.expires:%Y-%m-%d %H:%M} UTC)")
    for permission in result.permissions:
        need = permission.need
        click.echo(f"  {'ok     ' if permission.ok else 'MISSING'} {need.permission:<22} {need.why}")
    for extra in result.broader:
        click.echo(f"  note: broader than needed: {extra}")
    click.echo("graph: ok (listed users)" if result.lists_users
               else "graph: reachable, but listing users was refused")
    if result.missing:
        raise PermissionMissing(grant_hint(result.missing, wanted))
    click.echo("all permissions present")
