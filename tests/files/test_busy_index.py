"""Free/busy from a data directory: a first narrow question and later wider ones agree."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from connectors.demo import generate
from connectors.files.calendar import FilesCalendar
from connectors.files.people import FilesDirectory


def test_narrow_then_wide_questions_give_the_same_answers(tmp_path: Path) -> None:
    as_of = dt.date(2026, 11, 23)
    generate(tmp_path, people=80, weeks=14, seed=2, as_of=as_of)
    emails = sorted(p.email for p in FilesDirectory(tmp_path / "people.csv").people())
    start = dt.datetime.combine(as_of, dt.time(), tzinfo=dt.UTC)
    end = start + dt.timedelta(days=12)
    everyone = FilesCalendar(tmp_path).busy(emails, start, end)
    assert sum(len(v) for v in everyone.values()) > 50

    calendar = FilesCalendar(tmp_path)
    few = emails[:5]
    narrow = calendar.busy([e.upper() for e in few], start, end)  # case does not matter
    assert {e.lower(): v for e, v in narrow.items()} == {e: everyone[e] for e in few}
    others = emails[5:20]
    assert calendar.busy(others, start, end) == {e: everyone[e] for e in others}
    assert calendar.busy(few, start, end) == {e: everyone[e] for e in few}
