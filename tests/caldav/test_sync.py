"""The CalDAV reader against a real Radicale: requests per cycle, changes, the window, faults."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from connectors.base import Interaction, Person, SyncChunk
from connectors.caldav import build
from connectors.caldav.calendar import CalDavCalendar
from connectors.common.clock import fixed_clock
from connectors.common.errors import PermissionMissing
from tests.servers.fixtures import PASSWORDS
from tests.servers.radicale import ADMIN, ADMIN_PASSWORD, Radicale
from tests.servers.world import event_ics, private_file, write_people

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
ADA = Person("ada@example.org", "Engineering", timezone="Europe/London")
LINUS = Person("linus@example.org", "Sales", timezone="Europe/Berlin")
PAIR = ["ada@example.org", "linus@example.org"]


def calendar(radicale: Radicale, tmp: Path, now: dt.datetime = NOW, **extra: object) -> CalDavCalendar:
    from connectors.caldav.settings import CalDavSettings

    settings = CalDavSettings.model_validate({
        "type": "caldav", "url": radicale.url, "people": write_people(tmp / "people.csv", [ADA, LINUS]),
        "backoff_seconds": 0, "lookahead_days": 14, "history_days": 60,
        **({"username": ADMIN, "password_file": private_file(tmp / "pw", ADMIN_PASSWORD)}
           if "accounts_file" not in extra else {}), **extra})
    cal = build(settings, clock=fixed_clock(now)).calendar
    assert isinstance(cal, CalDavCalendar)
    return cal


def sync(cal: CalDavCalendar, cursors: dict[str, str],
         people: tuple[Person, ...] = (ADA, LINUS)) -> tuple[list[Interaction], list[SyncChunk]]:
    chunks = list(cal.read(list(people), cursors))
    for chunk in chunks:
        if chunk.cursor is not None:
            cursors[chunk.cursor_key] = chunk.cursor
    return [i for c in chunks for i in c.interactions], chunks


def put(radicale: Radicale, users: list[str], name: str, ics: str) -> None:
    for user in users:
        radicale.make_calendar(user)
        assert radicale.put(radicale.href(user, name=name), ics).status_code in (201, 204)


def weekly(start: dt.datetime, **extra: object) -> str:
    return event_ics("team", start, start + dt.timedelta(minutes=45), "ada@example.org", PAIR,
                     rrule="FREQ=WEEKLY", tzid="Europe/London", **extra)  # type: ignore[arg-type]


def test_an_unchanged_calendar_costs_one_request_per_person(radicale: Radicale,
                                                            tmp_path: Path) -> None:
    put(radicale, PAIR, "team.ics", weekly(dt.datetime(2026, 3, 2, 10, tzinfo=UTC)))
    cal = calendar(radicale, tmp_path)
    cursors: dict[str, str] = {}
    first, _ = sync(cal, cursors)
    assert len({i.id for i in first}) == 5  # Mar 2 .. Mar 30 (14 days ahead of Mar 20)
    fresh = calendar(radicale, tmp_path)  # a new process: only the cursors are left
    idle, chunks = sync(fresh, cursors)
    assert fresh.requests == 2 and idle == [] and all(c.interactions == [] for c in chunks)


def test_a_skipped_or_deleted_future_meeting_is_cancelled(radicale: Radicale,
                                                          tmp_path: Path) -> None:
    start = dt.datetime(2026, 3, 2, 10, tzinfo=UTC)
    put(radicale, PAIR, "team.ics", weekly(start))
    single = event_ics("lunch", NOW + dt.timedelta(days=2), NOW + dt.timedelta(days=2, hours=1),
                       "linus@example.org", PAIR)
    put(radicale, PAIR, "lunch.ics", single)
    cal = calendar(radicale, tmp_path)
    cursors: dict[str, str] = {}
    sync(cal, cursors)
    skipped = dt.datetime(2026, 3, 23, 10, tzinfo=UTC)
    put(radicale, ["ada@example.org"], "team.ics", weekly(start, exdates=[skipped]))
    radicale.delete(radicale.href("linus@example.org", name="lunch.ics"))
    changed, _ = sync(cal, cursors)
    cancelled = sorted(i.id for i in changed if i.cancelled)
    assert cancelled == ["caldav:lunch", "caldav:team@20260323T100000Z"]


def test_as_time_passes_an_unchanged_series_brings_its_new_occurrences(
        radicale: Radicale, tmp_path: Path) -> None:
    put(radicale, ["ada@example.org"], "team.ics", weekly(dt.datetime(2026, 3, 2, 10, tzinfo=UTC)))
    cursors: dict[str, str] = {}
    sync(calendar(radicale, tmp_path), cursors, (ADA,))
    week_later = calendar(radicale, tmp_path, NOW + dt.timedelta(days=7))
    new, _ = sync(week_later, cursors, (ADA,))
    assert {i.start for i in new} == {dt.datetime(2026, 4, 6, 9, tzinfo=UTC)}  # BST by then
    assert week_later.requests == 2  # the home, and one calendar-query for the new days


def test_a_forgotten_sync_token_reads_the_calendar_again(radicale: Radicale,
                                                         tmp_path: Path) -> None:
    put(radicale, ["ada@example.org"], "team.ics", weekly(dt.datetime(2026, 3, 2, 10, tzinfo=UTC)))
    soon = NOW + dt.timedelta(days=3)
    put(radicale, ["ada@example.org"], "soon.ics",
        event_ics("soon", soon, soon + dt.timedelta(hours=1), "ada@example.org", PAIR))
    cal = calendar(radicale, tmp_path)
    cursors: dict[str, str] = {}
    sync(cal, cursors, (ADA,))
    # Radicale keeps what each token saw in its cache: without it the old token means nothing
    store = radicale.dir / "collections" / "collection-root" / "ada@example.org" / "calendar"
    shutil.rmtree(store / ".Radicale.cache" / "sync-token")
    put(radicale, ["ada@example.org"], "extra.ics",
        event_ics("extra", NOW, NOW + dt.timedelta(hours=1), "ada@example.org", PAIR))
    radicale.delete(radicale.href("ada@example.org", name="soon.ics"))
    again, chunks = sync(cal, cursors, (ADA,))
    assert {i.id.split("@")[0] for i in again} == {"caldav:team", "caldav:extra", "caldav:soon"}
    assert [i.id for i in again if i.cancelled] == ["caldav:soon"]  # deleted while forgotten
    assert chunks[0].resynced


def test_one_bad_event_and_one_failing_calendar_never_stop_the_others(radicale: Radicale,
                                                                     tmp_path: Path) -> None:
    put(radicale, PAIR, "team.ics", weekly(dt.datetime(2026, 3, 2, 10, tzinfo=UTC)))
    flood = event_ics("flood", NOW, NOW + dt.timedelta(minutes=1), "ada@example.org", PAIR,
                      rrule="FREQ=MINUTELY")
    put(radicale, ["ada@example.org"], "flood.ics", flood)
    # break Radicale's own cache behind its back: it answers 500 for Linus's calendar
    cache = (radicale.dir / "collections" / "collection-root" / "linus@example.org" / "calendar"
             / ".Radicale.cache" / "sync-token")
    shutil.rmtree(cache, ignore_errors=True)
    cache.write_text("not a folder")
    cal = calendar(radicale, tmp_path, max_retries=1)
    found, chunks = sync(cal, {})
    assert [c.cursor_key for c in chunks] == ["caldav:ada@example.org"]
    assert {i.id.split("@")[0] for i in found} == {"caldav:team"}
    problems = list(cal.problems)
    assert len(problems) == 2, problems
    assert problems[0].startswith("/ada@example.org/calendar/flood.ics:UID flood: more than 5000")
    assert problems[1].startswith(f"{radicale.url}:linus@example.org: calendars skipped this "
                                  "cycle: PROPFIND /linus%40example.org/ still failing (500)")


def test_free_busy_from_the_servers_report_or_from_events(radicale: Radicale,
                                                          tmp_path: Path) -> None:
    start = dt.datetime(2026, 3, 24, 9, tzinfo=UTC)
    declined = event_ics("d", start, start + dt.timedelta(hours=1), "ada@example.org", PAIR,
                         partstat={"linus@example.org": "DECLINED"})
    put(radicale, PAIR, "d.ics", declined)
    window = (start - dt.timedelta(hours=2), start + dt.timedelta(hours=3))
    by_events = calendar(radicale, tmp_path).busy(PAIR, *window)
    assert [(b.start, b.end) for b in by_events["ada@example.org"]] == [
        (start, start + dt.timedelta(hours=1))]
    assert by_events["linus@example.org"] == []  # he declined: his time is free
    by_report = calendar(radicale, tmp_path, busy_from="free-busy-query").busy(PAIR, *window)
    assert [(b.start, b.end) for b in by_report["ada@example.org"]] == [
        (start, start + dt.timedelta(hours=1))]


def test_per_person_sign_in_finds_each_home_by_its_principal(radicale: Radicale,
                                                             tmp_path: Path) -> None:
    put(radicale, PAIR, "team.ics", weekly(dt.datetime(2026, 3, 2, 10, tzinfo=UTC)))
    accounts = private_file(tmp_path / "accounts.csv", "email,username,password\n" + "".join(
        f"{e},{e},{PASSWORDS[e]}\n" for e in PAIR))
    found, _ = sync(calendar(radicale, tmp_path, accounts_file=accounts), {})
    assert len({i.id for i in found}) == 5


def test_a_damaged_cursor_is_named_and_the_calendar_read_again(radicale: Radicale,
                                                               tmp_path: Path) -> None:
    put(radicale, ["ada@example.org"], "team.ics", weekly(dt.datetime(2026, 3, 2, 10, tzinfo=UTC)))
    cal = calendar(radicale, tmp_path)
    found, chunks = sync(cal, {"caldav:ada@example.org": "{not json"}, (ADA,))
    assert len(found) == 5 and chunks[0].resynced
    assert list(cal.problems) == ["caldav:ada@example.org:cursor: unreadable cursor "
                                  "(JSONDecodeError); read again from the start"]


def test_an_account_that_may_read_nobody_is_a_missing_permission(radicale: Radicale,
                                                                 tmp_path: Path) -> None:
    put(radicale, PAIR, "team.ics", weekly(dt.datetime(2026, 3, 2, 10, tzinfo=UTC)))
    cal = calendar(radicale, tmp_path, username="grace@example.org",
                   password_file=private_file(tmp_path / "g", PASSWORDS["grace@example.org"]))
    with pytest.raises(PermissionMissing, match="no calendar could be read"):
        sync(cal, {})
