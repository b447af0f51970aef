"""`rules explain` and `rules diff` through the CLI, on the golden organisation."""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.cli import main
from agent.dryrun import dry_run
from rules.loader import load_rules_text

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
DATA = GOLDEN / "defaults" / "data"
AS_OF = "2024-06-03"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_diff_shows_added_and_removed_suggestions(tmp_path: Path) -> None:
    old = tmp_path / "old.yaml"
    new = tmp_path / "new.yaml"
    old.write_text("# defaults\n")
    new.write_text("participants:\n  opt_out: [alf@example.com]\npairing:\n  per_seam_per_week: 1\n")
    code, output = run("rules", "diff", str(old), str(new), "--data", str(DATA), "--as-of", AS_OF)
    assert code == 0, output
    assert output.startswith("As of 2024-06-03: 3 suggestion(s) before, 1 after\n")
    assert "People left out\n  + alf@example.com: opted out\n" in output
    assert "  - alf@example.com + bea@example.com (reconnect, Legal / Trading" in output
    assert "(1 unchanged)" in output


def test_diff_of_identical_rules_says_no_change(tmp_path: Path) -> None:
    same = tmp_path / "same.yaml"
    same.write_text("extends: gentle\n")
    code, output = run("rules", "diff", str(same), str(same), "--data", str(DATA), "--as-of", AS_OF)
    assert code == 0
    assert "Suggestions\n  no change\n  (3 unchanged)\n" in output


def test_diff_reports_mode_and_seam_changes(tmp_path: Path) -> None:
    old = tmp_path / "old.yaml"
    new = tmp_path / "new.yaml"
    old.write_text("")
    new.write_text("seams:\n  ignore_pairs: [Legal / Trading]\nmeetings:\n  mode: invite\n")
    _, output = run("rules", "diff", str(old), str(new), "--data", str(DATA), "--as-of", AS_OF)
    assert "Flagged seams\n  - Legal / Trading\n" in output
    assert "Mode: suggest -> invite" in output


def test_explain_refuses_bad_rules_with_located_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("participants:\n  exclude_departments: [Legl]\n")
    code, output = run("rules", "explain", str(bad), "--data", str(DATA), "--as-of", AS_OF)
    assert code == 2
    assert f"{bad}:2:25: participants.exclude_departments[0]: unknown department 'Legl' " \
           "(did you mean 'Legal'?)" in output


@pytest.mark.parametrize("args, message", [
    (["--as-of", "June"], "--as-of: expected a date like 2024-06-03 (YYYY-MM-DD), got 'June'"),
    (["--as-of", AS_OF, "--history", "missing.jsonl"], "cannot read missing.jsonl"),
])
def test_explain_bad_options(tmp_path: Path, args: list[str], message: str,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules.yaml").write_text("")
    code, output = run("rules", "explain", "rules.yaml", "--data", str(DATA), *args)
    assert code == 2 and message in output and "Traceback" not in output


def test_bad_history_line_is_located(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("")
    history = tmp_path / "history.jsonl"
    history.write_text('{"people": ["ann@example.com", "ben@example.com"], "date": "2024-05-01"}\n'
                       '{"people": "nobody"}\n')
    code, output = run("rules", "explain", str(rules), "--data", str(DATA), "--as-of", AS_OF,
                       "--history", str(history))
    assert code == 2 and f"{history}:2: expected" in output


def test_check_with_data_directory() -> None:
    code, output = run("rules", "check", str(GOLDEN / "named-pair-thresholds" / "rules.yaml"),
                       "--data", str(DATA))
    assert code == 0
    assert output.startswith("OK: ") and "department names checked against 4 in the data" in output


def test_whatif_leaves_the_data_directory_alone() -> None:
    before = sorted(p.name for p in DATA.iterdir())
    dry_run(DATA, load_rules_text("meetings:\n  mode: invite\n", "r.yaml"), dt.date(2024, 6, 3))
    assert sorted(p.name for p in DATA.iterdir()) == before


def test_circle_and_pair_together_respect_the_weekly_cap() -> None:
    rules = load_rules_text("extends: leadership-peers\npairing:\n  circles:\n    size: 4\n", "r.yaml")
    outcome = dry_run(DATA, rules, dt.date(2024, 6, 3))
    counts = Counter(e for item in outcome.plans for e in item.suggestion.emails)
    assert max(counts.values()) <= rules.pairing.per_person_per_week, counts


def _problems(output: str, data: Path) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.strip().startswith(str(data))]


def test_explain_and_analyze_report_the_same_skipped_input(tmp_path: Path) -> None:
    """One dry run behind both: a bad person, event and message are named by each, alike."""
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    with open(data / "people.csv", "a") as handle:
        handle.write("not-an-address,Nobody,Legal,Clerk,1,,Europe/London\n")
    with open(data / "events.jsonl", "a") as handle:
        handle.write('{"id": "x", "start": "2024-05-01T10:00:00+00:00", "organizer": 7}\n')
    (data / "messages.jsonl").write_text(
        '{"id": "m1", "date": "2024-05-02T09:00:00+00:00", "from": "ann@example.com", '
        '"to": ["ben@example.com"]}\n{"id": "m2", "date": "yesterday"}\n')
    rules = tmp_path / "rules.yaml"
    rules.write_text("")
    code, explained = run("rules", "explain", str(rules), "--data", str(data), "--as-of", AS_OF)
    assert code == 0, explained
    analyzed = CliRunner().invoke(main, ["analyze", "--data", str(data), "--as-of", AS_OF])
    assert analyzed.exit_code == 0, analyzed.output
    problems = _problems(explained, data)
    assert problems == _problems(analyzed.stderr, data)
    assert [line.split(":")[0] for line in problems] == [
        str(data / "people.csv"), str(data / "events.jsonl"), str(data / "messages.jsonl")]
    assert problems[0].endswith("email is not an address; skipped")
    assert "Data: 12 people in 4 departments, " in explained
