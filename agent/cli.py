"""The command line: a thin layer over the library. Errors for users are handled here, once."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from agent.errors import BridgeworkError


class _Group(click.Group):
    """Turns BridgeworkError into a clean message and exit code 2, with no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BridgeworkError as exc:
            click.echo(f"error: {exc.message}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=_Group)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """Bridgework keeps departments from drifting apart."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@main.group()
def connect() -> None:
    """Check the connection to Google Workspace or Microsoft 365."""


def _register() -> None:
    from connectors.google.cli import command as google_command
    from connectors.microsoft.cli import command as microsoft_command

    connect.add_command(google_command)
    connect.add_command(microsoft_command)
    try:
        from agent.cli_rules import rules
    except ImportError:  # the rules commands land separately
        return
    main.add_command(rules)


_register()
