"""``bridgework simulate`` from the command line: the table, JSON, two rules files, --data."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from agent.cli import main
from agent.simulate import DEMO_AS_OF
from connectors.demo import generate


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["simulate", *args])
    return result.exit_code, result.output


def test_json_is_the_same_for_the_same_seed_and_compares_two_rules_files(tmp_path: Path) -> None:
    push = tmp_path / "push.yaml"
    push.write_text("meetings:\n  mode: hold\npairing:\n  per_seam_per_week: 10\n")
    args = ["--demo", "--people", "40", "--weeks", "2", "--seed", "2", "--json",
            "--rules", str(push), "--rules", str(push)]
    code, out = _run(*args)
    assert code == 0, out
    runs = json.loads(out)["runs"]
    assert [r["rules"] for r in runs] == [str(push), str(push)]
    assert runs[0]["weeks"] == runs[1]["weeks"]  # same organisation, same people, same run
    assert runs[0]["mode"] == "hold" and runs[0]["checks"]["clean"]
    assert [w["week"] for w in runs[0]["weeks"]] == ["2026-W10", "2026-W11"]
    assert {"placed", "accepted", "met", "declined", "moved", "expired", "shares"} <= \
        set(runs[0]["weeks"][0])
    assert runs[0]["seams"] and all(s["planted"] is not None for s in runs[0]["seams"])
    assert _run(*args)[1] == out


def test_the_table_and_closing_lines(tmp_path: Path) -> None:
    code, out = _run("--demo", "--people", "40", "--weeks", "2", "--seed", "2")
    assert code == 0, out
    assert "placed" in out and "2026-W10" in out and "2026-W11" in out
    assert "regained" in out and "of its lost share" in out
    assert "simulated as invite" in out  # the default rules only suggest
    assert "no cap exceeded" in out


def test_a_data_directory_starts_after_its_last_message(tmp_path: Path) -> None:
    generate(tmp_path / "data", people=30, weeks=20, seed=4, as_of=DEMO_AS_OF)
    code, out = _run("--data", str(tmp_path / "data"), "--weeks", "1", "--json")
    assert code == 0, out
    (run,) = json.loads(out)["runs"]
    assert run["as_of"] == DEMO_AS_OF.isoformat() and run["people"] == 30
    assert all(s["planted"] is None for s in run["seams"])


def test_bad_arguments_are_named(tmp_path: Path) -> None:
    assert _run("--weeks", "2")[0] == 2
    code, out = _run("--data", str(tmp_path), "--weeks", "1")
    assert code == 2 and "people.csv is missing" in out
