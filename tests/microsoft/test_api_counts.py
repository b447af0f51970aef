"""Every Graph request is counted by the status of its answer, for the daemon's metrics."""

from __future__ import annotations

from collections import Counter

from connectors.retry import API_CALLS
from tests.fakes.graph import FakeGraph, Fault
from tests.microsoft.conftest import Build
from tests.microsoft.test_faults import DELTA, _meetings
from tests.microsoft.test_sync import drain, people


def _since(before: Counter[tuple[str, str]]) -> dict[str, int]:
    return {status: n for (service, status), n in (Counter(API_CALLS) - before).items()
            if service == "microsoft"}


def test_throttled_and_failed_requests_are_counted_by_status(fake: FakeGraph,
                                                             connect: Build) -> None:
    team = people(fake, 3)
    _meetings(fake, team)
    fake.faults.append(Fault(DELTA, 429, times=2, retry_after="1"))
    fake.faults.append(Fault(r"POST /\$batch", 503, times=1))
    calendar = connect().calendar
    assert calendar is not None
    before = Counter(API_CALLS)
    drain(calendar.read(team, {}))
    counts = _since(before)
    # the batch refused once as a whole, two requests inside it throttled, then each
    # person's calendar read once (a batch that went through counts only its requests)
    assert counts == {"503": 1, "429": 2, "200": 3}
