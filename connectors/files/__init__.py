"""The data directory connector: the embedded default and what ``bridgework demo`` writes.

Layout (everything except ``people.csv`` is optional)::

    people.csv            email,name,department,title,level,manager,timezone[,working_hours]
    messages.jsonl        {"id", "date", "from", "to": [...], "cc": [...]}
    events.jsonl          {"id", "start", "end", "organizer", "attendees": [...], "status",
                           "responses": {email: accepted|declined|tentative|needsAction},
                           "rrule": "FREQ=WEEKLY;BYDAY=MO", "timezone": "Europe/Berlin",
                           "exdate": ["...+00:00"]}
    calendar/*.ics        iCalendar exports, read for metadata only
    mail/*.mbox           mbox exports, headers only
    outbox/holds.ics      holds Bridgework places (one VEVENT per hold)
    outbox/digests/*.eml  digests Bridgework sends

Only metadata is ever read: no subject, body, location or description is
kept, from any of the sources. A bad row, line or file is reported as
``path:line: problem`` (logged, and kept in the ``problems`` list of the
connector object) and skipped; it never stops the rest.

One module a job: :mod:`~connectors.files.people` (people.csv),
:mod:`~connectors.files.lines` (the byte-offset cursor engine for JSONL),
:mod:`~connectors.files.records` and :mod:`~connectors.files.recurrence`
(one JSONL line as metadata), :mod:`~connectors.files.ics` and
:mod:`~connectors.files.mbox` (exports), :mod:`~connectors.files.calendar`
(meetings, free/busy, holds), :mod:`~connectors.files.mail` (messages),
:mod:`~connectors.files.outbox` (holds.ics and digests). The readers load
only when a data directory is opened.
"""

from __future__ import annotations

from pathlib import Path

from connectors.base import Connectors
from connectors.common.clock import Clock, system_clock
from connectors.common.errors import ConnectorError
from connectors.files.settings import FilesSettings


def open_directory(root: Path, outbox: Path | None = None, *,
                   clock: Clock = system_clock) -> Connectors:
    """Every connector of one data directory (``bridgework analyze --data DIR``).

    :raises ConnectorError: ``root`` is not a directory.
    """
    from connectors.files.calendar import FilesCalendar
    from connectors.files.mail import FilesMail
    from connectors.files.outbox import FilesSender
    from connectors.files.people import FilesDirectory

    if not root.is_dir():
        raise ConnectorError(f"data directory {root} does not exist or is not a directory")
    outbox = outbox or root / "outbox"
    return Connectors(
        directory=FilesDirectory(root / "people.csv"),
        calendar=FilesCalendar(root, outbox, clock=clock),
        mail=FilesMail(root),
        sender=FilesSender(outbox),
    )


def build(settings: FilesSettings, *, clock: Clock = system_clock) -> Connectors:
    return open_directory(settings.path, settings.outbox, clock=clock)
