"""The sync cursor of one person's calendars: what was read, and what is still to come.

Stored by the pipeline as the cursor of ``caldav:<email>`` once the
interactions read with it are in the ledger. It keeps, per calendar, the
sync-token (or ctag and etags without one), and the ids of occurrences not
yet happened per object, so an object deleted or changed later can cancel
the future meetings the ledger is waiting for.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

VERSION = 1


class DamagedCursor(ValueError):
    """The stored cursor cannot be read; the message says what is wrong."""


@dataclass
class CalendarState:
    token: str | None = None
    ctag: str | None = None
    etags: dict[str, str] | None = None  # href -> etag, kept only without a sync-token
    future: dict[str, list[list[Any]]] = field(default_factory=dict)  # href -> [[id, start ts]]

    def pending(self, href: str) -> set[str]:
        return {str(entry[0]) for entry in self.future.get(href, [])}

    def prune(self, now: dt.datetime) -> None:
        """Drop occurrences that have happened: they are no longer waiting to be cancelled."""
        moment = now.timestamp()
        for href in list(self.future):
            kept = [entry for entry in self.future[href] if float(entry[1]) > moment]
            if kept:
                self.future[href] = kept
            else:
                del self.future[href]


@dataclass
class PersonState:
    home: str | None = None
    until: dt.datetime | None = None  # the read window's end reached so far
    calendars: dict[str, CalendarState] = field(default_factory=dict)

    def dump(self) -> str:
        return json.dumps({
            "v": VERSION, "home": self.home,
            "until": self.until.astimezone(dt.UTC).isoformat() if self.until else None,
            "cals": {href: {k: v for k, v in (("token", c.token), ("ctag", c.ctag),
                                               ("etags", c.etags), ("future", c.future or None))
                            if v is not None}
                     for href, c in self.calendars.items()},
        }, separators=(",", ":"), sort_keys=True)


def load(raw: str | None) -> PersonState:
    """The stored cursor; an empty state without one.

    :raises DamagedCursor: it is not a cursor this version wrote.
    """
    if not raw:
        return PersonState()
    try:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("v") != VERSION:
            version = data.get("v") if isinstance(data, dict) else None
            raise DamagedCursor(f"unknown cursor version {version!r}")
        until = dt.datetime.fromisoformat(data["until"]) if data.get("until") else None
        calendars = {
            str(href): CalendarState(c.get("token"), c.get("ctag"), c.get("etags"),
                                     {str(h): [list(e) for e in entries]
                                      for h, entries in (c.get("future") or {}).items()})
            for href, c in (data.get("cals") or {}).items()
        }
        return PersonState(data.get("home"), until, calendars)
    except DamagedCursor:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise DamagedCursor(f"unreadable cursor ({type(exc).__name__})") from None
