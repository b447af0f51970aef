"""Idle memory of the daemon after a full cycle, at 200 and 2,000 people.

Starts the real daemon (`bridgework run`) on a demo organisation, waits for its
startup cycle (sync, upkeep, analysis and holds, digests) to finish, then reads
the resident set size of the daemon and of anything it left running, and stops
it with SIGTERM. The target is at most 100 MiB idle at 2,000 people.

    .venv/bin/python bench/daemon_idle.py [--people 200 2000] [--weeks 26]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connectors.demo import generate  # noqa: E402


def rss_kib(pid: int) -> int:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0  # a job process that ended meanwhile
    for line in lines:
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def descendants(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == pid:
                found += [int(entry.name), *descendants(int(entry.name))]
    return found


def measure(people: int, weeks: int, folder: Path) -> tuple[float, float, float]:
    data = folder / f"data-{people}"
    generate(data, people=people, weeks=weeks, seed=1, as_of=dt.date.today())
    config = folder / f"config-{people}.yaml"
    config.write_text(f"timezone: UTC\nsource: {{type: files, path: {data}, outbox: {folder}/out-{people}}}\n"
                      f"store: {{path: {folder}/state-{people}}}\ndaemon: {{health_port: null}}\n")
    log = folder / f"daemon-{people}.log"
    env = dict(os.environ, BRIDGEWORK_SECRET_KEY="bench-key-0123456789abcdef")
    started = time.monotonic()
    with log.open("wb") as out:
        daemon = subprocess.Popen([sys.executable, "-m", "agent", "run", "--config", str(config)],
                                  stdout=out, stderr=out, env=env, cwd=ROOT)
    peak = 0
    while "scheduled:" not in log.read_text(errors="replace"):
        if daemon.poll() is not None:
            raise SystemExit(f"the daemon stopped:\n{log.read_text()}")
        peak = max(peak, sum(rss_kib(p) for p in [daemon.pid, *descendants(daemon.pid)]))
        time.sleep(0.1)
    cycle = time.monotonic() - started
    time.sleep(1.0)
    idle = sum(rss_kib(p) for p in [daemon.pid, *descendants(daemon.pid)])
    daemon.send_signal(signal.SIGTERM)
    daemon.wait(60)
    return idle / 1024, peak / 1024, cycle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--weeks", type=int, default=26)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bridgework-idle-") as tmp:
        for people in args.people:
            idle, peak, cycle = measure(people, args.weeks, Path(tmp))
            print(f"{people:>6,} people: idle RSS {idle:6.1f} MiB after a cycle of {cycle:5.1f} s "
                  f"(peak during the cycle {peak:6.1f} MiB, daemon and job together)")


if __name__ == "__main__":
    main()
