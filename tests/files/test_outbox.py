"""holds.ics and digests in the outbox, and free/busy from every source."""

from __future__ import annotations

import datetime as dt
import email
import json
import stat
from email import policy
from pathlib import Path
from typing import Any

import icalendar
import pytest

from connectors.base import Hold, HoldMode, OutgoingMessage, Response, hold_id_for
from connectors.common.clock import fixed_clock
from connectors.common.errors import NotOurEvent
from connectors.files.calendar import FilesCalendar
from connectors.files.outbox import FilesSender, digest_filename
from tests.files.helpers import edit_holds

UTC = dt.UTC
START = dt.datetime(2026, 3, 4, 14, tzinfo=UTC)


def _hold(n: int = 1, mode: HoldMode = HoldMode.INVITE) -> Hold:
    return Hold(hold_id_for("t", str(n)), "ada@x.org", ("ada@x.org", "bob@x.org"), START,
                START + dt.timedelta(minutes=30), "Coffee: Ada and Bob", "What are you working on?",
                mode)


def _calendar(root: Path) -> FilesCalendar:
    return FilesCalendar(root, clock=fixed_clock(dt.datetime(2026, 3, 1, tzinfo=UTC)))


def _events(path: Path) -> list[Any]:
    return list(icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT"))


def _attendees(ev: Any) -> list[Any]:
    found = ev.get("ATTENDEE", [])
    return found if isinstance(found, list) else [found]


def test_holds_file_layout_and_idempotence(tmp_path: Path) -> None:
    cal = _calendar(tmp_path)
    cal.place(_hold(1))
    cal.place(_hold(1))
    cal.place(_hold(2))
    path = tmp_path / "outbox" / "holds.ics"
    events = _events(path)
    assert [str(e["UID"]) for e in events] == [_hold(1).id, _hold(2).id]
    ev = events[0]
    assert str(ev["X-BRIDGEWORK-MARK"]) == _hold(1).mark
    assert str(ev["STATUS"]) == "TENTATIVE"
    assert {str(a).lower(): str(a.params["PARTSTAT"]) for a in _attendees(ev)} == {
        "mailto:ada@x.org": "ACCEPTED", "mailto:bob@x.org": "NEEDS-ACTION"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(path.parent.glob(".holds.ics.*"))  # no temp files left behind


def test_a_hold_mode_hold_invites_nobody(tmp_path: Path) -> None:
    cal = _calendar(tmp_path)
    cal.place(_hold(1, HoldMode.HOLD))
    (ev,) = _events(tmp_path / "outbox" / "holds.ics")
    assert str(ev["X-BRIDGEWORK-MODE"]) == "hold"
    assert [str(a).lower() for a in _attendees(ev)] == ["mailto:ada@x.org"]


def test_people_can_answer_or_cancel_in_the_file(tmp_path: Path) -> None:
    cal = _calendar(tmp_path)
    hold = _hold()
    cal.place(hold)
    path = tmp_path / "outbox" / "holds.ics"

    def accept(ev: Any) -> None:
        for att in _attendees(ev):
            if "bob" in str(att):
                att.params["PARTSTAT"] = "ACCEPTED"

    edit_holds(path, hold.id, accept)
    assert cal.state(hold).responses["bob@x.org"] is Response.ACCEPTED
    edit_holds(path, hold.id, lambda ev: ev.__setitem__("STATUS", "CANCELLED"))
    state = cal.state(hold)
    assert state.exists and state.cancelled
    assert cal.busy(["ada@x.org"], START, START + dt.timedelta(hours=1))["ada@x.org"] == []


def test_move_and_release_rewrite_only_our_event(tmp_path: Path) -> None:
    cal = _calendar(tmp_path)
    hold, other = _hold(1), _hold(2)
    cal.place(hold)
    cal.place(other)
    later = START + dt.timedelta(days=1)
    cal.move(hold, later, later + dt.timedelta(minutes=30))
    events = {str(e["UID"]): e for e in _events(tmp_path / "outbox" / "holds.ics")}
    assert events[hold.id].decoded("DTSTART") == later
    assert int(events[hold.id]["SEQUENCE"]) == 1
    assert events[other.id].decoded("DTSTART") == START
    cal.release(hold)
    assert [str(e["UID"]) for e in _events(tmp_path / "outbox" / "holds.ics")] == [other.id]


def test_an_unmarked_event_with_our_id_is_refused(tmp_path: Path) -> None:
    cal = _calendar(tmp_path)
    hold = _hold()
    cal.place(hold)
    edit_holds(tmp_path / "outbox" / "holds.ics", hold.id,
               lambda ev: ev.pop("X-BRIDGEWORK-MARK"))
    with pytest.raises(NotOurEvent):
        cal.release(hold)
    assert cal.state(hold).exists


def test_busy_joins_events_recurrences_and_holds(tmp_path: Path) -> None:
    lines = [
        {"id": "e1", "start": "2026-03-04T10:00:00+01:00", "end": "2026-03-04T11:00:00+01:00",
         "organizer": "ada@x.org", "attendees": ["bob@x.org", "cy@x.org"],
         "responses": {"cy@x.org": "declined"}},
        {"id": "e2", "start": "2026-03-04T12:00:00+00:00", "end": "2026-03-04T13:00:00+00:00",
         "organizer": "bob@x.org", "attendees": ["ada@x.org"], "status": "cancelled"},
        {"id": "s1", "start": "2026-01-05T16:00:00+00:00", "end": "2026-01-05T16:30:00+00:00",
         "organizer": "cy@x.org", "attendees": ["ada@x.org"], "rrule": "FREQ=DAILY"},
        {"id": "old", "start": "2025-03-04T10:00:00+00:00", "end": "2025-03-04T11:00:00+00:00",
         "organizer": "ada@x.org", "attendees": ["bob@x.org"]},
    ]
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    cal = _calendar(tmp_path)
    cal.place(_hold())
    day = dt.datetime(2026, 3, 4, tzinfo=UTC)
    busy = cal.busy(["ada@x.org", "bob@x.org", "cy@x.org"], day, day + dt.timedelta(days=1))
    spans = {who: [(b.start.astimezone(UTC).hour, b.start.minute) for b in got]
             for who, got in busy.items()}
    assert spans == {"ada@x.org": [(9, 0), (14, 0), (16, 0)], "bob@x.org": [(9, 0), (14, 0)],
                     "cy@x.org": [(16, 0)]}
    # the index is reused, and widened for a later window
    nxt = cal.busy(["cy@x.org"], day + dt.timedelta(days=30), day + dt.timedelta(days=31))
    assert len(nxt["cy@x.org"]) == 1


def test_sender_writes_one_eml_per_key(tmp_path: Path) -> None:
    sender = FilesSender(tmp_path / "outbox")
    first = OutgoingMessage("digest/2026-W10/../../ada", "ada@x.org", "Your week", "plain v1",
                            "<p>v1</p>", "bridgework@x.org")
    sender.send(first)
    sender.send(OutgoingMessage(first.key, "ada@x.org", "Your week", "plain v2", "<p>v2</p>"))
    sender.send(OutgoingMessage("digest/2026-W10/bob", "bob@x.org", "Your week", "text only"))
    files = sorted((tmp_path / "outbox" / "digests").iterdir())
    assert len(files) == 2 and all(f.suffix == ".eml" and "/" not in f.name for f in files)
    path = tmp_path / "outbox" / "digests" / digest_filename(first.key)
    msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert msg["To"] == "ada@x.org" and msg["Subject"] == "Your week"
    assert msg.get_content_type() == "multipart/alternative"
    assert msg.get_body(("plain",)).get_content().strip() == "plain v2"  # type: ignore[union-attr]
    assert "v2" in msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert digest_filename("a/b") != digest_filename("a_b")
