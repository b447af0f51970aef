"""A fake tenant of 50 people with a year of meetings and mail, run through the real CLI.

``bridgework run --once`` with ``source: {type: microsoft}`` and holds on must
flag the planted seams and place each hold exactly once: when the run is
repeated, and when the process is killed right after the Graph server has
created a hold, then started again.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from agent.cli import main
from connectors.demo import generate
from connectors.microsoft.calendar import MARK_PROPERTY
from tests.fakes.graph import FakeGraph, Tenant
from tests.fakes.graph.load import load_directory
from tests.fakes.schedule import digests_due_now

ROOT = Path(__file__).resolve().parents[2]
SENDER = "bridgework@demo.example"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, str]]]:
    out = tmp_path_factory.mktemp("demo")
    truth = generate(out, people=50, weeks=52, seed=3)
    return out, [tuple(sorted(p)) for p in truth.drifting_pairs]  # type: ignore[misc]


def _tenant(path: Path) -> Tenant:
    tenant = Tenant("demo.example")
    load_directory(tenant, path)
    tenant.add_user(SENDER, "Bridgework", enabled=False)  # a shared mailbox sends digests
    return tenant


def _config(tmp: Path, fake: FakeGraph) -> Path:
    rules = tmp / "rules.yaml"
    rules.write_text(yaml.safe_dump({"meetings": {"mode": "hold"}, "digests": digests_due_now()}))
    config = {
        "source": fake.settings_dict(level_attribute="employeeType", backoff_seconds=0.05,
                                     max_backoff_seconds=0.2),
        "store": {"path": str(tmp / "store")},
        "rules": str(rules),
        "digest": {"sender": SENDER},
        "daemon": {"health_port": None},
    }
    path = tmp / "bridgework.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _holds(fake: FakeGraph) -> collections.Counter[str]:
    marks: collections.Counter[str] = collections.Counter()
    for box in fake.tenant.mailboxes.values():
        for copy in box.events.values():
            mark = copy.props.get(MARK_PROPERTY.lower())
            if mark and not copy.deleted:
                marks[mark] += 1
                assert copy.meeting.show_as == "tentative" and copy.owner == copy.meeting.organizer
    return marks


def _run(config: Path) -> Any:
    env = {**os.environ, "BRIDGEWORK_SECRET_KEY": "e2e-test-key-0123456789"}
    return CliRunner().invoke(main, ["run", "--once", "--config", str(config)], env=env)


def test_run_flags_seams_and_places_holds_once(
        data: tuple[Path, list[tuple[str, str]]], tmp_path: Path) -> None:
    path, drifting = data
    with FakeGraph(tmp_path, _tenant(path)) as fake:
        config = _config(tmp_path, fake)
        first = _run(config)
        assert first.exit_code == 0, first.output
        flagged = first.output.split("drifting seam(s):", 1)[1].splitlines()[0]
        for a, b in drifting:
            assert f"{a} / {b}" in flagged or f"{b} / {a}" in flagged, first.output
        holds = _holds(fake)
        assert holds and set(holds.values()) == {1}
        assert f"holds: {len(holds)} placed" in first.output
        # each digest saved to the shared mailbox's Sent Items under its own Message-ID
        assert fake.tenant.sent_mail and all(m["saved"] and m["message_id"]
                                             for m in fake.tenant.sent_mail)
        assert max(fake.max_in_flight.values()) <= 4
        creates, digests = fake.tenant.creates, len(fake.tenant.sent_mail)
        second = _run(config)
        assert second.exit_code == 0, second.output
        assert "holds: 0 placed" in second.output
        assert _holds(fake) == holds and fake.tenant.creates == creates
        assert len(fake.tenant.sent_mail) == digests  # a digest goes once a week
        assert set(fake.selects) == {"from,toRecipients,ccRecipients,sentDateTime,internetMessageId"}


def test_killed_mid_way_then_rerun_places_each_hold_once(
        data: tuple[Path, list[tuple[str, str]]], tmp_path: Path) -> None:
    path, _ = data
    with FakeGraph(tmp_path, _tenant(path)) as fake:
        config = _config(tmp_path, fake)
        env = {**os.environ, "BRIDGEWORK_SECRET_KEY": "e2e-test-key-0123456789"}
        proc = subprocess.Popen(
            [sys.executable, "-c", "from agent.cli import main; main()", "run", "--once",
             "--config", str(config)], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

        def kill_after_second(count: int) -> None:
            if count == 2:  # the event exists now; the client never hears about it
                os.kill(proc.pid, signal.SIGKILL)

        fake.on_create = kill_after_second
        proc.communicate(timeout=120)
        assert proc.returncode == -signal.SIGKILL
        assert fake.tenant.creates == 2
        fake.on_create = None
        again = _run(config)
        assert again.exit_code == 0, again.output
        holds = _holds(fake)
        assert len(holds) > 2 and set(holds.values()) == {1}
        assert fake.tenant.creates == len(holds)
        third = _run(config)
        assert third.exit_code == 0 and "holds: 0 placed" in third.output
        assert _holds(fake) == holds
