"""Who should meet whom across the drifting seams.

Pure: seams, people, lapsed ties and the suggestion history in; suggestions
out. For each drifting seam a small pool of candidates is drawn from both
departments (people with lapsed ties first, then a rotation that changes
every week so nobody is always or never picked), every allowed pair is given
a weight (lapsed tie, level closeness, how often each person was suggested
lately), and one maximum-weight matching over all seams together makes sure
nobody gets more than one suggestion this week. Peer circles group a few
same-level people from different departments on their own cadence.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

import networkx as nx

from connectors.base import Person
from rules.model import Pairing


@dataclass(frozen=True)
class Suggestion:
    people: tuple[Person, ...]  # two for a pair, 4-6 for a circle
    departments: tuple[str, ...]
    reason: str  # "reconnect", "new-tie" or "peer-circle"
    seam: tuple[str, str] | None
    score: float
    rule: str

    @property
    def emails(self) -> tuple[str, ...]:
        return tuple(p.email for p in self.people)


@dataclass
class History:
    """What was suggested before, by e-mail, as the matcher needs it."""

    last_paired: dict[frozenset[str], dt.date] = field(default_factory=dict)
    this_week: dict[str, int] = field(default_factory=dict)
    last_28_days: dict[str, int] = field(default_factory=dict)
    last_12_weeks: dict[str, int] = field(default_factory=dict)
    last_circle_week: int | None = None
    seam_this_week: dict[frozenset[str], int] = field(default_factory=dict)
    declines: dict[str, list[dt.date]] = field(default_factory=dict)  # days each person declined


def _jitter(*parts: object) -> float:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def has_room(email: str, history: History, rules: Pairing) -> bool:
    return (history.this_week.get(email, 0) < rules.per_person_per_week
            and history.last_28_days.get(email, 0) < rules.per_person_per_month)


def ask_share(email: str, history: History, rules: Pairing, today: dt.date) -> float:
    """How often a person is asked, against the usual, after declining lately.

    Each decline lowers it by ``declines.step``, weighing half as much every
    ``recovery_weeks``; it never falls below ``declines.floor``.
    """
    backoff = rules.declines
    weight = sum(0.5 ** ((today - day).days / (7 * backoff.recovery_weeks))
                 for day in history.declines.get(email, ()))
    return max(backoff.floor, 1.0 - backoff.step * weight)


def asked_this_week(email: str, history: History, rules: Pairing, today: dt.date,
                    week_key: str) -> bool:
    """Whether this week may ask the person: always, unless declines lowered their share,
    then in that share of weeks (the same answer for the same week, however often asked)."""
    share = ask_share(email, history, rules, today)
    return share >= 1.0 or _jitter(week_key, "ask", email) < share


def in_cooldown(a: str, b: str, history: History, rules: Pairing, today: dt.date) -> bool:
    last = history.last_paired.get(frozenset((a, b)))
    return last is not None and (today - last).days < rules.cooldown_weeks * 7


def pair_weight(a: Person, b: Person, lapsed: bool, history: History, rules: Pairing) -> float | None:
    """How good a pair is, or None when the rules forbid it."""
    weight = 1.0
    if a.level is not None and b.level is not None:
        distance = abs(a.level - b.level)
        if distance > rules.max_level_distance:
            return None
        if rules.same_level_first:
            weight += 3.0 - min(distance, 3)
    if lapsed:
        weight += 10.0 if rules.reconnect_first else 3.0
    weight -= 0.5 * (history.last_12_weeks.get(a.email, 0) + history.last_12_weeks.get(b.email, 0))
    return max(weight, 0.05)


def _pool(members: Sequence[Person], lapsed_people: Collection[str], size: int,
          week_key: str) -> list[Person]:
    ranked = sorted(members, key=lambda p: (p.email not in lapsed_people, _jitter(week_key, p.email)))
    return ranked[:size]


def match_pairs(
    seams: Sequence[tuple[str, str]],
    members: Mapping[str, Sequence[Person]],
    lapsed: Collection[frozenset[str]],
    history: History,
    rules: Pairing,
    today: dt.date,
    week_key: str,
    compatible: Callable[[Person, Person], bool] | None = None,
) -> list[Suggestion]:
    """Pairs across drifting seams: a maximum-weight matching, capped per seam.

    ``compatible`` rules out pairs who could never meet (no shared hours).
    """
    if rules.per_seam_per_week == 0 or rules.per_person_per_week == 0:
        return []
    lapsed_people = {email for tie in lapsed for email in tie}
    graph: nx.Graph = nx.Graph()
    pool_size = max(4, 4 * rules.per_seam_per_week)

    def available(department: str) -> list[Person]:
        return [p for p in members.get(department, ()) if has_room(p.email, history, rules)
                and asked_this_week(p.email, history, rules, today, week_key)]

    for seam in seams:
        left = _pool(available(seam[0]), lapsed_people, pool_size, week_key)
        right = _pool(available(seam[1]), lapsed_people, pool_size, week_key)
        for a in left:
            for b in right:
                if a.email == b.email or in_cooldown(a.email, b.email, history, rules, today):
                    continue
                if compatible is not None and not compatible(a, b):
                    continue
                is_lapsed = frozenset((a.email, b.email)) in lapsed
                weight = pair_weight(a, b, is_lapsed, history, rules)
                if weight is None:
                    continue
                weight += 0.01 * _jitter(week_key, a.email, b.email)
                current = graph.get_edge_data(a.email, b.email)
                if current is None or current["weight"] < weight:
                    graph.add_edge(a.email, b.email, weight=weight, seam=seam, lapsed=is_lapsed,
                                   people=(a, b))
    # The matching is a set: walk it in a fixed order, so the output does not change with
    # the interpreter's hash seed (equal scores would otherwise come out in any order).
    matching = sorted(tuple(sorted(edge)) for edge in nx.max_weight_matching(graph))
    per_seam: dict[tuple[str, str], list[Suggestion]] = defaultdict(list)
    for x, y in matching:
        edge = graph.edges[x, y]
        a, b = edge["people"]
        seam = edge["seam"]
        per_seam[seam].append(Suggestion(
            people=(a, b),
            departments=(a.department, b.department),
            reason="reconnect" if edge["lapsed"] else "new-tie",
            seam=seam,
            score=round(edge["weight"], 3),
            rule="pairing (reconnect_first)" if edge["lapsed"] else "pairing (peers across a seam)",
        ))
    out: list[Suggestion] = []
    for seam in seams:
        chosen = sorted(per_seam.get(seam, []), key=lambda s: (-s.score, s.emails))
        room = rules.per_seam_per_week - history.seam_this_week.get(frozenset(seam), 0)
        out.extend(chosen[: max(room, 0)])
    return out


#: The fewest members a circle meets with.
CIRCLE_MIN = 4


def circle_members(people: Sequence[Person], rules: Pairing, season: int) -> list[tuple[Person, ...]]:
    """The season's circles: same-level people (when the rules say so), each from a different
    department. The same people and season give the same circles; the next season rotates them."""
    circles = rules.circles
    season_key = f"season-{season}"
    groups: dict[int | None, list[Person]] = defaultdict(list)
    for person in people:
        groups[person.level if circles.same_level else None].append(person)
    out: list[tuple[Person, ...]] = []
    for level in sorted(groups, key=lambda lv: (lv is None, lv or 0)):
        by_dept: dict[str, list[Person]] = defaultdict(list)
        for person in sorted(groups[level], key=lambda p: _jitter(season_key, "circle", p.email)):
            by_dept[person.department].append(person)
        while True:
            # the departments with most people left go first, so small ones are not used up
            depts = sorted((d for d in by_dept if by_dept[d]), key=lambda d: (-len(by_dept[d]), d))
            if len(depts) < circles.size:
                break
            out.append(tuple(by_dept[d].pop() for d in depts[: circles.size]))
    return out


def peer_circles(
    people: Sequence[Person],
    history: History,
    rules: Pairing,
    week: int,
    week_key: str,
    today: dt.date | None = None,
) -> list[Suggestion]:
    """This week's circle meetings, every ``cadence_weeks``.

    Membership is the season's (``circle_members``); a member whose allowance
    is used up this week sits the meeting out, and a circle meets only with at
    least ``CIRCLE_MIN`` members.
    """
    circles = rules.circles
    if not circles.enabled:
        return []
    if history.last_circle_week is not None and week - history.last_circle_week < circles.cadence_weeks:
        return []
    today = today or dt.date.min
    out: list[Suggestion] = []
    for circle in circle_members(people, rules, week // circles.season_weeks):
        present = tuple(p for p in circle if has_room(p.email, history, rules)
                        and asked_this_week(p.email, history, rules, today, week_key))
        if len(present) < CIRCLE_MIN:
            continue
        out.append(Suggestion(
            people=present,
            departments=tuple(p.department for p in present),
            reason="peer-circle",
            seam=None,
            score=1.0,
            rule=f"pairing.circles (size {circles.size}, every {circles.cadence_weeks} weeks, "
                 f"members kept {circles.season_weeks} weeks)",
        ))
    return out
