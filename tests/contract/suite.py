"""The one contract every backend passes (vdirsyncer-style).

A backend's test module subclasses :class:`ConnectorContract` and provides a
``world`` fixture: an object that can seed the backend's data source (a fake
server, a directory of files, memory) and hand out the connectors under test.
Interactions are compared by what they mean (time, people, duration), not by
id, because each source names occurrences its own way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Protocol

import pytest

from connectors.base import (
    Backend,
    Busy,
    Calendar,
    Connectors,
    Directory,
    Hold,
    HoldMode,
    Interaction,
    InteractionKind,
    Mail,
    OutgoingMessage,
    Person,
    Response,
    hold_id_for,
)
from connectors.common.errors import NotOurEvent
from tests.contract.lifecycle import LifecycleContract

UTC = dt.UTC
BASE = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


class World(Protocol):
    def seed(
        self,
        people: Sequence[Person],
        meetings: Sequence[Interaction],
        messages: Sequence[Interaction],
    ) -> None: ...

    def connectors(self) -> Connectors: ...

    def add_meeting(self, meeting: Interaction) -> None:
        """Make a new meeting appear in the source after a first sync."""
        ...

    def add_foreign_event(self, owner: str, event_id: str, start: dt.datetime,
                          end: dt.datetime) -> None: ...

    def respond(self, hold: Hold, email: str, response: Response) -> None: ...

    def sent(self) -> list[OutgoingMessage]: ...

    def add_bad_record(self, part: str) -> str:
        """Append one unusable record to what ``part`` (directory, calendar or mail) reads.

        Returns where it now stands as ``path:line``, the way ``problems`` names it.
        Only asked of backends that declare ``reads_files``.
        """
        ...


def contract_people() -> list[Person]:
    return [
        Person("ada@example.org", "Engineering", "Ada Lovelace", "Engineer", 3,
               "grace@example.org", "Europe/London"),
        Person("grace@example.org", "Engineering", "Grace Hopper", "Director", 5, None,
               "America/New_York"),
        Person("linus@example.org", "Sales", "Linus Pauling", "Account Lead", 3,
               "grace@example.org", "Europe/Berlin"),
        Person("rosalind@example.org", "Legal", "Rosalind Franklin", "Counsel", 4,
               "grace@example.org", "UTC"),
    ]


def contract_meetings() -> list[Interaction]:
    return [
        Interaction("m1", InteractionKind.MEETING, BASE,
                    ("ada@example.org", "linus@example.org"), 2, dt.timedelta(minutes=30)),
        Interaction("m2", InteractionKind.MEETING, BASE + dt.timedelta(days=1, hours=2),
                    ("grace@example.org", "rosalind@example.org", "ada@example.org"), 3,
                    dt.timedelta(hours=1)),
    ]


def contract_messages() -> list[Interaction]:
    return [
        Interaction("<a1@example.org>", InteractionKind.EMAIL, BASE + dt.timedelta(hours=3),
                    ("ada@example.org", "rosalind@example.org"), 1),
        Interaction("<a2@example.org>", InteractionKind.EMAIL, BASE + dt.timedelta(days=2),
                    ("linus@example.org", "ada@example.org", "grace@example.org"), 2),
    ]


def _meaning(i: Interaction) -> tuple[dt.datetime, frozenset[str], dt.timedelta]:
    return (i.start.astimezone(UTC), frozenset(i.participants), i.duration)


def _read_all(source: Calendar | Mail, people: Sequence[Person],
              cursors: Mapping[str, str]) -> tuple[list[Interaction], dict[str, str]]:
    got: list[Interaction] = []
    new = dict(cursors)
    for chunk in source.read(people, cursors):
        got.extend(chunk.interactions)
        if chunk.cursor is not None:
            new[chunk.cursor_key] = chunk.cursor
    return got, new


def _hold(start: dt.datetime = BASE + dt.timedelta(days=3, hours=5),
          mode: HoldMode = HoldMode.INVITE) -> Hold:
    return Hold(
        id=hold_id_for("contract", "ada", "linus"),
        organizer="ada@example.org",
        attendees=("ada@example.org", "linus@example.org"),
        start=start,
        end=start + dt.timedelta(minutes=30),
        title="Coffee: Ada and Linus",
        description="What is your team working on?",
        mode=mode,
    )


def _spans(busy: Sequence[Busy]) -> list[tuple[dt.datetime, dt.datetime]]:
    return [(b.start.astimezone(UTC), b.end.astimezone(UTC)) for b in busy]


def _place(world: World, mode: HoldMode) -> tuple[Calendar, Hold]:
    cal = world.connectors().calendar
    assert cal is not None
    hold = _hold(mode=mode)
    cal.place(hold)
    return cal, hold


def _busy_during(cal: Calendar, hold: Hold) -> dict[str, list[tuple[dt.datetime, dt.datetime]]]:
    """What free/busy shows for Ada (the organiser) and Linus over the hold's own time."""
    busy = cal.busy(["ada@example.org", "linus@example.org"], hold.start, hold.end)
    return {who: _spans(spans) for who, spans in busy.items()}


def _parts(connectors: Connectors) -> dict[str, Backend | None]:
    return {"directory": connectors.directory, "calendar": connectors.calendar,
            "mail": connectors.mail}


class ConnectorContract(LifecycleContract):
    """Subclass and provide a ``world`` fixture (the hold lifecycle runs too)."""

    @pytest.fixture
    def seeded(self, world: World) -> World:
        world.seed(contract_people(), contract_meetings(), contract_messages())
        return world

    # --- directory ----------------------------------------------------------------
    def test_directory_lists_people_with_departments(self, seeded: World) -> None:
        people = {p.email: p for p in seeded.connectors().directory.people()}
        assert set(people) == {p.email for p in contract_people()}
        assert people["linus@example.org"].department == "Sales"
        assert people["ada@example.org"].manager == "grace@example.org"
        assert people["grace@example.org"].name == "Grace Hopper"

    # --- calendar -----------------------------------------------------------------
    def test_calendar_reads_meetings_once(self, seeded: World) -> None:
        cal = seeded.connectors().calendar
        assert cal is not None
        got, cursors = _read_all(cal, contract_people(), {})
        assert {_meaning(i) for i in got} == {_meaning(m) for m in contract_meetings()}
        assert all(i.kind is InteractionKind.MEETING for i in got)
        again, _ = _read_all(cal, contract_people(), cursors)
        assert {_meaning(i) for i in again} <= {_meaning(i) for i in got}
        assert len({_meaning(i) for i in again}) == 0

    def test_calendar_incremental_sees_only_new(self, seeded: World) -> None:
        cal = seeded.connectors().calendar
        assert cal is not None
        _, cursors = _read_all(cal, contract_people(), {})
        new = Interaction("m3", InteractionKind.MEETING, BASE + dt.timedelta(days=4),
                          ("linus@example.org", "rosalind@example.org"), 2,
                          dt.timedelta(minutes=45))
        seeded.add_meeting(new)
        got, _ = _read_all(cal, contract_people(), cursors)
        assert {_meaning(i) for i in got} == {_meaning(new)}

    def test_busy_reports_meetings(self, seeded: World) -> None:
        cal = seeded.connectors().calendar
        assert cal is not None
        busy = cal.busy(["ada@example.org", "rosalind@example.org", "linus@example.org"],
                        BASE - dt.timedelta(hours=1), BASE + dt.timedelta(days=2))
        ada = [(b.start.astimezone(UTC), b.end.astimezone(UTC)) for b in busy["ada@example.org"]]
        assert (BASE, BASE + dt.timedelta(minutes=30)) in ada
        m2 = contract_meetings()[1]
        assert (m2.start, m2.start + m2.duration) in ada
        assert len(busy["rosalind@example.org"]) == 1

    def test_place_is_idempotent(self, seeded: World) -> None:
        cal = seeded.connectors().calendar
        assert cal is not None
        hold = _hold()
        cal.place(hold)
        cal.place(hold)
        state = cal.state(hold)
        assert state.exists and not state.cancelled
        assert state.start is not None and state.start.astimezone(UTC) == hold.start
        busy = cal.busy(["ada@example.org"], hold.start, hold.end)["ada@example.org"]
        assert len(busy) == 1

    def test_responses_are_read_back(self, seeded: World) -> None:
        cal = seeded.connectors().calendar
        assert cal is not None
        hold = _hold()
        cal.place(hold)
        seeded.respond(hold, "linus@example.org", Response.DECLINED)
        assert cal.state(hold).responses.get("linus@example.org") is Response.DECLINED

    def test_move_and_release_own_hold(self, seeded: World) -> None:
        cal = seeded.connectors().calendar
        assert cal is not None
        hold = _hold()
        cal.place(hold)
        later = hold.start + dt.timedelta(days=1)
        cal.move(hold, later, later + dt.timedelta(minutes=30))
        state = cal.state(hold)
        assert state.start is not None and state.start.astimezone(UTC) == later
        cal.release(hold)
        assert not cal.state(hold).exists
        cal.release(hold)  # releasing twice is harmless

    def test_foreign_events_are_never_touched(self, seeded: World) -> None:
        cal = seeded.connectors().calendar
        assert cal is not None
        hold = _hold()
        seeded.add_foreign_event(hold.organizer, hold.id, hold.start, hold.end)
        with pytest.raises(NotOurEvent):
            cal.release(hold)
        with pytest.raises(NotOurEvent):
            cal.move(hold, hold.start + dt.timedelta(hours=1), hold.end + dt.timedelta(hours=1))
        state = cal.state(hold)
        assert state.exists
        assert state.start is not None and state.start.astimezone(UTC) == hold.start

    # --- mail ---------------------------------------------------------------------
    def test_mail_reads_messages_once(self, seeded: World) -> None:
        mail = seeded.connectors().mail
        assert mail is not None
        got, cursors = _read_all(mail, contract_people(), {})
        want = {(m.start, frozenset(m.participants)) for m in contract_messages()}
        assert {(i.start.astimezone(UTC), frozenset(i.participants)) for i in got} == want
        assert all(i.kind is InteractionKind.EMAIL for i in got)
        again, _ = _read_all(mail, contract_people(), cursors)
        assert again == []

    # --- sender -------------------------------------------------------------------
    def test_sender_delivers(self, seeded: World) -> None:
        sender = seeded.connectors().sender
        assert sender is not None
        msg = OutgoingMessage("digest/2026-W10/ada", "ada@example.org", "Your week",
                              "plain text", "<p>html</p>", "bridgework@example.org")
        sender.send(msg)
        delivered = seeded.sent()
        assert [m.to for m in delivered] == ["ada@example.org"]
        assert delivered[0].subject == "Your week"

    # --- bad input ----------------------------------------------------------------
    @pytest.mark.parametrize("part", ["directory", "calendar", "mail"])
    def test_bad_input_is_named_by_file_and_line_and_skipped(self, seeded: World,
                                                             part: str) -> None:
        backend = _parts(seeded.connectors())[part]
        assert backend is not None
        if not backend.reads_files:
            pytest.skip(f"{type(backend).__name__} reads no files: its input arrives as "
                        "structured values and cannot be malformed at a file and line")
        where = seeded.add_bad_record(part)
        if isinstance(backend, Directory):
            people = {p.email for p in backend.people()}
            assert people == {p.email for p in contract_people()}  # the rest is still read
        elif isinstance(backend, Calendar):
            got, _ = _read_all(backend, contract_people(), {})
            assert {_meaning(i) for i in got} == {_meaning(m) for m in contract_meetings()}
        else:
            assert isinstance(backend, Mail)
            got, _ = _read_all(backend, contract_people(), {})
            assert len(got) == len(contract_messages())
        located = [p for p in backend.problems if p.startswith(f"{where}: ")]
        assert len(located) == 1, (where, list(backend.problems))

    # --- hold modes ---------------------------------------------------------------
    def test_hold_mode_puts_the_hold_on_the_organisers_calendar_only(self, seeded: World) -> None:
        cal, hold = _place(seeded, HoldMode.HOLD)
        state = cal.state(hold)
        assert state.exists
        assert "linus@example.org" not in state.responses  # nobody else was invited
        assert _busy_during(cal, hold) == {"ada@example.org": [(hold.start, hold.end)],
                                           "linus@example.org": []}

    def test_invite_mode_invites_the_other_person(self, seeded: World) -> None:
        cal, hold = _place(seeded, HoldMode.INVITE)
        state = cal.state(hold)
        assert state.responses.get("ada@example.org") is Response.ACCEPTED
        assert state.responses.get("linus@example.org") is Response.NEEDS_ACTION
        assert _busy_during(cal, hold) == {"ada@example.org": [(hold.start, hold.end)],
                                           "linus@example.org": [(hold.start, hold.end)]}

    def test_a_declined_hold_is_not_busy_for_who_declined(self, seeded: World) -> None:
        cal, hold = _place(seeded, HoldMode.INVITE)
        seeded.respond(hold, "linus@example.org", Response.DECLINED)
        # still the organiser's time, but no longer the other person's
        assert _busy_during(cal, hold) == {"ada@example.org": [(hold.start, hold.end)],
                                           "linus@example.org": []}
