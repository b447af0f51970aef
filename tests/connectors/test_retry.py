"""The shared retry pacing: Retry-After in both forms, full-jitter backoff, injected waits."""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import statistics

from hypothesis import given
from hypothesis import strategies as st

from connectors.retry import MAX_RETRY_AFTER, Backoff, parse_retry_after, retry_after

NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)


def _now() -> float:
    return NOW.timestamp()


@given(st.integers(min_value=0, max_value=10**12))
def test_delta_seconds_are_read_and_capped(seconds: int) -> None:
    assert parse_retry_after(str(seconds), now=_now) == min(float(seconds), MAX_RETRY_AFTER)
    assert parse_retry_after(f" {seconds} ", now=_now, cap=30.0) == min(float(seconds), 30.0)


@given(st.integers(min_value=-86_400, max_value=86_400))
def test_an_http_date_becomes_the_wait_until_it(offset: int) -> None:
    when = NOW + dt.timedelta(seconds=offset)
    value = email.utils.format_datetime(when, usegmt=True)
    assert parse_retry_after(value, now=_now) == min(max(float(offset), 0.0), MAX_RETRY_AFTER)


def test_a_date_without_a_zone_is_gmt_not_local_time() -> None:
    # tests run in Pacific/Auckland: reading "-0000" as local time would be 13 hours off
    assert parse_retry_after("Fri, 20 Mar 2026 12:00:07 -0000", now=_now) == 7.0
    assert parse_retry_after("Fri Mar 20 12:00:07 2026", now=_now) == 7.0  # asctime form


def test_unreadable_values_fall_back_to_backoff() -> None:
    for value in (None, "", "soon", "inf", "nan", "-5", "1e3", "Fri, 99 Foo 2026 12:00:07 GMT"):
        assert parse_retry_after(value, now=_now) is None, value


@given(st.text(max_size=40))
def test_any_header_text_gives_none_or_a_wait_within_the_cap(value: str) -> None:
    seconds = parse_retry_after(value, now=_now)
    assert seconds is None or 0.0 <= seconds <= MAX_RETRY_AFTER


def test_the_header_is_found_whatever_its_case() -> None:
    assert retry_after({"Retry-After": "7"}) == 7.0
    assert retry_after({"retry-after": "7", "Content-Type": "x"}) == 7.0
    assert retry_after({"RETRY-AFTER": "700"}) == MAX_RETRY_AFTER
    assert retry_after({"Content-Type": "x"}) is None


@given(st.integers(min_value=0, max_value=5000), st.floats(min_value=0, max_value=100),
       st.floats(min_value=0, max_value=1000), st.integers(min_value=0, max_value=2**32))
def test_full_jitter_stays_between_zero_and_the_ceiling(attempt: int, base: float, cap: float,
                                                        seed: int) -> None:
    backoff = Backoff(base, cap, rng=random.Random(seed))
    ceiling = min(cap, base * 2.0 ** min(attempt, 64))
    assert backoff.ceiling(attempt) == ceiling
    assert 0.0 <= backoff.delay(attempt) <= ceiling


def test_the_jitter_is_full_not_equal() -> None:
    backoff = Backoff(base=1.0, cap=60.0, rng=random.Random(7))
    delays = [backoff.delay(3) for _ in range(2000)]  # ceiling 8 s
    # equal jitter never waits less than half the ceiling; full jitter spreads over all of it
    assert min(delays) < 0.1 and max(delays) > 7.9
    assert sum(d < 4.0 for d in delays) > 900
    assert 3.7 < statistics.fmean(delays) < 4.3


def test_the_ceiling_doubles_up_to_the_cap() -> None:
    backoff = Backoff(base=0.5, cap=10.0)
    assert [backoff.ceiling(n) for n in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_retry_after_wins_and_is_capped() -> None:
    backoff = Backoff(base=1.0, cap=64.0)
    assert backoff.delay(0, 7.0) == 7.0
    assert backoff.delay(5, 0.0) == 0.0
    assert backoff.delay(0, 86_400.0) == MAX_RETRY_AFTER
    assert backoff.delay(0, -3.0) == 0.0
    assert Backoff(1.0, 64.0, max_retry_after=30.0).delay(0, 86_400.0) == 30.0


def test_waits_go_through_the_injected_sleep() -> None:
    waited: list[float] = []
    backoff = Backoff(base=2.0, cap=64.0, sleep=waited.append, rng=random.Random(1))
    first = backoff.wait(0)
    assert waited == [first] and 0.0 <= first <= 2.0
    assert backoff.wait(4, 9.0) == 9.0 and waited[-1] == 9.0
    backoff.pause(0.0)  # nothing to wait for: no call to sleep
    later = backoff.defer(2)  # chosen, not waited: the caller schedules the retry
    assert len(waited) == 2 and 0.0 <= later <= 8.0
    assert list(backoff.slept) == [first, 9.0, 0.0, later]


def test_the_record_of_pauses_is_bounded() -> None:
    backoff = Backoff(base=0.0, cap=0.0, sleep=lambda _: None)
    for _ in range(10_000):
        backoff.wait(0)
    assert len(backoff.slept) == 256
