"""Upkeep: look after the holds already placed.

Every hold on a calendar is read back each pass and moved along its
lifecycle (``agent.lifecycle``): acceptances recorded; declined, unanswered,
opted-out and orphaned holds released; clashing ones moved; and what was met
or missed recorded, a met meeting entering the ledger once. Only events
carrying Bridgework's mark are touched (the guard is in ``Calendar.move`` and
``Calendar.release``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from agent import audit
from agent.eligibility import is_pause
from agent.holds import (
    Upkeep,
    UpkeepDecision,
    confirmed,
    conflicts,
    decide,
    met_meeting,
    said,
    without_hold,
)
from agent.ledger import LedgerFiles
from agent.lifecycle import LOOKED_AFTER, Cause, Stage, declines, reached
from agent.pipeline.org import Org
from agent.pipeline.records import hold_for_record
from agent.slots import find_slot, horizon_end
from agent.store import Store, SuggestionRecord
from connectors.base import Calendar, Hold, HoldState, Response
from connectors.common.errors import ConnectorError, NotOurEvent
from rules.model import Rules

log = logging.getLogger(__name__)


@dataclass
class UpkeepReport:
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, what: str) -> None:
        self.outcomes[what] = self.outcomes.get(what, 0) + 1


@dataclass
class _Pass:
    """What one upkeep pass works with."""

    calendar: Calendar
    store: Store
    org: Org
    rules: Rules
    now: dt.datetime
    ledger: LedgerFiles | None
    report: UpkeepReport

    def save(self, record: SuggestionRecord, stage: Stage, cause: Cause, *,
             by: tuple[str, ...] = (), start: dt.datetime | None = None,
             end: dt.datetime | None = None) -> None:
        # People are kept as pseudonyms only; someone not in the directory is not named.
        pseudonyms = tuple(self.org.pseudonym[e] for e in by if e in self.org.pseudonym)
        self.store.save_suggestion(record.advance(stage, cause, self.now, by=pseudonyms,
                                                  start=start, end=end))


def upkeep(
    calendar: Calendar | None,
    store: Store,
    org: Org,
    rules: Rules,
    excluded: Mapping[str, str],
    now: dt.datetime,
    ledger: LedgerFiles | None = None,
) -> UpkeepReport:
    """Move every hold on a calendar along its lifecycle; met meetings go into ``ledger``."""
    report = UpkeepReport()
    if calendar is None:
        return report
    work = _Pass(calendar, store, org, rules, now, ledger, report)
    for record in store.suggestions():
        if record.status not in LOOKED_AFTER:
            continue
        # One hold that cannot be looked after must not stop the others (or the cycle).
        try:
            _look_after(record, excluded, work)
        except NotOurEvent:
            log.warning("hold %s no longer carries Bridgework's mark; leaving it alone", record.id)
            work.save(record, Stage.CANCELLED, Cause.MARK_LOST)
            report.count("not-ours")
        except ConnectorError as exc:
            log.warning("hold %s: %s; trying again next cycle", record.id, exc.message)
            report.count("error")
    return report


def _look_after(record: SuggestionRecord, excluded: Mapping[str, str], work: _Pass) -> None:
    hold = hold_for_record(record, work.org, work.rules)
    if hold is None:
        release_orphan(record, work.calendar, work.org, work.now)
        work.report.count("left")
        work.save(record, Stage.CANCELLED, Cause.PERSON_LEFT)
        return
    out = tuple(e for e in hold.attendees if e in excluded)
    if hold.start > work.now and out and not _kept_through_pause(record, hold, out, excluded, work):
        work.calendar.release(hold)  # opted out or excluded: gone from calendars this cycle
        audit.calendar_write("release", hold.id, record.people, work.now)
        work.save(record, Stage.CANCELLED, Cause.EXCLUDED, by=out)
        work.report.count("excluded")
        return
    state = work.calendar.state(hold)
    start, end = state.start or hold.start, state.end or hold.end
    clash = False
    if state.exists and end > work.now:
        busy = work.calendar.busy(list(hold.attendees), start, end)
        clash = conflicts(dict(busy), start, end)
    known = {work.org.by_pseudonym.get(p, "") for p in declines(record)}
    decision = decide(hold, state, work.now, clash, work.rules.meetings,
                      reached(record, Stage.ACCEPTED), known)
    _carry_out(decision, hold, state, record, work)
    work.report.count(decision.action.value)


def _kept_through_pause(record: SuggestionRecord, hold: Hold, out: tuple[str, ...],
                        excluded: Mapping[str, str], work: _Pass) -> bool:
    """A pause ("not now") keeps a conversation already accepted; an unanswered one goes,
    as does anything held for someone left out for another reason."""
    if not all(is_pause(excluded[e]) for e in out):
        return False
    return reached(record, Stage.ACCEPTED) or confirmed(hold, work.calendar.state(hold))


def release_orphan(record: SuggestionRecord, calendar: Calendar, org: Org, now: dt.datetime,
                   past_too: bool = False) -> bool:
    """Someone in the hold left: take the hold off the organiser's calendar if they stayed.

    Returns False when the organiser left too (their calendar cannot be named). A
    past hold is left where it is unless ``past_too`` (the uninstall).
    """
    organizer = org.by_pseudonym.get(record.people[0])
    if organizer is None or record.start is None or record.end is None:
        return False
    start = dt.datetime.fromisoformat(record.start)
    if start <= now and not past_too:
        return True
    # The guard in Calendar.release only needs the id and the organiser to check the mark.
    calendar.release(Hold(record.id, organizer, (organizer,), start,
                          dt.datetime.fromisoformat(record.end), "", ""))
    audit.calendar_write("release", record.id, record.people, now)
    return True


def _carry_out(decision: UpkeepDecision, hold: Hold, state: HoldState, record: SuggestionRecord,
               work: _Pass) -> None:
    action, cause, by = decision.action, decision.cause, decision.by
    if action is Upkeep.KEEP:
        return
    if action is Upkeep.ACCEPT:
        yes = said(state, hold, Response.ACCEPTED)  # the organiser's own yes goes without saying
        work.save(record, Stage.ACCEPTED, cause, by=tuple(e for e in yes if e != hold.organizer))
    elif action is Upkeep.MEMBER_DECLINED:
        work.save(record, record.status, cause, by=by)
    elif action is Upkeep.RESCHEDULED:
        work.save(record, Stage.ACCEPTED, cause, start=state.start, end=state.end)
    elif action is Upkeep.GONE:
        work.save(record, Stage.CANCELLED, cause)
    elif action in (Upkeep.DECLINED, Upkeep.EXPIRE):
        work.calendar.release(hold)
        audit.calendar_write("release", hold.id, record.people, work.now)
        work.save(record, Stage.DECLINED if action is Upkeep.DECLINED else Stage.EXPIRED, cause,
                  by=by)
    elif action is Upkeep.MET:
        if work.ledger is not None:
            # Into the ledger before the record says met: a crash in between counts it
            # again on the rerun, and the ledger knows the interaction id already.
            work.ledger.add([met_meeting(hold, state)], work.org.people, work.now)
            work.ledger.commit(work.now)
        work.save(record, Stage.MET, cause)
    elif action is Upkeep.MISSED:
        work.save(record, Stage.MISSED, cause)
    elif action is Upkeep.MOVE:
        _move(hold, record, work)


def _move(hold: Hold, record: SuggestionRecord, work: _Pass) -> None:
    """To the next good slot for everyone in it; released when there is none."""
    people = [work.org.people[e] for e in hold.attendees]
    horizon = horizon_end(work.now, work.rules.meetings.horizon_days)
    current = work.calendar.busy(list(hold.attendees), work.now, horizon)
    busy = {e: without_hold(list(spans), hold.start, hold.end) for e, spans in current.items()}
    slot = find_slot(people, busy, work.rules.meetings, work.now)
    if slot is None:
        work.calendar.release(hold)
        audit.calendar_write("release", hold.id, record.people, work.now)
        work.save(record, Stage.CANCELLED, Cause.NO_SLOT)
        work.report.count("no-slot")
        return
    work.calendar.move(hold, slot.start, slot.end)
    audit.calendar_write("move", hold.id, record.people, work.now, slot.start, slot.end)
    work.save(record, Stage.MOVED, Cause.CONFLICT, start=slot.start, end=slot.end)
