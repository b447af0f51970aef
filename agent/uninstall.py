"""Releasing holds by hand: one (``holds release ID``) or all of them (the uninstall).

Every record whose event may be on a calendar is released through the
calendar's guard (``Calendar.release`` deletes only events carrying this
hold's mark), past meetings included, and the record says so with a
transition caused ``uninstall`` (or ``released``). Running it again finds
nothing left and changes nothing. A hold whose organiser has left the
directory cannot be addressed and is named, not skipped silently.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from agent import audit
from agent.lifecycle import FINAL, Cause, Stage
from agent.pipeline.org import Org
from agent.pipeline.records import hold_for_record
from agent.store import Store, SuggestionRecord
from connectors.base import Calendar, Hold, HoldMode
from connectors.common.errors import ConnectorError, NotOurEvent
from rules.model import Rules

log = logging.getLogger(__name__)

#: Where the store records that the uninstall ran.
RELEASED_ALL_KEY = "holds:released-all"


@dataclass
class ReleaseReport:
    dry_run: bool
    released: list[str] = field(default_factory=list)  # deleted now (or, dry run: would be)
    absent: list[str] = field(default_factory=list)  # no event of ours was on the calendar
    not_ours: list[str] = field(default_factory=list)  # the event lost our mark: left alone
    unreachable: list[str] = field(default_factory=list)  # the organiser left the directory
    failed: dict[str, str] = field(default_factory=dict)  # id -> why (try again)

    @property
    def complete(self) -> bool:
        """Nothing of ours is left that could be reached."""
        return not self.failed and not self.unreachable

    def as_json(self) -> dict[str, object]:
        return {"dry_run": self.dry_run, "released": self.released, "absent": self.absent,
                "not_ours": self.not_ours, "unreachable": self.unreachable,
                "failed": self.failed, "complete": self.complete}


def _hold_of(record: SuggestionRecord, org: Org, rules: Rules) -> Hold | None:
    """The hold to release: rebuilt in full, or (someone left) the organiser's event alone."""
    hold = hold_for_record(record, org, rules)
    if hold is not None:
        return hold
    organizer = org.by_pseudonym.get(record.people[0])
    if organizer is None or record.start is None or record.end is None:
        return None
    # The guard needs only the id and the organiser to find the event and check its mark.
    return Hold(record.id, organizer, (organizer,), dt.datetime.fromisoformat(record.start),
                dt.datetime.fromisoformat(record.end), "", "", HoldMode(record.mode))


def _noted(record: SuggestionRecord, cause: Cause, now: dt.datetime) -> SuggestionRecord | None:
    """The record saying its event is off the calendars (None: it says so already)."""
    if record.transitions and record.transitions[-1].cause is cause:
        return None
    stage = record.status if record.status in FINAL else Stage.CANCELLED
    return record.advance(stage, cause, now)


def releasable(records: Iterable[SuggestionRecord]) -> list[SuggestionRecord]:
    """Records whose event may have been put on a calendar at some point."""
    return [r for r in records if r.status is not Stage.SUGGESTED and r.mode != HoldMode.SUGGEST]


def release_holds(calendar: Calendar, store: Store, org: Org, rules: Rules,
                  records: Iterable[SuggestionRecord], now: dt.datetime, *, everything: bool,
                  dry_run: bool = False) -> ReleaseReport:
    """Take the holds of ``records`` off every calendar and record that in the store."""
    report = ReleaseReport(dry_run)
    cause = Cause.UNINSTALL if everything else Cause.RELEASED
    for record in records:
        hold = _hold_of(record, org, rules)
        if hold is None:
            report.unreachable.append(record.id)
            continue
        try:
            exists = calendar.state(hold).exists
            if dry_run:
                (report.released if exists else report.absent).append(record.id)
                continue
            calendar.release(hold)
        except NotOurEvent:
            report.not_ours.append(record.id)
            continue
        except ConnectorError as exc:
            log.warning("hold %s could not be released: %s", record.id, exc.message)
            report.failed[record.id] = exc.message
            continue
        (report.released if exists else report.absent).append(record.id)
        if exists:
            audit.calendar_write("release", hold.id, record.people, now)
        noted = _noted(record, cause, now)
        if noted is not None:
            store.save_suggestion(noted)
    if everything and not dry_run and report.complete:
        store.set_meta(RELEASED_ALL_KEY, now.isoformat())
    return report
