"""Recurrence, headers-only mail, incremental cursors and resyncs."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo

from dateutil import rrule as du_rrule
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.base import Interaction, SyncChunk
from connectors.files.calendar import FilesCalendar
from connectors.files.mail import FilesMail
from connectors.files.recurrence import simple_weekly

UTC = dt.UTC


def _read(source: FilesMail | FilesCalendar, cursors: Mapping[str, str] | None = None
          ) -> tuple[list[Interaction], dict[str, str], list[SyncChunk]]:
    chunks = list(source.read([], dict(cursors or {})))
    new = dict(cursors or {})
    for c in chunks:
        if c.cursor is not None:
            new[c.cursor_key] = c.cursor
    return [i for c in chunks for i in c.interactions], new, chunks


def _msg(n: int, day: int = 2) -> str:
    return json.dumps({"id": f"m{n}", "date": f"2026-03-{day:02d}T09:{n % 60:02d}:00+00:00",
                       "from": "a@x.org", "to": ["b@x.org"], "cc": []}) + "\n"


RECURRING_ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:test
BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:STANDARD
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
UID:standup@x
SUMMARY:Secret project Falcon
DESCRIPTION:Confidential agenda
LOCATION:Room 7
DTSTART;TZID=Europe/Berlin:20260316T100000
DTEND;TZID=Europe/Berlin:20260316T103000
RRULE:FREQ=WEEKLY;COUNT=5
EXDATE;TZID=Europe/Berlin:20260323T100000
ORGANIZER:mailto:a@x.org
ATTENDEE;PARTSTAT=ACCEPTED:mailto:b@x.org
ATTENDEE;PARTSTAT=DECLINED:mailto:c@x.org
END:VEVENT
END:VCALENDAR
"""


def test_ics_recurrence_is_expanded_without_titles(tmp_path: Path) -> None:
    (tmp_path / "calendar").mkdir()
    (tmp_path / "calendar" / "team.ics").write_text(RECURRING_ICS)
    cal = FilesCalendar(tmp_path)
    got, cursors, _ = _read(cal)
    starts = [i.start.astimezone(UTC) for i in got]
    # weekly at 10:00 Berlin, across the change to summer time on 29 March; 23 March skipped
    assert starts == [dt.datetime(2026, 3, 16, 9, tzinfo=UTC), dt.datetime(2026, 3, 30, 8, tzinfo=UTC),
                      dt.datetime(2026, 4, 6, 8, tzinfo=UTC), dt.datetime(2026, 4, 13, 8, tzinfo=UTC)]
    assert all(i.participants == ("a@x.org", "b@x.org") and i.size == 3 for i in got)
    assert got[0].id == "standup@x@2026-03-16T09:00:00+00:00"
    assert all(i.duration == dt.timedelta(minutes=30) for i in got)
    assert not any(w in repr(got) for w in ("Falcon", "Confidential", "Room 7"))
    assert _read(cal, cursors)[0] == []  # unchanged file: nothing again
    busy = cal.busy(["b@x.org", "c@x.org"], dt.datetime(2026, 3, 29, tzinfo=UTC),
                    dt.datetime(2026, 4, 1, tzinfo=UTC))
    assert [(b.start.astimezone(UTC), b.end.astimezone(UTC)) for b in busy["b@x.org"]] == [
        (dt.datetime(2026, 3, 30, 8, tzinfo=UTC), dt.datetime(2026, 3, 30, 8, 30, tzinfo=UTC))]
    assert busy["c@x.org"] == []  # declined


def test_jsonl_rrule_keeps_wall_time_and_grows_with_the_horizon(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    series = {"id": "s1", "start": "2026-03-16T10:00:00+01:00", "end": "2026-03-16T10:30:00+01:00",
              "organizer": "a@x.org", "attendees": ["b@x.org"], "rrule": "FREQ=WEEKLY",
              "timezone": "Europe/Berlin", "exdate": ["2026-03-23T10:00:00+01:00"]}
    events.write_text(json.dumps(series) + "\n")
    cal = FilesCalendar(tmp_path, horizon_after_latest=dt.timedelta(weeks=3))
    got, cursors, _ = _read(cal)
    assert [i.start.astimezone(UTC).isoformat() for i in got] == [
        "2026-03-16T09:00:00+00:00", "2026-03-30T08:00:00+00:00"]
    assert got[0].id == "s1@2026-03-16T09:00:00+00:00"
    # a later single meeting pushes the horizon: the series' next weeks appear, once
    later = {"id": "e9", "start": "2026-04-20T12:00:00+00:00", "end": "2026-04-20T13:00:00+00:00",
             "organizer": "b@x.org", "attendees": ["a@x.org"]}
    with events.open("a") as f:
        f.write(json.dumps(later) + "\n")
    more, cursors, _ = _read(cal, cursors)
    ids = [i.id for i in more]
    assert ids[0] == "e9"
    assert ids[1:] == [f"s1@2026-{d}T08:00:00+00:00"
                       for d in ("04-06", "04-13", "04-20", "04-27", "05-04", "05-11")]
    assert _read(cal, cursors)[0] == []


def test_mbox_reads_headers_only(tmp_path: Path) -> None:
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "inbox.mbox").write_text(
        "From a@x.org Mon Mar  2 09:00:00 2026\n"
        "From: Ada <A@x.org>\nTo: Bob <b@x.org>, c@x.org\nCc: a@x.org\n"
        "Date: Mon, 02 Mar 2026 10:00:00 +0100\n"
        "Message-ID: <one@x.org>\nSubject: Layoffs planned for Q3\n"
        "Content-Type: text/plain\n\n"
        "The body mentions the merger with Initech.\n")
    mail = FilesMail(tmp_path)
    got, cursors, chunks = _read(mail)
    assert len(got) == 1
    m = got[0]
    assert m.id == "<one@x.org>" and m.participants == ("a@x.org", "b@x.org", "c@x.org")
    assert m.start == dt.datetime(2026, 3, 2, 9, tzinfo=UTC) and m.size == 3
    produced = repr(chunks) + repr(cursors) + repr(mail.problems) + repr(vars(mail))
    for secret in ("Layoffs", "Q3", "merger", "Initech", "Subject"):
        assert secret not in produced
    assert _read(mail, cursors)[0] == []


def test_incremental_append_reads_only_new_lines(tmp_path: Path) -> None:
    path = tmp_path / "messages.jsonl"
    path.write_text("".join(_msg(n) for n in range(5)))
    mail = FilesMail(tmp_path, chunk_size=2)
    got, cursors, chunks = _read(mail)
    assert [i.id for i in got] == [f"m{n}" for n in range(5)]
    assert not any(c.resynced for c in chunks)
    with path.open("a") as f:
        f.write(_msg(5) + _msg(6))
    more, cursors, chunks = _read(mail, cursors)
    assert [i.id for i in more] == ["m5", "m6"]
    assert not any(c.resynced for c in chunks)
    assert _read(mail, cursors)[0] == []


def test_resume_from_a_mid_file_cursor(tmp_path: Path) -> None:
    (tmp_path / "messages.jsonl").write_text("".join(_msg(n) for n in range(6)))
    mail = FilesMail(tmp_path, chunk_size=1)
    mail_chunks = list(mail.read([], {}))
    # a crash after the first chunk was stored: carry on from its cursor
    first = mail_chunks[0]
    rest, _, _ = _read(mail, {first.cursor_key: first.cursor or ""})
    done = {i.id for i in first.interactions}
    assert done | {i.id for i in rest} == {f"m{n}" for n in range(6)}
    assert not done & {i.id for i in rest}


def test_unfinished_last_line_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "messages.jsonl"
    path.write_text(_msg(0) + _msg(1).rstrip("\n"))  # a writer mid-line, or no final newline
    mail = FilesMail(tmp_path)
    got, cursors, _ = _read(mail)
    assert [i.id for i in got] == ["m0", "m1"]
    with path.open("a") as f:
        f.write("\n" + _msg(2))
    more, _, _ = _read(mail, cursors)
    assert [i.id for i in more] == ["m1", "m2"]  # the ledger drops the repeated m1 by id


def test_rewritten_or_shrunk_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "messages.jsonl"
    path.write_text("".join(_msg(n) for n in range(4)))
    mail = FilesMail(tmp_path)
    _, cursors, _ = _read(mail)
    # an export tool rewrites the file (new inode) with different history
    replacement = tmp_path / "new.jsonl"
    replacement.write_text("".join(_msg(n, day=3) for n in range(10, 16)))
    os.replace(replacement, path)
    got, cursors, chunks = _read(mail, cursors)
    assert [i.id for i in got] == [f"m{n}" for n in range(10, 16)]
    assert chunks[0].resynced
    # truncated in place (same inode, smaller)
    with path.open("r+") as f:
        f.truncate(len(_msg(10)))
    got, _, chunks = _read(mail, cursors)
    assert [i.id for i in got] == ["m10"] and chunks[0].resynced


def test_same_size_rewrite_in_place_is_noticed(tmp_path: Path) -> None:
    path = tmp_path / "messages.jsonl"
    path.write_text(_msg(1) + _msg(2))
    mail = FilesMail(tmp_path)
    _, cursors, _ = _read(mail)
    with path.open("r+") as f:  # same inode and length, other content
        f.write(_msg(3) + _msg(4))
    got, _, chunks = _read(mail, cursors)
    assert [i.id for i in got] == ["m3", "m4"] and chunks[0].resynced


def test_changed_mbox_is_read_whole_again(tmp_path: Path) -> None:
    (tmp_path / "mail").mkdir()
    box = tmp_path / "mail" / "a.mbox"
    one = ("From a@x.org Mon Mar  2 09:00:00 2026\nFrom: a@x.org\nTo: b@x.org\n"
           "Date: Mon, 02 Mar 2026 10:00:00 +0000\nMessage-ID: <{n}@x.org>\n\nhi\n\n")
    box.write_text(one.format(n=1))
    mail = FilesMail(tmp_path)
    _, cursors, _ = _read(mail)
    assert set(cursors) == {"files:mbox:a.mbox"}
    box.write_text(one.format(n=1) + one.format(n=2))
    got, _, chunks = _read(mail, cursors)
    assert [i.id for i in got] == ["<1@x.org>", "<2@x.org>"] and chunks[0].resynced


zones = st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC"])


@settings(max_examples=150, deadline=None)
@given(zone=zones, day=st.integers(0, 364), minute=st.integers(0, 24 * 4 - 1),
       interval=st.integers(1, 3), limit=st.sampled_from(["", "COUNT", "UNTIL"]),
       n=st.integers(1, 40), skip=st.lists(st.integers(0, 30), max_size=4),
       window=st.tuples(st.integers(-20, 400), st.integers(1, 200)))
def test_fast_weekly_rule_matches_dateutil(zone: str, day: int, minute: int, interval: int,
                                           limit: str, n: int, skip: list[int],
                                           window: tuple[int, int]) -> None:
    tz = ZoneInfo(zone)
    start = dt.datetime(2025, 1, 1, tzinfo=tz) + dt.timedelta(days=day)
    start = start.replace(hour=minute // 4, minute=minute % 4 * 15)
    rule = f"FREQ=WEEKLY;INTERVAL={interval}"
    if limit == "COUNT":
        rule += f";COUNT={n}"
    elif limit == "UNTIL":
        until = (start + dt.timedelta(weeks=n)).astimezone(UTC)
        rule += f";UNTIL={until:%Y%m%dT%H%M%SZ}"
    exdates = [start + dt.timedelta(weeks=k * interval) for k in skip]
    fast = simple_weekly(rule, start, exdates)
    assert fast is not None
    slow = du_rrule.rrulestr(f"RRULE:{rule}", dtstart=start, forceset=True)
    assert isinstance(slow, du_rrule.rruleset)
    for ex in exdates:
        slow.exdate(ex)
    lo = start + dt.timedelta(days=window[0])
    hi = lo + dt.timedelta(days=window[1])
    assert fast.between(lo, hi, inc=True) == slow.between(lo, hi, inc=True)


def test_series_survive_a_crash_between_chunks(tmp_path: Path) -> None:
    def series(n: int) -> str:
        return json.dumps({"id": f"s{n}", "start": f"2026-03-0{n}T10:00:00+00:00",
                           "end": f"2026-03-0{n}T11:00:00+00:00", "organizer": "a@x.org",
                           "attendees": ["b@x.org"], "rrule": "FREQ=WEEKLY;COUNT=3"}) + "\n"

    single = json.dumps({"id": "e1", "start": "2026-03-05T10:00:00+00:00",
                         "end": "2026-03-05T11:00:00+00:00", "organizer": "a@x.org",
                         "attendees": ["b@x.org"]}) + "\n"
    (tmp_path / "events.jsonl").write_text(series(2) + single * 1 + series(3))
    whole, _, _ = _read(FilesCalendar(tmp_path))
    cal = FilesCalendar(tmp_path, chunk_size=1)
    cal_chunks = list(cal.read([], {}))
    first = cal_chunks[0]  # stored, then the process died
    rest, _, _ = _read(cal, {first.cursor_key: first.cursor or ""})
    assert sorted(i.id for i in [*first.interactions, *rest]) == sorted(i.id for i in whole)
    assert len(whole) == 7
