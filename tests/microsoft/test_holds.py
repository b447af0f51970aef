"""Holds on Outlook calendars, and free/busy in getSchedule-sized pieces."""

from __future__ import annotations

import datetime as dt

import pytest

from connectors.base import Hold, HoldMode, Response, hold_id_for
from connectors.common.errors import NotOurEvent
from connectors.microsoft.calendar import HOLD_ID_PROPERTY, MARK_PROPERTY
from tests.fakes.graph import FakeGraph
from tests.microsoft.conftest import Build
from tests.microsoft.test_sync import T0, people

SCHEDULE = "POST /users/(?P<u>[^/]+)/calendar/getSchedule"


def _hold(a: str, b: str, mode: HoldMode) -> Hold:
    start = T0 + dt.timedelta(days=2, hours=5)
    return Hold(hold_id_for("h", a, b), a, (a, b), start, start + dt.timedelta(minutes=30),
                "Get to know you", "What is your team working on?", mode)


def test_hold_mode_touches_only_the_organisers_calendar(fake: FakeGraph, connect: Build) -> None:
    a, b = people(fake, 2)
    hold = _hold(a.email, b.email, HoldMode.HOLD)
    cal = connect().calendar
    assert cal is not None
    cal.place(hold)
    own = fake.tenant.find_by_prop(a.email, MARK_PROPERTY, hold.mark)
    assert len(own) == 1
    event = own[0]
    assert event.meeting.show_as == "tentative" and event.meeting.attendees == []
    assert event.transaction_id == hold.id and event.props[HOLD_ID_PROPERTY.lower()] == hold.id
    assert not fake.tenant.mailboxes[b.email].events
    assert cal.state(hold).responses == {a.email: Response.ACCEPTED}


def test_invite_mode_invites_and_reads_responses(fake: FakeGraph, connect: Build) -> None:
    a, b = people(fake, 2)
    hold = _hold(a.email, b.email, HoldMode.INVITE)
    cal = connect().calendar
    assert cal is not None
    cal.place(hold)
    assert len(fake.tenant.mailboxes[b.email].events) == 1
    assert cal.state(hold).responses[b.email] is Response.NEEDS_ACTION
    fake.tenant.respond(a.email, HOLD_ID_PROPERTY, hold.id, b.email, "tentativelyAccepted")
    assert cal.state(hold).responses[b.email] is Response.TENTATIVE
    busy = cal.busy([b.email], hold.start, hold.end)[b.email]
    assert [(x.start, x.end) for x in busy] == [(hold.start, hold.end)]
    cal.release(hold)
    assert not cal.state(hold).exists
    assert cal.busy([b.email], hold.start, hold.end)[b.email] == []  # cancelled for the guest too


def test_an_event_with_someone_elses_mark_is_left_alone(fake: FakeGraph, connect: Build) -> None:
    a, b = people(fake, 2)
    hold = _hold(a.email, b.email, HoldMode.HOLD)
    fake.tenant.add_meeting(a.email, [], hold.start, hold.end,
                            props={HOLD_ID_PROPERTY: hold.id, MARK_PROPERTY: "hold/another"})
    cal = connect().calendar
    assert cal is not None
    with pytest.raises(NotOurEvent):
        cal.release(hold)
    with pytest.raises(NotOurEvent):
        cal.move(hold, hold.start + dt.timedelta(hours=1), hold.end + dt.timedelta(hours=1))
    assert len(fake.tenant.find_by_prop(a.email, HOLD_ID_PROPERTY, hold.id)) == 1


def test_busy_is_asked_in_pieces_of_20_people_and_under_62_days(fake: FakeGraph, connect: Build) -> None:
    team = people(fake, 45)
    late = T0 + dt.timedelta(days=65)
    fake.tenant.add_meeting(team[44].email, [team[0].email], late, late + dt.timedelta(hours=1))
    fake.tenant.add_meeting(team[3].email, [team[30].email], T0, T0 + dt.timedelta(hours=1),
                            responses={team[30].email: "declined"})
    cal = connect().calendar
    assert cal is not None
    busy = cal.busy([p.email for p in team], T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=70))
    assert fake.requests[SCHEDULE] == 3 * 2  # 20 + 20 + 5 people, 61 + 9 days
    assert fake.http_requests <= 3  # token discovery aside: one $batch
    assert [(b.start, b.end) for b in busy[team[0].email]] == [(late, late + dt.timedelta(hours=1))]
    assert len(busy[team[3].email]) == 1 and busy[team[30].email] == []  # declined is free


def test_a_schedule_graph_cannot_show_counts_as_busy(fake: FakeGraph, connect: Build) -> None:
    team = people(fake, 2)
    cal = connect().calendar
    assert cal is not None
    start, end = T0, T0 + dt.timedelta(days=2)
    busy = cal.busy([team[0].email, "stranger@elsewhere.example"], start, end)
    assert busy[team[0].email] == []
    spans = [(b.start, b.end) for b in busy["stranger@elsewhere.example"]]
    assert spans == [(start, end)]
