"""The real daemon against the fake Graph server: /metrics counts API requests by status."""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

from tests.fakes.graph import FakeGraph, Fault
from tests.microsoft.test_faults import DELTA

ROOT = Path(__file__).resolve().parents[2]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_daemon_metrics_count_graph_requests_by_status(fake: FakeGraph, tmp_path: Path) -> None:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    for i in range(3):
        fake.tenant.add_user(f"p{i}@example.org", f"Person {i}", f"D{i}", "Engineer")
    for i in range(3):
        fake.tenant.add_meeting(f"p{i}@example.org", [f"p{(i + 1) % 3}@example.org"],
                                start, start + dt.timedelta(minutes=30))
    fake.faults.append(Fault(DELTA, 429, times=2, retry_after="0"))
    port = _port()
    config = tmp_path / "bridgework.yaml"
    config.write_text(yaml.safe_dump({
        "source": fake.settings_dict(backoff_seconds=0.01, max_backoff_seconds=0.05),
        "store": {"path": str(tmp_path / "store")},
        "daemon": {"health_port": port},
    }))
    env = {**os.environ, "BRIDGEWORK_SECRET_KEY": "metrics-test-key-0123456789"}
    log = tmp_path / "daemon.log"
    with log.open("wb") as out:
        daemon = subprocess.Popen([sys.executable, "-m", "agent", "run", "--config", str(config)],
                                  env=env, stdout=out, stderr=out, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while "scheduled:" not in log.read_text() and daemon.poll() is None:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    finally:
        daemon.terminate()
        daemon.wait(20)
    found = {m["status"]: float(m["n"]) for m in re.finditer(
        r'bridgework_api_requests_total\{service="microsoft",status="(?P<status>[^"]+)"\} '
        r"(?P<n>[0-9.]+)", body)}
    assert found.get("429") == 2.0, (found, log.read_text())
    assert found.get("200", 0) >= 3  # the directory and each calendar, at least
