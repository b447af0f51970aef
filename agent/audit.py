"""The audit log: every calendar write and every digest sent, one JSON line each.

``audit.jsonl`` beside the state, 0600, only ever appended to. People appear
as pseudonyms, digests by their keyed key; no address, subject or body. It is
a dedicated logger (``bridgework.audit``, not propagated to the daemon's log)
so the places that write a calendar or send a mail add one line each and
need no path: :func:`attach` points it at a store directory, and where
nothing is attached (tests of the pure parts, dry runs) the lines go nowhere.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from connectors.common.fileio import append_private

FILE = "audit.jsonl"

_log = logging.getLogger("bridgework.audit")
_log.propagate = False
_log.setLevel(logging.INFO)


class AuditFile(logging.Handler):
    """Appends each audit entry as a JSON line.

    ``emit`` catches nothing, so a line that cannot be written raises out of the
    call that records it instead of being dropped.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(logging.INFO)
        self.path = path

    def emit(self, record: logging.LogRecord) -> None:
        entry = getattr(record, "audit", None)
        if isinstance(entry, dict):
            line = json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n"
            append_private(self.path, line.encode())


def attach(store_dir: Path) -> Path:
    """Write the audit entries of this process to ``store_dir``'s log from now on."""
    for handler in list(_log.handlers):
        if isinstance(handler, AuditFile):
            _log.removeHandler(handler)
    path = store_dir / FILE
    _log.addHandler(AuditFile(path))
    return path


def _entry(action: str, now: dt.datetime, **fields: object) -> None:
    _log.info("%s", action, extra={"audit": {"action": action, "at": now.isoformat(), **fields}})


def calendar_write(action: str, hold_id: str, people: Sequence[str], now: dt.datetime,
                   start: dt.datetime | str | None = None,
                   end: dt.datetime | str | None = None) -> None:
    """A hold was placed, moved or released; ``people`` are pseudonyms, organiser first."""
    slot = {}
    if start is not None and end is not None:
        slot = {"start": _iso(start), "end": _iso(end)}
    _entry(action, now, hold=hold_id, people=list(people), **slot)


def mail_sent(digest_key: str, recipient: str, week: str, now: dt.datetime) -> None:
    """A digest went out; ``digest_key`` is its keyed key, ``recipient`` a pseudonym."""
    _entry("mail", now, digest=digest_key, to=recipient, week=week)


def forgotten(pseudonym: str, released: int, now: dt.datetime) -> None:
    """A person was forgotten (``bridgework forget``): kept so the erasure can be shown."""
    _entry("forget", now, person=pseudonym, released=released)


def entries(store_dir: Path) -> Iterator[dict[str, Any]]:
    """The log's entries in order; a line that is not an entry (a torn last line) is skipped."""
    try:
        data = (store_dir / FILE).read_bytes()
    except FileNotFoundError:
        return
    for raw in data.splitlines():
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if isinstance(entry, dict):
            yield entry


def _iso(value: dt.datetime | str) -> str:
    return value if isinstance(value, str) else value.isoformat()
