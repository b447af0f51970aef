"""The pipeline: sync → ledger → drift → matcher → slots → holds → digest.

The pure steps (``analyse``, ``plan``) take data and return data; the steps
with side effects (``sync``, ``place``, ``upkeep``) talk to the connectors
and the store, in an order that makes a crash at any point safe:

* sync stores a source's cursor only after the ledger has committed what
  was read before it (the ledger ignores what it has already counted);
* a suggestion is written to the store as ``planned`` before its hold is
  placed, and the hold's id is deterministic, so a rerun finishes the job
  instead of placing a second hold.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import multiprocessing
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from agent.drift import (
    PersonTrend,
    SeamResult,
    detect_seams,
    lapsed_ties,
    person_trends,
    windows_for,
)
from agent.eligibility import exclusion_reason, managers_of
from agent.holds import (
    Upkeep,
    build_hold,
    conflicts,
    decide,
    suggestion_id,
    without_hold,
)
from agent.ledger import AddStats, LedgerFiles, read_table, week_of
from agent.matcher import History, Suggestion, match_pairs, peer_circles
from agent.pseudonym import Pseudonymiser
from agent.slots import Slot, could_meet, find_slot, horizon_end
from agent.store import Store, SuggestionRecord
from connectors.base import (
    Busy,
    Calendar,
    Connectors,
    Hold,
    HoldMode,
    Interaction,
    InteractionKind,
    Person,
)
from connectors.common.errors import ConnectorError, NotOurEvent
from rules.model import Rules

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass
class Org:
    """The directory as this cycle sees it, with pseudonyms both ways."""

    people: dict[str, Person]
    pseudonym: dict[str, str]
    by_pseudonym: dict[str, str]

    @property
    def departments(self) -> list[str]:
        return sorted({p.department for p in self.people.values()})


def load_org(people: Iterable[Person], pseudonymiser: Pseudonymiser) -> Org:
    by_email = {p.email: p for p in people}
    pseudonyms = {email: pseudonymiser.person(email) for email in by_email}
    return Org(by_email, pseudonyms, {v: k for k, v in pseudonyms.items()})


# --- sync ---------------------------------------------------------------------------------


@dataclass
class SyncReport:
    stats: AddStats = field(default_factory=AddStats)
    new: int = 0
    resyncs: list[str] = field(default_factory=list)
    opt_outs: list[str] = field(default_factory=list)  # senders who wrote to the opt-out address


class KeyedCursors(Mapping[str, str]):
    """Stored cursors as connectors ask for them: by plain name, kept under a keyed one."""

    def __init__(self, stored: Mapping[str, str], pseudonymiser: Pseudonymiser) -> None:
        self._stored = stored
        self._key = pseudonymiser.cursor_key

    def __getitem__(self, name: str) -> str:
        return self._stored[self._key(name)]

    def __iter__(self) -> Iterator[str]:
        raise TypeError("stored cursor names are keyed and cannot be listed")

    def __len__(self) -> int:
        return len(self._stored)

    def keyed(self, cursors: Mapping[str, str]) -> dict[str, str]:
        """New cursors ready to store."""
        return {self._key(name): value for name, value in cursors.items()}


def opt_out_senders(interactions: Iterable[Interaction], address: str) -> list[str]:
    """People who mailed the opt-out address: metadata is enough, no body is read."""
    return [i.participants[0] for i in interactions
            if i.kind is InteractionKind.EMAIL and address in i.participants[1:]]


def sync(
    connectors: Connectors,
    ledger: LedgerFiles,
    store: Store,
    org: Org,
    now: dt.datetime,
    *,
    progress: Progress = _quiet,
    commit_every: int = 1_500_000,
    opt_out_address: str | None = None,
    parallel: bool | None = None,
) -> SyncReport:
    """Read new metadata into the ledger; cursors are saved only after their data is."""
    report = SyncReport()
    # Millions of short-lived, cycle-free objects pass through here; the cycle
    # collector would rescan them over and over (a fifth of the ingest time).
    collecting = gc.isenabled()
    gc.disable()
    try:
        _sync_sources(connectors, ledger, store, org, now, report, progress, commit_every,
                      opt_out_address, parallel)
    finally:
        if collecting:
            gc.enable()
    progress(f"sync done: {report.stats.read:,} read, {report.new:,} new")
    return report


def _sync_sources(connectors: Connectors, ledger: LedgerFiles, store: Store, org: Org,
                  now: dt.datetime, report: SyncReport, progress: Progress, commit_every: int,
                  opt_out_address: str | None, parallel: bool | None) -> None:
    sources = [(name, src) for name, src in (("calendar", connectors.calendar),
                                              ("mail", connectors.mail)) if src is not None]
    if _sources_can_fork(sources) and (parallel if parallel is not None else _single_threaded()):
        from agent.parallel import sync_in_workers

        sync_in_workers(sources, ledger, store, org, now, report, progress, commit_every,
                        opt_out_address)
        return
    cursors = KeyedCursors(store.cursors(), ledger.pseudonymiser)
    waiting: dict[str, str] = {}
    people = list(org.people.values())
    for name, source in sources:
        for chunk in source.read(people, cursors):
            if opt_out_address and name == "mail":
                _record_opt_outs(opt_out_senders(chunk.interactions, opt_out_address), org, store,
                                 report)
            report.stats.merge(ledger.add(chunk.interactions, org.people, now))
            if chunk.resynced:
                report.resyncs.append(chunk.cursor_key)
            if chunk.cursor is not None:
                waiting[chunk.cursor_key] = chunk.cursor
            if ledger.buffered() >= commit_every:
                report.new += ledger.commit(now)
                store.save_cursors(cursors.keyed(waiting))
                waiting = {}
                progress(f"{name}: {report.stats.read:,} interactions read")
    report.new += ledger.commit(now)
    store.save_cursors(cursors.keyed(waiting))


def _record_opt_outs(senders: Iterable[str], org: Org, store: Store, report: SyncReport) -> None:
    for sender in senders:
        if sender in org.pseudonym:
            store.add_opt_out(org.pseudonym[sender])
            report.opt_outs.append(sender)


def _sources_can_fork(sources: Sequence[tuple[str, object]]) -> bool:
    """Several sources, several cores, and sources that hold no open connections."""
    return (len(sources) > 1 and (os.cpu_count() or 1) > 1
            and all(getattr(src, "parallel_safe", False) for _, src in sources)
            and "fork" in multiprocessing.get_all_start_methods())


def _single_threaded() -> bool:
    """Forking a process that runs other threads (the daemon's scheduler and health
    server) can copy a held lock into the child; without being told, fork only when
    this is the only thread."""
    return threading.active_count() == 1


# --- analyse ------------------------------------------------------------------------------


@dataclass
class Analysis:
    as_of: dt.date
    people: int
    seams: list[SeamResult]
    lapsed: list[tuple[str, str, float]]  # e-mails and baseline weight, cross-department only
    trends: dict[str, PersonTrend]
    first_week: int
    last_week: int
    too_thin: dict[tuple[str, str], float] = field(default_factory=dict)  # below min_volume

    @property
    def drifting(self) -> list[tuple[str, str]]:
        return [s.departments for s in self.seams if s.drifting]


def last_full_week(as_of: dt.date) -> int:
    """The analysis ends with the last complete week before ``as_of``."""
    return week_of(dt.datetime.combine(as_of, dt.time(12), tzinfo=dt.UTC)) - 1


def analyse(ledger: LedgerFiles, org: Org, rules: Rules, as_of: dt.date) -> Analysis:
    seams_rules = rules.seams
    span = seams_rules.longest_window()
    last = last_full_week(as_of)
    first = last - span + 1
    table = read_table(ledger, first, last)
    departments = org.departments
    dept_index = {d: i for i, d in enumerate(departments)}
    dept_of = np.full(max(len(ledger.people), 1), -1, np.int64)
    email_of: dict[int, str] = {}
    for email, person in org.people.items():
        idx = ledger.id_of(email)
        if idx is not None:
            dept_of[idx] = dept_index[person.department]
            email_of[idx] = email
    too_thin: dict[tuple[str, str], float] = {}
    seams = detect_seams(table, dept_of, departments, seams_rules, too_thin)
    windows = windows_for(table, seams_rules.recent_weeks, seams_rules.baseline_weeks)
    ties = [
        (email_of[t.a], email_of[t.b], t.baseline_weight)
        for t in lapsed_ties(table, dept_of, windows, rules.signals)
        if t.a in email_of and t.b in email_of
    ]
    trends = {
        email_of[t.person]: t
        for t in person_trends(table, dept_of, windows, dept_of.size)
        if t.person in email_of
    }
    return Analysis(as_of, len(org.people), seams, ties, trends, first, last, too_thin)


# --- plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    suggestion: Suggestion
    id: str
    slot: Slot | None


def exclusions(org: Org, rules: Rules, opted_out: set[str]) -> dict[str, str]:
    """Everyone left out of suggestions, with the reason."""
    managers = managers_of(org.people.values())
    out = {}
    for email, person in org.people.items():
        reason = exclusion_reason(person, rules.participants, opted_out, managers)
        if reason:
            out[email] = reason
    return out


def history_from(records: Iterable[SuggestionRecord], org: Org, today: dt.date) -> History:
    history = History()
    this_week = week_of(dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC))
    for record in records:
        emails = [org.by_pseudonym.get(p) for p in record.people]
        if any(e is None for e in emails):
            continue  # someone left the organisation
        created = dt.datetime.fromisoformat(record.created).date()
        age = (today - created).days
        for e in emails:
            assert e is not None
            if record.week == this_week:
                history.this_week[e] = history.this_week.get(e, 0) + 1
            if age < 28:
                history.last_28_days[e] = history.last_28_days.get(e, 0) + 1
            if age < 84:
                history.last_12_weeks[e] = history.last_12_weeks.get(e, 0) + 1
        if record.reason == "peer-circle":
            history.last_circle_week = max(history.last_circle_week or record.week, record.week)
        else:
            key = frozenset(e for e in emails if e)
            history.last_paired[key] = max(history.last_paired.get(key, created), created)
            if record.week == this_week:
                seam = frozenset(record.departments)
                history.seam_this_week[seam] = history.seam_this_week.get(seam, 0) + 1
    return history


BusyLookup = Callable[[list[str], dt.datetime, dt.datetime], Mapping[str, list[Busy]]]


def plan(
    analysis: Analysis,
    org: Org,
    rules: Rules,
    history: History,
    excluded: Mapping[str, str],
    busy_lookup: BusyLookup | None,
    now: dt.datetime,
) -> list[Planned]:
    """This week's suggestions, each with a slot when one exists."""
    eligible = [p for e, p in org.people.items() if e not in excluded]
    members: dict[str, list[Person]] = defaultdict(list)
    for person in sorted(eligible, key=lambda p: p.email):
        members[person.department].append(person)
    drifting = set(map(frozenset, analysis.drifting))
    lapsed = {
        frozenset((a, b)) for a, b, _ in analysis.lapsed
        if frozenset((org.people[a].department, org.people[b].department)) in drifting
    }
    week = week_of(now)
    week_key = f"week-{week}"
    shared_hours: dict[tuple[object, ...], bool] = {}

    def compatible(a: Person, b: Person) -> bool:
        key = (a.timezone, a.working_hours, b.timezone, b.working_hours)
        if key not in shared_hours:
            shared_hours[key] = could_meet(a, b, rules.meetings, now.date() + dt.timedelta(days=1))
        return shared_hours[key]

    suggestions = match_pairs(analysis.drifting, members, lapsed, history, rules.pairing,
                              now.date(), week_key, compatible)
    # Circles come after pairs and must see them: a person paired this week
    # has used part of their weekly and monthly allowance.
    after_pairs = replace(history, this_week=dict(history.this_week),
                          last_28_days=dict(history.last_28_days))
    for suggestion in suggestions:
        for email in suggestion.emails:
            after_pairs.this_week[email] = after_pairs.this_week.get(email, 0) + 1
            after_pairs.last_28_days[email] = after_pairs.last_28_days.get(email, 0) + 1
    suggestions += peer_circles(eligible, after_pairs, rules.pairing, week, week_key)
    emails = sorted({e for s in suggestions for e in s.emails})
    busy: dict[str, list[Busy]] = {e: [] for e in emails}
    if busy_lookup is not None and emails:
        for email, spans in busy_lookup(emails, now, horizon_end(now, rules.meetings.horizon_days)).items():
            busy.setdefault(email, []).extend(spans)
    planned = []
    for suggestion in suggestions:
        slot = find_slot(suggestion.people, busy, rules.meetings, now)
        if slot is not None:
            for person in suggestion.people:
                busy[person.email].append(Busy(slot.start, slot.end))
        ids = [org.pseudonym[e] for e in suggestion.emails]
        planned.append(Planned(suggestion, suggestion_id(ids, week), slot))
    return planned


# --- place and look after holds ---------------------------------------------------------


def _record_for(item: Planned, org: Org, rules: Rules, now: dt.datetime, status: str) -> SuggestionRecord:
    s = item.suggestion
    return SuggestionRecord(
        id=item.id,
        people=tuple(org.pseudonym[e] for e in s.emails),
        departments=s.departments,
        reason=s.reason,
        week=week_of(now),
        created=now.isoformat(),
        status=status,
        mode=rules.meetings.mode.value,
        start=item.slot.start.isoformat() if item.slot else None,
        end=item.slot.end.isoformat() if item.slot else None,
        updated=now.isoformat(),
    )


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


@dataclass
class PlaceReport:
    placed: list[SuggestionRecord] = field(default_factory=list)
    suggested: list[SuggestionRecord] = field(default_factory=list)
    unscheduled: list[Planned] = field(default_factory=list)
    resumed: int = 0
    failed: int = 0  # recorded but not yet on the calendar: placed by the next cycle


def place(
    plans: Iterable[Planned],
    calendar: Calendar | None,
    store: Store,
    org: Org,
    rules: Rules,
    now: dt.datetime,
) -> PlaceReport:
    """Record each suggestion, then put its hold on the calendar (unless mode is suggest)."""
    report = PlaceReport()
    known = {r.id: r for r in store.suggestions()}
    report.resumed = _finish_planned(known.values(), calendar, store, org, rules, now)
    writes = rules.meetings.mode is not HoldMode.SUGGEST and calendar is not None
    for item in plans:
        if item.id in known:
            continue  # this exact suggestion was handled by an earlier run
        if item.slot is None:
            report.unscheduled.append(item)
            continue
        record = _record_for(item, org, rules, now, "planned" if writes else "suggested")
        store.save_suggestion(record)
        if not writes:
            report.suggested.append(record)
            continue
        assert calendar is not None
        hold = build_hold(item.suggestion, item.slot, rules.meetings, item.id)
        try:
            calendar.place(hold)
        except ConnectorError as exc:  # stays planned: the next cycle places it
            log.warning("hold %s could not be placed yet (%s)", item.id, exc.message)
            report.failed += 1
            continue
        placed = record.with_status("placed", now)
        store.save_suggestion(placed)
        report.placed.append(placed)
    return report


def _finish_planned(records: Iterable[SuggestionRecord], calendar: Calendar | None, store: Store,
                    org: Org, rules: Rules, now: dt.datetime) -> int:
    """Holds recorded as planned by a run that stopped before placing them."""
    done = 0
    for record in records:
        if record.status != "planned" or calendar is None:
            continue
        hold = hold_for_record(record, org, rules)
        if hold is None:
            store.save_suggestion(record.with_status("removed", now, note="a person left"))
            continue
        if hold.start <= now:
            store.save_suggestion(record.with_status("released", now,
                                                     note="its time passed before it was placed"))
            continue
        try:
            calendar.place(hold)
        except ConnectorError as exc:
            log.warning("hold %s could not be placed yet (%s); trying again next cycle",
                        record.id, exc.message)
            continue
        store.save_suggestion(record.with_status("placed", now))
        done += 1
    return done


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
