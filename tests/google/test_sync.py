"""Calendar and Gmail sync: shapes, dedupe, batching, incremental cost, privacy."""

from __future__ import annotations

import math

from connectors.base import InteractionKind
from connectors.people_fields import NO_DEPARTMENT
from tests.fakes.google.world import GoogleWorld
from tests.google.helpers import at, drain, people, seed_people


def test_meeting_read_from_every_calendar_has_one_id(gworld: GoogleWorld) -> None:
    folks = seed_people(gworld, people(4))
    emails = [p.email for p in folks]
    gworld.fake.add_event(emails[0], emails[1:], at(gworld, 3), at(gworld, 3) + 3600,
                          responses={emails[3]: "declined"})
    cal = gworld.connectors().calendar
    assert cal is not None
    got, _, _ = drain(cal.read(folks, {}))
    assert len(got) == 4  # one copy from each of the four calendars ...
    assert len({i.id for i in got}) == 1  # ... under one id, so the ledger counts it once
    meeting = got[0]
    assert meeting.participants == tuple(emails[:3])  # the one who declined is left out
    assert meeting.size == 4  # but the audience still counts them
    assert meeting.duration.total_seconds() == 3600


def test_cancelled_event_comes_back_as_cancelled(gworld: GoogleWorld) -> None:
    folks = seed_people(gworld, people(2))
    event = gworld.fake.add_event(folks[0].email, [folks[1].email], at(gworld, 1),
                                  at(gworld, 1) + 1800)
    cal = gworld.connectors().calendar
    assert cal is not None
    _, cursors, _ = drain(cal.read(folks, {}))
    gworld.fake.cancel_event(event["id"])
    got, _, _ = drain(cal.read(folks, cursors))
    assert got and all(i.cancelled for i in got)


def test_all_day_and_old_events_are_skipped(gworld: GoogleWorld) -> None:
    folks = seed_people(gworld, people(2))
    gworld.fake.add_event(folks[0].email, [folks[1].email], at(gworld, 900), at(gworld, 900) + 60)
    cal = gworld.connectors().calendar
    assert cal is not None
    got, _, _ = drain(cal.read(folks, {}))
    assert got == []  # older than history_days


def test_paging_through_a_long_calendar(gworld: GoogleWorld) -> None:
    folks = seed_people(gworld, people(2))
    for day in range(2600):  # more than one page of 2500
        start = at(gworld, 1) - day * 3600
        gworld.fake.add_event(folks[0].email, [], start, start + 600)
    cal = gworld.connectors().calendar
    assert cal is not None
    got, cursors, chunks = drain(cal.read(folks[:1], {}))
    assert len(got) == 2600
    assert [c.cursor is None for c in chunks] == [True, False]
    assert cursors["google:calendar:p000@example.org"].startswith("s")


def test_mail_counts_each_message_once_without_subjects(gworld: GoogleWorld) -> None:
    folks = seed_people(gworld, people(3))
    a, b, c = (p.email for p in folks)
    gworld.fake.add_message(a, [b], [c], when=at(gworld, 2), message_id="<x1@example.org>")
    gworld.fake.add_message(b, [a], when=at(gworld, 1))
    mail = gworld.connectors().mail
    assert mail is not None
    got, cursors, _ = drain(mail.read(folks, {}))
    assert sorted(i.id for i in got)[1] == "<x1@example.org>"
    assert len(got) == 2 and all(i.kind is InteractionKind.EMAIL for i in got)
    first = next(i for i in got if i.id == "<x1@example.org>")
    assert first.participants == (a, b, c) and first.size == 2
    assert "subject" not in gworld.fake.requested_headers
    again, _, _ = drain(mail.read(folks, cursors))
    assert again == []
    gworld.fake.add_message(c, [a], when=at(gworld, 0.5))
    new, _, _ = drain(mail.read(folks, cursors))
    assert [i.participants for i in new] == [(c, a)]


def test_calendar_requests_no_titles(gworld: GoogleWorld) -> None:
    folks = seed_people(gworld, people(2))
    cal = gworld.connectors().calendar
    assert cal is not None
    drain(cal.read(folks, {}))
    lists = [line for line in gworld.fake.log if "/events?" in line]
    assert lists and all("fields=" in line and "summary" not in line for line in lists)


def test_incremental_cycle_without_changes_is_batched(gworld: GoogleWorld) -> None:
    folks = seed_people(gworld, people(120))
    for i, p in enumerate(folks):
        other = folks[(i + 1) % len(folks)].email
        gworld.fake.add_event(p.email, [other], at(gworld, 5 + i % 7), at(gworld, 5 + i % 7) + 1800)
        gworld.fake.add_message(p.email, [other], when=at(gworld, 4 + i % 5))
    conn = gworld.connectors()
    assert conn.calendar is not None and conn.mail is not None
    _, cal_cursors, _ = drain(conn.calendar.read(folks, {}))
    _, mail_cursors, _ = drain(conn.mail.read(folks, {}))
    assert max(gworld.fake.batch_sizes) <= 50
    before = gworld.fake.stats.copy()
    got_cal, _, _ = drain(conn.calendar.read(folks, cal_cursors))
    got_mail, _, _ = drain(conn.mail.read(folks, mail_cursors))
    assert got_cal == [] and got_mail == []
    requests = gworld.fake.stats["http_requests"] - before["http_requests"]
    assert requests == 2 * math.ceil(len(folks) / 50)  # one batch per 50 users per API
    assert gworld.fake.stats["token_requests"] == before["token_requests"]  # tokens cached


def test_directory_skips_suspended_and_reads_time_zones(gworld: GoogleWorld) -> None:
    seed_people(gworld, people(3))
    gworld.fake.add_user("gone@example.org", "Gone Person", "Sales", suspended=True)
    found = {p.email: p for p in gworld.connectors().directory.people()}
    assert "gone@example.org" not in found and len(found) == 3
    assert found["p001@example.org"].timezone == "Europe/Paris"
    assert found["p001@example.org"].department == "Legal"


def test_directory_pages(gworld: GoogleWorld) -> None:
    seed_people(gworld, people(1100))
    gworld.settings = gworld.settings.model_copy(update={"read_timezones": False})
    found = list(gworld.connectors().directory.people())
    assert len(found) == 1100
    assert sum(1 for line in gworld.fake.log if "/admin/directory/v1/users" in line) == 3


def test_busy_chunks_of_fifty(gworld: GoogleWorld) -> None:
    folks = seed_people(gworld, people(120))
    gworld.fake.add_event(folks[77].email, [], at(gworld, -1), at(gworld, -1) + 1800)
    cal = gworld.connectors().calendar
    assert cal is not None
    now = gworld.now
    import datetime as dt

    busy = cal.busy([p.email for p in folks], now, now + dt.timedelta(days=3))
    assert len(busy[folks[77].email]) == 1 and not busy[folks[1].email]
    assert sum(1 for line in gworld.fake.log if "freeBusy" in line) == 3


def test_directory_departments_are_trimmed_and_blanks_named(gworld: GoogleWorld) -> None:
    gworld.fake.add_user("a@example.org", "A Person", "Sales", manager=" Boss@Example.org ")
    gworld.fake.add_user("b@example.org", "B Person", "  Sales ")
    gworld.fake.add_user("c@example.org", "C Person", "   ")
    found = {p.email: p for p in gworld.connectors().directory.people()}
    assert found["a@example.org"].department == found["b@example.org"].department == "Sales"
    assert found["c@example.org"].department == NO_DEPARTMENT
    assert found["a@example.org"].manager == "boss@example.org"
