"""``bridgework rules ...``: check, explain and compare an admin's rules file."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from connectors.common.clock import system_clock
from connectors.common.errors import BridgeworkError, RulesError
from connectors.registry import FilesSettings, build_connectors
from rules.loader import load_rules
from rules.model import Rules

if TYPE_CHECKING:
    from agent.dryrun import DryRun

_FILE = click.Path(path_type=Path, dir_okay=False)
_DIR = click.Path(path_type=Path, file_okay=False, exists=True)


def data_departments(data: Path) -> list[str]:
    """The department names in a data directory's people.csv, to check rules against."""
    directory = build_connectors(FilesSettings(type="files", path=data)).directory
    names = sorted({person.department for person in directory.people()})
    if not names and directory.problems:
        raise BridgeworkError(f"no departments read: {directory.problems[0]}")
    return names


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


def _fail(exc: RulesError) -> None:
    for line in exc.problems or [exc.message]:
        click.echo(line, err=True)
    count = len(exc.problems) or 1
    click.echo(f"{count} problem{'s' if count != 1 else ''}; the rules were not loaded", err=True)
    sys.exit(exc.exit_code)


@click.group()
def rules() -> None:
    """Check, explain and compare a rules file."""


@rules.command()
@click.argument("file", type=_FILE)
@click.option("--data", "data_dir", type=_DIR, help="Data directory whose departments to check.")
def check(file: Path, data_dir: Path | None) -> None:
    """Validate FILE: exit 0 when it is good, 2 with every problem located."""
    departments = data_departments(data_dir) if data_dir is not None else None
    try:
        loaded = load_rules(file, departments=departments)
    except RulesError as exc:
        _fail(exc)
        return
    click.echo(_summary(file, loaded, departments))


@rules.command()
def schema() -> None:
    """Print the JSON Schema of a rules file, for editor completion."""
    from rules.docs import json_schema

    click.echo(json.dumps(json_schema(), indent=2, ensure_ascii=False))


def _as_of(text: str | None) -> dt.date:
    if text is None:
        return system_clock().date()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BridgeworkError(f"--as-of expects a date like 2024-06-03, got {text!r}") from None


def _dry_run(path: Path, data_dir: Path, as_of: dt.date, history: Path | None) -> DryRun:
    # the dry run loads the pipeline (NumPy and all); `check` and `schema` do without it
    from agent.dryrun import dry_run, read_history

    try:
        loaded = load_rules(path, departments=data_departments(data_dir))
    except RulesError as exc:
        _fail(exc)
        raise  # not reached: _fail exits
    past = read_history(history) if history is not None else ()
    return dry_run(data_dir, loaded, as_of, history=past)


_AS_OF = click.option("--as-of", "as_of", help="Pretend today is this date (YYYY-MM-DD).")
_HISTORY = click.option(
    "--history", type=_FILE,
    help="Earlier suggestions, one JSON object a line: "
    '{"people": ["a@x", "b@x"], "date": "YYYY-MM-DD"} (for caps and cool-down).',
)


@rules.command()
@click.argument("file", type=_FILE)
@click.option("--data", "data_dir", type=_DIR, required=True, help="The data directory.")
@_AS_OF
@_HISTORY
def explain(file: Path, data_dir: Path, as_of: str | None, history: Path | None) -> None:
    """What FILE would do this week: seams, exclusions, suggestions and the rules behind them."""
    from agent.explain import explain as render

    click.echo(render(_dry_run(file, data_dir, _as_of(as_of), history), str(file)), nl=False)


@rules.command()
@click.argument("old", type=_FILE)
@click.argument("new", type=_FILE)
@click.option("--data", "data_dir", type=_DIR, required=True, help="The data directory.")
@_AS_OF
@_HISTORY
def diff(old: Path, new: Path, data_dir: Path, as_of: str | None, history: Path | None) -> None:
    """How this week's suggestions would change going from rules OLD to rules NEW."""
    from agent.explain import diff as render

    day = _as_of(as_of)
    before = _dry_run(old, data_dir, day, history)
    after = _dry_run(new, data_dir, day, history)
    click.echo(render(before, after), nl=False)
