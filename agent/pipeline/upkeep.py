"""Upkeep: look after the holds already placed.

Declined, stale and opted-out holds are released, conflicted ones moved,
and what was met or missed recorded. Only events carrying Bridgework's mark
are touched (the guard is in ``Calendar.move`` and ``Calendar.release``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from agent.holds import Upkeep, conflicts, decide, without_hold
from agent.pipeline.org import Org
from agent.pipeline.records import hold_for_record
from agent.slots import find_slot, horizon_end
from agent.store import Store, SuggestionRecord
from connectors.base import Calendar, Hold
from connectors.common.errors import ConnectorError, NotOurEvent
from rules.model import Rules

log = logging.getLogger(__name__)


@dataclass
class UpkeepReport:
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, what: str) -> None:
        self.outcomes[what] = self.outcomes.get(what, 0) + 1


def upkeep(
    calendar: Calendar | None,
    store: Store,
    org: Org,
    rules: Rules,
    excluded: Mapping[str, str],
    now: dt.datetime,
) -> UpkeepReport:
    """Release declined, stale and opted-out holds; move conflicted ones; record what was met."""
    report = UpkeepReport()
    if calendar is None:
        return report
    for record in store.suggestions():
        if record.status != "placed":
            continue
        # One hold that cannot be looked after must not stop the others (or the cycle).
        try:
            _look_after(record, calendar, store, org, rules, excluded, now, report)
        except NotOurEvent:
            log.warning("hold %s no longer carries Bridgework's mark; leaving it alone", record.id)
            store.save_suggestion(record.with_status("removed", now, note="mark lost; left alone"))
            report.count("not-ours")
        except ConnectorError as exc:
            log.warning("hold %s: %s; trying again next cycle", record.id, exc.message)
            report.count("error")
    return report


def _look_after(record: SuggestionRecord, calendar: Calendar, store: Store, org: Org, rules: Rules,
                excluded: Mapping[str, str], now: dt.datetime, report: UpkeepReport) -> None:
    hold = hold_for_record(record, org, rules)
    if hold is None:
        _release_orphan(record, calendar, org, now)
        report.count("left")
        store.save_suggestion(record.with_status("removed", now, note="a person left"))
        return
    if hold.start > now and any(e in excluded for e in hold.attendees):
        calendar.release(hold)  # opted out or excluded: gone from calendars this cycle
        store.save_suggestion(record.with_status("released", now, note="a person is excluded"))
        report.count("released")
        return
    state = calendar.state(hold)
    start, end = state.start or hold.start, state.end or hold.end
    clash = False
    if state.exists and end > now:
        busy = calendar.busy(list(hold.attendees), start, end)
        clash = conflicts(dict(busy), start, end)
    decision = decide(hold, state, now, clash)
    _carry_out(decision.action, decision.why, hold, record, calendar, store, org, rules, now)
    report.count(decision.action.value)


def _release_orphan(record: SuggestionRecord, calendar: Calendar, org: Org, now: dt.datetime) -> None:
    """Someone in the hold left: take a future hold off the organiser's calendar if they stayed."""
    organizer = org.by_pseudonym.get(record.people[0])
    if organizer is None or record.start is None or record.end is None:
        return
    start = dt.datetime.fromisoformat(record.start)
    if start <= now:
        return
    # The guard in Calendar.release only needs the id and the organiser to check the mark.
    calendar.release(Hold(record.id, organizer, (organizer,), start,
                          dt.datetime.fromisoformat(record.end), "", ""))


def _carry_out(action: Upkeep, why: str, hold: Hold, record: SuggestionRecord,
               calendar: Calendar, store: Store, org: Org, rules: Rules, now: dt.datetime) -> None:
    if action is Upkeep.KEEP:
        return
    if action in (Upkeep.DECLINED, Upkeep.STALE):
        calendar.release(hold)
        status = "declined" if action is Upkeep.DECLINED else "released"
        store.save_suggestion(record.with_status(status, now, note=why))
    elif action is Upkeep.GONE:
        store.save_suggestion(record.with_status("removed", now, note=why))
    elif action in (Upkeep.MET, Upkeep.MISSED):
        store.save_suggestion(record.with_status(action.value, now, note=why))
    elif action is Upkeep.MOVE:
        people = [org.people[e] for e in hold.attendees]
        horizon = horizon_end(now, rules.meetings.horizon_days)
        current = calendar.busy(list(hold.attendees), now, horizon)
        busy = {e: without_hold(list(spans), hold.start, hold.end) for e, spans in current.items()}
        slot = find_slot(people, busy, rules.meetings, now)
        if slot is None:
            calendar.release(hold)
            store.save_suggestion(record.with_status("released", now, note="conflict, no new slot"))
            return
        calendar.move(hold, slot.start, slot.end)
        store.save_suggestion(record.with_status(
            "placed", now, start=slot.start.isoformat(), end=slot.end.isoformat(),
            note="moved after a conflict"))
