"""End to end on real servers: Radicale + Dovecot + aiosmtpd -> ``bridgework run --once``.

A small organisation whose Legal/Sales seam went quiet is seeded into the
servers; one run must find that seam (and no other), place each hold on the
CalDAV server exactly once, and send digests that aiosmtpd receives. A rerun
changes nothing, and a run killed part-way then rerun still leaves each hold
once and each digest sent once.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from agent.cli import main
from connectors.caldav.events import MARK_PROPERTY
from tests.fakes.schedule import digests_due_now
from tests.servers.dovecot import MASTER, MASTER_PASSWORD, Dovecot
from tests.servers.org import Org, seed
from tests.servers.radicale import ADMIN, ADMIN_PASSWORD, Radicale
from tests.servers.smtp import SmtpServer
from tests.servers.world import private_file

KEY = "caldav-e2e-key-0123456789abcdef"


@pytest.fixture
def org(radicale: Radicale, dovecot: Dovecot, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Org:
    monkeypatch.setenv("BRIDGEWORK_SECRET_KEY", KEY)
    return seed(radicale, dovecot, tmp_path / "people.csv", dt.datetime.now(dt.UTC))


def config(tmp: Path, radicale: Radicale, dovecot: Dovecot, smtp: SmtpServer) -> Path:
    rules = tmp / "rules.yaml"
    rules.write_text(yaml.safe_dump({"meetings": {"mode": "hold"},
                                     "digests": {**digests_due_now(),
                                                 "admins": ["p000@example.org"]}}))
    path = tmp / "bridgework.yaml"
    path.write_text(yaml.safe_dump({
        "source": {"type": "caldav", "url": radicale.url, "people": "people.csv",
                   "username": ADMIN,
                   "password_file": str(private_file(tmp / "caldav.secret", ADMIN_PASSWORD)),
                   "backoff_seconds": 0.01, "max_retries": 2,
                   "imap": {"host": "127.0.0.1", "port": dovecot.port, "security": "none",
                            "username": MASTER, "password_file": "imap.secret"}},
        "rules": "rules.yaml",
        "store": {"path": "store"},
        "digest": {"sender": "bridgework@example.org",
                   "smtp": {"host": "127.0.0.1", "port": smtp.port, "security": "none",
                            "backoff_seconds": 0}},
        "daemon": {"health_port": None},
    }))
    private_file(tmp / "imap.secret", MASTER_PASSWORD)
    return path


def run(path: Path) -> Result:
    return CliRunner().invoke(main, ["run", "--once", "--config", str(path)])


def holds(radicale: Radicale, org: Org) -> Counter[tuple[str, str]]:
    """Every marked event on the server, by (calendar owner, href)."""
    found: Counter[tuple[str, str]] = Counter()
    for person in org.people:
        for href, data in radicale.objects(person.email).items():
            if MARK_PROPERTY in data:
                found[(person.email, href.rsplit("/", 1)[-1])] += 1
    return found


def digests(smtp: SmtpServer) -> Counter[str]:
    return Counter(str(m["Message-ID"]) for m in smtp.inbox.messages)


def assert_once(placed: Counter[tuple[str, str]]) -> None:
    assert placed, "no hold was placed"
    names = Counter(name for _, name in placed)
    assert max(names.values()) == 1  # mode hold: only the organiser's calendar carries it


def test_run_once_finds_the_seam_places_holds_once_and_sends_digests(
        org: Org, radicale: Radicale, dovecot: Dovecot, smtp: SmtpServer, tmp_path: Path) -> None:
    path = config(tmp_path, radicale, dovecot, smtp)
    first = run(path)
    assert first.exit_code == 0, first.output
    drifting = [line for line in first.output.splitlines() if "drifting" in line]
    assert len(drifting) == 1 and ("Legal / Sales" in drifting[0]
                                   or "Sales / Legal" in drifting[0]), first.output
    placed = holds(radicale, org)
    assert_once(placed)
    sent = digests(smtp)
    assert sent and max(sent.values()) == 1
    assert {str(m["To"]) for m in smtp.inbox.messages} >= {"p000@example.org"}

    second = run(path)
    assert second.exit_code == 0, second.output
    assert holds(radicale, org) == placed
    assert digests(smtp) == sent  # once a week, however often it runs


def test_a_run_killed_mid_way_then_rerun_leaves_each_hold_and_digest_once(
        org: Org, radicale: Radicale, dovecot: Dovecot, smtp: SmtpServer, tmp_path: Path) -> None:
    path = config(tmp_path, radicale, dovecot, smtp)
    storage = radicale.dir / "collections" / "collection-root"
    process = subprocess.Popen([sys.executable, "-m", "agent", "run", "--once", "--config",
                                str(path)], cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env={**os.environ, "BRIDGEWORK_SECRET_KEY": KEY})
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if any(MARK_PROPERTY in p.read_text(errors="replace")
                   for p in storage.glob("*/calendar/*.ics")):
                break  # the first hold has landed: kill it there
            time.sleep(0.02)
        killed = process.poll() is None
        if killed:
            process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    assert killed, "the run ended before any hold landed"
    landed = holds(radicale, org)
    assert landed
    again = run(path)
    assert again.exit_code == 0, again.output
    placed = holds(radicale, org)
    assert_once(placed)
    assert set(landed) <= set(placed)
    sent = digests(smtp)
    assert sent and max(sent.values()) == 1
    third = run(path)
    assert third.exit_code == 0, third.output
    assert holds(radicale, org) == placed and digests(smtp) == sent
