"""Point 2: levels numeric or named, and input problems summarised once per kind."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from pathlib import Path

import pytest

from agent.dryrun import dry_run
from agent.levels import resolve_levels, with_levels
from agent.pipeline import load_org
from agent.pseudonym import Pseudonymiser
from connectors.base import Person
from connectors.common.errors import RulesError
from connectors.files.people import parse_level
from rules.loader import load_rules_text
from tests.cli.conftest import ROOT, Home

GOLDEN = ROOT / "tests" / "golden" / "defaults" / "data"
NAMES = {1: "Junior", 2: "Senior", 3: "Principal"}


def _named_copy(tmp_path: Path, bad_zones: int = 0) -> Path:
    """The golden organisation with its levels written as names (and some bad time zones)."""
    data = tmp_path / "named"
    shutil.copytree(GOLDEN, data)
    lines = (data / "people.csv").read_text().splitlines()
    out = [lines[0]]
    for number, line in enumerate(lines[1:]):
        cells = line.split(",")
        cells[4] = NAMES[int(cells[4])]
        if number < bad_zones:
            cells[6] = "Mars/Olympus"
        out.append(",".join(cells))
    (data / "people.csv").write_text("\n".join(out) + "\n")
    return data


def test_a_level_cell_is_a_number_or_a_name() -> None:
    assert parse_level(" 3 ") == (3, "")
    assert parse_level("Senior") == (None, "Senior")
    assert parse_level("") == (None, "")


def test_rules_map_names_by_number_or_by_order() -> None:
    by_number = load_rules_text("participants:\n  levels: {Junior: 1, Senior: 3}\n")
    by_order = load_rules_text("participants:\n  levels: [Junior, Senior, Principal]\n")
    assert by_number.participants.levels == {"Junior": 1, "Senior": 3}
    assert by_order.participants.levels == {"Junior": 1, "Senior": 2, "Principal": 3}
    with pytest.raises(RulesError, match=r"<rules>:2:11: participants.levels: level 'senior' is "
                       r"listed twice \(as 'Senior'\)"):
        load_rules_text("participants:\n  levels: [Senior, senior]\n")
    people = [Person("a@x.org", "Sales", level_label="senior"), Person("b@x.org", "Sales", level=4),
              Person("c@x.org", "Legal", level_label="Intern")]
    resolved, unmapped = resolve_levels(people, by_number.participants.levels)
    assert [p.level for p in resolved] == [3, 4, None]
    assert unmapped == {"Intern": ["c@x.org"]}


def test_named_levels_are_used_once_mapped(tmp_path: Path) -> None:
    data = _named_copy(tmp_path)
    rules = load_rules_text("participants:\n  levels: [Junior, Senior, Principal]\n")
    outcome = dry_run(data, rules, dt.date(2024, 6, 3))
    assert outcome.unmapped_levels == {}
    assert outcome.org.people["ann@example.com"].level == 3  # Principal
    unmapped = dry_run(data, load_rules_text(""), dt.date(2024, 6, 3))
    assert set(unmapped.unmapped_levels) == {"Senior", "Principal"}  # the data has levels 2 and 3
    assert unmapped.org.people["ann@example.com"].level is None


def test_one_line_per_kind_and_each_row_once(home: Home, tmp_path: Path) -> None:
    data = _named_copy(tmp_path, bad_zones=3)
    result = home.run("analyze", "--data", str(data), "--as-of", "2024-06-03", "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines.count(f"{data / 'people.csv'}: 3 rows: unknown time zone 'Mars/Olympus'; "
                       "using UTC (the first at 2)") == 1
    assert sum("Mars/Olympus" in line for line in lines) == 1  # not warned again per row
    seniors = sum(1 for row in (data / "people.csv").read_text().splitlines() if ",Senior," in row)
    senior = [line for line in lines if "level 'Senior'" in line]
    assert len(senior) == 1 and senior[0].startswith(
        f"{seniors} people: level 'Senior' is not a number; map it in the rules' participants.levels")
    assert "@" not in result.stderr.replace(str(data), "")  # counts, not addresses

    verbose = home.run("-v", "analyze", "--data", str(data), "--as-of", "2024-06-03", "--json")
    detail = verbose.stderr.splitlines()
    rows = [line for line in detail if "Mars/Olympus" in line and line.startswith("INFO ")]
    assert len(rows) == 3  # each row once, behind -v
    assert any(line.strip().startswith("level 'Senior': ") and "@example.com" in line
               for line in detail)


def test_the_running_agent_logs_each_unmapped_name_once(caplog: pytest.LogCaptureFixture) -> None:
    people = [Person(f"p{i}@x.org", "Sales", level_label="Senior") for i in range(4)]
    org = load_org(people, Pseudonymiser(b"k" * 32))
    with caplog.at_level(logging.WARNING):
        mapped = with_levels(org, load_rules_text("participants:\n  levels: {Senior: 2}\n"))
        assert not caplog.records
        with_levels(org, load_rules_text(""))
    assert {p.level for p in mapped.people.values()} == {2}
    assert len(caplog.records) == 1 and caplog.records[0].getMessage().startswith(
        "4 people: level 'Senior' is not a number")
    assert "@" not in caplog.text
