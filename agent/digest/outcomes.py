"""What became of the holds: the funnel and how evenly the asks were spread.

Every count shown to a manager or an admin stands for at least
``min_group_size`` distinct people, or it is withheld (``None``) and the
digest says so; it is never rounded to look safe.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from agent.lifecycle import Stage, reached
from agent.store import SuggestionRecord

Record = tuple[SuggestionRecord, tuple[str, ...]]

STAGES = ("placed", "accepted", "met")
ENDINGS = ("declined", "expired")

#: The lifecycle stages that mean a hold was on a calendar at some point.
_ON_CALENDAR = (Stage.HELD, Stage.MOVED, Stage.ACCEPTED, Stage.MET, Stage.MISSED)


def stages_of(record: SuggestionRecord) -> set[str]:
    """The funnel stages a hold passed through, read from its whole history.

    A hold placed and later declined, cancelled or expired still counts as
    placed; one that expired before it was ever placed does not count at all.
    """
    if not any(reached(record, s) for s in _ON_CALENDAR):
        return set()
    out = {"placed"}
    if reached(record, Stage.ACCEPTED) or reached(record, Stage.MET):
        out.add("accepted")
    if reached(record, Stage.MET):
        out.add("met")
    if reached(record, Stage.DECLINED):
        out.add("declined")
    if reached(record, Stage.EXPIRED) or reached(record, Stage.MISSED):
        out.add("expired")
    return out


@dataclass(frozen=True)
class Funnel:
    """Holds per stage; ``None`` where fewer than ``k`` people stand behind the figure."""

    counts: dict[str, int | None]
    k: int

    def get(self, stage: str) -> int | None:
        return self.counts.get(stage)

    @property
    def placed(self) -> int | None:
        return self.counts.get("placed")

    @property
    def withheld(self) -> bool:
        return any(v is None for v in self.counts.values())


def funnel(records: Iterable[Record], k: int, members: set[str] | None = None) -> Funnel:
    """The funnel of holds; with ``members``, of holds involving them (people counted: theirs)."""
    counts = dict.fromkeys((*STAGES, *ENDINGS), 0)
    people: dict[str, set[str]] = {s: set() for s in counts}
    for record, emails in records:
        involved = set(emails) if members is None else set(emails) & members
        if not involved:
            continue
        for stage in stages_of(record):
            counts[stage] += 1
            people[stage].update(involved)
    return Funnel({s: (n if n == 0 or len(people[s]) >= k else None) for s, n in counts.items()}, k)


def gini(values: Sequence[float]) -> float | None:
    """0 when everyone got the same, towards 1 when one person got everything."""
    if not values or sum(values) <= 0:
        return None
    ordered = sorted(values)
    n = len(ordered)
    weighted = sum((i + 1) * v for i, v in enumerate(ordered))
    return (2 * weighted) / (n * sum(ordered)) - (n + 1) / n


@dataclass(frozen=True)
class Fairness:
    gini: float | None
    eligible: int
    asked: int  # eligible people with at least one hold
    holds: int


def fairness(records: Iterable[Record], eligible: Iterable[str]) -> Fairness:
    """How evenly holds fell on the people who could be asked."""
    per = dict.fromkeys(eligible, 0)
    holds = 0
    for record, emails in records:
        if "placed" not in stages_of(record) and record.status is not Stage.SUGGESTED:
            continue
        holds += 1
        for e in emails:
            if e in per:
                per[e] += 1
    return Fairness(gini(list(per.values())), len(per), sum(1 for v in per.values() if v), holds)
