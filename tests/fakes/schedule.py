"""Rules fragments for end-to-end runs on the real clock."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rules.model import WEEKDAYS


def digests_due_now() -> dict[str, Any]:
    """``digests:`` rules that make today (UTC) the digest day from midnight on.

    ``bridgework run --once`` sends digests only on the configured weekday; an
    end-to-end run must find them due whatever day the suite runs (a run that
    straddles midnight UTC would find them not due, and say so).
    """
    return {"day": WEEKDAYS[dt.datetime.now(dt.UTC).weekday()], "time": "00:00",
            "timezone": "UTC"}
