"""Holds as people read them: ``bridgework holds list`` and ``holds explain``.

Pure: stored records, the directory and the rules in; rows, JSON and lines of
text out. The store knows people only by pseudonym; the directory of this
cycle names them again, and anyone it no longer lists is shown as
"(left)".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from agent.ledger import week_of, week_start
from agent.lifecycle import (
    CAUSE_TEXT,
    OutcomeRates,
    Stage,
    Transition,
    outcome_rates,
    reason_label,
    removed_from_calendars,
    seam_label,
)
from agent.pipeline.org import Org
from agent.store import SuggestionRecord
from connectors.base import Person
from rules.model import WEEKDAYS, Rules, _format_duration

GONE = "(left)"


def iso_week(week: int) -> str:
    """A ledger week as an ISO week name, like 2026-W09."""
    year, number, _ = week_start(week).isocalendar()
    return f"{year}-W{number:02d}"


def ledger_week(iso: str) -> int:
    """The ledger week of an ISO week name (already checked by the CLI)."""
    year, number = iso.split("-W")
    monday = dt.date.fromisocalendar(int(year), int(number), 1)
    return week_of(dt.datetime.combine(monday, dt.time(12), tzinfo=dt.UTC))


@dataclass(frozen=True)
class HoldView:
    record: SuggestionRecord
    emails: tuple[str, ...]  # GONE for anyone the directory no longer lists
    label: str  # the reason as rates group it

    def as_json(self, org: Org) -> dict[str, object]:
        r = self.record
        return {
            "id": r.id, "state": r.status.value, "people": list(self.emails),
            "departments": list(r.departments), "reason": r.reason, "reason_label": self.label,
            "seam": seam_label(r), "week": iso_week(r.week), "mode": r.mode, "start": r.start,
            "end": r.end, "created": r.created, "updated": r.updated,
            "on_calendar": not removed_from_calendars(r),
            "transitions": [_named(t, org) for t in r.transitions],
        }


def _named(t: Transition, org: Org) -> dict[str, object]:
    out = t.as_json()
    if t.by:
        out["by"] = [org.by_pseudonym.get(p, GONE) for p in t.by]
    return out


def view(record: SuggestionRecord, org: Org) -> HoldView:
    emails = tuple(org.by_pseudonym.get(p, GONE) for p in record.people)
    levels = [org.people[e].level if e in org.people else None for e in emails]
    return HoldView(record, emails, reason_label(record.reason, levels))


def select(records: Iterable[SuggestionRecord], org: Org, *, state: Stage | None = None,
           person: str | None = None, week: int | None = None) -> list[HoldView]:
    """The holds that match every filter given, newest first."""
    out = []
    for record in records:
        if state is not None and record.status is not state:
            continue
        if week is not None and record.week != week:
            continue
        item = view(record, org)
        if person is not None and person.lower() not in item.emails:
            continue
        out.append(item)
    out.sort(key=lambda v: (v.record.created, v.record.id), reverse=True)
    return out


def rates_of(views: Sequence[HoldView], org: Org, min_group_size: int = 1) -> OutcomeRates:
    def level(pseudonym: str) -> int | None:
        person = org.people.get(org.by_pseudonym.get(pseudonym, ""))
        return person.level if person else None

    return outcome_rates([v.record for v in views], level, min_group_size)


def find(records: Iterable[SuggestionRecord], wanted: str) -> SuggestionRecord | None:
    """The record with this id, or the only one whose id starts with it."""
    matches = [r for r in records if r.id == wanted or r.id.startswith(wanted)]
    exact = [r for r in matches if r.id == wanted]
    if exact:
        return exact[0]
    return matches[0] if len(matches) == 1 else None


# --- explain ---------------------------------------------------------------------------------


def _who(email: str, org: Org) -> str:
    person = org.people.get(email)
    if person is None:
        return GONE
    level = f", level {person.level}" if person.level is not None else ""
    return f"{person.name or email} <{email}> ({person.department}{level})"


def _hours(person: Person) -> str:
    days = sorted(person.working_hours.weekdays)
    names = ", ".join(WEEKDAYS[d][:3] for d in days)
    hours = person.working_hours
    return f"{names} {hours.start:%H:%M}-{hours.end:%H:%M} {person.timezone}"


def why_people(view: HoldView, org: Org, rules: Rules) -> list[str]:
    r = view.record
    people = [org.people[e] for e in view.emails if e in org.people]
    seam = " / ".join(sorted(set(r.departments)))
    if r.reason == "peer-circle":
        circles = rules.pairing.circles
        level = people[0].level if people else None
        return [f"a peer circle: {len(r.people)} people"
                + (f" of level {level}" if circles.same_level and level is not None else "")
                + f", each from a different department ({', '.join(r.departments)}); members are "
                f"kept for {circles.season_weeks} weeks and meet every {circles.cadence_weeks}"]
    lines = [f"the seam {seam} was drifting when this was planned"]
    if r.reason == "reconnect":
        lines.append("they used to be in touch: real contact in the baseline weeks, none lately "
                     "(a lapsed tie, asked first under pairing.reconnect_first)")
    else:
        lines.append("a new tie across that seam, chosen by a matching that spreads the asks "
                     "fairly under the weekly and monthly caps and the cool-down")
    if len(people) == 2 and people[0].level is not None and people[1].level is not None:
        distance = abs(people[0].level - people[1].level)
        lines.append("peers: the same level" if distance == 0 else
                     f"levels {people[0].level} and {people[1].level} "
                     f"(within pairing.max_level_distance {rules.pairing.max_level_distance})")
    return lines


def why_slot(view: HoldView, org: Org, rules: Rules) -> list[str]:
    r = view.record
    m = rules.meetings
    moved = [t for t in r.transitions if t.stage is Stage.MOVED]
    when = moved[-1].at if moved else r.created
    lines = [f"the earliest {_format_duration(m.duration)} at least 12 hours after {when[:16]} "
             f"and within {m.horizon_days} working days, free for everyone with "
             f"{_format_duration(m.buffer)} around their other meetings",
             f"inside the rules' hours {m.hours} on "
             + ", ".join(WEEKDAYS[d] for d in m.days if d not in m.no_meeting_days)]
    lines += [f"inside the working hours of {org.people[e].first_name}: {_hours(org.people[e])}"
              for e in view.emails if e in org.people]
    if moved:
        lines.append(f"moved {len(moved)} time(s) because another meeting came to overlap it")
    return lines


def explain_lines(view: HoldView, org: Org, rules: Rules) -> list[str]:
    r = view.record
    lines = [f"hold {r.id}: {r.status.value} ({r.mode} mode), planned in {iso_week(r.week)}",
             f"  time: {r.start or 'none'} to {r.end or ''}".rstrip(),
             "  people:"]
    lines += [f"    {_who(e, org)}" for e in view.emails]
    lines.append("why these people:")
    lines += [f"  {line}" for line in why_people(view, org, rules)]
    if r.start:
        lines.append("why this time:")
        lines += [f"  {line}" for line in why_slot(view, org, rules)]
    lines.append("what happened:")
    for t in r.transitions:
        # who caused it, beside the cause ("by" would misread after "left out by the rules")
        who = f" ({', '.join(org.by_pseudonym.get(p, GONE) for p in t.by)})" if t.by else ""
        slot = f" (now {t.start} to {t.end})" if t.start and t.stage is not Stage.PLANNED else ""
        lines.append(f"  {t.at[:16]}  {t.stage.value:<9} {CAUSE_TEXT[t.cause]}{who}{slot}")
    lines.append("on a calendar now: " + ("no" if removed_from_calendars(r) else "yes"))
    return lines
