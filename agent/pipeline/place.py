"""Place: record the day's whole plan, then put its holds on the calendar.

Every suggestion of a planning run is written to the store as ``planned``,
all in one atomic write together with a marker for the run, before any hold
is placed. A rerun after a crash finds the marker and only finishes that
plan: planning again would see some holds placed and others not, and the
caps would then pick different pairs. Hold ids are deterministic, so
finishing never places a second hold.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from agent import audit
from agent.holds import build_hold
from agent.ledger import week_of
from agent.lifecycle import Cause, Stage
from agent.pipeline.org import Org
from agent.pipeline.plan import Planned
from agent.pipeline.records import hold_for_record, record_for
from agent.store import Store, SuggestionRecord
from connectors.base import Calendar, HoldMode
from connectors.common.errors import ConnectorError
from rules.model import Rules

log = logging.getLogger(__name__)


@dataclass
class PlaceReport:
    placed: list[SuggestionRecord] = field(default_factory=list)
    suggested: list[SuggestionRecord] = field(default_factory=list)
    unscheduled: list[Planned] = field(default_factory=list)
    resumed: int = 0
    failed: int = 0  # recorded but not yet on the calendar: placed by the next cycle
    promoted: int = 0  # this week's suggestions (suggest mode) now to be placed as holds


def place(
    plans: Iterable[Planned],
    calendar: Calendar | None,
    store: Store,
    org: Org,
    rules: Rules,
    now: dt.datetime,
    excluded: Mapping[str, str] | None = None,
) -> PlaceReport:
    """Record the whole plan, then put its holds on the calendar (unless mode is suggest).

    ``now``'s date and the rules name the planning run: a second run on the same
    day under the same rules (a restart after a crash) finishes the first one's
    plan and makes no new one; changed rules plan again, within this week's caps.
    When the mode has become hold or invite, this week's suggestions made in
    suggest mode are placed as holds (the caps already count them, so a new plan
    alone would place nothing this week).
    """
    report = PlaceReport()
    known = {r.id: r for r in store.suggestions()}
    promoted: set[str] = set()
    if rules.meetings.mode is not HoldMode.SUGGEST and calendar is not None:
        promoted = _promote_suggested(known.values(), store, org, rules, now, excluded or {})
        known = {r.id: r for r in store.suggestions()}
    report.resumed = _finish_planned(known.values(), calendar, store, org, rules, now)
    if promoted:  # placed now, not finished from an interrupted run
        report.promoted = len(promoted)
        report.placed += [r for r in store.suggestions() if r.id in promoted and r.status is Stage.HELD]
        report.resumed -= len(report.placed)
    run = f"{now.date().isoformat()}/{rules_fingerprint(rules)}"
    if store.plan_recorded(run):
        return report
    writes = rules.meetings.mode is not HoldMode.SUGGEST and calendar is not None
    new: list[tuple[Planned, SuggestionRecord]] = []
    for item in plans:
        if item.id in known:
            continue  # this exact suggestion was handled by an earlier run
        if item.slot is None:
            report.unscheduled.append(item)
            continue
        new.append((item, record_for(item, org, rules, now,
                                     Stage.PLANNED if writes else Stage.SUGGESTED)))
    store.save_plan(run, [record for _, record in new])
    for item, record in new:
        if not writes:
            report.suggested.append(record)
            continue
        assert calendar is not None and item.slot is not None
        hold = build_hold(item.suggestion, item.slot, rules.meetings, item.id)
        try:
            calendar.place(hold)
        except ConnectorError as exc:  # stays planned: the next cycle places it
            log.warning("hold %s could not be placed yet (%s)", item.id, exc.message)
            report.failed += 1
            continue
        audit.calendar_write("place", hold.id, record.people, now, hold.start, hold.end)
        placed = record.advance(Stage.HELD, Cause.PLACED, now)
        store.save_suggestion(placed)
        report.placed.append(placed)
    return report


def rules_fingerprint(rules: Rules) -> str:
    """A short digest of the rules in force: part of a planning run's name."""
    return hashlib.sha256(rules.model_dump_json().encode()).hexdigest()[:12]


def _promote_suggested(records: Iterable[SuggestionRecord], store: Store, org: Org, rules: Rules,
                       now: dt.datetime, excluded: Mapping[str, str]) -> set[str]:
    """This week's suggestions that have a slot still ahead become planned holds in the
    mode now in force; ``_finish_planned`` then places them (crash-safe as any plan)."""
    week = week_of(now)
    promoted: set[str] = set()
    for record in records:
        if record.status is not Stage.SUGGESTED or record.week != week or record.start is None:
            continue
        if dt.datetime.fromisoformat(record.start) <= now:
            continue  # its time has passed: it stays a suggestion of the digest
        emails = [org.by_pseudonym.get(p) for p in record.people]
        if any(e is None or e in excluded for e in emails):
            continue
        planned = record.advance(Stage.PLANNED, Cause.SLOT_FOUND, now)
        store.save_suggestion(replace(planned, mode=rules.meetings.mode.value))
        promoted.add(record.id)
    return promoted


def _finish_planned(records: Iterable[SuggestionRecord], calendar: Calendar | None, store: Store,
                    org: Org, rules: Rules, now: dt.datetime) -> int:
    """Holds recorded as planned by a run that stopped before placing them."""
    done = 0
    for record in records:
        if record.status is not Stage.PLANNED or calendar is None:
            continue
        hold = hold_for_record(record, org, rules)
        if hold is None:
            store.save_suggestion(record.advance(Stage.CANCELLED, Cause.PERSON_LEFT, now))
            continue
        if hold.start <= now:
            store.save_suggestion(record.advance(Stage.EXPIRED, Cause.NOT_PLACED_IN_TIME, now))
            continue
        try:
            calendar.place(hold)
        except ConnectorError as exc:
            log.warning("hold %s could not be placed yet (%s); trying again next cycle",
                        record.id, exc.message)
            continue
        audit.calendar_write("place", hold.id, record.people, now, hold.start, hold.end)
        store.save_suggestion(record.advance(Stage.HELD, Cause.PLACED, now))
        done += 1
    return done
