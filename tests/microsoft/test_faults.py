"""Throttling, outages, timeouts, expired tokens and missing permissions."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from connectors.base import Calendar, Hold, HoldMode, Person, hold_id_for
from connectors.common.errors import ConnectorError, PermissionMissing
from connectors.microsoft import build
from connectors.microsoft.calendar import MARK_PROPERTY
from connectors.microsoft.settings import MicrosoftSettings
from tests.fakes.graph import FakeGraph, Fault
from tests.microsoft.conftest import Build, Sleeps
from tests.microsoft.test_sync import T0, drain, people

DELTA = r"GET /users/[^/]+/calendarView/delta"


def _meetings(fake: FakeGraph, team: list[Person]) -> None:
    for i, person in enumerate(team):
        other = team[(i + 1) % len(team)]
        fake.tenant.add_meeting(person.email, [other.email], T0, T0 + dt.timedelta(minutes=30))


def test_429_waits_as_long_as_retry_after_says(fake: FakeGraph, connect: Build, sleeps: Sleeps) -> None:
    team = people(fake, 3)
    _meetings(fake, team)
    fake.faults.append(Fault(DELTA, 429, times=2, retry_after="7"))
    chunks, _ = drain(connect().calendar.read(team, {}))  # type: ignore[union-attr]
    assert sum(len(c.interactions) for c in chunks) == 3
    assert sleeps == [7.0]  # both throttled calls of one batch wait once, together


def test_503_without_retry_after_backs_off(fake: FakeGraph, connect: Build, sleeps: Sleeps) -> None:
    team = people(fake, 2)
    _meetings(fake, team)
    fake.faults.append(Fault(r"POST /\$batch", 503, times=3))
    chunks, _ = drain(connect().calendar.read(team, {}))  # type: ignore[union-attr]
    assert sum(len(c.interactions) for c in chunks) == 2
    assert len(sleeps) == 3 and all(0 < s <= 0.05 for s in sleeps)  # jittered, capped


def test_gives_up_after_max_retries(fake: FakeGraph, connect: Build) -> None:
    team = people(fake, 1)
    fake.faults.append(Fault(DELTA, 503, times=100))
    with pytest.raises(ConnectorError, match="503"):
        drain(connect(max_retries=2).calendar.read(team, {}))  # type: ignore[union-attr]


def test_slow_answers_time_out_and_are_retried(fake: FakeGraph, connect: Build, sleeps: Sleeps) -> None:
    team = people(fake, 2)
    _meetings(fake, team)
    fake.faults.append(Fault(r"POST /\$batch", 0, times=1, delay=1.0))
    start = time.monotonic()
    chunks, _ = drain(connect(timeout_seconds=0.3).calendar.read(team, {}))  # type: ignore[union-attr]
    assert sum(len(c.interactions) for c in chunks) == 2
    assert len(sleeps) == 1 and time.monotonic() - start < 1.0


def _really_sleeping(fake: FakeGraph, **overrides: object) -> Calendar:
    settings = MicrosoftSettings.model_validate(fake.settings_dict(**overrides))
    cal = build(settings, clock=lambda: dt.datetime(2026, 3, 9, tzinfo=dt.UTC)).calendar
    assert cal is not None
    return cal


def test_retry_after_is_really_honoured(fake: FakeGraph) -> None:
    team = people(fake, 2)
    _meetings(fake, team)
    fake.faults.append(Fault(DELTA, 429, times=1, retry_after="1"))
    cal = _really_sleeping(fake)
    start = time.monotonic()
    chunks, _ = drain(cal.read(team, {}))
    assert time.monotonic() - start >= 1.0
    assert sum(len(c.interactions) for c in chunks) == 2
    assert fake.early_returns == 0


def test_random_throttling_and_the_four_request_limit(fake: FakeGraph) -> None:
    team = people(fake, 30)
    _meetings(fake, team)
    fake.throttle_rate = 0.1  # the fake blocks a throttled mailbox for its Retry-After (1 s)
    chunks, _ = drain(_really_sleeping(fake, workers=6, batch_size=5).read(team, {}))
    assert sum(len(c.interactions) for c in chunks) == 30
    assert max(fake.max_in_flight.values()) <= 4
    assert fake.throttled > 0 and fake.early_returns == 0


def test_403_names_the_missing_permission(fake: FakeGraph, connect: Build) -> None:
    team = people(fake, 2)
    fake.roles -= {"Mail.ReadBasic.All"}
    with pytest.raises(PermissionMissing, match=r"Mail\.ReadBasic\.All"):
        drain(connect().mail.read(team, {}))  # type: ignore[union-attr]
    fake.roles = {"User.Read.All", "Calendars.Read"}
    fake.revoke_tokens()
    hold = Hold(hold_id_for("x"), team[0].email, (team[0].email, team[1].email), T0,
                T0 + dt.timedelta(minutes=30), "t", "d")
    with pytest.raises(PermissionMissing, match=r"Calendars\.ReadWrite"):
        connect().calendar.place(hold)  # type: ignore[union-attr]


def test_expired_token_is_renewed(fake: FakeGraph, connect: Build) -> None:
    team = people(fake, 2)
    _meetings(fake, team)
    cal = connect().calendar
    assert cal is not None
    drain(cal.read(team, {}))
    fake.revoke_tokens()
    chunks, _ = drain(cal.read(team, {}))
    assert sum(len(c.interactions) for c in chunks) == 2
    assert fake.token_requests == 2


def test_lost_create_answer_is_retried_without_a_duplicate(fake: FakeGraph, connect: Build) -> None:
    a, b = people(fake, 2)
    hold = Hold(hold_id_for("lost"), a.email, (a.email, b.email), T0, T0 + dt.timedelta(minutes=30),
                "Coffee", "Agenda", HoldMode.INVITE)
    # The first create is applied but answered too late; the client retries the POST.
    fake.faults.append(Fault(r"POST /users/[^/]+/events$", 0, times=1, delay=0.8))
    cal = connect(timeout_seconds=0.3).calendar
    assert cal is not None
    cal.place(hold)
    time.sleep(1.0)  # let the slow first request finish too
    cal.place(hold)
    assert fake.tenant.creates == 1
    marked = fake.tenant.find_by_prop(a.email, MARK_PROPERTY, hold.mark)
    assert len(marked) == 1


def test_duplicate_transaction_id_returns_the_first_event(fake: FakeGraph, connect: Build) -> None:
    from connectors.microsoft.client import Call

    a, _ = people(fake, 2)
    cal = connect().calendar
    assert cal is not None
    body = {"subject": "x", "start": {"dateTime": "2026-03-04T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-03-04T10:30:00", "timeZone": "UTC"}, "transactionId": "t-1"}
    client = cal._client  # type: ignore[attr-defined]  # the connector's own Graph client
    first = client.call(Call("POST", f"users/{a.email}/events", a.email, "Calendars.ReadWrite", body=body))
    second = client.call(Call("POST", f"users/{a.email}/events", a.email, "Calendars.ReadWrite", body=body))
    assert first.body["id"] == second.body["id"] and fake.tenant.creates == 1


def test_no_mailbox_gets_more_than_four_requests_at_once(fake: FakeGraph, connect: Build) -> None:
    from concurrent.futures import ThreadPoolExecutor

    a, b = people(fake, 2)
    hold = Hold(hold_id_for("busy"), a.email, (a.email, b.email), T0, T0 + dt.timedelta(minutes=30),
                "t", "d")
    fake.faults.append(Fault(r"GET /users/[^/]+/events$", 0, times=12, delay=0.2))
    cal = connect().calendar
    assert cal is not None
    with ThreadPoolExecutor(12) as pool:
        states = list(pool.map(lambda _: cal.state(hold), range(12)))
    assert not any(s.exists for s in states)
    assert fake.max_in_flight[a.email] == 4


def test_a_send_that_timed_out_is_not_sent_again(fake: FakeGraph, connect: Build) -> None:
    from connectors.base import OutgoingMessage

    a, _ = people(fake, 2)
    fake.faults.append(Fault(r"POST /users/[^/]+/sendMail", 0, times=1, delay=0.6))
    sender = connect(timeout_seconds=0.2, mail_from=a.email).sender
    assert sender is not None
    with pytest.raises(ConnectorError, match="did not answer"):
        sender.send(OutgoingMessage("k1", a.email, "Your week", "text"))
    time.sleep(0.7)  # the slow request is carried out after all: once
    assert len(fake.tenant.sent_mail) == 1


def test_a_send_answered_502_is_not_repeated_but_503_is(fake: FakeGraph, connect: Build,
                                                        sleeps: Sleeps) -> None:
    from connectors.base import OutgoingMessage

    a, _ = people(fake, 2)
    sender = connect(mail_from=a.email).sender
    assert sender is not None
    fake.faults.append(Fault(r"POST /users/[^/]+/sendMail", 502, times=1))
    with pytest.raises(ConnectorError):  # a gateway error may come after the mail went out
        sender.send(OutgoingMessage("k2", a.email, "Your week", "text"))
    fake.faults.append(Fault(r"POST /users/[^/]+/sendMail", 503, times=1))
    sender.send(OutgoingMessage("k3", a.email, "Your week", "text"))  # 503: not done, so again
    assert len(fake.tenant.sent_mail) == 1


def test_a_mailbox_kept_out_by_an_access_policy_is_skipped(fake: FakeGraph, connect: Build) -> None:
    team = people(fake, 4)
    _meetings(fake, team)
    blocked = fake.tenant.by_mail[team[0].email].id
    fake.faults.append(Fault(rf"GET /users/({blocked}|{team[0].email})/calendarView/delta", 403,
                             times=100, code="ErrorAccessDenied"))
    chunks, cursors = drain(connect().calendar.read(team, {}))  # type: ignore[union-attr]
    assert any(c.interactions for c in chunks)  # the others were read
    assert not any(team[0].email in key for key in cursors)  # the blocked one keeps no cursor
    assert sum(team[i].email in key for key in cursors for i in range(1, 4)) == 3
