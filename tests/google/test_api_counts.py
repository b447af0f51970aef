"""Every Google API request is counted by the status of its answer, for the daemon's metrics."""

from __future__ import annotations

from collections import Counter

from connectors.retry import API_CALLS
from tests.fakes.google.server import Fault
from tests.fakes.google.world import GoogleWorld
from tests.google.helpers import drain
from tests.google.test_faults import _seeded


def _since(before: Counter[tuple[str, str]]) -> dict[str, int]:
    return {status: n for (service, status), n in (Counter(API_CALLS) - before).items()
            if service == "google"}


def test_throttled_and_failed_requests_are_counted_by_status(gworld: GoogleWorld) -> None:
    folks = _seeded(gworld)
    gworld.fake.inject(Fault("/events", 429, times=2, where="inner"))
    gworld.fake.inject(Fault("/events", 500, times=1, where="inner"))
    calendar = gworld.connectors().calendar
    assert calendar is not None
    before = Counter(API_CALLS)
    got, _, _ = drain(calendar.read(folks, {}))
    assert len({i.id for i in got}) == 3
    # three throttled or failed answers inside the batches, then each person's events once
    assert _since(before) == {"429": 2, "500": 1, "2xx": 3}
