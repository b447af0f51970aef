"""Weekly digests for people, managers and admins (plain text and HTML).

Composition is pure: analysis, records and rules in, messages out. Figures
shown to a manager or an admin always stand for at least ``min_group_size``
people; below that they are withheld, never rounded or approximated.
Each message carries a key (audience, ISO week, recipient pseudonym) so it is
sent at most once a week however often the job runs.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import jinja2

from agent.drift import PersonTrend, SeamResult
from agent.store import SuggestionRecord
from connectors.base import OutgoingMessage, Person
from rules.model import Rules

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("agent.digest", "templates"),
    autoescape=jinja2.select_autoescape(["html.j2"]),
    keep_trailing_newline=True,
    trim_blocks=False,
)


def week_label(today: dt.date) -> str:
    year, week, _ = today.isocalendar()
    return f"{year}-W{week:02d}"


def _render(name: str, **context: object) -> tuple[str, str]:
    return (_env.get_template(f"{name}.txt.j2").render(**context),
            _env.get_template(f"{name}.html.j2").render(**context))


@dataclass(frozen=True)
class DigestInput:
    """What the digests are made of, with people resolved to e-mails."""

    today: dt.date
    people: Mapping[str, Person]
    seams: Sequence[SeamResult]
    trends: Mapping[str, PersonTrend]
    lapsed: Sequence[tuple[str, str, float]]
    records: Sequence[tuple[SuggestionRecord, tuple[str, ...]]]  # with the people's e-mails
    excluded: Mapping[str, str]
    rules: Rules
    rules_error: Sequence[str] = ()
    sender: str | None = None
    opt_out_address: str | None = None


def _change(trend: PersonTrend) -> int | None:
    if trend.cross_baseline <= 0:
        return None
    return round((trend.cross_recent / trend.cross_baseline - 1) * 100)


def person_digest(person: Person, data: DigestInput) -> OutgoingMessage | None:
    """Only people with something to act on get one."""
    zone = ZoneInfo(person.timezone)
    meetings = []
    for record, emails in data.records:
        if person.email not in emails or record.start is None:
            continue
        others = [data.people[e] for e in emails if e != person.email and e in data.people]
        start = dt.datetime.fromisoformat(record.start).astimezone(zone)
        meetings.append({
            "when": start.strftime("%a %d %b %H:%M") + f" ({person.timezone})",
            "with": ", ".join(f"{o.name or o.email} ({o.department})" for o in others),
            "status": record.status,
        })
    ties = []
    for a, b, _ in data.lapsed:
        other = b if a == person.email else a if b == person.email else None
        if other and other in data.people:
            o = data.people[other]
            ties.append(f"{o.name or o.email} ({o.department})")
    if not meetings and not ties:
        return None
    trend = data.trends.get(person.email)
    label = week_label(data.today)
    text, html = _render("person", person=person, week_label=label, trend=trend,
                         change=_change(trend) if trend else None, meetings=meetings,
                         ties=ties[:5], opt_out_address=data.opt_out_address)
    return OutgoingMessage(f"person/{label}/{person.email}", person.email,
                           f"Your Bridgework week ({label})", text, html, data.sender)


def team_of(manager: str, people: Mapping[str, Person]) -> list[str]:
    """Everyone reporting to ``manager``, directly or not."""
    reports: dict[str, list[str]] = {}
    for p in people.values():
        if p.manager:
            reports.setdefault(p.manager, []).append(p.email)
    team, queue, seen = [], list(reports.get(manager, [])), {manager}
    while queue:
        e = queue.pop()
        if e in seen:
            continue
        seen.add(e)
        team.append(e)
        queue.extend(reports.get(e, []))
    return team


def manager_digest(manager: Person, data: DigestInput) -> OutgoingMessage | None:
    team = team_of(manager.email, data.people)
    if not team:
        return None
    k = data.rules.privacy.min_group_size
    label = week_label(data.today)
    trends = [data.trends[e] for e in team if e in data.trends]
    shown = len(team) >= k and len(trends) >= k
    recent = sum(t.cross_recent for t in trends) / len(trends) if trends else 0.0
    baseline = sum(t.cross_baseline for t in trends) / len(trends) if trends else 0.0
    members = set(team)
    suggestions = sum(1 for r, emails in data.records if members & set(emails))
    text, html = _render("manager", person=manager, week_label=label, shown=shown,
                         team_size=len(team), recent=recent, baseline=baseline,
                         suggestions=suggestions, min_group_size=k)
    return OutgoingMessage(f"manager/{label}/{manager.email}", manager.email,
                           f"Your team's Bridgework week ({label})", text, html, data.sender)


def hold_counts(records: Iterable[tuple[SuggestionRecord, tuple[str, ...]]], k: int) -> dict[str, str]:
    """Counts per status, each withheld when it stands for fewer than k people."""
    counts: Counter[str] = Counter()
    people: dict[str, set[str]] = {}
    for record, emails in records:
        counts[record.status] += 1
        people.setdefault(record.status, set()).update(emails)
    return {
        status: (str(n) if len(people[status]) >= k else f"(fewer than {k} people)")
        for status, n in sorted(counts.items())
    }


def admin_digest(admin: str, data: DigestInput) -> OutgoingMessage:
    k = data.rules.privacy.min_group_size
    sizes = Counter(p.department for p in data.people.values())
    visible = [s for s in data.seams if all(sizes[d] >= k for d in s.departments)]
    label = week_label(data.today)
    text, html = _render(
        "admin", week_label=label, seams=visible[:30], hidden=len(data.seams) - len(visible),
        min_group_size=k, holds=hold_counts(data.records, k) or {"none yet": ""},
        rules_error=list(data.rules_error), mode=data.rules.meetings.mode.value,
        drop=data.rules.seams.drop, recent_weeks=data.rules.seams.recent_weeks,
        baseline_weeks=data.rules.seams.baseline_weeks,
    )
    return OutgoingMessage(f"admin/{label}/{admin}", admin, f"Bridgework admin digest ({label})",
                           text, html, data.sender)


def compose(data: DigestInput) -> list[OutgoingMessage]:
    audiences = set(data.rules.digests.audiences)
    out: list[OutgoingMessage] = []
    managers = {p.manager for p in data.people.values() if p.manager}
    for email, person in sorted(data.people.items()):
        if email in data.excluded and data.excluded[email] == "opted out":
            continue
        if "person" in audiences:
            message = person_digest(person, data)
            if message:
                out.append(message)
        if "manager" in audiences and email in managers:
            message = manager_digest(person, data)
            if message:
                out.append(message)
    if "admin" in audiences:
        out.extend(admin_digest(a.lower(), data) for a in data.rules.digests.admins)
    return out
