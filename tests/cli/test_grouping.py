"""``departments.groups`` end to end: analysis, pairing and holds see the groups."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from agent.cli import main
from tests.cli.conftest import ROOT
from tests.core.datadir import write_datadir
from tests.core.synth import make_org

GOLDEN = ROOT / "tests" / "golden" / "defaults" / "data"
TODAY = dt.datetime.now(dt.UTC).replace(hour=8, minute=0, second=0, microsecond=0)


def _analysis(*extra: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["analyze", "--data", str(GOLDEN), "--as-of", "2024-06-03",
                                       "--json", *extra])
    assert result.exit_code == 0, result.output
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def _by_seam(analysis: dict[str, Any]) -> dict[frozenset[str], dict[str, Any]]:
    return {frozenset(p["departments"]): p for p in analysis["pairs"]}


def test_a_group_is_one_department_whose_contact_is_its_members(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("departments:\n  groups:\n    Operations: [Facilities, Research]\n")
    apart, grouped = _by_seam(_analysis()), _by_seam(_analysis("--rules", str(rules)))
    assert set(grouped) == {frozenset(p) for p in (
        ("Legal", "Trading"), ("Legal", "Operations"), ("Operations", "Trading"))}
    # Legal's contact with Operations is its contact with Facilities and with Research
    for other in ("Legal", "Trading"):
        parts = [apart.get(frozenset((other, d))) for d in ("Facilities", "Research")]
        seam = grouped[frozenset((other, "Operations"))]
        for field in ("baseline_volume", "recent_volume"):
            assert seam[field] == sum(p[field] for p in parts if p is not None)
        for field in ("baseline_per_week", "recent_per_week"):
            assert seam["ties"][field] == sum(p["ties"][field] for p in parts if p is not None)
    # Facilities / Research is now inside one department: no seam at all
    assert not any({"Facilities", "Research"} & set(seam) for seam in grouped)
    assert grouped[frozenset(("Legal", "Trading"))]["drifting"]


def test_holds_pair_people_across_groups_only(tmp_path: Path) -> None:
    data = write_datadir(make_org(as_of=TODAY, drift=("Legal", "Sales")), tmp_path / "data")
    rules = tmp_path / "rules.yaml"
    rules.write_text("meetings:\n  mode: hold\n"
                     "departments:\n  groups:\n    Corporate: [Legal, Finance]\n")
    config = tmp_path / "config.yaml"
    config.write_text(f"source:\n  type: files\n  path: {data}\nstore:\n  path: {tmp_path / 's'}\n"
                      f"rules: {rules}\n")
    cycle = CliRunner().invoke(main, ["run", "--once", "--json", "--config", str(config)])
    assert cycle.exit_code == 0, cycle.output
    assert json.loads(cycle.stdout)["holds"]["placed"] > 0
    listed = CliRunner().invoke(main, ["holds", "list", "--json", "--config", str(config)])
    holds = json.loads(listed.stdout)["holds"]
    assert holds and {tuple(sorted(h["departments"])) for h in holds} == {("Corporate", "Sales")}
    department = {line.split(",")[0]: line.split(",")[2]
                  for line in (data / "people.csv").read_text().splitlines()[1:]}
    for hold in holds:
        raw = sorted(department[p] for p in hold["people"])
        assert raw in (["Legal", "Sales"], ["Finance", "Sales"])  # never Legal with Finance
    ics = (data / "outbox" / "holds.ics").read_text()
    assert ics.count("BEGIN:VEVENT") == len(holds)

    # naming a grouped department in the rules is refused, and the daemon keeps the last good
    rules.write_text(rules.read_text() + "seams:\n  ignore_departments: [Legal]\n")
    again = CliRunner().invoke(main, ["run", "--once", "--json", "--config", str(config)])
    assert again.exit_code == 2
    assert "department 'Legal' is part of the group 'Corporate'" in again.output
