"""What became of the holds: the funnel and how evenly the asks were spread.

Every count shown to a manager or an admin stands for at least
``min_group_size`` distinct people, or it is withheld (``None``) and the
digest says so; it is never rounded to look safe.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from agent.store import SuggestionRecord

Record = tuple[SuggestionRecord, tuple[str, ...]]

#: Lifecycle states (older bare strings and the lifecycle enum's values alike) by funnel stage.
#: A hold that reached a later stage counts in every earlier one.
_REACHED: dict[str, tuple[str, ...]] = {
    "placed": ("placed", "held", "accepted", "moved"),
    "accepted": ("accepted",),
    "met": ("met",),
    "declined": ("declined",),
    "expired": ("expired", "stale", "missed", "released"),
}
STAGES = ("placed", "accepted", "met")
ENDINGS = ("declined", "expired")


def stages_of(status: str) -> set[str]:
    """The funnel stages a hold in ``status`` has passed through."""
    status = str(status)
    if status == "met":
        return {"placed", "accepted", "met"}
    if status == "accepted":
        return {"placed", "accepted"}
    reached = {stage for stage, states in _REACHED.items() if status in states}
    if reached & {"declined", "expired"}:
        reached.add("placed")
    return reached


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
        for stage in stages_of(record.status):
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
        if "placed" not in stages_of(record.status) and str(record.status) != "suggested":
            continue
        holds += 1
        for e in emails:
            if e in per:
                per[e] += 1
    return Fairness(gini(list(per.values())), len(per), sum(1 for v in per.values() if v), holds)
