"""What every ``bridgework`` command shares: ``--config`` discovery, ``--json``, the console.

The conventions follow the command-line tools people already use (khal,
gcalcli, sqlite-utils): ``-h`` as well as ``--help``; a configuration found
without being named (``--config``, then ``$BRIDGEWORK_CONFIG``, then
``$XDG_CONFIG_HOME/bridgework/config.yaml``); ``--json`` on every command
that reports; colour and wrapping only on a terminal, so piped output is one
logical line per line; exit codes 0 (done), 2 (something the user can fix,
said in one line) and 1 (a bug, with its traceback).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from connectors.common.errors import BridgeworkError, ConfigError

F = TypeVar("F", bound=Callable[..., Any])

#: Settings every command and group is built with.
CONTEXT: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: The environment variable that names the configuration file.
CONFIG_ENV = "BRIDGEWORK_CONFIG"

#: Exit codes, as docs/cli.md lists them.
EXIT_OK, EXIT_BUG, EXIT_USER = 0, 1, 2


def xdg_config_home(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    value = env.get("XDG_CONFIG_HOME", "")
    return Path(value) if value and Path(value).is_absolute() else Path.home() / ".config"


def xdg_state_home(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    value = env.get("XDG_STATE_HOME", "")
    return Path(value) if value and Path(value).is_absolute() else Path.home() / ".local" / "state"


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """Where ``bridgework init`` writes the configuration, and where commands look last."""
    return xdg_config_home(env) / "bridgework" / "config.yaml"


def default_state_path(env: Mapping[str, str] | None = None) -> Path:
    """Where ``bridgework init`` puts the state (store, ledger, key) unless told otherwise."""
    return xdg_state_home(env) / "bridgework"


def find_config(given: str | Path | None, env: Mapping[str, str] | None = None) -> Path:
    """The configuration file: ``--config``, else ``$BRIDGEWORK_CONFIG``, else the XDG place.

    :raises ConfigError: the named file does not exist, or none was named and none is found.
    """
    env = os.environ if env is None else env
    if given is not None:
        path, how = Path(given), "--config"
    elif env.get(CONFIG_ENV):
        path, how = Path(env[CONFIG_ENV]), f"${CONFIG_ENV}"
    else:
        path = default_config_path(env)
        if path.is_file():
            return path
        raise ConfigError(f"no configuration found: give --config FILE, set ${CONFIG_ENV}, or run "
                          f"`bridgework init` to write {path}")
    if path.is_dir():
        raise ConfigError(f"{how} {path} is a directory; it must name the configuration file")
    if not path.is_file():
        raise ConfigError(f"{how} {path}: no such file (`bridgework init --config {path}` "
                          "writes one)")
    return path


def _resolve_config(ctx: click.Context, param: click.Parameter, value: str | None) -> Path:
    return find_config(value)


def config_option(command: F) -> F:
    """``--config FILE``, found as :func:`find_config` says; the command gets a Path."""
    return click.option(
        "--config", "config_path", type=click.Path(dir_okay=True), callback=_resolve_config,
        help=f"The configuration file (default: ${CONFIG_ENV}, else "
        "$XDG_CONFIG_HOME/bridgework/config.yaml).")(command)


def json_option(command: F) -> F:
    """``--json``: print one JSON object on stdout instead of the readable report."""
    return click.option("--json", "as_json", is_flag=True,
                        help="Print one JSON object instead of the readable report.")(command)


def print_json(data: object) -> None:
    """One JSON document on stdout, keys in a fixed order so equal data gives equal bytes."""
    click.echo(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False, default=str))


def console(stderr: bool = False) -> Console:
    """A rich console that draws colour and fits lines to the width only on a terminal.

    Piped or redirected, lines are not hard-wrapped (a long table row stays one
    line for grep and friends) and no colour codes are written; ``NO_COLOR`` is
    honoured by rich itself.
    """
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=10_000, soft_wrap=True, color_system=None,
                   force_terminal=False, highlight=False)


def verbosity() -> int:
    """How many ``-v`` the command line had (0 outside a command)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return 0
    return int(ctx.find_root().params.get("verbose") or 0)


def parse_date(value: str | None, option: str = "--as-of") -> dt.date | None:
    """A date option's value (None when not given).

    :raises BridgeworkError: the value is not a date written YYYY-MM-DD.
    """
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BridgeworkError(f"{option}: expected a date like 2024-06-03 (YYYY-MM-DD), "
                              f"got {value!r}") from None
