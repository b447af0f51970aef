"""The manager digest: the team's contact with other departments, as a group only.

A team smaller than ``min_group_size`` gets no figure at all, and the
digest says why; a department on the other side smaller than that is not
named in the team's seams either.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from agent.digest.charts import Bar, week_bars
from agent.digest.inputs import DigestInput
from agent.digest.outcomes import Funnel, funnel
from connectors.base import Person

#: A team's contact with a department counts as thinned below this change.
THINNED = -0.2
#: Contact (hours a week, team total) a department needs before to be judged at all.
MIN_WEEKLY = 0.25


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
    return sorted(team)


@dataclass(frozen=True)
class TeamSeam:
    department: str
    before: float
    lately: float
    change: int


@dataclass
class ManagerView:
    person: Person
    week: str
    team_size: int
    k: int
    shown: bool
    lately: float = 0.0
    usual: float = 0.0
    change: int | None = None
    bars: list[Bar] = field(default_factory=list)
    thinned: list[TeamSeam] = field(default_factory=list)
    steady: int = 0
    funnel: Funnel | None = None


def manager_view(manager: Person, data: DigestInput, week: str) -> ManagerView | None:
    team = team_of(manager.email, data.people)
    if not team:
        return None
    k = data.rules.privacy.min_group_size
    trends = [data.trends[e] for e in team if e in data.trends]
    shown = len(team) >= k and len(trends) >= k
    view = ManagerView(manager, week, len(team), k, shown)
    if not shown:
        return view
    view.lately = sum(t.cross_recent for t in trends) / len(trends)
    view.usual = sum(t.cross_baseline for t in trends) / len(trends)
    if view.usual > 0:
        view.change = round((view.lately / view.usual - 1) * 100)
    sizes = Counter(p.department for p in data.people.values())
    if data.contact is not None:
        view.bars = week_bars(data.contact.weeks, data.contact.average(team),
                              data.contact.recent_weeks, view.usual)
        own = manager.department
        for dept, (lately, before) in data.contact.with_departments(team, own).items():
            if sizes[dept] < k or before < MIN_WEEKLY:
                continue  # too little contact before for a change to mean anything
            change = lately / before - 1
            if change <= THINNED:
                view.thinned.append(TeamSeam(dept, before, lately, round(change * 100)))
            else:
                view.steady += 1
        view.thinned.sort(key=lambda s: (s.lately - s.before, s.department))
    view.funnel = funnel(data.records, k, members=set(team))
    return view
