"""Real-world calendar files, uploaded to Radicale and read back by the CalDAV connector.

The files are the test calendars shipped with icalendar and
recurring-ical-events (their wheels carry them; otherwise their source
distributions are fetched into a cache). Each becomes its own calendar of
one person. Every file must either be read or give problems named by its
calendar, none may stop the run, and the files the server refuses are
counted, not hidden.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import subprocess
import sys
import tarfile
from pathlib import Path
from zoneinfo import ZoneInfo

from connectors.base import Person
from connectors.caldav import build, events
from connectors.caldav.calendar import CalDavCalendar
from connectors.caldav.settings import CalDavSettings
from connectors.caldav.state import load
from connectors.common.clock import fixed_clock
from tests.servers.common import unavailable
from tests.servers.radicale import ADMIN, ADMIN_PASSWORD, Radicale
from tests.servers.world import private_file, write_people

OWNER = Person("p000@example.org", "Engineering")
NOW = dt.datetime(2016, 1, 1, tzinfo=dt.UTC)  # most of the files' events fall in the window
PACKAGES = ("icalendar", "recurring_ical_events")
CACHE = Path.home() / ".cache" / "bridgework-tests" / "ics"


def _shipped(package: str) -> list[Path]:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return []
    return sorted(p for root in spec.submodule_search_locations for p in Path(root).rglob("*.ics"))


def _from_sdist(package: str) -> list[Path]:
    target = CACHE / package
    if not any(target.rglob("*.ics")):
        target.mkdir(parents=True, exist_ok=True)
        name = package.replace("_", "-")
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary",
                        ":all:", "--dest", str(target), name], check=True, capture_output=True,
                       timeout=120)
        for archive in target.glob("*.tar.gz"):
            with tarfile.open(archive) as tar:
                tar.extractall(target, filter="data")
    return sorted(target.rglob("*.ics"))


def corpus() -> list[Path]:
    files: list[Path] = []
    for package in PACKAGES:
        found = _shipped(package)
        if not found:
            try:
                found = _from_sdist(package)
            except (subprocess.SubprocessError, OSError) as exc:
                unavailable(f"no .ics test files for {package}: {exc}")
        files.extend(found)
    return files


def test_every_real_world_file_is_read_or_named_and_none_stops_the_run(
        radicale: Radicale, tmp_path: Path) -> None:
    files = corpus()
    assert len(files) > 100
    radicale.request("MKCOL", f"/{OWNER.email}/")
    uploaded: dict[str, Path] = {}
    refused = 0
    for number, path in enumerate(files):
        href = f"/{OWNER.email}/c{number:03d}/"
        reply = radicale.request("PUT", href, path.read_bytes(),
                                 {"Content-Type": "text/calendar"})
        if reply.status_code in (200, 201, 204):
            uploaded[href.replace("@", "%40")] = path
        else:
            refused += 1  # Radicale validates what it stores: some files are refused there
    assert len(uploaded) > len(files) // 2
    settings = CalDavSettings(
        type="caldav", url=radicale.url, people=write_people(tmp_path / "people.csv", [OWNER]),
        username=ADMIN, password_file=private_file(tmp_path / "pw", ADMIN_PASSWORD),
        history_days=3650, lookahead_days=365, max_occurrences=2000, backoff_seconds=0)
    cal = build(settings, clock=fixed_clock(NOW)).calendar
    assert isinstance(cal, CalDavCalendar)
    chunks = list(cal.read([OWNER], {}))  # must not raise, whatever the files hold
    [chunk] = chunks
    state = load(chunk.cursor)
    read = {href.replace("@", "%40") for href in state.calendars}
    assert set(uploaded) <= read  # every calendar was read to the end, bad objects and all
    for problem in cal.problems:
        # every problem names the calendar object it is about
        assert any(problem.startswith(href.replace("%40", "@")) for href in uploaded), problem
    print(f"\n{len(files)} files, {refused} refused by Radicale, {len(uploaded)} read, "
          f"{len(chunk.interactions)} interactions, {len(cal.problems)} located problems, "
          f"{cal.requests} requests")


def test_every_file_parses_here_or_gives_its_reason() -> None:
    """Radicale refuses some files before the connector sees them; its parser meets them all."""
    lo, hi = NOW - dt.timedelta(days=3650), NOW + dt.timedelta(days=365)
    read = bad = 0
    for path in corpus():
        try:
            cal = events.parse_object(path.read_bytes())
            events.occurrences(cal, OWNER.email, ZoneInfo("UTC"), lo, hi, 2000)
            read += 1
        except events.BadObject as exc:
            assert str(exc), path  # a reason, never an empty message
            bad += 1
    assert read > 100 and bad > 0
