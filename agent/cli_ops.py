"""Operations commands: ``doctor`` checks and repairs the state files."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
              help="The configuration file.")
@click.option("--repair", is_flag=True, help="Restore what can be restored (damaged files are "
              "kept beside the restored ones).")
def doctor(config_path: str, repair: bool) -> None:
    """Check every state file (store, ledger, key, last good rules); exit 2 if any is damaged."""
    from agent.config import load_config
    from agent.doctor import check, describe
    from agent.store import lock_store

    config = load_config(Path(config_path))
    with lock_store(config.store.path):  # never repair under a running daemon
        result = check(config, repair=repair)
    for line in describe(result, repair):
        click.echo(line)
    if not result.healthy:
        sys.exit(2)
