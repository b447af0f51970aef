"""``bridgework connect microsoft``: check credentials and scopes."""

from __future__ import annotations

import click


@click.command("microsoft")
@click.option("--check", is_flag=True, help="Verify credentials and every permission the mode needs.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), required=True)
def command(check: bool, config_path: str) -> None:
    """Microsoft 365 connection."""
    raise click.ClickException("not implemented yet")
