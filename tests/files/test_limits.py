"""Inputs that used to hang a sync or crash it: each is now reported by location and skipped.

A regression shows as a huge count here (millions of phantom meetings) rather
than as a slow test: each case is small enough to finish quickly when fixed.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

import pytest

from connectors.base import Interaction
from connectors.files.calendar import FilesCalendar
from connectors.files.csvrows import MAX_LINE_BYTES
from connectors.files.limits import MAX_PER_DAY
from connectors.files.people import FilesDirectory

START = "2026-03-02T09:00:00+00:00"


def _event(ident: str, rule: str) -> dict[str, object]:
    return {"id": ident, "start": START, "end": "2026-03-02T09:30:00+00:00",
            "organizer": "a@x.org", "attendees": ["b@x.org"], "rrule": rule}


def _read(cal: FilesCalendar) -> Counter[str]:
    items: list[Interaction] = [i for c in cal.read([], {}) for i in c.interactions]
    return Counter(i.id.split("@")[0] for i in items)


def _ics(*events: str) -> str:
    body = "".join(f"BEGIN:VEVENT\r\n{e.strip()}\r\nORGANIZER:mailto:a@x.org\r\n"
                   "ATTENDEE:mailto:b@x.org\r\nEND:VEVENT\r\n" for e in events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\n{body}END:VCALENDAR\r\n"


def _events(*lines: str) -> str:
    return "\r\n".join(line.strip() for line in lines)


def test_sub_daily_rules_in_events_jsonl_are_refused_by_line(tmp_path: Path) -> None:
    rules = ["FREQ=SECONDLY", "FREQ=MINUTELY", "FREQ=MINUTELY;BYSECOND=0,15,30,45",
             "FREQ=HOURLY;INTERVAL=2", "FREQ=DAILY;BYHOUR=9,12,15",
             "RRULE:FREQ=WEEKLY;COUNT=3\nEXRULE:FREQ=SECONDLY",
             "FREQ=WEEKLY;COUNT=4", "FREQ=DAILY;BYHOUR=9,16;COUNT=10"]
    (tmp_path / "events.jsonl").write_text(
        "".join(json.dumps(_event(f"e{n}", r)) + "\n" for n, r in enumerate(rules, 1)))
    cal = FilesCalendar(tmp_path)
    assert _read(cal) == {"e7": 4, "e8": 10}  # only the daily-or-slower series expand
    problems = "\n".join(cal.problems)
    for line in range(1, 7):
        assert f"events.jsonl:{line}: " in problems
    assert "FREQ=SECONDLY repeats within a day" in problems
    assert "BYHOUR make 3 meetings a day" in problems
    assert len(cal.problems) == 6


def test_a_series_is_capped_per_window_and_reported(tmp_path: Path) -> None:
    # an RDATE every hour for 17 days: valid, but 408 meetings of one series
    rdates = ",".join(f"202603{d:02d}T{h:02d}0000Z" for d in range(3, 20) for h in range(24))
    lines = [_event("weekly", "FREQ=WEEKLY;COUNT=2"),
             _event("dense", f"RRULE:FREQ=YEARLY;COUNT=1\nRDATE:{rdates}")]
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    cal = FilesCalendar(tmp_path)
    counts = _read(cal)
    # the window runs from the first meeting to the horizon, 8 weeks after the latest event
    assert counts == {"weekly": 2, "dense": 56 * MAX_PER_DAY}
    assert cal.problems == [f"{tmp_path / 'events.jsonl'}:2: recurring event has more "
                            f"occurrences than {MAX_PER_DAY} a day on average; only the first "
                            "ones were kept"]


def test_sub_daily_rules_in_ics_are_refused_by_line_and_uid(tmp_path: Path) -> None:
    (tmp_path / "calendar").mkdir()
    path = tmp_path / "calendar" / "a@x.org.ics"
    path.write_text(_ics(
        _events("UID:fast-1", "DTSTART:20260302T090000Z", "DTEND:20260302T093000Z",
                "RRULE:FREQ=SECONDLY"),
        _events("UID:fast-2", "DTSTART:20260302T090000Z", "DTEND:20260302T093000Z",
                "RRULE:FREQ=MINUTELY;BYSECOND=0,10,20,30,40,50"),
        _events("UID:ok", "DTSTART:20260302T090000Z", "DTEND:20260302T093000Z",
                "RRULE:FREQ=DAILY;COUNT=5"),
        _events("UID:broken-rule", "DTSTART:20260302T090000Z", "DTEND:20260302T093000Z",
                "RRULE:FREQ=WEEKLY;BYDAY=XX")))
    cal = FilesCalendar(tmp_path)
    assert _read(cal) == {"ok": 5}
    assert [p.split(": ", 1)[0] for p in cal.problems] == [
        f"{path}:4", f"{path}:12", f"{path}:28"]
    assert "event fast-1: FREQ=SECONDLY" in cal.problems[0]
    assert "event fast-2: FREQ=MINUTELY" in cal.problems[1]
    assert "event broken-rule: unreadable RRULE" in cal.problems[2]


def test_a_malformed_rdate_is_reported_and_the_series_kept(tmp_path: Path) -> None:
    (tmp_path / "calendar").mkdir()
    path = tmp_path / "calendar" / "a@x.org.ics"
    path.write_text(_ics(_events(
        "UID:weekly", "DTSTART:20260302T090000Z", "DTEND:20260302T100000Z",
        "RRULE:FREQ=WEEKLY;COUNT=4", "RDATE:2026031X", "RDATE:20260320T090000Z",
        "EXDATE:20260309T090000Z")))
    cal = FilesCalendar(tmp_path)
    # four weekly, one skipped, one extra date kept: the broken RDATE alone is left out
    assert _read(cal) == {"weekly": 4}
    assert cal.problems == [f"{path}:4: event weekly: unreadable RDATE left out, the rest "
                            "of the event kept"]


def test_an_ics_series_is_capped_per_window(tmp_path: Path) -> None:
    (tmp_path / "calendar").mkdir()
    path = tmp_path / "calendar" / "a@x.org.ics"
    rdates = ",".join(f"202603{d:02d}T{h:02d}0000Z" for d in range(3, 20) for h in range(24))
    path.write_text(_ics(_events("UID:dense", "DTSTART:20260302T090000Z",
                                 "DTEND:20260302T093000Z", f"RDATE:{rdates}")))
    cal = FilesCalendar(tmp_path)
    counts = _read(cal)
    # first meeting 2 March 09:00; horizon 8 weeks after the latest DTSTART (the same)
    assert counts == {"dense": 56 * MAX_PER_DAY}
    assert len(cal.problems) == 1 and cal.problems[0].startswith(f"{path}:4: event dense has")


def _people(tmp_path: Path, body: bytes) -> tuple[FilesDirectory, dict[str, str]]:
    path = tmp_path / "people.csv"
    path.write_bytes(b"email,name,department,title\n" + body)
    directory = FilesDirectory(path)
    return directory, {p.email: p.department for p in directory.people()}


def test_people_field_over_the_size_limit_skips_that_row_only(tmp_path: Path) -> None:
    huge = b"x" * (MAX_LINE_BYTES + 10)
    directory, people = _people(tmp_path, b"a@x.org,Ada,Sales,\nb@x.org,Bob,Legal," + huge
                                + b"\nc@x.org,Cy,Ops,\n")
    assert people == {"a@x.org": "Sales", "c@x.org": "Ops"}
    assert directory.problems == [f"{tmp_path / 'people.csv'}:3: row longer than 128 KiB; "
                                  "skipped"]


def test_people_stray_quote_never_swallows_the_next_person(tmp_path: Path) -> None:
    directory, people = _people(tmp_path, b'a@x.org,Ada,Sales,"Head of sales\n'
                                          b'b@x.org,Bob,Legal,Counsel\n'
                                          b'c@x.org,Cy,Ops,"Lead"er\n'
                                          b'd@x.org,Di,Ops,"Quoted, fine"\n')
    assert people == {"b@x.org": "Legal", "d@x.org": "Ops"}
    path = tmp_path / "people.csv"
    assert directory.problems == [
        f"{path}:2: a quote is never closed (a quoted field cannot run onto the next line); "
        "skipped",
        f"{path}:4: a closing quote is followed by more text in the same field; skipped"]


def test_people_quoted_newline_is_an_error_and_the_next_line_its_own_row(tmp_path: Path) -> None:
    directory, people = _people(tmp_path, b'a@x.org,Ada,"Sales\nand Marketing",Lead\n'
                                          b'b@x.org,Bob,Legal,\n')
    # line 3 ('and Marketing",Lead') is read on its own and reported, never joined to line 2
    assert people == {"b@x.org": "Legal"}
    assert [p.split(": ", 1)[0].rsplit(":", 1)[1] for p in directory.problems] == ["2", "3"]


def test_people_nul_byte_makes_no_phantom_department(tmp_path: Path) -> None:
    directory, people = _people(tmp_path, b"a@x.org,Ada,Sal\x00es,\nb@x.org,Bob,Sales,\n")
    assert people == {"b@x.org": "Sales"}
    assert directory.problems == [f"{tmp_path / 'people.csv'}:2: row contains a NUL byte; "
                                  "skipped"]


def test_people_problems_log_no_addresses(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        directory, people = _people(tmp_path, b"ada@x.org,Ada,,\nbob@x.org,Bob,Sales,\n"
                                              b"BOB@x.org,Bob again,Legal,\nnot-mail,Eve,Ops,\n")
    assert people == {"bob@x.org": "Sales"}
    assert len(directory.problems) == 3 and caplog.text
    assert "@" not in caplog.text.replace(str(tmp_path), "")
    assert "not-mail" not in caplog.text
    assert "(the same as line 3)" in directory.problems[1]
