"""``bridgework rules ...``: check, explain and compare an admin's rules file."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from agent.cli_common import (
    CONTEXT,
    find_config,
    json_option,
    parse_date,
    print_json,
    verbosity,
)
from connectors.common.clock import system_clock
from connectors.common.errors import BridgeworkError, ConfigError, RulesError
from connectors.registry import FilesSettings, build_connectors
from rules.loader import load_rules
from rules.model import Rules

if TYPE_CHECKING:
    from agent.dryrun import DryRun

_FILE = click.Path(path_type=Path, dir_okay=False)
_DIR = click.Path(path_type=Path, file_okay=False)


def data_dir(path: str | Path, option: str = "--data") -> Path:
    """``path`` when it is a data directory; else a user error naming ``option`` and the fix."""
    from agent.preflight import data_directory_problem

    problem = data_directory_problem(Path(path), option)
    if problem:
        raise BridgeworkError(problem)
    return Path(path)


def data_departments(data: Path) -> list[str]:
    """The department names in a data directory's people.csv, to check rules against."""
    directory = build_connectors(FilesSettings(type="files", path=data)).directory
    names = sorted({person.department for person in directory.people()})
    if not names and directory.problems:
        raise BridgeworkError(f"no departments read: {directory.problems[0]}")
    return names


def configured_rules(config_path: str | Path | None) -> Path:
    """The rules file named by the configuration that ``--config`` or the defaults find.

    :raises ConfigError: no configuration is found, it is invalid, or it names no rules file.
    """
    from agent.config import load_config

    found = find_config(config_path)
    named = load_config(found).rules
    if named is None:
        raise ConfigError(f"{found} names no rules file (the built-in defaults are in force); "
                          "give the file to check: bridgework rules check FILE")
    return named


def rules_for_data(path: Path | None) -> Callable[[list[str]], Rules]:
    """A loader for the dry run: the rules file checked against the data's department names,
    every problem printed and exit 2 when there are any."""

    def load(departments: list[str]) -> Rules:
        try:
            return load_rules(path, departments=departments)
        except RulesError as exc:
            _fail(exc)
            raise  # not reached: _fail exits

    return load


def _summary(path: Path, rules: Rules, departments: list[str] | None) -> str:
    base = f"extends {rules.extends}" if rules.extends else "built-in defaults"
    parts = [
        f"OK: {path}",
        base,
        f"mode {rules.meetings.mode.value}",
        f"{len(rules.seams.pairs)} named seam(s)",
        f"{len(rules.seams.ignore_pairs) + len(rules.seams.ignore_departments)} ignore(s)",
    ]
    if departments is not None:
        parts.append(f"department names checked against {len(departments)} in the data")
    return "; ".join(parts)


def _fail(exc: RulesError, as_json: bool = False) -> None:
    lines = exc.problems or [exc.message]
    if as_json:
        print_json({"ok": False, "problems": lines})
    else:
        for line in lines:
            click.echo(line, err=True)
    count = len(lines)
    click.echo(f"{count} problem{'s' if count != 1 else ''}; the rules were not loaded", err=True)
    sys.exit(exc.exit_code)


@click.group(context_settings=CONTEXT)
def rules() -> None:
    """Check, explain and compare a rules file (the reference is docs/rules.md)."""


@rules.command(context_settings=CONTEXT)
@click.argument("file", type=_FILE, required=False)
@click.option("--data", "data_path", type=_DIR, help="Data directory whose departments to check.")
@click.option("--config", "config_path", type=click.Path(dir_okay=True),
              help="Without FILE: the configuration whose rules file to check (default: "
              "$BRIDGEWORK_CONFIG, else $XDG_CONFIG_HOME/bridgework/config.yaml).")
@json_option
def check(file: Path | None, data_path: Path | None, config_path: str | None,
          as_json: bool) -> None:
    """Validate FILE (default: the rules file the configuration names): exit 0 when it is
    good, 2 with every problem located."""
    if file is None:
        file = configured_rules(config_path)
    departments = data_departments(data_dir(data_path)) if data_path is not None else None
    try:
        loaded = load_rules(file, departments=departments)
    except RulesError as exc:
        _fail(exc, as_json)
        return
    if as_json:
        print_json({"ok": True, "file": str(file), "extends": loaded.extends,
                    "mode": loaded.meetings.mode.value, "departments_checked": departments,
                    "rules": loaded.model_dump(mode="json")})
        return
    click.echo(_summary(file, loaded, departments))


@rules.command(context_settings=CONTEXT)
def schema() -> None:
    """Print the JSON Schema of a rules file, for editor completion."""
    from rules.docs import json_schema

    click.echo(json.dumps(json_schema(), indent=2, ensure_ascii=False))


def _as_of(text: str | None) -> dt.date:
    return parse_date(text) or system_clock().date()


def _dry_run(path: Path, data_path: Path, as_of: dt.date, history: Path | None) -> DryRun:
    # the dry run loads the pipeline (NumPy and all); `check` and `schema` do without it
    from agent.dryrun import dry_run, read_history

    data = data_dir(data_path)
    past = read_history(history) if history is not None else ()
    return dry_run(data, rules_for_data(path), as_of, history=past)


_AS_OF = click.option("--as-of", "as_of", help="Pretend today is this date (YYYY-MM-DD).")
_HISTORY = click.option(
    "--history", type=_FILE,
    help="Earlier suggestions, one JSON object a line: "
    '{"people": ["a@x", "b@x"], "date": "YYYY-MM-DD"} (for caps and cool-down).',
)


@rules.command(context_settings=CONTEXT)
@click.argument("file", type=_FILE)
@click.option("--data", "data_path", type=_DIR, required=True, help="The data directory.")
@_AS_OF
@_HISTORY
@json_option
def explain(file: Path, data_path: Path, as_of: str | None, history: Path | None,
            as_json: bool) -> None:
    """What FILE would do this week: seams, exclusions, suggestions and the rules behind them."""
    from agent.explain import explain as render

    outcome = _dry_run(file, data_path, _as_of(as_of), history)
    if as_json:
        from agent.dryrun import as_json as result_json

        print_json({"rules": str(file), **result_json(outcome),
                    "excluded": dict(sorted(outcome.excluded.items()))})
        return
    click.echo(render(outcome, str(file), details=verbosity() > 0), nl=False)


@rules.command(context_settings=CONTEXT)
@click.argument("old", type=_FILE)
@click.argument("new", type=_FILE)
@click.option("--data", "data_path", type=_DIR, required=True, help="The data directory.")
@_AS_OF
@_HISTORY
@json_option
def diff(old: Path, new: Path, data_path: Path, as_of: str | None, history: Path | None,
         as_json: bool) -> None:
    """How this week's suggestions would change going from rules OLD to rules NEW."""
    from agent.explain import diff as render
    from agent.explain import diff_json

    day = _as_of(as_of)
    before = _dry_run(old, data_path, day, history)
    after = _dry_run(new, data_path, day, history)
    if as_json:
        print_json(diff_json(before, after))
        return
    click.echo(render(before, after), nl=False)
