"""iCalendar objects as meetings: recurrence, overrides, EXDATE/RDATE, time zones, holds."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar
import pytest

from connectors.base import Hold, HoldMode, Response, hold_id_for
from connectors.caldav import events
from tests.servers.world import event_ics

UTC = dt.UTC
BERLIN = ZoneInfo("Europe/Berlin")
LO, HI = dt.datetime(2026, 1, 1, tzinfo=UTC), dt.datetime(2026, 6, 1, tzinfo=UTC)


def expand(ics: str, owner: str = "ada@example.org", zone: ZoneInfo = BERLIN,
           cap: int = 1000) -> list[events.Occurrence]:
    return list(events.occurrences(events.parse_object(ics), owner, zone, LO, HI, cap))


def override(uid: str, original: dt.datetime, start: dt.datetime, partstat: str) -> icalendar.Event:
    event = icalendar.Event()
    event.add("UID", uid)
    event.add("DTSTAMP", dt.datetime(2026, 1, 1, tzinfo=UTC))
    event.add("RECURRENCE-ID", original)
    event.add("DTSTART", start)
    event.add("DTEND", start + dt.timedelta(hours=1))
    event.add("ORGANIZER", icalendar.vCalAddress("mailto:ada@example.org"))
    for who, state in (("ada@example.org", "ACCEPTED"), ("linus@example.org", partstat)):
        address = icalendar.vCalAddress(f"mailto:{who}")
        address.params["PARTSTAT"] = state
        event.add("ATTENDEE", address, encode=False)
    return event


def test_a_weekly_series_keeps_its_local_time_across_daylight_saving() -> None:
    first = dt.datetime(2026, 3, 16, 9, 0, tzinfo=BERLIN)
    ics = event_ics(
        "weekly", first, first + dt.timedelta(minutes=30), "ada@example.org",
        ["ada@example.org", "linus@example.org"], rrule="FREQ=WEEKLY;COUNT=4",
        exdates=[first + dt.timedelta(weeks=1)],
        rdates=[dt.datetime(2026, 4, 20, 15, 0, tzinfo=BERLIN)],
        overrides=[override("weekly", first + dt.timedelta(weeks=2),
                            dt.datetime(2026, 3, 30, 11, 0, tzinfo=BERLIN), "DECLINED")],
        tzid="Europe/Berlin")
    found = expand(ics)
    local = [(o.start.astimezone(BERLIN).strftime("%m-%d %H:%M"), o.end - o.start) for o in found]
    assert local == [("03-16 09:00", dt.timedelta(minutes=30)),  # before the clocks change
                     ("03-30 11:00", dt.timedelta(hours=1)),  # moved, and longer
                     ("04-06 09:00", dt.timedelta(minutes=30)),  # after: still 09:00 local
                     ("04-20 15:00", dt.timedelta(minutes=30))]  # the RDATE
    assert found[0].start.utcoffset() != found[2].start.utcoffset()
    moved = found[1]
    assert moved.id == "caldav:weekly@20260330T070000Z"  # named by its original time, not the new
    assert moved.attendance.present == ("ada@example.org",)  # Linus declined this one
    assert moved.interaction().size == 2
    assert found[0].interaction().participants == ("ada@example.org", "linus@example.org")


def test_floating_times_are_the_owners_and_all_day_events_are_not_meetings() -> None:
    floating = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n"
                "BEGIN:VEVENT\r\nUID:f\r\nDTSTAMP:20260101T000000Z\r\n"
                "DTSTART:20260302T090000\r\nDTEND:20260302T100000\r\nEND:VEVENT\r\n"
                "BEGIN:VEVENT\r\nUID:f2\r\nDTSTAMP:20260101T000000Z\r\n"
                "DTSTART;VALUE=DATE:20260303\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    [only] = expand(floating, zone=ZoneInfo("America/New_York"))
    assert only.start == dt.datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def test_rooms_do_not_count_and_cancelled_or_transparent_time_is_free() -> None:
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    ics = event_ics("r", start, start + dt.timedelta(hours=1), "ada@example.org",
                    ["ada@example.org", "linus@example.org"], status="CANCELLED")
    cal = events.parse_object(ics)
    room = icalendar.vCalAddress("mailto:room1@example.org")
    room.params["CUTYPE"] = "ROOM"
    next(iter(cal.walk("VEVENT"))).add("ATTENDEE", room, encode=False)
    [occurrence] = events.occurrences(cal, "ada@example.org", BERLIN, LO, HI, 10)
    assert occurrence.attendance.invited == 2 and occurrence.cancelled
    assert not occurrence.busy_for("ada@example.org")


@pytest.mark.parametrize("ics, reason", [
    ("not a calendar at all", "not iCalendar"),
    ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTAMP:20260101T000000Z\r\n"
     "DTSTART:20260302T090000Z\r\nRRULE:FREQ=SOMETIMES\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
     "cannot expand|not iCalendar"),
    ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTAMP:20260101T000000Z\r\n"
     "DTSTART:20260302T090000Z\r\nDTEND:20260302T091000Z\r\nRRULE:FREQ=MINUTELY\r\nEND:VEVENT\r\n"
     "END:VCALENDAR\r\n", "more than 1000 occurrences|too many occurrences"),
])
def test_a_broken_object_is_a_bad_object_with_its_reason(ics: str, reason: str) -> None:
    with pytest.raises(events.BadObject, match=reason):
        expand(ics)


def hold(mode: HoldMode) -> Hold:
    start = dt.datetime(2026, 3, 5, 14, 0, tzinfo=UTC)
    return Hold(hold_id_for("t", "ada", "linus"), "ada@example.org",
                ("ada@example.org", "linus@example.org"), start, start + dt.timedelta(minutes=30),
                "Coffee", "What are you working on?", mode)


def test_a_hold_is_tentative_marked_and_reads_back_with_its_responses() -> None:
    h = hold(HoldMode.INVITE)
    text = events.hold_object(h, now=dt.datetime(2026, 3, 1, tzinfo=UTC))
    event = next(iter(icalendar.Calendar.from_ical(text).walk("VEVENT")))
    assert str(event["UID"]) == f"{h.id}@bridgework" and str(event["STATUS"]) == "TENTATIVE"
    assert str(event[events.MARK_PROPERTY]) == h.mark
    stored = events.read_hold(text, h)
    assert stored.mark == h.mark and stored.state.start == h.start
    assert stored.state.responses == {"ada@example.org": Response.ACCEPTED,
                                      "linus@example.org": Response.NEEDS_ACTION}
    later = h.start + dt.timedelta(days=1)
    moved = events.read_hold(events.moved(text, later, later + dt.timedelta(minutes=30),
                                          dt.datetime(2026, 3, 2, tzinfo=UTC)), h)
    assert moved.state.start == later and moved.sequence == 1 and moved.mark == h.mark
    assert moved.state.responses == stored.state.responses


def test_a_hold_mode_hold_names_only_the_organiser() -> None:
    h = hold(HoldMode.HOLD)
    stored = events.read_hold(events.hold_object(h), h)
    assert stored.state.responses == {"ada@example.org": Response.ACCEPTED}
    assert "ATTENDEE" not in events.hold_object(h)


def test_free_busy_answers_keep_busy_periods_only() -> None:
    answer = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VFREEBUSY\r\n"
              "DTSTAMP:20260101T000000Z\r\nDTSTART:20260302T000000Z\r\nDTEND:20260303T000000Z\r\n"
              "FREEBUSY;FBTYPE=BUSY:20260302T090000Z/20260302T100000Z\r\n"
              "FREEBUSY;FBTYPE=BUSY-TENTATIVE:20260302T110000Z/PT30M\r\n"
              "FREEBUSY;FBTYPE=FREE:20260302T120000Z/20260302T130000Z\r\n"
              "END:VFREEBUSY\r\nEND:VCALENDAR\r\n")
    spans = [(b.start.hour, b.start.minute, b.end.hour, b.end.minute)
             for b in events.free_busy_periods(answer)]
    assert spans == [(9, 0, 10, 0), (11, 0, 11, 30)]
