"""Point 1: a mode or rules change takes effect on the next run, without deleting state."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner

from agent.cli import main
from tests.core.datadir import write_datadir
from tests.core.synth import make_org

TODAY = dt.datetime.now(dt.UTC).replace(hour=8, minute=0, second=0, microsecond=0)


def _setup(tmp_path: Path, mode: str) -> tuple[Path, Path, Path]:
    data = write_datadir(make_org(as_of=TODAY, drift=("Legal", "Sales")), tmp_path / "data")
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"meetings:\n  mode: {mode}\n")
    config = tmp_path / "config.yaml"
    config.write_text(f"source:\n  type: files\n  path: {data}\nstore:\n  path: {tmp_path / 'state'}\n"
                      f"rules: {rules}\n")
    return data, rules, config


def _cycle(config: Path) -> dict[str, dict[str, int]]:
    result = CliRunner().invoke(main, ["run", "--once", "--json", "--config", str(config)])
    assert result.exit_code == 0, result.output
    summary: dict[str, dict[str, int]] = json.loads(result.stdout)
    return summary


def _holds_on_calendar(data: Path) -> int:
    ics = data / "outbox" / "holds.ics"
    return ics.read_text().count("BEGIN:VEVENT") if ics.exists() else 0


def test_switching_to_hold_places_the_weeks_suggestions(tmp_path: Path) -> None:
    """Before the fix the second run said nothing was placed: the day's plan was recorded
    and the week's caps were used up by the suggestions of the first run."""
    data, rules, config = _setup(tmp_path, "suggest")
    first = _cycle(config)
    suggested = first["holds"]["suggested"]
    assert suggested > 0 and first["holds"]["placed"] == 0 and _holds_on_calendar(data) == 0

    rules.write_text("meetings:\n  mode: hold\n")
    second = _cycle(config)
    assert second["holds"]["promoted"] == suggested
    assert second["holds"]["placed"] == suggested and second["holds"]["resumed"] == 0
    assert _holds_on_calendar(data) == suggested

    third = _cycle(config)  # nothing left to do: no hold twice
    assert third["holds"]["placed"] == 0 and third["holds"]["promoted"] == 0
    assert _holds_on_calendar(data) == suggested
    status = json.loads(CliRunner().invoke(main, ["status", "--json", "--config", str(config)]).stdout)
    assert status["holds"] == {"held": suggested} and status["mode"] == "hold"


def test_a_rules_change_plans_again_the_same_day(tmp_path: Path) -> None:
    data, rules, config = _setup(tmp_path, "hold")
    first = _cycle(config)["holds"]["placed"]
    assert first == 5  # per_seam_per_week's default on the one drifting seam
    rerun = _cycle(config)
    assert rerun["holds"]["placed"] == 0  # same day, same rules: the recorded plan stands

    rules.write_text("meetings:\n  mode: hold\npairing:\n  per_seam_per_week: 8\n")
    more = _cycle(config)["holds"]["placed"]
    assert 0 < more <= 3  # the people not yet asked this week (per_person_per_week 1)
    assert _holds_on_calendar(data) == first + more
