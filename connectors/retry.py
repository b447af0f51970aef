"""How long to wait before trying a call again: ``Retry-After`` and exponential backoff.

Shared by the HTTP connectors (Google, Microsoft Graph). When the server
names a wait in ``Retry-After`` (delta seconds or an HTTP date) that wait
wins, capped so a misbehaving server cannot park a sync for hours.
Otherwise the n-th retry waits a "full jitter" pause, uniform on
``[0, min(cap, base * 2**n)]``: clients that failed together spread over
the whole window instead of coming back in step, which is what makes
throttling end sooner (equal jitter keeps half of every wait fixed).

Sleeping, the random source and the wall clock are injected, so tests
neither wait nor depend on chance.
"""

from __future__ import annotations

import collections
import datetime as dt
import email.utils
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

#: The longest ``Retry-After`` obeyed, in seconds (a stuck sync is worse than a refused call).
MAX_RETRY_AFTER = 600.0

#: delay-seconds is digits only (RFC 9110); a fraction is tolerated, "inf"/"nan"/"-1" are not.
_SECONDS = re.compile(r"\d+(?:\.\d+)?")

#: Doubling stops here; beyond it every ceiling is ``cap`` anyway (and 2**n would overflow).
_MAX_DOUBLINGS = 64

#: API requests answered in this process, by (service, status): the HTTP status, "2xx" where
#: the client library only says it succeeded, "no-answer" when the connection failed. A
#: request inside a batch counts as one, the batch itself only when it fails as a whole.
#: The daemon's job process reports what changed to the daemon, which exports it as metrics.
API_CALLS: collections.Counter[tuple[str, str]] = collections.Counter()
_calls_lock = threading.Lock()


def count_call(service: str, status: int | str) -> None:
    """Count one API request's answer (thread-safe: Graph calls run in parallel)."""
    with _calls_lock:
        API_CALLS[(service, str(status))] += 1


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time,
                      cap: float = MAX_RETRY_AFTER) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, within ``[0, cap]``.

    :param value: delta seconds (``"120"``) or an HTTP date
        (``"Wed, 21 Oct 2026 07:28:00 GMT"``); a date in the past means now.
    :param now: the wall clock (POSIX seconds), to turn a date into a wait.
    :returns: None when the value is missing or unreadable, so the caller
        falls back to its own backoff.
    """
    if value is None:
        return None
    text = str(value).strip()
    if _SECONDS.fullmatch(text):
        return min(float(text), cap)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": HTTP dates are always GMT, never local time
        when = when.replace(tzinfo=dt.UTC)
    return min(max(when.timestamp() - now(), 0.0), cap)


def retry_after(headers: Mapping[str, str], *, now: Callable[[], float] = time.time,
                cap: float = MAX_RETRY_AFTER) -> float | None:
    """The ``Retry-After`` wait among ``headers``, whatever the header name's case."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    return parse_retry_after(value, now=now, cap=cap)


@dataclass
class Backoff:
    """Exponential backoff with full jitter; a server's ``Retry-After`` wins when given.

    ``slept`` keeps the most recent pauses chosen (bounded: a daemon runs for
    months) for tests and diagnostics.
    """

    base: float
    cap: float
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    max_retry_after: float = MAX_RETRY_AFTER
    slept: collections.deque[float] = field(
        default_factory=lambda: collections.deque(maxlen=256))

    def ceiling(self, attempt: int) -> float:
        """The longest pause of retry number ``attempt`` (0 for the first retry)."""
        return min(self.cap, self.base * 2.0 ** min(max(attempt, 0), _MAX_DOUBLINGS))

    def delay(self, attempt: int, hint: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt``; ``hint`` is a Retry-After wait."""
        if hint is not None:
            return min(max(hint, 0.0), self.max_retry_after)
        return self.rng.uniform(0.0, self.ceiling(attempt))

    def pause(self, seconds: float) -> None:
        """Wait ``seconds`` now (a chosen delay, or the largest of several)."""
        self.slept.append(seconds)
        if seconds > 0:
            self.sleep(seconds)

    def wait(self, attempt: int, hint: float | None = None) -> float:
        """Choose the delay for ``attempt`` and wait it; returns the seconds waited."""
        seconds = self.delay(attempt, hint)
        self.pause(seconds)
        return seconds

    def defer(self, attempt: int, hint: float | None = None) -> float:
        """Choose the delay for ``attempt`` without waiting: the caller schedules the retry."""
        seconds = self.delay(attempt, hint)
        self.slept.append(seconds)
        return seconds
