"""The real daemon as a subprocess, on a small demo organisation with a pinned clock."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import icalendar

from connectors.demo import generate

ROOT = Path(__file__).resolve().parents[2]
BOOT = Path(__file__).with_name("boot")
AS_OF = dt.date(2026, 11, 2)  # a Monday: the day's analysis and the week's digests are due
NOW = "2026-11-02T09:00:00+00:00"
KEY = "ops-test-key-0123456789abcdef"
RULES = """extends: default
meetings:
  mode: hold
digests:
  day: monday
  time: "08:00"
  timezone: UTC
"""


def make_data(folder: Path, people: int = 30, weeks: int = 16) -> Path:
    data = folder / "data"
    generate(data, people=people, weeks=weeks, seed=1, as_of=AS_OF)
    return data


@dataclass
class World:
    root: Path
    data: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def store(self) -> Path:
        return self.root / "state"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def log(self) -> Path:
        return self.root / "daemon.log"


def make_world(root: Path, data: Path, health_port: int | None = None) -> World:
    root.mkdir(parents=True, exist_ok=True)
    world = World(root, data)
    (root / "rules.yaml").write_text(RULES)
    port = "null" if health_port is None else str(health_port)
    world.config.write_text(
        f"timezone: UTC\nsource:\n  type: files\n  path: {data}\n  outbox: {world.outbox}\n"
        f"store:\n  path: {world.store}\nrules: {root / 'rules.yaml'}\n"
        f"daemon:\n  analyze_at: '06:00'\n  health_port: {port}\n")
    return world


def start(world: World, *args: str, **env: str) -> subprocess.Popen[bytes]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BW_TEST_")}
    environment.update(PYTHONPATH=os.pathsep.join([str(BOOT), str(ROOT)]), BW_TEST_NOW=NOW,
                       BRIDGEWORK_SECRET_KEY=KEY, **env)
    with world.log.open("ab") as log:
        return subprocess.Popen([sys.executable, "-m", "agent", "run", "--config", str(world.config),
                                 *args], stdout=log, stderr=log, env=environment, cwd=world.root,
                                start_new_session=True)


def wait_for(world: World, text: str, process: subprocess.Popen[bytes], timeout: float = 60) -> bool:
    """True once ``text`` is in the log; False if the process ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if world.log.exists() and text in world.log.read_text(errors="replace"):
            return True
        if process.poll() is not None:
            return text in world.log.read_text(errors="replace")
        time.sleep(0.05)
    raise TimeoutError(f"{text!r} not in the log after {timeout} s:\n{world.log.read_text()}")


def stop(process: subprocess.Popen[bytes], timeout: float = 10) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    return process.wait(timeout)


def run_to_idle(world: World, **env: str) -> int:
    """Start the daemon, let its startup catch-up finish, stop it; the exit code."""
    process = start(world, **env)
    if wait_for(world, "scheduled:", process):
        return stop(process)
    return process.wait(30)


def outcome(world: World) -> tuple[frozenset[tuple[str, ...]], frozenset[tuple[str, str]]]:
    """The holds on the calendar and the digests sent, as comparable sets."""
    holds: set[tuple[str, ...]] = set()
    ics = world.outbox / "holds.ics"
    if ics.exists():
        for event in icalendar.Calendar.from_ical(ics.read_bytes()).walk("VEVENT"):
            attendees = event.get("ATTENDEE", [])
            attendees = attendees if isinstance(attendees, list) else [attendees]
            holds.add((str(event["UID"]), event.decoded("DTSTART").isoformat(),
                       event.decoded("DTEND").isoformat(), *sorted(str(a) for a in attendees)))
    digests = set()
    for eml in sorted((world.outbox / "digests").glob("*.eml")):
        to = next((line for line in eml.read_text(errors="replace").splitlines()
                   if line.startswith("To:")), "")
        digests.add((eml.name, to))
    return frozenset(holds), frozenset(digests)
