"""``bridgework init``: write a commented configuration and rules file for one source.

Everything is checked before anything is written: the data directory (for a
files source), that the configuration and rules it would write load cleanly
(department names checked against the data), and that no file would be
overwritten without ``--force``. The state goes to an absolute place,
``$XDG_STATE_HOME/bridgework`` unless ``--state`` says otherwise; it is
created by the first run, not here.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
import jinja2
import yaml

from agent.cli_common import (
    CONTEXT,
    default_config_path,
    default_state_path,
    json_option,
    print_json,
)
from connectors.base import HoldMode
from connectors.common.errors import BridgeworkError, ConfigError

SOURCES = ("files", "google", "microsoft", "caldav", "imap")
#: Where holds land without touching anyone's calendar: the first run may place them.
_SAFE_TO_HOLD = frozenset({"files"})


@dataclass(frozen=True)
class Plan:
    """What ``init`` would write, worked out and checked before any of it is."""

    config_path: Path
    rules_path: Path
    config_text: str
    rules_text: str
    state: Path
    mode: str
    source: str


def _quote(value: object) -> str:
    """A scalar as YAML reads it back unchanged (a JSON string is valid YAML)."""
    return json.dumps(str(value))


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("agent", "templates/init"),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             autoescape=False)
    env.filters["q"] = _quote
    return env


def _level_names(data: Path) -> list[str]:
    """Level names (not numbers) in a people.csv, in the order they first appear."""
    from connectors.files.people import FilesDirectory

    names: list[str] = []
    for person in FilesDirectory(data / "people.csv").people():
        if person.level_label and person.level_label not in names:
            names.append(person.level_label)
    return names


def _departments(people_csv: Path) -> list[str]:
    from connectors.files.people import FilesDirectory

    return sorted({p.department for p in FilesDirectory(people_csv).people()})


def make_plan(source: str, data: Path | None, people: Path | None, mode: str | None,
              config_path: Path, rules_path: Path | None, state: Path | None, timezone: str,
              force: bool, today: dt.date) -> Plan:
    """The files ``init`` would write, every one of them checked.

    :raises BridgeworkError: a missing data directory, a file that exists (without
        ``force``), or a configuration or rules file that would not load.
    """
    from agent.config import Config
    from agent.preflight import data_directory_problem
    from rules.loader import load_rules_text

    config_path = config_path.expanduser().absolute()
    rules_path = (rules_path.expanduser().absolute() if rules_path
                  else config_path.with_name("rules.yaml"))
    state = (state.expanduser().absolute() if state else default_state_path())
    people_csv: Path | None = None
    if source == "files":
        if data is None:
            raise BridgeworkError("a files source needs --data DIR (the data directory, e.g. the "
                                  "demo-data that `make demo` writes)")
        data = data.expanduser().absolute()
        problem = data_directory_problem(data, "--data")
        if problem:
            raise BridgeworkError(problem)
        people_csv = data / "people.csv"
    elif source in ("caldav", "imap"):
        people = (people or Path("people.csv")).expanduser().absolute()
        if people.is_file():
            people_csv = people
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BridgeworkError(f"--timezone {timezone!r} is not a time zone; use a name like "
                              "Europe/London; nothing was written") from None
    mode = mode or (HoldMode.HOLD.value if source in _SAFE_TO_HOLD else HoldMode.SUGGEST.value)
    for path in (config_path, rules_path):
        if path.exists() and not force:
            raise BridgeworkError(f"{path} exists; nothing was written (--force replaces it)")
        if path.is_dir():
            raise BridgeworkError(f"{path} is a directory; nothing was written")
    env = _templates()
    values = {"today": today.isoformat(), "timezone": timezone, "source": source,
              "data": str(data or ""), "people": str(people or ""), "state": str(state),
              "rules": str(rules_path), "mode": mode, "rules_name": str(rules_path),
              "level_names": _level_names(data) if source == "files" and data else []}
    config_text = env.get_template("config.yaml.j2").render(**values)
    rules_text = env.get_template("rules.yaml.j2").render(**values)
    try:
        Config.model_validate(yaml.safe_load(config_text))
    except Exception as exc:  # a template that does not load is a bug of ours, said plainly
        raise ConfigError(f"the configuration init would write does not load ({exc}); "
                          "nothing was written") from None
    departments = _departments(people_csv) if people_csv else None
    load_rules_text(rules_text, str(rules_path), departments=departments)
    return Plan(config_path, rules_path, config_text, rules_text, state, mode, source)


def _write(plan: Plan) -> None:
    for path, text in ((plan.config_path, plan.config_text), (plan.rules_path, plan.rules_text)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _next_steps(plan: Plan) -> list[str]:
    default = plan.config_path == default_config_path().absolute()
    with_config = "" if default else f" --config {plan.config_path}"
    if plan.source == "files":
        steps = [f"bridgework run --once{with_config}   # one cycle: sync, analyse, place holds",
                 f"bridgework status{with_config}      # what it did, what comes next"]
    else:
        steps = [f"edit {plan.config_path} (the lines marked 'fill in')",
                 f"bridgework connect {plan.source} --check{with_config}",
                 f"bridgework run --once{with_config}"]
    if not default:
        steps.append(f"(or export BRIDGEWORK_CONFIG={plan.config_path} and leave out --config)")
    return steps


@click.command(context_settings=CONTEXT)
@click.option("--source", type=click.Choice(SOURCES), default="files", show_default=True,
              help="Where the metadata comes from.")
@click.option("--data", "data_path", type=click.Path(path_type=Path, file_okay=False),
              help="files: the data directory (e.g. demo-data from `make demo`).")
@click.option("--people", "people_path", type=click.Path(path_type=Path, dir_okay=False),
              help="caldav and imap: the people.csv that lists who is read.")
@click.option("--mode", type=click.Choice([m.value for m in HoldMode]),
              help="suggest, hold or invite (default: hold for files, whose holds go to the "
              "data directory's outbox; suggest for the others).")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Where to write the configuration (default: "
              "$XDG_CONFIG_HOME/bridgework/config.yaml, where every command looks).")
@click.option("--rules", "rules_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Where to write the rules (default: rules.yaml beside the configuration).")
@click.option("--state", "state_path", type=click.Path(path_type=Path, file_okay=False),
              help="The state directory (default: $XDG_STATE_HOME/bridgework, i.e. "
              "~/.local/state/bridgework).")
@click.option("--timezone", default="UTC", show_default=True,
              help="The organisation's time zone (an IANA name like Europe/London).")
@click.option("--force", is_flag=True, help="Replace a configuration or rules file that exists.")
@json_option
def init(source: str, data_path: Path | None, people_path: Path | None, mode: str | None,
         config_path: Path | None, rules_path: Path | None, state_path: Path | None,
         timezone: str, force: bool, as_json: bool) -> None:
    """Write a commented configuration and rules file for one source; check them first.

    Nothing is written unless every check passes; the state directory is made
    by the first `bridgework run`, not by init.
    """
    plan = make_plan(source, data_path, people_path, mode, config_path or default_config_path(),
                     rules_path, state_path, timezone, force, dt.date.today())
    _write(plan)
    steps = _next_steps(plan)
    if as_json:
        print_json({"config": str(plan.config_path), "rules": str(plan.rules_path),
                    "state": str(plan.state), "source": plan.source, "mode": plan.mode,
                    "next": steps})
        return
    click.echo(f"wrote {plan.config_path} (source {plan.source}, state in {plan.state})")
    click.echo(f"wrote {plan.rules_path} (mode {plan.mode})")
    click.echo("next:")
    for step in steps:
        click.echo(f"  {step}")
