"""The small parsers every data-directory reader shares: times, addresses, ids, JSON lines.

A value that cannot be used raises :class:`BadRecord`; the reader reports it
with its file and line and skips the record.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

try:  # orjson parses JSON lines about three times faster; the stdlib is the fallback
    import orjson

    _loads: Callable[[bytes], Any] = orjson.loads
except ImportError:  # pragma: no cover - orjson is a dependency
    _loads = json.loads

MIN_YEAR, MAX_YEAR = 1970, 2200  # plausible years of contact data
#: What parsing one bad record may raise; anything else is a bug, not bad input.
RECORD_ERRORS = (ValueError, KeyError, TypeError, AttributeError, IndexError, OverflowError)


class BadRecord(ValueError):
    """One row, line or event that cannot be used; the message says why."""


def parse_time(value: object, what: str) -> dt.datetime:
    """An ISO 8601 time that carries a UTC offset."""
    if not isinstance(value, str):
        raise BadRecord(f"{what} is not a string")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise BadRecord(f"{what} {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise BadRecord(f"{what} {value!r} has no UTC offset")
    return plausible(moment, what, value)


def plausible(moment: dt.datetime, what: str, value: object) -> dt.datetime:
    """Refuse years no export really has: they would overflow date arithmetic later."""
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise BadRecord(f"{what} {value!r} is outside the years {MIN_YEAR}-{MAX_YEAR}")
    return moment


_INTERVAL = re.compile(r"(?:^|;)\s*INTERVAL\s*=\s*(-?\d+)", re.I)


def check_interval(rule: str) -> None:
    """A zero or negative INTERVAL never advances: expanding it would never end."""
    m = _INTERVAL.search(rule)
    if m and int(m.group(1)) < 1:
        raise BadRecord(f"rrule {rule!r} has INTERVAL={m.group(1)}; it must be 1 or more")


def lower_all(values: object, what: str) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        return [values.lower()]
    if not isinstance(values, list):
        raise BadRecord(f"{what} is not a list of addresses")
    return [v.lower() for v in values]


def json_problem(exc: Exception) -> str:
    """What was wrong with one JSON line, in words for the problem report."""
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON ({exc.msg}, column {exc.colno})"
    if isinstance(exc, KeyError):
        return f"missing field {exc}"
    if isinstance(exc, BadRecord):
        return str(exc)
    return f"unusable record ({type(exc).__name__}: {exc})"


def json_record(raw: bytes) -> dict[str, Any]:
    rec = _loads(raw)
    if type(rec) is not dict:
        raise BadRecord("not a JSON object")
    return rec


def identifier(value: object) -> str:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise BadRecord("id is missing or not a string")
