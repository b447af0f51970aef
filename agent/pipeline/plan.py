"""Plan: this week's suggestions, each with a slot when one exists (pure: analysis,
people, history and busy times in; pairs, circles and slots out)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from agent.eligibility import exclusion_reason, managers_of
from agent.holds import suggestion_id
from agent.ledger import week_of
from agent.lifecycle import LOOKED_AFTER, Stage, declines
from agent.matcher import History, Suggestion, match_pairs, peer_circles
from agent.pipeline.analyze import Analysis
from agent.pipeline.org import Org
from agent.slots import Slot, could_meet, find_slot, horizon_end
from agent.store import SuggestionRecord
from connectors.base import Busy, Person
from rules.model import Rules

#: Stages in which a record's slot is taken in someone's week (on a calendar or about to be).
KEEPS_TIME = frozenset({Stage.PLANNED, *LOOKED_AFTER})

BusyLookup = Callable[[list[str], dt.datetime, dt.datetime], Mapping[str, list[Busy]]]


@dataclass(frozen=True)
class Planned:
    suggestion: Suggestion
    id: str
    slot: Slot | None


def exclusions(org: Org, rules: Rules, opted_out: set[str],
               paused: Mapping[str, dt.datetime] | None = None) -> dict[str, str]:
    """Everyone left out of suggestions, with the reason (``paused``: e-mail -> pause end)."""
    managers = managers_of(org.people.values())
    out = {}
    for email, person in org.people.items():
        reason = exclusion_reason(person, rules.participants, opted_out, managers, paused)
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
        for pseudonym, when in declines(record).items():  # declines lower how often one is asked
            history.declines.setdefault(org.by_pseudonym[pseudonym], []).append(when.date())
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


def plan(
    analysis: Analysis,
    org: Org,
    rules: Rules,
    history: History,
    excluded: Mapping[str, str],
    busy_lookup: BusyLookup | None,
    now: dt.datetime,
    *,
    slots_from: dt.datetime | None = None,
) -> list[Planned]:
    """This week's suggestions, each with a slot when one exists.

    ``now`` is the moment the plan stands at (its week, caps and cool-down);
    slots are looked for from ``slots_from`` (default ``now``): a dry run as
    of a past day still offers only times that are yet to come.
    """
    start = max(now, slots_from) if slots_from is not None else now
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
            shared_hours[key] = could_meet(a, b, rules.meetings, start.date() + dt.timedelta(days=1))
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
    suggestions += peer_circles(eligible, after_pairs, rules.pairing, week, week_key, now.date())
    emails = sorted({e for s in suggestions for e in s.emails})
    busy: dict[str, list[Busy]] = {e: [] for e in emails}
    if busy_lookup is not None and emails:
        horizon = horizon_end(start, rules.meetings.horizon_days)
        for email, spans in busy_lookup(emails, start, horizon).items():
            busy.setdefault(email, []).extend(spans)
    planned = []
    for suggestion in suggestions:
        slot = find_slot(suggestion.people, busy, rules.meetings, start)
        if slot is not None:
            for person in suggestion.people:
                busy[person.email].append(Busy(slot.start, slot.end))
        ids = [org.pseudonym[e] for e in suggestion.emails]
        planned.append(Planned(suggestion, suggestion_id(ids, week), slot))
    return planned


def with_our_holds(busy_lookup: BusyLookup | None, records: Iterable[SuggestionRecord],
                   org: Org) -> BusyLookup:
    """Free/busy that also counts the holds Bridgework already keeps for each person.

    In ``hold`` mode only the organiser's calendar shows a hold, so the other
    person's free/busy knows nothing of it; without this a later week's plan
    could give them two of our meetings at the same time.
    """
    ours: dict[str, list[Busy]] = defaultdict(list)
    for record in records:
        if record.status not in KEEPS_TIME or not record.start or not record.end:
            continue
        span = Busy(dt.datetime.fromisoformat(record.start), dt.datetime.fromisoformat(record.end))
        for pseudonym in record.people:
            if (email := org.by_pseudonym.get(pseudonym)) is not None:
                ours[email].append(span)

    def lookup(emails: list[str], start: dt.datetime, end: dt.datetime) -> Mapping[str, list[Busy]]:
        seen = busy_lookup(emails, start, end) if busy_lookup is not None else {}
        found = {e: list(spans) for e, spans in seen.items()}
        for email in emails:
            overlapping = [b for b in ours.get(email, ()) if b.end > start and b.start < end]
            found.setdefault(email, []).extend(overlapping)
        return found

    return lookup
