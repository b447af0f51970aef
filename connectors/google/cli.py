"""``bridgework connect google``: check credentials and scopes."""

from __future__ import annotations

from pathlib import Path

import click

from connectors.base import HoldMode
from connectors.common.errors import ConfigError, PermissionMissing
from connectors.google.settings import GoogleSettings


def _mode(rules_path: Path | None) -> HoldMode:
    if rules_path is None:
        from rules.model import Rules

        return Rules().meetings.mode
    from agent.engine import load_rules_file

    return load_rules_file(rules_path).meetings.mode


def _sign_in(settings: GoogleSettings, mode: HoldMode) -> None:
    """The one-person trial: run the browser sign-in once and keep the token (0600)."""
    from google_auth_oauthlib.flow import InstalledAppFlow

    from connectors.common.fileio import write_private
    from connectors.google.check import needed_scopes

    if settings.client_secret_file is None or settings.token_file is None:
        raise ConfigError("the trial needs client_secret_file and token_file")
    scopes = [scope for scope, _, _ in needed_scopes(settings, mode)]
    flow = InstalledAppFlow.from_client_secrets_file(str(settings.client_secret_file), scopes)
    creds = flow.run_local_server(host="127.0.0.1", port=0, open_browser=True)
    write_private(settings.token_file, creds.to_json().encode())
    click.echo(f"signed in; token kept in {settings.token_file}")


@click.command("google")
@click.option("--check", is_flag=True, help="Verify credentials and every scope the mode needs.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), required=True)
def command(check: bool, config_path: str) -> None:
    """Google Workspace connection: credentials and scopes."""
    from agent.config import load_config
    from connectors.google.auth import ServiceAccountSource, credential_source, grant_hint, short
    from connectors.google.check import check as run_check
    from connectors.google.transport import GoogleClient

    config = load_config(Path(config_path))
    settings = config.source
    if not isinstance(settings, GoogleSettings):
        raise ConfigError(f"{config_path}: source.type is {settings.type}, not google")
    mode = _mode(config.rules)
    if settings.trial and settings.token_file is not None and not settings.token_file.exists():
        _sign_in(settings, mode)
    if not check:
        click.echo("nothing to do: add --check to verify credentials and scopes")
        return
    reader = GoogleClient(settings, credential_source(settings))
    sender = None
    if settings.send_credentials_file is not None:
        sender = GoogleClient(settings, ServiceAccountSource(settings.send_credentials_file,
                                                             settings.token_uri))
    click.echo(f"Google Workspace {settings.domain}, mode {mode.value}, as "
               f"{'the trial user' if settings.trial else settings.admin_subject}")
    results = run_check(settings, mode, reader, sender)
    for result in results:
        mark = "ok     " if result.ok else "MISSING"
        click.echo(f"  {mark} {short(result.scope):34} {result.why}")
        if not result.ok:
            click.echo(f"          {result.problem}")
    missing = [r.scope for r in results if not r.ok]
    if missing:
        client_id = reader.source.client_id()
        click.echo("\nTo grant what is missing: " + grant_hint(settings, missing))
        if client_id and not settings.trial:
            click.echo(f"Client ID: {client_id}")
        raise PermissionMissing(
            f"{len(missing)} scope(s) missing: {', '.join(short(s) for s in missing)}")
    click.echo("all scopes granted")
