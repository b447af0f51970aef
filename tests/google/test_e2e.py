"""End to end: a fake domain of 50 people → ``bridgework run --once`` → holds, exactly once."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from agent.cli import main
from tests.fakes.google.org import Truth, populate
from tests.fakes.google.server import FakeGoogle, FakeServer, Fault
from tests.fakes.google.world import GoogleWorld
from tests.fakes.schedule import digests_due_now

INSERT = r"POST /calendar/v3/calendars/[^/]+/events\?"


def _config(world: GoogleWorld, tmp: Path, store: str) -> Path:
    s = world.settings
    rules = tmp / "rules.yaml"
    rules.write_text(yaml.safe_dump({"meetings": {"mode": "hold"}, "digests": digests_due_now()}))
    config = tmp / f"{store}.yaml"
    config.write_text(yaml.safe_dump({
        "source": {"type": "google", "domain": s.domain, "admin_subject": s.admin_subject,
                   "credentials_file": str(s.credentials_file),
                   "send_credentials_file": str(s.send_credentials_file),
                   "api_root": s.api_root, "token_uri": s.token_uri,
                   "backoff_seconds": 0.01, "backoff_max_seconds": 0.02, "max_retries": 2,
                   "timeout_seconds": 5},
        "rules": str(rules),
        "store": {"path": str(tmp / store)},
        "digest": {"sender": "bridgework@example.org"},
    }))
    return config


def _run(config: Path) -> Result:
    return CliRunner().invoke(main, ["run", "--once", "--config", str(config)])


@pytest.fixture
def domain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BRIDGEWORK_SECRET_KEY", "e2e-test-key-0123456789abcdef")
    with FakeServer(FakeGoogle()) as server:
        world = GoogleWorld(server, tmp_path, dt.datetime.now(dt.UTC))
        truth = populate(server.fake, users=50, weeks=52, now=world.now)
        yield world, truth


def _holds(fake: FakeGoogle) -> list[dict]:  # type: ignore[type-arg]
    return fake.hold_events()


def _assert_once(fake: FakeGoogle) -> None:
    holds = _holds(fake)
    assert holds, "no hold was placed"
    ids = Counter(e["id"] for e in holds)
    assert max(ids.values()) == 1
    for event in holds:  # mode hold: only the organiser's calendar carries it
        owners = [o for o, cal in fake.calendars.items() if event["id"] in cal]
        assert owners == [event["organizer"]["email"]]


def test_run_once_flags_the_seam_and_places_holds_once(domain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    world, truth = domain
    assert isinstance(truth, Truth)
    config = _config(world, tmp_path, "store")
    first = _run(config)
    assert first.exit_code == 0, first.output
    assert "Legal / Sales" in first.output or "Sales / Legal" in first.output
    drifting_line = next(line for line in first.output.splitlines() if "drifting" in line)
    assert drifting_line.count("/") == 1, drifting_line  # the planted seam and nothing else
    _assert_once(world.fake)
    placed = {e["id"] for e in _holds(world.fake)}
    inserts = world.fake.stats["events.insert"]

    second = _run(config)
    assert second.exit_code == 0, second.output
    assert {e["id"] for e in _holds(world.fake)} == placed
    assert world.fake.stats["events.insert"] == inserts
    assert world.fake.sent  # digests went out through gmail.send


def test_run_killed_mid_way_then_rerun_places_each_hold_once(domain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    world, _ = domain
    config = _config(world, tmp_path, "store")
    # After the first hold, every insert lands on the calendar but the answer never
    # comes back: the run gives up part-way, as if it had been killed.
    fault = world.fake.inject(Fault(INSERT, drop=True, land=True, after=1, times=10_000))
    broken = _run(config)
    assert "Traceback" not in broken.output
    # the cycle carries on: the holds whose answer was lost stay recorded as planned
    assert broken.exit_code == 0 and "could not be placed yet" in broken.output, broken.output
    landed = len(_holds(world.fake))
    assert landed >= 2
    world.fake.faults.remove(fault)

    again = _run(config)
    assert again.exit_code == 0, again.output
    _assert_once(world.fake)
    assert len(_holds(world.fake)) >= landed
    final = {e["id"] for e in _holds(world.fake)}
    third = _run(config)
    assert third.exit_code == 0, third.output
    assert {e["id"] for e in _holds(world.fake)} == final
