"""Between a planned suggestion or a stored record and the hold it stands for."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from agent.holds import build_hold
from agent.ledger import week_of
from agent.lifecycle import Cause, Stage, Transition
from agent.matcher import Suggestion
from agent.pipeline.org import Org
from agent.pipeline.plan import Planned
from agent.slots import Slot
from agent.store import SuggestionRecord
from connectors.base import Hold, HoldMode
from rules.model import Rules


def record_for(item: Planned, org: Org, rules: Rules, now: dt.datetime,
               status: Stage) -> SuggestionRecord:
    """The store's record of a planned suggestion (people pseudonymised), ``suggested``
    or, when its hold is to be placed, ``planned``."""
    s = item.suggestion
    record = SuggestionRecord(
        id=item.id,
        people=tuple(org.pseudonym[e] for e in s.emails),
        departments=s.departments,
        reason=s.reason,
        week=week_of(now),
        created=now.isoformat(),
        status=Stage.SUGGESTED,
        mode=rules.meetings.mode.value,
        start=item.slot.start.isoformat() if item.slot else None,
        end=item.slot.end.isoformat() if item.slot else None,
        updated=now.isoformat(),
        transitions=(Transition(Stage.SUGGESTED, now.isoformat(), Cause.MATCHED),),
    )
    if status is Stage.PLANNED and item.slot is not None:
        record = record.advance(Stage.PLANNED, Cause.SLOT_FOUND, now, start=item.slot.start,
                                end=item.slot.end)
    return record


def hold_for_record(record: SuggestionRecord, org: Org, rules: Rules) -> Hold | None:
    """Rebuild the Hold a record stands for (None if someone in it has left)."""
    people = [org.people.get(org.by_pseudonym.get(p, "")) for p in record.people]
    if any(p is None for p in people) or record.start is None or record.end is None:
        return None
    known = tuple(p for p in people if p is not None)
    suggestion = Suggestion(known, record.departments, record.reason, None, 0.0, "")
    slot = Slot(dt.datetime.fromisoformat(record.start), dt.datetime.fromisoformat(record.end))
    hold = build_hold(suggestion, slot, rules.meetings, record.id)
    return replace(hold, mode=HoldMode(record.mode))
