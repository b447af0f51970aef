"""Data protection end to end on a data directory: the audit log, forget, export, retention.

Each test runs the real command line in this process on a small demo organisation,
with the clock pinned to a Monday morning (the week's holds and digests are due).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import icalendar
import numpy as np
import pytest
import time_machine
from click.testing import CliRunner, Result

from agent.audit import entries
from agent.cli import main
from agent.ledger import week_of
from agent.lifecycle import Stage
from agent.store import SuggestionRecord, TinyStore, lock_store
from tests.ops.daemon import KEY, NOW, World, make_data, make_world

MOMENT = dt.datetime.fromisoformat(NOW)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("BRIDGEWORK_SECRET_KEY", KEY)
    made = make_world(tmp_path / "world", make_data(tmp_path))
    with time_machine.travel(MOMENT, tick=False):
        yield made


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def run_once(world: World) -> None:
    result = cli("run", "--once", "--config", str(world.config))
    assert result.exit_code == 0, result.output


def export(world: World, email: str) -> dict[str, Any]:
    result = cli("export", email, "--config", str(world.config))
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def holds(world: World) -> dict[str, set[str]]:
    """Hold id -> everyone on it, as holds.ics has them."""
    cal = icalendar.Calendar.from_ical((world.outbox / "holds.ics").read_bytes())
    out = {}
    for event in cal.walk("VEVENT"):
        people = {str(event["ORGANIZER"]).removeprefix("mailto:")}
        attendees = event.get("ATTENDEE", [])
        for a in attendees if isinstance(attendees, list) else [attendees]:
            people.add(str(a).removeprefix("mailto:"))
        out[str(event["UID"])] = people
    return out


def digests_to(world: World) -> dict[str, str]:
    """Each digest in the outbox (by file name) and who it went to."""
    found = {}
    for eml in sorted((world.outbox / "digests").glob("*.eml")):
        to = next(line for line in eml.read_text().splitlines() if line.startswith("To:"))
        found[eml.name] = to.removeprefix("To:").strip()
    return found


def test_the_audit_log_has_every_hold_placed_and_every_digest_sent(world: World) -> None:
    run_once(world)
    log = world.store / "audit.jsonl"
    assert log.stat().st_mode & 0o777 == 0o600
    lines = list(entries(world.store))
    placed = [e for e in lines if e["action"] == "place"]
    mailed = [e for e in lines if e["action"] == "mail"]
    assert placed and {e["hold"] for e in placed} == set(holds(world))
    assert len(mailed) == len(digests_to(world)) > 0
    assert {e["week"] for e in mailed} == {"2026-W45"}
    assert all(e["at"] == NOW for e in lines)
    for e in placed:
        assert len(e["people"]) >= 2 and all(len(p) == 32 for p in e["people"])
    assert b"@" not in log.read_bytes()  # pseudonyms only
    run_once(world)  # the same day again: nothing new written, so nothing new logged
    assert len(list(entries(world.store))) == len(lines)


def test_forget_then_export_shows_nothing_and_they_stay_out(world: World) -> None:
    run_once(world)
    before_holds = holds(world)
    sent_to = set(digests_to(world).values())
    who = next(p for people in before_holds.values() for p in sorted(people) if p in sent_to)
    theirs = {h for h, people in before_holds.items() if who in people}
    before = export(world, who)
    assert before["ledger_weeks"] and before["suggestions"] and before["digests"]
    assert {s["id"] for s in before["suggestions"]} >= theirs
    pseudonym = before["pseudonym"]
    store = TinyStore(world.store)  # they had asked for a pause ("not now") too
    store.add_pause(pseudonym, dt.datetime.fromisoformat(NOW))
    store.close()
    assert export(world, who)["pause_asked"] is not None
    index = json.loads((world.store / "ledger" / "people.json").read_text()).index(pseudonym)

    result = cli("forget", who, "--config", str(world.config), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["state"] == "forgotten" and report["released"] == len(theirs)
    assert report["records"] >= len(theirs) and report["digests"] >= 1
    assert report["ledger_rows"] == sum(w["contacts"] for w in before["ledger_weeks"])

    # their holds are off the calendar, everyone else's are still there
    assert set(holds(world)) == set(before_holds) - theirs
    # the ledger no longer holds their pseudonym, nor any row of their position
    for path in (world.store / "ledger").iterdir():
        assert pseudonym.encode() not in path.read_bytes(), path
        if path.suffix == ".npz":
            with np.load(path) as week:
                assert index not in week["a"] and index not in week["b"], path
    after = export(world, who)
    assert after["forgotten"]["done"] is True
    assert (after["ledger_weeks"], after["suggestions"], after["digests"],
            after["future_meetings"], after["opted_out"], after["pause_asked"]
            ) == ([], [], [], 0, False, None)
    actions = [e["action"] for e in after["audit"]]
    assert actions.count("release") == len(theirs) and actions[-1] == "forget"

    # they stay out: new mail of theirs is not counted, and no digest goes to them
    other = next(p for p in sent_to if p != who)
    with (world.data / "messages.jsonl").open("a") as f:
        f.write(json.dumps({"id": "after-forget", "date": "2026-11-02T08:00:00+00:00",
                            "from": who, "to": [other]}) + "\n")
    sent_before = digests_to(world)
    with time_machine.travel(MOMENT + dt.timedelta(days=7), tick=False):
        run_once(world)
        later = export(world, who)
    assert later["ledger_weeks"] == [] and later["suggestions"] == [] and later["digests"] == []
    new = {name: to for name, to in digests_to(world).items() if name not in sent_before}
    assert new and who not in new.values()  # next week's digests went, none to them
    again = cli("forget", who, "--config", str(world.config), "--json")
    assert json.loads(again.stdout)["state"] == "forgotten"


def test_forget_while_the_store_is_held_waits_for_the_next_job(world: World) -> None:
    run_once(world)
    who = sorted(next(iter(holds(world).values())))[0]
    with lock_store(world.store):  # as a running daemon holds it
        queued = cli("forget", who, "--config", str(world.config), "--json")
        assert queued.exit_code == 0, queued.output
        assert json.loads(queued.stdout)["state"] == "queued"
        assert export(world, who)["forgotten"] is None  # export reads without the lock
    assert (world.store / "forget.inbox").stat().st_mode & 0o777 == 0o600
    assert who.encode() not in (world.store / "forget.inbox").read_bytes()
    run_once(world)
    after = export(world, who)
    assert after["forgotten"]["done"] is True
    assert after["ledger_weeks"] == [] and after["suggestions"] == []
    assert all(who not in people for people in holds(world).values())


def test_retention_prunes_old_ledger_weeks_records_and_digests(world: World) -> None:
    rules = world.root / "rules.yaml"
    kept = rules.read_text()
    rules.write_text(kept + "privacy:\n  retention_weeks: 200\n")
    old = MOMENT - dt.timedelta(weeks=80)
    people = [line.split(",")[0] for line in
              (world.data / "people.csv").read_text().splitlines()[1:3]]
    with (world.data / "messages.jsonl").open("a") as f:
        f.write(json.dumps({"id": "old-1", "date": old.isoformat(), "from": people[0],
                            "to": [people[1]]}) + "\n")
    run_once(world)
    old_week = world.store / "ledger" / f"week-{week_of(old):05d}.npz"
    old_parts = list((world.store / "ledger").glob(f"week-{week_of(old):05d}*.npz"))
    assert old_parts, "the old message is counted while retention covers it"
    store = TinyStore(world.store)
    recent = {r.id for r in store.suggestions()}
    store.save_suggestion(SuggestionRecord("old-hold", ("a" * 32, "b" * 32), ("x", "y"), "r",
                                           week_of(old), old.isoformat(), Stage.MET, "hold"))
    store.mark_digest_sent("old-digest", old)
    store.close()

    rules.write_text(kept)  # back to the default retention, 60 weeks
    with time_machine.travel(MOMENT + dt.timedelta(hours=1), tick=False):
        run_once(world)
    assert not old_week.exists()
    assert not list((world.store / "ledger").glob(f"week-{week_of(old):05d}*.npz"))
    assert list((world.store / "ledger").glob("week-*.npz"))  # recent weeks stay
    store = TinyStore(world.store)
    assert {r.id for r in store.suggestions()} == recent
    digests = store.digests()
    assert "old-digest" not in digests and digests  # this week's digests stay
    store.close()


def test_a_calendar_that_fails_leaves_the_forgetting_to_the_next_job(world: World) -> None:
    run_once(world)
    who = sorted(next(iter(holds(world).values())))[0]
    theirs = {h for h, people in holds(world).items() if who in people}
    ics = world.outbox / "holds.ics"
    good = ics.read_bytes()
    ics.write_bytes(b"not a calendar")  # the calendar cannot be read: nothing can be released
    failed = cli("forget", who, "--config", str(world.config), "--json")
    assert failed.exit_code == 2
    report = json.loads(failed.stdout)
    assert report["state"] == "waiting" and set(report["waiting"]) == theirs
    middle = export(world, who)
    assert middle["forgotten"]["done"] is False and middle["ledger_weeks"] == []
    assert {s["id"] for s in middle["suggestions"]} == theirs  # kept until their holds are off
    ics.write_bytes(good)
    run_once(world)  # the next job finishes it
    after = export(world, who)
    assert after["forgotten"]["done"] is True and after["suggestions"] == []
    assert not theirs & set(holds(world))
