"""Exactly one digest per recipient per week through a real SMTP server (aiosmtpd), however
often the job runs and even when the sending process is killed mid-send."""

from __future__ import annotations

import datetime as dt
import email
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from agent.config import load_config
from agent.engine import open_engine
from agent.store import lock_store
from connectors.demo import generate
from rules.model import WEEKDAYS
from tests.core.test_smtp import free_port

BRIDGEWORK = Path(sys.executable).parent / "bridgework"


class Inbox:
    """Keeps every message; after ``kill_after`` messages it kills ``victim`` (SIGKILL)
    before answering, as a crash right after the server took the message would."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.kill_after: int | None = None
        self.victim: int | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        if self.kill_after is not None and len(self.messages) == self.kill_after and self.victim:
            os.kill(self.victim, signal.SIGKILL)
        return "250 OK"

    def ids(self) -> Counter[str]:
        return Counter(str(m["Message-ID"]) for m in self.messages)


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _setup(tmp: Path, port: int) -> Path:
    today = dt.datetime.now(dt.UTC).date()  # the rules below speak UTC
    generate(tmp / "data", people=40, weeks=16, seed=2, as_of=today)
    (tmp / "key").write_text("k" * 32)
    (tmp / "rules.yaml").write_text(
        "meetings:\n  mode: invite\n"
        f"digests:\n  admins: [admin@demo.example]\n  day: {WEEKDAYS[today.weekday()]}\n"
        "  time: '00:00'\n  timezone: UTC\n")
    config = tmp / "config.yaml"
    config.write_text(
        f"source:\n  type: files\n  path: {tmp / 'data'}\n  outbox: {tmp / 'outbox'}\n"
        f"store:\n  path: {tmp / 'store'}\nsecret:\n  key_file: {tmp / 'key'}\n"
        f"rules: {tmp / 'rules.yaml'}\n"
        f"digest:\n  sender: bw@demo.example\n  smtp:\n    host: 127.0.0.1\n    port: {port}\n"
        "    security: none\n    backoff_seconds: 0\n")
    return config


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BRIDGEWORK), *args], capture_output=True, text=True, timeout=300,
                          check=False)


def _this_week() -> str:
    year, week, _ = dt.datetime.now(dt.UTC).isocalendar()
    return f"{year}-W{week:02d}"


def test_the_weekly_job_run_twice_sends_each_digest_once(smtp: tuple[Inbox, int], tmp_path: Path) -> None:
    inbox, port = smtp
    config = load_config(_setup(tmp_path, port))
    with lock_store(config.store.path):
        engine = open_engine(config)
        first = engine.run_once()  # today is the configured day: digests go out
        second = engine.digests()
    assert first.digests.sent > 3 and first.digests.held_back is None
    assert second.sent == 0 and second.already_sent == first.digests.sent
    assert len(inbox.messages) == first.digests.sent
    assert set(inbox.ids().values()) == {1}
    kinds = Counter(str(m["Subject"]).split(" (")[0] for m in inbox.messages)
    assert {"Your week across departments", "Bridgework admin digest"} <= set(kinds)
    for message in inbox.messages:
        types = {p.get_content_type() for p in message.walk() if not p.is_multipart()}
        assert types == {"text/plain", "text/html"}


def test_killed_mid_send_then_rerun_delivers_each_digest_exactly_once(
        smtp: tuple[Inbox, int], tmp_path: Path) -> None:
    inbox, port = smtp
    config = _setup(tmp_path, port)
    week = _this_week()
    dry = _cli("digest", "send", "--config", str(config), "--week", week, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    expected = int(dry.stdout.strip().splitlines()[-1].split()[0])
    assert expected > 3 and not inbox.messages and not (tmp_path / "store" / "state.json").exists()

    inbox.kill_after = 3
    process = subprocess.Popen([str(BRIDGEWORK), "digest", "send", "--config", str(config),
                                "--week", week], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    inbox.victim = process.pid
    process.wait(timeout=300)
    assert process.returncode == -signal.SIGKILL
    assert len(inbox.messages) == 3
    inbox.kill_after = None

    rerun = _cli("digest", "send", "--config", str(config), "--week", week)
    assert rerun.returncode == 0, rerun.stderr
    assert "1 digest(s) were interrupted" in rerun.stdout
    again = _cli("digest", "send", "--config", str(config), "--week", week)
    assert again.returncode == 0 and again.stdout.startswith("0 digest(s) sent")
    assert len(inbox.messages) == expected
    assert set(inbox.ids().values()) == {1}
