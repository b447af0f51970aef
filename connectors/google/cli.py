"""``bridgework connect google``: check credentials and scopes."""

from __future__ import annotations

import click


@click.command("google")
@click.option("--check", is_flag=True, help="Verify credentials and every scope the mode needs.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), required=True)
def command(check: bool, config_path: str) -> None:
    """Google Workspace connection."""
    raise click.ClickException("not implemented yet")
