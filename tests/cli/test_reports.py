"""Points 2 and 3: reports that explain themselves, every department name checked, no past slot."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from click.testing import CliRunner
from rich.console import Console

from agent.cli import main
from agent.report import display_names, lapsed_table
from connectors.base import Person
from tests.cli.conftest import ROOT

GOLDEN = ROOT / "tests" / "golden" / "defaults" / "data"
AS_OF = "2024-06-03"


def _analyze(*args: str) -> tuple[dict[str, object], str]:
    result = CliRunner().invoke(main, ["analyze", "--data", str(GOLDEN), "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.stderr


def _rules(tmp_path: Path, text: str) -> str:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return str(path)


def test_the_data_range_is_reported() -> None:
    out, _ = _analyze("--as-of", AS_OF)
    assert out["data"] == {"first_day": "2023-09-04", "last_day": "2024-06-02"}
    text = CliRunner().invoke(main, ["analyze", "--data", str(GOLDEN), "--as-of", AS_OF]).stdout
    assert "data from 2023-09-04 to 2024-06-02, 39 weeks" in text


def test_pairs_set_aside_are_counted_with_the_knob(tmp_path: Path) -> None:
    rules = _rules(tmp_path, "seams:\n  min_volume: 500\n  ignore_pairs: [Legal / Research]\n")
    out, _ = _analyze("--as-of", AS_OF, "--rules", rules)
    aside = out["set_aside"]
    assert isinstance(aside, dict)
    assert aside["pairs"] == 6 and aside["judged"] == 0
    assert aside["ignored"] == [["Legal", "Research"]]
    assert aside["below_min_volume"] + len(aside["no_contact"]) == 5
    assert len(out["not_judged"]) == 5  # each with its volume and the min_volume it missed
    result = CliRunner().invoke(main, ["analyze", "--data", str(GOLDEN), "--as-of", AS_OF,
                                       "--rules", rules])
    assert "0 of 6 department pairs judged" in result.stdout
    line = next(x for x in result.stdout.splitlines() if "too little baseline contact" in x)
    assert "against seams.min_volume 500" in line and "lower seams.min_volume" in line
    assert "1 ignored by the rules (seams.ignore_pairs, seams.ignore_departments)" in result.stdout


def test_an_as_of_outside_the_data_is_warned(tmp_path: Path) -> None:
    before, err = _analyze("--as-of", "2020-01-01")
    assert "warning: --as-of 2020-01-01 is before the data begins (2023-09-04 to" in err
    assert before["warnings"] and not before["suggestions"]
    after, err = _analyze("--as-of", "2030-01-01")
    assert after["warnings"]
    assert "warning: --as-of 2030-01-01 is after the data ends" in err
    assert "pick a date up to 2024-08-05" in err  # its last scheduled meetings
    inside, err = _analyze("--as-of", AS_OF)
    assert inside["suggestions"]
    assert "is before the data begins" not in err and "is after the data ends" not in err


def test_people_with_the_same_name_are_told_apart() -> None:
    people = [Person("j1@x.org", "Legal", "James Smith"), Person("j2@x.org", "Sales", "James Smith"),
              Person("j3@x.org", "Sales", "James Smith"), Person("ann@x.org", "Sales", "Ann Lee"),
              Person("nobody@x.org", "Sales")]
    assert display_names(people) == {
        "j1@x.org": "James Smith (Legal)", "j2@x.org": "James Smith <j2@x.org>",
        "j3@x.org": "James Smith <j3@x.org>", "ann@x.org": "Ann Lee", "nobody@x.org": "nobody@x.org"}


def test_a_lapsed_tie_names_each_department_once() -> None:
    people = [Person("t1@x.org", "Marketing", "Tariq Chen"), Person("t2@x.org", "Finance", "Tariq Chen"),
              Person("ann@x.org", "Sales", "Ann Lee")]
    console = Console(width=200, record=True)
    console.print(lapsed_table([("t1@x.org", "ann@x.org", 3.0)], display_names(people, True)))
    text = console.export_text()
    assert "Tariq Chen (Marketing) " in text and "Marketing, Marketing" not in text
    assert "Ann Lee, Sales" in text


def test_no_slot_is_offered_in_the_past() -> None:
    """As of a day in 2024, on today's clock: the analysis stands then, the slots come later."""
    now = dt.datetime.now(dt.UTC)
    out, err = _analyze("--as-of", AS_OF)
    starts = [dt.datetime.fromisoformat(s["start"]) for s in out["suggestions"]  # type: ignore[attr-defined]
              if s["start"]]
    assert starts and min(starts) > now
    assert "slots are looked for from today, never in the past" in err
    explained = CliRunner().invoke(main, ["rules", "explain", _rules_file(), "--data", str(GOLDEN),
                                          "--as-of", AS_OF])
    assert explained.exit_code == 0, explained.output
    days = re.findall(r"slot \w{3} (\d{4}-\d{2}-\d{2}) ", explained.stdout)
    assert days and min(dt.date.fromisoformat(d) for d in days) >= now.date()


def _rules_file() -> str:
    return str(ROOT / "tests" / "golden" / "defaults" / "rules.yaml")


def test_every_department_name_is_checked(tmp_path: Path) -> None:
    rules = _rules(tmp_path, "seams:\n  ignore_pairs:\n    - Lgal / Trading\n    - [Research, Tradng]\n"
                   "  pairs:\n    - departments: Legal / Facilties\n")
    result = CliRunner().invoke(main, ["rules", "check", rules, "--data", str(GOLDEN)])
    assert result.exit_code == 2
    assert f"{rules}:3:7: seams.ignore_pairs[0]: unknown department 'Lgal' (did you mean 'Legal'?)" \
        in result.stderr
    assert "seams.ignore_pairs[1][1]: unknown department 'Tradng' (did you mean 'Trading'?)" \
        in result.stderr
    assert "seams.pairs[0].departments: unknown department 'Facilties' (did you mean 'Facilities'?)" \
        in result.stderr
    as_json = CliRunner().invoke(main, ["rules", "check", rules, "--data", str(GOLDEN), "--json"])
    assert as_json.exit_code == 2 and len(json.loads(as_json.stdout)["problems"]) == 3
