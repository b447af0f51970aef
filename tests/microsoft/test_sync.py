"""Reading meetings and mail: delta links, paging, batching, dedupe, resync."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from connectors.base import Person, SyncChunk
from connectors.microsoft.mail import FIELDS
from tests.fakes.graph import FakeGraph
from tests.microsoft.conftest import Build

T0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 3, 9, 12, tzinfo=dt.UTC)


def people(fake: FakeGraph, n: int) -> list[Person]:
    out = []
    for i in range(n):
        email = f"p{i:03d}@example.org"
        fake.tenant.add_user(email, f"Person {i}", f"D{i % 3}", "Engineer")
        out.append(Person(email, f"D{i % 3}"))
    return out


def drain(chunks: Iterable[SyncChunk], cursors: dict[str, str] | None = None
          ) -> tuple[list[SyncChunk], dict[str, str]]:
    got = list(chunks)
    new = dict(cursors or {})
    for chunk in got:
        if chunk.cursor is not None:
            new[chunk.cursor_key] = chunk.cursor
    return got, new


def test_a_meeting_in_many_calendars_is_one_interaction(fake: FakeGraph, connect: Build) -> None:
    team = people(fake, 4)
    fake.tenant.add_meeting(team[0].email, [p.email for p in team[1:]], T0, T0 + dt.timedelta(hours=1),
                            responses={team[3].email: "declined"})
    cal = connect().calendar
    assert cal is not None
    chunks, _ = drain(cal.read(team, {}))
    found = [i for c in chunks for i in c.interactions]
    assert len(found) == 1
    meeting = found[0]
    assert meeting.participants[0] == team[0].email
    assert set(meeting.participants) == {p.email for p in team[:3]}  # the decliner is out
    assert meeting.size == 4 and meeting.duration == dt.timedelta(hours=1)
    again, _ = drain(connect().calendar.read(team, {}))  # type: ignore[union-attr]
    assert [i.id for c in again for i in c.interactions] == [meeting.id]  # a stable id


def test_cancelled_recurring_all_day_and_solo_events(fake: FakeGraph, connect: Build) -> None:
    a, b = people(fake, 2)
    uid = "series-1"
    for week in range(3):  # three occurrences of one series: same iCalUId, own start
        start = T0 + dt.timedelta(weeks=week)
        fake.tenant.add_meeting(a.email, [b.email], start, start + dt.timedelta(minutes=30), uid=uid,
                                kind="occurrence")
    fake.tenant.add_meeting(a.email, [b.email], T0 + dt.timedelta(hours=3),
                            T0 + dt.timedelta(hours=4), cancelled=True)
    fake.tenant.add_meeting(a.email, [b.email], T0, T0 + dt.timedelta(days=1), all_day=True)
    fake.tenant.add_meeting(a.email, [], T0, T0 + dt.timedelta(hours=1))  # focus time
    chunks, _ = drain(connect().calendar.read([a, b], {}))  # type: ignore[union-attr]
    found = [i for c in chunks for i in c.interactions]
    assert len(found) == 4
    assert sum(i.cancelled for i in found) == 1
    assert len({i.id for i in found}) == 4


def test_paging_batching_and_mailbox_limit(fake: FakeGraph, connect: Build) -> None:
    team = people(fake, 45)
    for i, person in enumerate(team):
        other = team[(i + 1) % len(team)]
        for k in range(12):
            start = T0 - dt.timedelta(days=k)
            fake.tenant.add_meeting(person.email, [other.email], start, start + dt.timedelta(minutes=30))
    cal = connect(page_size=10, workers=3).calendar
    assert cal is not None
    chunks, cursors = drain(cal.read(team, {}))
    assert sum(len(c.interactions) for c in chunks) == 45 * 12
    assert len(cursors) == 45
    assert max(fake.max_in_flight.values()) <= 4
    # Each mailbox has 24 events: three pages of ten; 45 mailboxes in batches of twenty.
    assert fake.requests["GET /users/(?P<u>[^/]+)/calendarView/delta"] == 45 * 3
    before = fake.http_requests
    again, _ = drain(cal.read(team, cursors), cursors)
    assert [i for c in again for i in c.interactions] == []
    assert fake.http_requests - before == 3  # ceil(45 / 20) $batch calls, nothing else


def test_incremental_sees_changes_only(fake: FakeGraph, connect: Build) -> None:
    a, b, c = people(fake, 3)
    fake.tenant.add_meeting(a.email, [b.email], T0, T0 + dt.timedelta(minutes=30))
    cal = connect().calendar
    assert cal is not None
    _, cursors = drain(cal.read([a, b, c], {}))
    fake.tenant.add_meeting(c.email, [a.email], T0 + dt.timedelta(days=1),
                            T0 + dt.timedelta(days=1, minutes=45))
    chunks, _ = drain(cal.read([a, b, c], cursors))
    found = [i for ch in chunks for i in ch.interactions]
    assert [set(i.participants) for i in found] == [{a.email, c.email}]


def test_expired_delta_token_means_full_resync(fake: FakeGraph, connect: Build) -> None:
    a, b = people(fake, 2)
    fake.tenant.add_meeting(a.email, [b.email], T0, T0 + dt.timedelta(minutes=30))
    cal = connect().calendar
    assert cal is not None
    first, cursors = drain(cal.read([a, b], {}))
    assert not any(c.resynced for c in first)
    fake.expire_delta_tokens()
    second, fresh = drain(cal.read([a, b], cursors), cursors)
    assert {c.cursor_key for c in second if c.resynced} == set(cursors)
    assert {i.id for c in second for i in c.interactions} == {i.id for c in first for i in c.interactions}
    third, _ = drain(cal.read([a, b], fresh))
    assert not any(c.resynced for c in third) and not any(c.interactions for c in third)


def test_window_is_renewed_before_it_runs_out(fake: FakeGraph, connect: Build) -> None:
    a, b = people(fake, 2)
    fake.tenant.add_meeting(a.email, [b.email], T0, T0 + dt.timedelta(minutes=30))
    _, cursors = drain(connect(lookahead_days=20).calendar.read([a, b], {}))  # type: ignore[union-attr]
    later = connect(now=NOW + dt.timedelta(days=15), lookahead_days=20).calendar
    chunks, _ = drain(later.read([a, b], cursors))  # type: ignore[union-attr]
    assert all(c.resynced for c in chunks if c.cursor_key in cursors)


def test_mail_reads_sent_items_headers_only_once(fake: FakeGraph, connect: Build) -> None:
    a, b, c = people(fake, 3)
    fake.tenant.add_message(a.email, [b.email, "guest@elsewhere.com"], T0, cc=[c.email])
    fake.tenant.add_message(b.email, [a.email], T0 + dt.timedelta(hours=1))
    fake.tenant.add_message(a.email, [b.email], NOW - dt.timedelta(days=900))  # before history
    mail = connect().mail
    assert mail is not None
    chunks, cursors = drain(mail.read([a, b, c], {}))
    found = sorted((i for ch in chunks for i in ch.interactions), key=lambda i: i.start)
    assert [i.participants for i in found] == [
        (a.email, b.email, "guest@elsewhere.com", c.email), (b.email, a.email)]
    assert found[0].size == 3 and found[0].id.startswith("<")
    assert set(fake.selects) == {FIELDS}
    assert "subject" not in FIELDS and "body" not in FIELDS
    again, _ = drain(mail.read([a, b, c], cursors))
    assert not any(ch.interactions for ch in again)
