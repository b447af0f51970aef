"""Every bad row, line or file is reported with its location and skipped."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest

from connectors.base import Interaction, InteractionKind
from connectors.common.errors import ConnectorError
from connectors.files.calendar import FilesCalendar
from connectors.files.mail import FilesMail
from connectors.files.people import FilesDirectory, parse_working_hours

GOOD_MSG = '{"id": "m1", "date": "2026-03-02T09:00:00+00:00", "from": "a@x.org", "to": ["b@x.org"]}'


def read_all(source: FilesMail | FilesCalendar) -> list[Interaction]:
    return [i for chunk in source.read([], {}) for i in chunk.interactions]


def test_people_bad_rows_are_reported_and_skipped(tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "people.csv"
    path.write_text(
        "email,name,department,level,timezone,working_hours,shoe_size\n"
        "Ada@X.org,Ada,Engineering,3,Europe/London,mon-thu 08:00-16:00,38\n"
        "not-an-address,Bob,Sales,2,UTC,,\n"
        "carl@x.org,Carl,,2,UTC,,\n"
        "dora@x.org,Dora,Legal,high,Mars/Olympus,25:00-26:00,\n"
        "ada@x.org,Ada again,Sales,1,UTC,,\n"
        "\n"
        "eve@x.org,Eve,Sales\n")
    directory = FilesDirectory(path)
    with caplog.at_level(logging.INFO):
        people = {p.email: p for p in directory.people()}
    assert set(people) == {"ada@x.org", "dora@x.org", "eve@x.org"}
    assert people["ada@x.org"].department == "Engineering"  # the first of the duplicates
    assert people["ada@x.org"].working_hours.weekdays == frozenset({0, 1, 2, 3})
    assert people["dora@x.org"].timezone == "UTC" and people["dora@x.org"].level is None
    problems = "\n".join(directory.problems)
    for where in (":3:", ":4:", ":5:", ":6:"):
        assert f"{path}{where}" in problems
    assert "unknown time zone 'Mars/Olympus'" in problems
    assert "duplicate email (the same as line 2)" in problems
    assert all(p in caplog.text for p in directory.problems)
    list(directory.people())  # a second read does not report the same problems again
    assert len(directory.problems) == problems.count("\n") + 1


def test_people_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("email,name\na@x.org,Ada\n")
    directory = FilesDirectory(path)
    assert list(directory.people()) == []
    assert directory.problems == [f"{path}:1: missing required column(s) department; "
                                  "no people read"]


def test_people_file_missing_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(ConnectorError, match=r"people\.csv"):
        list(FilesDirectory(tmp_path / "people.csv").people())


def test_working_hours_forms() -> None:
    plain = parse_working_hours("09:30-17:30")
    assert plain.weekdays == frozenset(range(5)) and plain.start == dt.time(9, 30)
    assert parse_working_hours("sun-thu 08:00-16:00").weekdays == frozenset({6, 0, 1, 2, 3})
    assert parse_working_hours("mon,wed,fri 10:00-18:00").weekdays == frozenset({0, 2, 4})
    for bad in ("17:00-09:00", "someday 09:00-17:00", "9-5", "mon 09:00-17:00 extra"):
        with pytest.raises(ValueError):
            parse_working_hours(bad)


def test_bad_json_lines_are_reported_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "messages.jsonl"
    path.write_text("\n".join([
        GOOD_MSG,
        '{"id": "m2", "date": "2026-03-02T09:00:00+00:00", "from": "a@x.org", "to": [',
        '["not", "an", "object"]',
        '{"id": "m4", "date": "2026-03-02T09:00:00", "from": "a@x.org", "to": ["b@x.org"]}',
        '{"id": "m5", "from": "a@x.org", "to": ["b@x.org"]}',
        '{"id": "m6", "date": "yesterday", "from": "a@x.org", "to": ["b@x.org"]}',
        '{"id": "m7", "date": "2026-03-02T10:00:00+01:00", "from": "A@X.org", "to": "C@x.org",'
        ' "cc": ["a@x.org", "c@x.org", "d@x.org"]}',
        "",
    ]))
    mail = FilesMail(tmp_path)
    got = read_all(mail)
    assert [i.id for i in got] == ["m1", "m7"]
    assert got[1].participants == ("a@x.org", "c@x.org", "d@x.org")
    assert got[1].size == 3 and got[1].kind is InteractionKind.EMAIL
    problems = mail.problems
    assert problems[0].startswith(f"{path}:2: invalid JSON")
    assert problems[1] == f"{path}:3: not a JSON object"
    assert problems[2] == f"{path}:4: date '2026-03-02T09:00:00' has no UTC offset"
    assert problems[3] == f"{path}:5: missing field 'date'"
    assert problems[4].startswith(f"{path}:6: date 'yesterday' is not")
    assert len(problems) == 5


def test_bad_event_lines(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join([
        '{"id": "e1", "start": "2026-03-02T09:00:00+00:00", "end": "2026-03-02T08:00:00+00:00",'
        ' "organizer": "a@x.org", "attendees": ["b@x.org"]}',
        '{"id": "e2", "start": "2026-03-02T09:00:00+00:00", "end": "2026-03-02T10:00:00+00:00"}',
        '{"id": "e3", "start": "2026-03-02T09:00:00+00:00", "end": "2026-03-02T10:00:00+00:00",'
        ' "organizer": "a@x.org", "attendees": ["b@x.org"], "rrule": "FREQ=SOMETIMES"}',
        '{"id": "e4", "start": "2026-03-02T09:00:00+00:00", "end": "2026-03-02T09:45:00+00:00",'
        ' "organizer": "a@x.org", "attendees": ["a@x.org", "B@x.org", "c@x.org"],'
        ' "responses": {"c@x.org": "declined"}, "status": "confirmed"}',
        '{"id": "e5", "start": "2026-03-02T09:00:00+00:00", "end": "2026-03-02T09:45:00+00:00",'
        ' "organizer": "a@x.org", "attendees": ["b@x.org"], "status": "cancelled"}',
    ]) + "\n")
    cal = FilesCalendar(tmp_path)
    got = {i.id: i for i in read_all(cal)}
    assert set(got) == {"e4", "e5"}
    assert got["e4"].participants == ("a@x.org", "b@x.org") and got["e4"].size == 3
    assert got["e4"].duration == dt.timedelta(minutes=45)
    assert got["e5"].cancelled
    assert [p.split(": ", 1)[0] for p in cal.problems] == [f"{path}:1", f"{path}:2", f"{path}:3"]
    assert "end is before start" in cal.problems[0]
    assert "rrule 'FREQ=SOMETIMES'" in cal.problems[2]


ICS_FLOATING = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:test
BEGIN:VEVENT
UID:good@x
DTSTART:20260302T090000Z
DTEND:20260302T100000Z
ORGANIZER:mailto:a@x.org
ATTENDEE;PARTSTAT=ACCEPTED:mailto:b@x.org
END:VEVENT
BEGIN:VEVENT
UID:floating@x
DTSTART:20260303T090000
DTEND:20260303T100000
ORGANIZER:mailto:a@x.org
END:VEVENT
BEGIN:VEVENT
UID:allday@x
DTSTART;VALUE=DATE:20260304
ORGANIZER:mailto:a@x.org
END:VEVENT
END:VCALENDAR
"""


def test_bad_ics_file_and_event(tmp_path: Path) -> None:
    folder = tmp_path / "calendar"
    folder.mkdir()
    (folder / "a-broken.ics").write_bytes(b"\x00\x01 this is not a calendar \xff")
    (folder / "b-good.ics").write_text(ICS_FLOATING)
    cal = FilesCalendar(tmp_path)
    got = read_all(cal)
    assert [i.id for i in got] == ["good@x@2026-03-02T09:00:00+00:00"]
    assert got[0].participants == ("a@x.org", "b@x.org")
    assert cal.problems[0].startswith(f"{folder / 'a-broken.ics'}:1: ")
    assert cal.problems[1] == (f"{folder / 'b-good.ics'}:11: event floating@x has a floating "
                               "time (no UTC offset or TZID)")
    assert len(cal.problems) == 2


def test_bad_mbox(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "a.mbox").write_text("Hello, I am a text file, not a mailbox.\n")
    (folder / "b.mbox").write_text(
        "From a@x.org Mon Mar  2 09:00:00 2026\n"
        "From: a@x.org\nTo: b@x.org\nDate: Mon, 02 Mar 2026 09:00:00 +0000\n"
        "Message-ID: <ok@x.org>\n\nbody\n\n"
        "From a@x.org Mon Mar  2 09:00:00 2026\n"
        "From: a@x.org\nTo: b@x.org\nDate: sometime soon\n\nbody\n\n"
        "From a@x.org Mon Mar  2 09:00:00 2026\n"
        "To: b@x.org\nDate: Mon, 02 Mar 2026 09:00:00 +0000\n\nbody\n")
    mail = FilesMail(tmp_path)
    got = read_all(mail)
    assert [i.id for i in got] == ["<ok@x.org>"]
    assert mail.problems == [
        f"{folder / 'a.mbox'}:1: not an mbox file (it must start with a 'From ' line)",
        f"{folder / 'b.mbox'}:9: unreadable Date 'sometime soon'",
        f"{folder / 'b.mbox'}:16: no From address",
    ]


def test_impossible_years_and_endless_rules_are_reported_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "messages.jsonl").write_text(
        '{"id": "old", "date": "0001-01-01T00:30:00+01:00", "from": "a@x.org", "to": ["b@x.org"]}\n'
        + GOOD_MSG + "\n")
    ev = ('{{"id": "{id}", "start": "{start}", "end": "{end}", "organizer": "a@x.org", '
          '"attendees": ["b@x.org"]{extra}}}')
    (tmp_path / "events.jsonl").write_text("\n".join([
        ev.format(id="far", start="9999-12-31T10:00:00+00:00", end="9999-12-31T11:00:00+00:00",
                  extra=""),
        ev.format(id="loop", start="2026-03-02T10:00:00+00:00", end="2026-03-02T11:00:00+00:00",
                  extra=', "rrule": "FREQ=WEEKLY;INTERVAL=0"'),
        ev.format(id="ok", start="2026-03-02T10:00:00+00:00", end="2026-03-02T11:00:00+00:00",
                  extra=""),
    ]) + "\n")
    (tmp_path / "calendar").mkdir()
    (tmp_path / "calendar" / "loop.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:l1\r\n"
        "DTSTART:20260302T100000Z\r\nDTEND:20260302T110000Z\r\nRRULE:FREQ=DAILY;INTERVAL=0\r\n"
        "ORGANIZER:mailto:a@x.org\r\nATTENDEE:mailto:b@x.org\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    mail = FilesMail(tmp_path)
    assert [i.id for i in read_all(mail)] == ["m1"]
    assert any("messages.jsonl:1:" in p and "0001" in p for p in mail.problems)
    calendar = FilesCalendar(tmp_path)
    assert [i.id for i in read_all(calendar)] == ["ok"]
    problems = "\n".join(calendar.problems)
    assert "events.jsonl:1:" in problems and "9999" in problems
    assert "events.jsonl:2:" in problems and "INTERVAL=0" in problems
    assert "loop.ics" in problems and "INTERVAL" in problems
