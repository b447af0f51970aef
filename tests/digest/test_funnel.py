"""The holds funnel reads each hold's whole history, not only where it stands now."""

from __future__ import annotations

import datetime as dt

from agent.digest.outcomes import funnel, stages_of
from agent.lifecycle import Cause, Stage
from agent.store import SuggestionRecord

NOW = dt.datetime(2026, 11, 30, 9, tzinfo=dt.UTC)


def _record(name: str) -> SuggestionRecord:
    start = NOW + dt.timedelta(days=2)
    return SuggestionRecord(name, ("p1", "p2"), ("Legal", "Sales"), "drifting", 49, NOW.isoformat(),
                            Stage.PLANNED, "hold", start.isoformat(),
                            (start + dt.timedelta(minutes=30)).isoformat())


def test_a_placed_hold_that_ended_otherwise_still_counts_as_placed() -> None:
    cancelled = (_record("a").advance(Stage.HELD, Cause.PLACED, NOW)
                 .advance(Stage.CANCELLED, Cause.DELETED, NOW))
    met = (_record("b").advance(Stage.HELD, Cause.PLACED, NOW)
           .advance(Stage.ACCEPTED, Cause.ACCEPTED, NOW).advance(Stage.MET, Cause.HAPPENED, NOW))
    never_placed = _record("c").advance(Stage.EXPIRED, Cause.NOT_PLACED_IN_TIME, NOW)
    assert stages_of(cancelled) == {"placed"}
    assert stages_of(met) == {"placed", "accepted", "met"}
    assert stages_of(never_placed) == set()
    people = tuple(f"{i}@x.org" for i in range(5))
    counts = funnel([(cancelled, people), (met, people), (never_placed, people)], k=5).counts
    assert (counts["placed"], counts["accepted"], counts["met"], counts["expired"]) == (2, 1, 1, 0)
