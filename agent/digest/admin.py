"""The admin digest: every seam at a glance, what moved most, what became of the holds.

A seam touching a department of fewer than ``min_group_size`` people is
marked as withheld in the heatmap and left out of every list and figure.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from agent.calibrate import Calibration
from agent.digest.charts import heat, legend, sparkline
from agent.digest.inputs import DigestInput, SourceHealth
from agent.digest.names import when
from agent.digest.outcomes import Fairness, Funnel, fairness, funnel
from agent.drift import SIGNAL_LABELS, SeamResult
from agent.lifecycle import OutcomeRates, outcome_rates

#: The heatmap stays readable on a phone up to this many departments; more go to the lists.
HEATMAP_DEPARTMENTS = 8
MOVERS = 6


@dataclass(frozen=True)
class Cell:
    state: str  # seam, withheld, thin, self
    text: str
    background: str
    color: str
    drifting: bool = False
    title: str = ""


@dataclass(frozen=True)
class Mover:
    seam: SeamResult
    weekly_change: float  # contact-hours a week gained (+) or lost (-)
    series: tuple[float, ...]  # weekly contact across the seam, oldest first
    spark: list[int]

    @property
    def name(self) -> str:
        return f"{self.seam.departments[0]} / {self.seam.departments[1]}"

    @property
    def judged_by(self) -> str:
        """The measure the seam's change is of: the signal that decided it."""
        return SIGNAL_LABELS.get(self.seam.signal, self.seam.signal)


@dataclass
class AdminView:
    week: str
    k: int
    mode: str
    departments: list[str]
    short: dict[str, str]
    grid: list[list[Cell]]
    legend: list[tuple[str, str, str]]
    left_out_departments: list[str]
    small_departments: list[str]
    movers: list[Mover]
    seams: list[Mover]  # every visible seam, the same order as movers
    withheld_seams: int
    drifting: int
    funnel: Funnel
    fairness: Fairness
    rules_error: list[str]
    health: list[tuple[SourceHealth, str | None]]
    calibration: Calibration | None
    rules_line: str
    people: int
    extra: dict[str, str] = field(default_factory=dict)
    rates: OutcomeRates | None = None  # acceptance and met rates by seam and by reason


def _abbreviate(departments: list[str]) -> dict[str, str]:
    """Column heads short enough for a phone, distinct from each other."""
    out: dict[str, str] = {}
    for d in departments:
        cut = 4
        while cut < len(d) and d[:cut] in out.values():
            cut += 1
        out[d] = d if len(d) <= 5 else d[:cut] + "."
    return out


def _weight(seam: SeamResult) -> float:
    """How much a seam's change matters: its share change times its volume."""
    return abs(seam.change) * seam.baseline_volume


def admin_view(data: DigestInput, week: str, admin_zone: str = "UTC") -> AdminView:
    k = data.rules.privacy.min_group_size
    sizes = Counter(p.department for p in data.people.values())
    small = sorted(d for d, n in sizes.items() if n < k)
    visible = [s for s in data.seams if all(sizes[d] >= k for d in s.departments)]
    by_pair = {frozenset(s.departments): s for s in visible}
    ordered = sorted(visible, key=lambda s: (-_weight(s), s.departments))
    everyone = []
    for s in ordered:
        series = data.contact.between(*s.departments) if data.contact is not None else ()
        weeks = data.rules.seams.window_for(*s.departments).baseline_weeks
        moved = s.change * s.baseline_volume / max(weeks, 1)  # the usual week, times the change
        everyone.append(Mover(s, moved, series, sparkline(series) if series else []))
    # The heatmap shows the departments in the seams that matter most first.
    rank: dict[str, float] = {}
    for s in ordered:
        for d in s.departments:
            rank[d] = max(rank.get(d, 0.0), _weight(s))
    departments = sorted(sizes, key=lambda d: (d in small, -rank.get(d, 0.0), d))
    shown, left_out = departments[:HEATMAP_DEPARTMENTS], departments[HEATMAP_DEPARTMENTS:]
    shown.sort()
    thin = data.too_thin or {}
    grid = []
    for a in shown:
        row = []
        for b in shown:
            seam = by_pair.get(frozenset((a, b)))
            if a == b:
                row.append(Cell("self", "", "#ffffff", "#ffffff"))
            elif a in small or b in small:
                row.append(Cell("withheld", f"<{k}", "#e2e8f0", "#64748b",
                                title=f"withheld: a department under {k} people"))
            elif seam is None:
                row.append(Cell("thin", "·", "#f8fafc", "#94a3b8",
                                title="too little contact to judge" if (a, b) in thin or (b, a) in thin
                                else "no contact"))
            else:
                background, color = heat(seam.change)
                row.append(Cell("seam", f"{seam.change * 100:+.0f}", background, color, seam.drifting,
                                f"{a} / {b}: {seam.change * 100:+.0f} %"))
        grid.append(row)
    excluded = set(data.excluded)
    eligible = [e for e in data.people if e not in excluded]
    health = [(h, when(h.last_sync, admin_zone) if h.last_sync else None) for h in data.health]
    seams = data.rules.seams
    rules_line = (f"mode {data.rules.meetings.mode.value}, a seam drifts when its share drops by "
                  f"{seams.drop * 100:.0f} % or more, {seams.recent_weeks} recent weeks "
                  f"against {seams.baseline_weeks}, figures only for {k} people or more")
    return AdminView(
        week, k, data.rules.meetings.mode.value, shown, _abbreviate(shown), grid, legend(), left_out,
        small, everyone[:MOVERS], everyone, len(data.seams) - len(visible),
        sum(1 for s in visible if s.drifting), funnel(data.records, k), fairness(data.records, eligible),
        list(data.rules_error), health, data.calibration, rules_line, len(data.people),
        rates=_rates(data, k))


def _rates(data: DigestInput, k: int) -> OutcomeRates:
    """Acceptance and met rates of the holds, by seam and by reason; small groups withheld."""
    email_of = {p: e for record, emails in data.records
                for p, e in zip(record.people, emails, strict=False)}

    def level(pseudonym: str) -> int | None:
        person = data.people.get(email_of.get(pseudonym, ""))
        return person.level if person else None

    return outcome_rates([record for record, _ in data.records], level, k)
