"""``bridgework holds list|explain|release`` end to end, over a data directory's calendar."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import icalendar
import pytest
from click.testing import CliRunner, Result

from agent.audit import entries
from agent.cli import main
from agent.store import TinyStore, lock_store
from agent.uninstall import RELEASED_ALL_KEY
from connectors.files.ics import MARK_PROPERTY
from tests.core.test_cli import config, data

KEY = "holds-cli-test-key-0123456789"


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A config over a data directory, after one cycle that placed holds (invite mode)."""
    monkeypatch.setenv("BRIDGEWORK_SECRET_KEY", KEY)
    directory = data(tmp_path)
    cfg = config(tmp_path, directory)
    ran = CliRunner().invoke(main, ["run", "--once", "--config", str(cfg)])
    assert ran.exit_code == 0, ran.output
    return cfg, directory


def holds(cfg: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["holds", *args, "--config", str(cfg)])


def listed(cfg: Path, *args: str) -> dict[str, object]:
    result = holds(cfg, "list", "--json", *args)
    assert result.exit_code == 0, result.output
    out: dict[str, object] = json.loads(result.output)
    return out


def marked_uids(directory: Path) -> list[str]:
    path = directory / "outbox" / "holds.ics"
    if not path.exists():
        return []
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    return [str(ev["UID"]) for ev in cal.walk("VEVENT") if ev.get(MARK_PROPERTY)]


def test_list_filters_and_rates(setup: tuple[Path, Path]) -> None:
    cfg, _ = setup
    everything = listed(cfg)
    rows = everything["holds"]
    assert isinstance(rows, list) and len(rows) == 5
    assert {r["state"] for r in rows} == {"held"}
    assert [t["stage"] for t in rows[0]["transitions"]] == ["suggested", "planned", "held"]
    assert len(listed(cfg, "--state", "held")["holds"]) == 5  # type: ignore[arg-type]
    assert listed(cfg, "--state", "met")["holds"] == []
    person = rows[0]["people"][1]
    mine = listed(cfg, "--person", person.upper())["holds"]
    assert mine and all(person in r["people"] for r in mine)  # type: ignore[union-attr]
    week = rows[0]["week"]
    assert len(listed(cfg, "--week", week)["holds"]) == 5  # type: ignore[arg-type]
    assert listed(cfg, "--week", "2020-W01")["holds"] == []
    rates = everything["rates"]
    assert isinstance(rates, dict)
    assert rates["by_seam"] == [{"group": "Legal / Sales", "held": 5, "accepted": 0, "met": 0,
                                 "declined": 0, "expired": 0, "acceptance": 0.0,
                                 "met_rate": 0.0}]
    assert {r["group"] for r in rates["by_reason"]} <= {"drifting seam", "lapsed tie", "peer"}
    table = holds(cfg, "list")
    assert table.exit_code == 0 and "by seam" in table.output and "renewed ties" in table.output
    first = dt.datetime.fromisoformat(rows[0]["start"]).astimezone(dt.UTC)  # type: ignore[index]
    assert "time (UTC)" in table.output and f"{first:%a %d %b %Y %H:%M}" in table.output
    assert holds(cfg, "list", "--week", "2026-53").exit_code == 2


def test_explain_tells_why_and_every_transition(setup: tuple[Path, Path]) -> None:
    cfg, _ = setup
    row = listed(cfg)["holds"][0]  # type: ignore[index]
    text = holds(cfg, "explain", row["id"][:8])
    assert text.exit_code == 0, text.output
    for part in ("why these people:", "the seam Legal / Sales was drifting", "why this time:",
                 "inside the rules' hours 10:00-16:00", "what happened:", "put on the calendar",
                 "on a calendar now: yes"):
        assert part in text.output
    as_json = json.loads(holds(cfg, "explain", row["id"], "--json").output)
    assert as_json["id"] == row["id"] and as_json["why_people"] and as_json["why_time"]
    missing = holds(cfg, "explain", "zzzz")
    assert missing.exit_code == 2 and "no hold has the id" in missing.output


def test_explain_names_who_caused_a_transition(setup: tuple[Path, Path]) -> None:
    cfg, _ = setup
    row = listed(cfg)["holds"][0]  # type: ignore[index]
    person = row["people"][0]
    runner = CliRunner()
    assert runner.invoke(main, ["opt-out", person, "--config", str(cfg)]).exit_code == 0
    assert runner.invoke(main, ["run", "--once", "--config", str(cfg)]).exit_code == 0
    text = holds(cfg, "explain", row["id"]).output
    assert f"someone in it opted out or is left out by the rules ({person})" in text


def test_release_one_then_all_leaves_no_marked_event(setup: tuple[Path, Path], tmp_path: Path) -> None:
    cfg, directory = setup
    rows = listed(cfg)["holds"]
    assert isinstance(rows, list) and len(marked_uids(directory)) == 5
    one = holds(cfg, "release", rows[0]["id"], "--json")
    assert one.exit_code == 0, one.output
    assert json.loads(one.output)["released"] == [rows[0]["id"]]
    assert len(marked_uids(directory)) == 4
    assert listed(cfg, "--state", "cancelled")["holds"][0]["transitions"][-1]["cause"] \
        == "released"  # type: ignore[index]
    dry = holds(cfg, "release", "--all", "--dry-run")
    assert dry.exit_code == 0 and "would release 4 hold(s)" in dry.output
    assert len(marked_uids(directory)) == 4
    with lock_store(tmp_path / "state"):  # the daemon is running: refused
        busy = holds(cfg, "release", "--all")
    assert busy.exit_code == 2 and "another Bridgework process" in busy.output
    done = holds(cfg, "release", "--all")
    assert done.exit_code == 0, done.output
    assert "released 4 hold(s)" in done.output and "no event with Bridgework's mark" in done.output
    assert marked_uids(directory) == []
    released = [e["hold"] for e in entries(tmp_path / "state") if e["action"] == "release"]
    assert sorted(released) == sorted(r["id"] for r in rows)  # type: ignore[index]
    after = listed(cfg)["holds"]
    assert all(not r["on_calendar"] for r in after)  # type: ignore[union-attr]
    assert [r["transitions"][-1]["cause"] for r in after] == ["uninstall"] * 5  # type: ignore[index]
    first = next(r for r in after if r["id"] == rows[0]["id"])  # type: ignore[index]
    assert [t["cause"] for t in first["transitions"]][-2:] == ["released", "uninstall"]
    store = TinyStore(tmp_path / "state")
    stamp = store.meta(RELEASED_ALL_KEY)
    assert stamp is not None and dt.datetime.fromisoformat(stamp).tzinfo is not None
    again = holds(cfg, "release", "--all", "--json")
    assert json.loads(again.output)["released"] == []
    assert holds(cfg, "release").exit_code == 2  # neither an id nor --all
