"""Fault injection: throttling, server errors, stale cursors, timeouts, scopes, duplicates."""

from __future__ import annotations

import datetime as dt
import email.utils
from pathlib import Path

import pytest

from connectors.base import Hold, HoldMode, hold_id_for
from connectors.common.errors import ConnectorError, PermissionMissing
from tests.fakes.google.server import FakeGoogle, FakeServer, Fault
from tests.fakes.google.world import GoogleWorld
from tests.google.conftest import NOW
from tests.google.helpers import at, drain, people, seed_people


def _seeded(world: GoogleWorld, n: int = 3) -> list:  # type: ignore[type-arg]
    folks = seed_people(world, people(n))
    for i, p in enumerate(folks):
        other = folks[(i + 1) % n].email
        world.fake.add_event(p.email, [other], at(world, 2 + i), at(world, 2 + i) + 1800)
        world.fake.add_message(p.email, [other], when=at(world, 1 + i))
    return folks


def _hold(organizer: str, other: str, mode: HoldMode = HoldMode.INVITE) -> Hold:
    start = NOW + dt.timedelta(days=2)
    return Hold(hold_id_for("t", organizer, other), organizer, (organizer, other), start,
                start + dt.timedelta(minutes=30), "Coffee", "Agenda", mode)


def test_429_with_retry_after_is_honoured(gworld: GoogleWorld) -> None:
    folks = _seeded(gworld)
    gworld.fake.inject(Fault("/events", 429, retry_after="7", where="inner"))
    cal = gworld.connectors().calendar
    assert cal is not None
    got, _, _ = drain(cal.read(folks, {}))
    assert len({i.id for i in got}) == 3
    assert 7.0 in gworld.connectors().calendar._client.backoff.slept  # type: ignore[union-attr]


def test_retry_after_as_an_http_date_is_honoured(gworld: GoogleWorld) -> None:
    folks = _seeded(gworld)
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=7)
    gworld.fake.inject(Fault("/events", 429, where="inner",
                             retry_after=email.utils.format_datetime(when, usegmt=True)))
    cal = gworld.connectors().calendar
    assert cal is not None
    got, _, _ = drain(cal.read(folks, {}))
    assert len({i.id for i in got}) == 3
    slept = cal._client.backoff.slept  # type: ignore[attr-defined]
    assert any(5.0 < s <= 7.0 for s in slept), list(slept)  # the date, not a 50 ms backoff


def test_429_without_retry_after_backs_off_with_jitter(gworld: GoogleWorld) -> None:
    folks = _seeded(gworld)
    gworld.fake.inject(Fault("/messages/", 429, times=3, where="inner"))
    mail = gworld.connectors().mail
    assert mail is not None
    got, _, _ = drain(mail.read(folks, {}))
    assert len(got) == 3
    backoff = mail._client.backoff  # type: ignore[attr-defined]
    assert backoff.slept and all(0 < s <= 0.05 * 1.5 for s in backoff.slept)


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried(gworld: GoogleWorld, status: int) -> None:
    _seeded(gworld)
    gworld.fake.inject(Fault("/admin/directory", status, times=2))
    gworld.fake.inject(Fault("POST /batch", status, where="outer"))
    assert len(list(gworld.connectors().directory.people())) == 3


def test_403_rate_limit_is_retried(gworld: GoogleWorld) -> None:
    folks = _seeded(gworld)
    gworld.fake.inject(Fault("/events", 403, reason="userRateLimitExceeded", where="inner"))
    cal = gworld.connectors().calendar
    assert cal is not None
    assert len(drain(cal.read(folks, {}))[0]) == 6


def test_giving_up_is_a_clear_error(gworld: GoogleWorld) -> None:
    _seeded(gworld)
    gworld.fake.inject(Fault("/admin/directory", 503, times=100))
    with pytest.raises(ConnectorError, match="kept failing"):
        list(gworld.connectors().directory.people())


def test_stale_sync_token_means_full_resync(gworld: GoogleWorld) -> None:
    folks = _seeded(gworld)
    cal = gworld.connectors().calendar
    assert cal is not None
    first, cursors, _ = drain(cal.read(folks, {}))
    gworld.fake.expire_sync_tokens()
    again, new_cursors, chunks = drain(cal.read(folks, cursors))
    assert all(c.resynced for c in chunks)
    assert {i.id for i in again} == {i.id for i in first}
    assert new_cursors != cursors


def test_stale_history_id_means_full_resync(gworld: GoogleWorld) -> None:
    folks = _seeded(gworld)
    mail = gworld.connectors().mail
    assert mail is not None
    _, cursors, _ = drain(mail.read(folks, {}))
    gworld.fake.expire_history(folks[0].email)
    again, _, chunks = drain(mail.read(folks, cursors))
    resynced = [c for c in chunks if c.resynced]
    assert [c.cursor_key for c in resynced] == [f"google:mail:{folks[0].email}"]
    assert len(again) == 1  # that mailbox's one sent message, read again


def test_timeouts_are_retried(server: FakeServer, tmp_path: Path) -> None:
    world = GoogleWorld(server, tmp_path, NOW, timeout_seconds=0.3)
    folks = _seeded(world)
    world.fake.inject(Fault("POST /batch", delay=0.6, where="outer"))
    cal = world.connectors().calendar
    assert cal is not None
    assert len(drain(cal.read(folks, {}))[0]) == 6


def test_dropped_connection_is_retried(gworld: GoogleWorld) -> None:
    folks = _seeded(gworld)
    gworld.fake.inject(Fault("/history|/messages", drop=True, where="inner"))
    mail = gworld.connectors().mail
    assert mail is not None
    assert len(drain(mail.read(folks, {}))[0]) == 3


def test_expired_access_tokens_are_refreshed(gworld: GoogleWorld) -> None:
    folks = _seeded(gworld)
    cal = gworld.connectors().calendar
    assert cal is not None
    _, cursors, _ = drain(cal.read(folks, {}))
    gworld.fake.expire_tokens()
    gworld.fake.add_event(folks[0].email, [], at(gworld, 1), at(gworld, 1) + 600)
    assert len(drain(cal.read(folks, cursors))[0]) == 1


def test_scope_not_granted_names_it(gworld: GoogleWorld) -> None:
    folks = _seeded(gworld)
    gworld.fake.granted = {"https://www.googleapis.com/auth/calendar.readonly",
                           "https://www.googleapis.com/auth/admin.directory.user.readonly"}
    mail = gworld.connectors().mail
    assert mail is not None
    with pytest.raises(PermissionMissing, match=r"gmail\.metadata.*Domain-wide delegation"):
        drain(mail.read(folks, {}))


def test_403_insufficient_scope_names_it(gworld: GoogleWorld) -> None:
    folks = _seeded(gworld)
    gworld.fake.inject(Fault("/events", 403, reason="insufficientPermissions", where="inner"))
    cal = gworld.connectors().calendar
    assert cal is not None
    with pytest.raises(PermissionMissing, match=r"calendar\.readonly"):
        drain(cal.read(folks, {}))


def test_hold_write_needs_calendar_events(gworld: GoogleWorld) -> None:
    folks = _seeded(gworld)
    gworld.fake.granted = {"https://www.googleapis.com/auth/calendar.readonly",
                           "https://www.googleapis.com/auth/gmail.metadata"}
    cal = gworld.connectors().calendar
    assert cal is not None
    with pytest.raises(PermissionMissing, match=r"calendar\.events"):
        cal.place(_hold(folks[0].email, folks[1].email))


def test_insert_that_timed_out_but_landed_is_not_doubled(server: FakeServer,
                                                         tmp_path: Path) -> None:
    world = GoogleWorld(server, tmp_path, NOW, timeout_seconds=0.3)
    folks = _seeded(world)
    world.fake.inject(Fault("POST /calendar/v3/calendars/[^/]+/events", delay=0.6))
    cal = world.connectors().calendar
    assert cal is not None
    hold = _hold(folks[0].email, folks[1].email)
    cal.place(hold)  # the first insert lands after we gave up; the retry answers 409
    cal.place(hold)
    assert [e["id"] for e in world.fake.hold_events()] == [hold.id]
    assert world.fake.stats["events.insert"] == 1


def test_hold_mode_stays_on_the_organisers_calendar(gworld: GoogleWorld) -> None:
    folks = _seeded(gworld)
    cal = gworld.connectors().calendar
    assert cal is not None
    hold = _hold(folks[0].email, folks[1].email, HoldMode.HOLD)
    cal.place(hold)
    assert hold.id in gworld.fake.calendars[folks[0].email]
    assert hold.id not in gworld.fake.calendars[folks[1].email]
    state = cal.state(hold)
    assert state.exists and state.responses == {folks[0].email: "accepted"}


def test_user_quota_is_respected(tmp_path: Path) -> None:
    fake = FakeGoogle(quota_window=1.0, gmail_units_per_minute=100)
    with FakeServer(fake) as server:
        world = GoogleWorld(server, tmp_path, NOW,
                            quota={"gmail_units_per_minute": 90, "calendar_per_minute": 500})
        folks = seed_people(world, people(2))
        for i in range(40):
            fake.add_message(folks[0].email, [folks[1].email], when=at(world, 1) - i * 60)
        from connectors.google import build

        conn = build(world.settings, clock=lambda: NOW, quota_window=1.0)
        assert conn.mail is not None
        got, _, _ = drain(conn.mail.read(folks, {}))
        assert len(got) == 40
        assert fake.quota_violations == 0
        assert fake.quota_peak["gmail"] <= 90


def test_digest_is_not_sent_twice_after_a_timeout(server: FakeServer, tmp_path: Path) -> None:
    import time

    from connectors.base import OutgoingMessage

    world = GoogleWorld(server, tmp_path, NOW, timeout_seconds=0.3)
    folks = _seeded(world)
    world.fake.inject(Fault("/messages/send", delay=0.6))
    sender = world.connectors().sender
    assert sender is not None
    with pytest.raises(ConnectorError, match="not repeated"):
        sender.send(OutgoingMessage("k1", folks[0].email, "Your week", "text"))
    time.sleep(0.5)  # the slow answer lands on the server after we gave up
    assert len(world.fake.sent) == 1


def test_digest_is_resent_after_throttling(gworld: GoogleWorld) -> None:
    from connectors.base import OutgoingMessage

    folks = _seeded(gworld)
    gworld.fake.inject(Fault("/messages/send", 429, retry_after="1"))
    sender = gworld.connectors().sender
    assert sender is not None
    sender.send(OutgoingMessage("k1", folks[0].email, "Your week", "text"))
    assert len(gworld.fake.sent) == 1


def test_people_without_a_department_get_a_named_placeholder() -> None:
    from connectors.google.directory import to_person
    from connectors.people_fields import NO_DEPARTMENT

    person = to_person({"primaryEmail": "Ann@Example.org", "organizations": [{"primary": True}]})
    assert person is not None and person.department == NO_DEPARTMENT


def test_one_refused_calendar_does_not_stop_the_others(gworld: GoogleWorld) -> None:
    folks = _seeded(gworld)
    # one user's calendar answers 403 "forbidden" (an access policy), not a missing scope
    first = folks[0].email
    gworld.fake.inject(Fault(f"/calendars/{first.replace('@', '%40')}/events", 403,
                             reason="forbidden", where="inner", times=100))
    cal = gworld.connectors().calendar
    assert cal is not None
    got, cursors, _ = drain(cal.read(folks, {}))
    assert got  # the others were read
    assert f"google:calendar:{first}" not in cursors  # the refused one keeps its old cursor
    assert all(f"google:calendar:{p.email}" in cursors for p in folks[1:])


def test_a_calendar_free_busy_cannot_show_counts_as_busy(gworld: GoogleWorld) -> None:
    folks = _seeded(gworld)
    cal = gworld.connectors().calendar
    assert cal is not None
    start, end = NOW, NOW + dt.timedelta(days=3)
    busy = cal.busy([folks[0].email, "stranger@elsewhere.example"], start, end)
    assert [(b.start, b.end) for b in busy["stranger@elsewhere.example"]] == [(start, end)]
