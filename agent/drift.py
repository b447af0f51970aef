"""Which seams between departments are thinning, and which personal ties lapsed.

A seam is judged on eight signals, each a weekly count against an exposure
(``agent.exposure``: pooled recent weeks against the baseline rate, with
the overdispersion estimated from the baseline alone):

- **ties**: the distinct person-to-person pairs across the seam with any
  contact that week (mail or meetings, under the counting rules), against
  the distinct pairs the two departments had in contact at all (inside
  each, with each other and with everyone else). One long thread or one big
  meeting counts once per pair of people, so a single burst cannot swing the
  seam, and a holiday week or a quiet month lowers count and exposure alike.
- **intensity**: the contact those ties carried, each pair's week capped at
  ``seams.intensity_cap``, against the number of ties: "the same people, but
  fewer messages". The cap keeps one thread from dominating.
- **people**: the distinct people of either department in contact across the
  seam that week, against the people of the two departments in contact with
  any other department (once for each department reached). A project of seven
  people a side is 49 ties but 14 people, so one project's start or end
  moves this count less than the ties, while a seam whose threads and
  meetings lose one side loses people as well as ties.
- **contact**: the seam's contact, each pair's week capped at
  ``seams.intensity_cap``, against what the seam's own people did elsewhere
  that week at their baseline share (``agent.carriers``): one carrier's
  leave or a busy quarter inside a department lowers the expectation, not
  the verdict. Distinct ties saturate (a pair with three messages a week
  keeps its tie when it loses two), so this signal sees more of a fall.
- **messages**: contact per tie on mail alone, each pair's week of mail
  capped, against the pairs that mailed each other that week. A pair's weekly
  hour together already reaches the cap, so the intensity signal cannot see
  its messages thin; this one can. It needs each pair-week's mail weight,
  which the ledger keeps from schema 4 on: while any week of the windows was
  written before that, the seam is judged on the other four.
- **conversations**: the distinct conversations with people of both
  departments that week (``agent.ledger.conversations``: a set of people
  brought together by mail or meetings, however many messages or occurrences),
  against the conversations either department had at all. A burst of mail on
  one thread is one conversation, not dozens of ties and messages, and a seam
  whose threads lose one side loses whole conversations. The ledger keeps them
  from schema 5 on: while any week of the windows was written before that, the
  seam is judged without this signal.
- **strong**: the ties whose week carried more than ``seams.strong_tie`` (by
  default one and a half one-to-one messages' worth: a second message, or a
  meeting of a few people), against the seam's ties. When the same people write fewer
  messages, a pair that wrote three keeps its tie on the one left; this count
  loses it, so it falls about as far as the messages do, where contact per tie
  falls only part of the way and one long thread or big meeting still moves
  it. Each pair counts once however much it carried, so no burst dominates.
- **strong_mail**: the same on mail alone, the pairs whose week's mail was
  above ``seams.strong_tie`` against the pairs that mailed each other: a pair's
  weekly meeting keeps it among the ties with more than a message while its
  messages thin. It needs the ledger's mail weights, as messages does.

A seam is drifting when one of its signals fell by at least the rule's
``drop`` and that fall survives Benjamini-Hochberg at the configured false
discovery rate over every test made (every signal of every judged seam; the
four per-tie signals, intensity, messages, strong and strong_mail, are one hypothesis:
``_hypotheses``, and each must also be significant on its own: ``_significant``). Fewer
messages per tie counts only when the seam's contact of that kind fell too (all of it for
intensity and strong, its mail for messages and strong_mail). Seams whose baseline
contact is below ``min_volume`` are not judged.

How far a signal fell is the larger fall of the whole recent window and of
its last half (``latest_weeks``): a seam that slid to -60 % over two months
has averaged about -40 % over its six recent weeks, and the drop asks how far
it has come, not how far it came on average. Its significance is always the
whole window's test: three weeks alone are too few to tell a fall from a
quiet spell.

(Earlier versions tested weekly shares of summed weight with Welch's t,
which estimated the recent weeks' variance from those few weeks: a real,
ramping decline makes them calm, so it needed a variance floor and an
autocorrelation correction, and still lost most planted seams on bursty
data. The week-shuffle placebo in ``agent.calibrate`` and the bursty bench
in ``bench/detection.py`` show the exposure test needs neither.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from agent.arrays import contained_in, starts_of_runs, unique_sorted
from agent.carriers import Carriers, KnownRows, carried_contact, carriers, people_reaching
from agent.exposure import ExposureTest, benjamini_hochberg, either_window, exposure_tests
from agent.ledger import ContactTable, Conversations
from rules.model import Seams, Signals

__all__ = [
    "ConversationWeeks", "LapsedTie", "MailWeeks", "PersonTrend", "SeamResult", "SeamWeeks",
    "SignalTest", "Windows", "benjamini_hochberg", "conversation_weeks", "detect", "detect_seams",
    "drifting_only", "lapsed_ties", "person_trends", "seam_weeks", "windows_for",
]

TIES, INTENSITY, PEOPLE, CONTACT, MESSAGES = "ties", "intensity", "people", "contact", "messages"
CONVERSATIONS, STRONG, STRONG_MAIL = "conversations", "strong", "strong_mail"
#: the order of SeamResult.tests
SIGNALS = (TIES, INTENSITY, PEOPLE, CONTACT, MESSAGES, CONVERSATIONS, STRONG, STRONG_MAIL)
#: What each signal is called where a reader sees it (digests); docs/detection.md defines them.
SIGNAL_LABELS = {TIES: "ties", INTENSITY: "contact per tie", PEOPLE: "people in contact",
                 CONTACT: "contact", MESSAGES: "messages per mail tie",
                 CONVERSATIONS: "conversations", STRONG: "ties with more than a message",
                 STRONG_MAIL: "mail ties with more than a message"}
#: "the same people, fewer messages": per tie, not in total
THINNING = (INTENSITY, MESSAGES, STRONG, STRONG_MAIL)
#: what Benjamini-Hochberg counts: one hypothesis per group of signals (``_hypotheses``)
HYPOTHESES: tuple[tuple[str, ...], ...] = ((TIES,), THINNING, (PEOPLE,), (CONTACT,),
                                           (CONVERSATIONS,))


class _Weeks(Protocol):
    @property
    def n_weeks(self) -> int: ...


@dataclass(frozen=True)
class Windows:
    """Week offsets: baseline weeks then recent weeks (end exclusive)."""

    baseline: slice
    recent: slice

    def all_in(self, weeks: np.ndarray) -> bool:
        """Whether ``weeks`` (a flag per week) holds for every week of both windows."""
        return bool(weeks[self.baseline].all() and weeks[self.recent].all())


def windows_for(weeks: _Weeks, recent_weeks: int, baseline_weeks: int) -> Windows:
    """Recent weeks end with the last week; the baseline comes right before."""
    end = weeks.n_weeks
    recent_start = max(0, end - recent_weeks)
    baseline_start = max(0, recent_start - baseline_weeks)
    return Windows(slice(baseline_start, recent_start), slice(recent_start, end))


@dataclass(frozen=True)
class SignalTest:
    """One signal of one seam: its levels, what the baseline predicts, the test."""

    signal: str  # one of SIGNALS
    baseline: float  # ties, people: share of the departments' ties, people; intensity: capped contact per tie
    recent: float
    change: float  # recent against baseline, relative
    latest: float  # the same over the recent window's last weeks alone
    latest_weeks: int  # how many (0: the window is too short to have a last half)
    observed: float  # pooled over the recent weeks
    expected: float  # the baseline rate times the recent exposure
    dispersion: float  # variance over mean, from the baseline weeks
    persistence: float  # how much more the recent weeks' sum varies than independent weeks' would
    df: int
    t: float
    p: float  # the whole and the late window's joint p, when the late one was tested
    q: float
    whole_p: float | None = None  # each window's own p (None: only the whole was tested)
    late_p: float | None = None
    late_weeks: int = 0

    @property
    def reached(self) -> float:
        """How far the signal has fallen: the larger fall of the window and its last weeks."""
        return min(self.change, self.latest)

    def as_json(self) -> dict[str, object]:
        return {
            "baseline": round(self.baseline, 4), "recent": round(self.recent, 4),
            "change": round(self.change, 3),
            "latest": {"weeks": self.latest_weeks, "change": round(self.latest, 3)},
            "observed": round(self.observed, 1),
            "expected": round(self.expected, 1),
            "dispersion": round(self.dispersion, 2) if math.isfinite(self.dispersion) else None,
            "persistence": round(self.persistence, 2),
            "df": self.df, "t": round(self.t, 2) if math.isfinite(self.t) else None,
            "p": round(self.p, 4), "q": round(self.q, 4),
            "windows": None if self.whole_p is None or self.late_p is None else {
                "whole": round(self.whole_p, 4),
                "late": {"weeks": self.late_weeks, "p": round(self.late_p, 4)}},
        }


@dataclass(frozen=True)
class SeamResult:
    """One judged seam. The headline fields (shares, change, score, p, q) come from the
    signal that decided (``signal``): the one that flagged it, else the one BH stopped,
    else ties (the most significant, ties first among equals: ``_headline``). ``gate`` says
    what decided: flagged, BH, or threshold (nothing fell far enough)."""

    departments: tuple[str, str]
    baseline_share: float
    recent_share: float
    change: float
    score: float
    p_value: float
    q_value: float
    baseline_volume: float  # summed weight (meeting-hour equivalents), what min_volume reads
    recent_volume: float
    drifting: bool
    tested: bool
    reason: str
    rule: str
    signal: str = TIES
    gate: str = "flagged"
    tests: tuple[SignalTest, ...] = ()
    volume_baseline_share: float = 0.0  # the seam's share of its departments' summed weight
    volume_recent_share: float = 0.0
    baseline_ties: float = 0.0  # distinct ties per week, on average
    recent_ties: float = 0.0
    # the seam's capped mail against its departments' mail ties, recent against baseline: what
    # messages per mail tie is gated on (None: the windows' mail weights are not all known)
    mail_change: float | None = None

    @property
    def p_values(self) -> tuple[float, ...]:
        return tuple(t.p for t in self.tests) or (self.p_value,)

    def as_json(self) -> dict[str, object]:
        return {
            "departments": list(self.departments),
            "baseline_share": round(self.baseline_share, 4),
            "recent_share": round(self.recent_share, 4),
            "change": round(self.change, 3),
            "score": round(self.score, 2),
            "p_value": round(self.p_value, 4),
            "q_value": round(self.q_value, 4),
            "baseline_volume": round(self.baseline_volume, 1),
            "recent_volume": round(self.recent_volume, 1),
            "drifting": self.drifting,
            "signal": self.signal,
            "gate": self.gate,
            "reason": self.reason,
            "rule": self.rule,
            "ties": {"baseline_per_week": round(self.baseline_ties, 1),
                     "recent_per_week": round(self.recent_ties, 1)},
            "volume": {"baseline_share": round(self.volume_baseline_share, 4),
                       "recent_share": round(self.volume_recent_share, 4)},
            "mail": None if self.mail_change is None else {"change": round(self.mail_change, 3)},
            "tests": {t.signal: t.as_json() for t in self.tests},
        }


@dataclass(frozen=True)
class SeamWeeks:
    """Weekly contact of every department pair, as arrays ``[week, dept, dept]`` (symmetric;
    a department's internal contact on the diagonal): summed weight, distinct ties, weight
    with each pair's week capped, and distinct people (the people of either department in
    contact with the other; nothing on the diagonal). ``headcount`` is each department's
    people, the most the people count of a pair can reach (unknown: no bound)."""

    volume: np.ndarray
    ties: np.ndarray
    capped: np.ndarray
    people: np.ndarray
    headcount: np.ndarray | None = None
    carriers: Carriers | None = None  # per person, for the contact signal (none: not tested)
    mail: MailWeeks | None = None  # for the messages signal (none: no week has mail weights)
    conversations: ConversationWeeks | None = None  # none: not read, or no week has them
    # ties whose week carried more than ``seams.strong_tie`` (none: not counted)
    strong: np.ndarray | None = None

    @property
    def n_weeks(self) -> int:
        return int(self.volume.shape[0])

    def reordered(self, order: np.ndarray) -> SeamWeeks:
        """The same weeks in another order (the week-shuffle placebo)."""
        return SeamWeeks(self.volume[order], self.ties[order], self.capped[order],
                         self.people[order], self.headcount,
                         None if self.carriers is None else self.carriers.reordered(order),
                         None if self.mail is None else self.mail.reordered(order),
                         None if self.conversations is None
                         else self.conversations.reordered(order),
                         None if self.strong is None else self.strong[order])


@dataclass(frozen=True)
class MailWeeks:
    """Mail alone, by department pair and week as ``SeamWeeks``: the pairs of people who
    mailed each other, their mail weight with each pair's week capped, and the pairs whose
    week's mail was above ``seams.strong_tie``. ``known`` says which weeks have it (a week
    written before the ledger kept mail weights does not)."""

    ties: np.ndarray
    capped: np.ndarray
    known: np.ndarray  # [week] bool
    strong: np.ndarray

    def reordered(self, order: np.ndarray) -> MailWeeks:
        return MailWeeks(self.ties[order], self.capped[order], self.known[order],
                         self.strong[order])

    def covers(self, windows: Windows) -> bool:
        """Whether every week of both windows has mail weights."""
        return windows.all_in(self.known)


@dataclass(frozen=True)
class ConversationWeeks:
    """Conversations by week: ``seam[week, d1, d2]`` those with people of both departments
    (symmetric, nothing on the diagonal), ``touching[week, d]`` those with people of the
    department and at least two people with a department at all. ``known`` as ``MailWeeks``."""

    seam: np.ndarray
    touching: np.ndarray
    known: np.ndarray  # [week] bool

    def reordered(self, order: np.ndarray) -> ConversationWeeks:
        return ConversationWeeks(self.seam[order], self.touching[order], self.known[order])

    def covers(self, windows: Windows) -> bool:
        return windows.all_in(self.known)

    def exposure(self, d1: np.ndarray, d2: np.ndarray) -> np.ndarray:
        """Per week, the conversations either department of each pair had (the pair's once)."""
        exposure: np.ndarray = self.touching[:, d1] + self.touching[:, d2] - self.seam[:, d1, d2]
        return exposure


def conversation_weeks(rows: KnownRows, code: np.ndarray, groups: Conversations,
                       dept_of: np.ndarray, shape: tuple[int, int, int]) -> ConversationWeeks | None:
    """Count a table's conversations by week and department pair (None: no week has them).
    ``code`` numbers each row's (week, lower department, higher one) cell, as ``seam_weeks``.

    Each count comes out of one matrix per week, departments by departments, whose diagonal
    holds the conversations touching each department and the rest those of both."""
    if not groups.known.any():
        return None
    n_weeks, n_depts, _ = shape
    # two people's conversations: a flag on their row; inside a department, on the diagonal once
    both = (_symmetric(code[rows.alone], None, shape) if rows.alone is not None
            else np.zeros(shape))
    touching = both.sum(axis=2)
    # groups: which departments each has, once two of its people have one. Groups are in week
    # order (``read_table``), so a week's groups and their members are one slice each, and one
    # week's matrix of groups by departments is all there is in memory at a time.
    dept = dept_of[groups.member] if groups.member.size else np.empty(0, np.int64)
    group_at = np.searchsorted(groups.week, np.arange(n_weeks + 1))
    entry_at = np.concatenate(([0], np.cumsum(groups.size, dtype=np.int64)))[group_at]
    for week in range(n_weeks):
        first, n_groups = group_at[week], group_at[week + 1] - group_at[week]
        if n_groups == 0:
            continue
        entries = slice(entry_at[week], entry_at[week + 1])
        owner = np.repeat(np.arange(n_groups), groups.size[first:first + n_groups])
        placed = dept[entries] >= 0
        owner, member_dept = owner[placed], dept[entries][placed]
        member_of = np.zeros((n_groups, n_depts))
        member_of[owner, member_dept] = 1.0
        member_of[np.bincount(owner, minlength=n_groups) < 2] = 0.0
        together = member_of.T @ member_of
        touching[week] += np.diagonal(together)
        both[week] += together
    both[:, np.arange(n_depts), np.arange(n_depts)] = 0  # inside a department: no seam
    return ConversationWeeks(both, touching, groups.known)


def seam_weeks(table: ContactTable, dept_of: np.ndarray, n_depts: int, seams: Seams) -> SeamWeeks:
    """Aggregate a table's pair-weeks (one row per pair and week) by department pair, capped
    and counted as ``seams`` says (``intensity_cap``, ``strong_tie``)."""
    cap = seams.intensity_cap
    rows = KnownRows.of(table, dept_of)
    # (week, lower department, higher one) as one cell number, built in place: a row each
    code = rows.week.astype(np.int64)
    code *= n_depts
    code += np.minimum(rows.da, rows.db)
    code *= n_depts
    code += np.maximum(rows.da, rows.db)
    shape = (table.n_weeks, n_depts, n_depts)
    by_person = carriers(table, dept_of, n_depts, cap, rows)
    # inside contact is left out of the people count: a small department's people are nearly all
    # in touch inside every week, so that count cannot fall with a quiet month the way the seam's does
    reaching = people_reaching(by_person)
    return SeamWeeks(_symmetric(code, rows.weight, shape), _symmetric(code, None, shape),
                     _symmetric(code, np.minimum(rows.weight, cap), shape),
                     reaching + reaching.transpose(0, 2, 1),
                     np.bincount(dept_of[dept_of >= 0], minlength=n_depts).astype(np.float64),
                     by_person, _mail_weeks(rows, code, shape, seams),
                     None if table.conversations is None
                     else conversation_weeks(rows, code, table.conversations, dept_of, shape),
                     _symmetric(code[rows.weight > seams.strong_tie], None, shape))


def _mail_weeks(rows: KnownRows, code: np.ndarray, shape: tuple[int, int, int],
                seams: Seams) -> MailWeeks | None:
    if rows.mail is None:
        return None
    unknown = np.isnan(rows.mail)
    known = np.bincount(rows.week[unknown], minlength=shape[0]) == 0
    if not known.any():
        return None
    mailed = np.flatnonzero(rows.mail > 0)  # NaN is not: an unknown week's rows count nothing
    mail_code, mail = code.take(mailed), rows.mail.take(mailed)
    return MailWeeks(_symmetric(mail_code, None, shape),
                     _symmetric(mail_code, np.minimum(mail, seams.intensity_cap), shape), known,
                     _symmetric(mail_code[mail > seams.strong_tie], None, shape))


def _symmetric(code: np.ndarray, weights: np.ndarray | None, shape: tuple[int, int, int]) -> np.ndarray:
    flat = np.bincount(code, weights=weights, minlength=shape[0] * shape[1] * shape[2])
    matrix = flat.astype(np.float64).reshape(shape)
    upper = np.triu(matrix, 1)
    diagonal = np.einsum("wii->wi", matrix)[:, :, None] * np.eye(shape[1])
    result: np.ndarray = upper + upper.transpose(0, 2, 1) + diagonal
    return result


@dataclass
class _Group:
    """Department pairs judged on the same windows, as column indices."""

    recent: int
    baseline: int
    d1: list[int] = field(default_factory=list)
    d2: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Judged:
    d1: int
    d2: int
    tests: tuple[tuple[str, ExposureTest], ...]  # (signal, test) in the order of SIGNALS
    column: int
    volume: tuple[float, float, float, float]  # baseline, recent, baseline share, recent share
    ties: tuple[float, float]  # per week, baseline and recent
    mail_change: float  # the seam's capped mail against its departments' mail ties (NaN: unknown)


def detect_seams(
    table: ContactTable,
    dept_of: np.ndarray,
    departments: Sequence[str],
    seams: Seams,
    too_thin: dict[tuple[str, str], float] | None = None,
) -> list[SeamResult]:
    """Every department pair with enough baseline volume, most drifting first.

    Pairs below their ``min_volume`` are not judged; when ``too_thin`` is given
    it receives their baseline volume, so an admin can see how far off they are.
    """
    if len(departments) < 2:
        return []
    weeks = seam_weeks(table, dept_of, len(departments), seams)
    return detect(weeks, departments, seams, too_thin)


def detect(weeks: SeamWeeks, departments: Sequence[str], seams: Seams,
           too_thin: dict[tuple[str, str], float] | None = None) -> list[SeamResult]:
    """``detect_seams`` on weeks already aggregated by department pair."""
    judged, q = _tested(weeks, departments, seams, too_thin)
    results = [_judge(j, qs, departments, seams) for j, qs in zip(judged, q, strict=True)]
    results.sort(key=lambda r: (not r.drifting, -r.score))
    return results


def drifting_only(weeks: SeamWeeks, departments: Sequence[str],
                  seams: Seams) -> tuple[list[SeamResult], np.ndarray]:
    """The drifting seams of ``detect`` and the p-value of every test made: what a placebo run
    reads, without a full result for each of the many seams that did not drift."""
    judged, q = _tested(weeks, departments, seams, None)
    drifting = [_judge(j, qs, departments, seams) for j, qs in zip(judged, q, strict=True)
                if _flags(j, qs, seams, departments)]
    p_values = np.array([t.p[j.column] for j in judged for _, t in j.tests], float)
    return drifting, p_values


def _tested(weeks: SeamWeeks, departments: Sequence[str], seams: Seams,
            too_thin: dict[tuple[str, str], float] | None,
            ) -> tuple[list[_Judged], list[tuple[float, ...]]]:
    """Every judged seam's tests, with each test's q over all the tests made."""
    groups: dict[tuple[int, int], _Group] = {}
    for d1 in range(len(departments)):
        for d2 in range(d1 + 1, len(departments)):
            a, b = departments[d1], departments[d2]
            if seams.ignores(a, b):
                continue
            recent, baseline = seams.window_for(a, b)
            group = groups.setdefault((recent, baseline), _Group(recent, baseline))
            group.d1.append(d1)
            group.d2.append(d2)
    judged: list[_Judged] = []
    families: list[tuple[np.ndarray, list[int]]] = []
    for group in groups.values():
        part = _test_group(weeks, group, departments, seams, too_thin)
        if part:  # the seams of one group share their tests, a column each
            judged.extend(part)
            families.append(_hypotheses(part[0].tests))
    q = benjamini_hochberg(np.concatenate([f.ravel() for f, _ in families])
                           if families else np.empty(0))
    out: list[tuple[float, ...]] = []
    start = 0
    for family, member in families:
        family_q = q[start:start + family.size].reshape(family.shape)
        start += family.size
        out.extend(tuple(row) for row in family_q[member].T.tolist())
    return judged, out


def _hypotheses(tests: tuple[tuple[str, ExposureTest], ...]) -> tuple[np.ndarray, list[int]]:
    """The p-values Benjamini-Hochberg counts for the seams tested together (``[hypothesis,
    seam]``), and which hypothesis each test reads.

    Contact per tie, messages per mail tie and ties with more than a message (in all contact
    and in mail) ask one question, "the same people, fewer messages", of four overlapping
    measures, so they are one hypothesis: Simes' combination of their p-values (valid for
    tests that are positively dependent, as these are). Counted apart, messages as a fifth
    test per seam made every threshold stricter and lost 4 of 100 ramps on bursty's tuning
    seeds and 2 of 120 on network's; combined, none. (Ties and people as one hypothesis as
    well lost 3 of 120 on network's.) Joining ties with more than a message to the two found
    thinning in 20 of bursty's 25 tuning organisations where they find 13, and 9 of
    network's 30 where they find 10; ramps 84 and 101 (83 and 101 before), false flags 9 and
    3 (8 and 3), and 8 on bursty once each per-tie signal must also be significant on its
    own. Replacing messages per mail tie with it instead lost network's thinning (3 of 30);
    replacing contact per tie gave 20 and 11 with 10 false flags on bursty. The same count
    on mail alone (strong_mail) then took thinning to 22 and 16 with 8 and 7 false flags,
    and where only mail thins (meetings left whole; bursty's tuning seeds) from 3 to 17 of
    25.
    """
    family: list[np.ndarray] = []
    member = [-1] * len(tests)
    for group in HYPOTHESES:
        ks = [k for k, (name, _) in enumerate(tests) if name in group]
        if not ks:
            continue
        ordered = np.sort(np.stack([tests[k][1].p for k in ks]), axis=0)
        ranks = np.arange(1, len(ks) + 1)[:, None]
        for k in ks:
            member[k] = len(family)
        family.append(np.minimum(1.0, (ordered * len(ks) / ranks).min(axis=0)))
    return np.stack(family), member


def late_weeks(recent_weeks: int) -> int:
    """The shorter window each signal is also tested on: the last two thirds of the recent
    weeks (4 of 6), or none for a window too short to have one."""
    late = round(recent_weeks * 2 / 3)
    return late if 0 < late < recent_weeks else 0


def latest_weeks(recent_weeks: int) -> int:
    """The last half of a recent window, whose own fall counts against the drop too."""
    return max(1, recent_weeks // 2)


def _fell(signal: str, reached: float, totals: dict[str, float], drop: float) -> bool:
    """Did a signal fall by the drop (``reached``: the larger fall of the window and its last
    weeks)? Fewer messages per tie is thinning only when the seam's contact of that kind fell
    over the window too (``totals``, by signal: ``_totals``): new, lighter ties lower the
    contact per tie of a seam whose contact grew."""
    return reached <= -drop and (signal not in THINNING or totals.get(signal, 0.0) < 0)


def _totals(changes: dict[str, float], mail_change: float) -> dict[str, float]:
    """How the seam's contact behind each per-tie signal moved: all of it for contact per tie
    and for ties with more than a message, its mail for the two mail signals (a pair's
    weekly meeting keeps its capped contact whole while its messages thin)."""
    contact = _contact_change(changes)
    return {INTENSITY: contact, MESSAGES: mail_change, STRONG: contact, STRONG_MAIL: mail_change}


def _contact_change(changes: dict[str, float]) -> float:
    """How the seam's contact moved over the window, by signal name: the contact signal's
    change where it was tested, else ties times contact per tie against the departments' ties.
    The contact signal reads the seam's own people, so it is the closer measure: on network's
    tuning seeds it left out two false flags that the product let in, seams whose ties grew
    by 11-86 % with lighter ones."""
    if CONTACT in changes:
        return changes[CONTACT]
    return (1 + changes[INTENSITY]) * (1 + changes[TIES]) - 1


def _flags(j: _Judged, q: tuple[float, ...], seams: Seams, departments: Sequence[str]) -> bool:
    """The gate, on a judged seam's raw tests: some signal fell by the rule's drop and
    survived BH (``_judge`` decides the same on the tests it reports)."""
    drop = seams.drop_for(departments[j.d1], departments[j.d2])
    totals = _totals({name: float(t.change[j.column]) for name, t in j.tests}, j.mail_change)
    return any(_fell(name, float(t.reached[j.column]), totals, drop)
               and _significant(name, float(t.p[j.column]), qv, seams.false_discovery_rate)
               for (name, t), qv in zip(j.tests, q, strict=True))


def _significant(signal: str, p: float, q: float, fdr: float) -> bool:
    """Did a signal survive the false-discovery control? A per-tie signal shares its q with
    the others (``_hypotheses``), so it must also be significant on its own: the shared q
    says the seam's contact per tie fell by some measure, its own p that it fell by this one.
    Without that, one measure's fall took its significance from another's: on bursty's
    tuning seeds, messages per mail tie (own p 0.14) flagged a seam on the strength of its
    ties with more than a message (p 0.0002), which the gate did not let count because the
    seam's contact had grown; the rule left out that false flag and changed nothing else."""
    return q <= fdr and (signal not in THINNING or p <= fdr)


def _test_group(weeks: SeamWeeks, group: _Group, departments: Sequence[str], seams: Seams,
                too_thin: dict[tuple[str, str], float] | None) -> list[_Judged]:
    d1, d2 = np.array(group.d1), np.array(group.d2)
    w = windows_for(weeks, group.recent, group.baseline)
    volume, ties = weeks.volume[:, d1, d2], weeks.ties[:, d1, d2]
    volume_exposure = _exposure(weeks.volume, d1, d2)
    baseline_volume = volume[w.baseline].sum(axis=0)
    minimum = np.array([seams.min_volume_for(departments[i], departments[j])
                        for i, j in zip(group.d1, group.d2, strict=True)])
    judged = (baseline_volume >= minimum) & (baseline_volume > 0)
    if too_thin is not None:
        for k in np.flatnonzero(~judged):
            too_thin[(departments[group.d1[k]], departments[group.d2[k]])] = float(baseline_volume[k])
    keep = np.flatnonzero(judged)
    if keep.size == 0:
        return []
    latest = latest_weeks(group.recent)
    tests = _signal_tests(weeks, d1, d2, keep, w, latest)
    late = late_weeks(group.recent)
    if late:
        w_late = windows_for(weeks, late, group.baseline)
        late_tests = dict(_signal_tests(weeks, d1, d2, keep, w_late, 0))
        tests = tuple((name, either_window(test, late_tests[name], late))
                      if name in late_tests else (name, test) for name, test in tests)
    mail_change = np.full(keep.size, np.nan)
    if (mail := _mail_for(weeks, w)) is not None:
        mail_capped = mail.capped[:, d1, d2]
        mail_exposure = _exposure(mail.ties, d1, d2)
        before, after = (_pooled_share(mail_capped[part][:, keep], mail_exposure[part][:, keep])
                         for part in (w.baseline, w.recent))
        mail_change = np.where(before > 0, after / np.where(before > 0, before, 1.0) - 1, np.nan)
    # the volume is reported beside the signals, not tested: its shares are plain sums
    volume_shares = [_pooled_share(volume[part][:, keep], volume_exposure[part][:, keep])
                     for part in (w.baseline, w.recent)]
    n_b = max(1, w.baseline.stop - w.baseline.start)
    n_r = max(1, w.recent.stop - w.recent.start)
    return [
        _Judged(group.d1[k], group.d2[k], tests, column,
                (float(baseline_volume[k]), float(volume[w.recent, k].sum()),
                 float(volume_shares[0][column]), float(volume_shares[1][column])),
                (float(ties[w.baseline, k].sum() / n_b), float(ties[w.recent, k].sum() / n_r)),
                float(mail_change[column]))
        for column, k in enumerate(keep)
    ]


def _signal_tests(weeks: SeamWeeks, d1: np.ndarray, d2: np.ndarray, keep: np.ndarray,
                  w: Windows, latest: int) -> tuple[tuple[str, ExposureTest], ...]:
    """Every signal's test of the judged seams ``keep`` (columns of ``d1``, ``d2``) on
    windows ``w``, in the order of SIGNALS; a signal whose weeks are not all known is left
    out. The signals are tested side by side in one call (``exposure_tests``), each its own
    family."""
    ties, capped, people = (m[:, d1, d2][:, keep] for m in (weeks.ties, weeks.capped, weeks.people))
    # (signal, count, exposure) in the order of SIGNALS
    series: list[tuple[str, np.ndarray, np.ndarray]] = [
        (TIES, ties, _exposure(weeks.ties, d1, d2)[:, keep]), (INTENSITY, capped, ties),
        (PEOPLE, people, _exposure(weeks.people, d1, d2)[:, keep])]
    if weeks.carriers is not None:
        series.append((CONTACT, *carried_contact(weeks.carriers, w.baseline, d1[keep], d2[keep])))
    mail = _mail_for(weeks, w)
    if mail is not None:
        mail_ties = mail.ties[:, d1, d2][:, keep]
        series.append((MESSAGES, mail.capped[:, d1, d2][:, keep], mail_ties))
    if weeks.conversations is not None and weeks.conversations.covers(w):
        talks = weeks.conversations
        series.append((CONVERSATIONS, talks.seam[:, d1, d2][:, keep],
                       talks.exposure(d1, d2)[:, keep]))
    if weeks.strong is not None:
        series.append((STRONG, weeks.strong[:, d1, d2][:, keep], ties))
    if mail is not None:
        series.append((STRONG_MAIL, mail.strong[:, d1, d2][:, keep], mail_ties))
    bound: np.ndarray | None = None
    if weeks.headcount is not None:  # a people count cannot pass the two departments' people
        limits = np.full((len(series), keep.size), np.inf)
        limits[[name for name, _, _ in series].index(PEOPLE)] = (
            weeks.headcount[d1] + weeks.headcount[d2])[keep]
        bound = limits.ravel()
    tests = exposure_tests(np.hstack([count for _, count, _ in series]),
                           np.hstack([exposure for _, _, exposure in series]), w.baseline,
                           w.recent, [keep.size] * len(series), bound, latest)
    return tuple((name, test) for (name, _, _), test in zip(series, tests, strict=True))


def _mail_for(weeks: SeamWeeks, w: Windows) -> MailWeeks | None:
    """The mail weeks, when every week of the windows has mail weights (else None)."""
    return weeks.mail if weeks.mail is not None and weeks.mail.covers(w) else None


def _pooled_share(counts: np.ndarray, exposure: np.ndarray) -> np.ndarray:
    """Each column's count over its exposure, pooled over the weeks (0 without exposure)."""
    total, whole = counts.sum(axis=0), exposure.sum(axis=0)
    share: np.ndarray = np.where(whole > 0, total / np.where(whole > 0, whole, 1.0), 0.0)
    return share


def _exposure(matrix: np.ndarray, d1: np.ndarray, d2: np.ndarray) -> np.ndarray:
    """All contact of the two departments of each pair, per week (the pair's own once)."""
    totals = matrix.sum(axis=2)
    exposure: np.ndarray = totals[:, d1] + totals[:, d2] - matrix[:, d1, d2]
    return exposure


def _signal(name: str, test: ExposureTest, column: int, q: float) -> SignalTest:
    change = float(test.change[column])
    latest = change if test.latest is None else float(test.latest[column])
    return SignalTest(name, float(test.baseline_rate[column]), float(test.recent_rate[column]),
                      change, latest, test.latest_weeks, float(test.observed[column]),
                      float(test.expected[column]), float(test.dispersion[column]),
                      test.persistence, int(test.df[column]), float(test.t[column]),
                      float(test.p[column]), q,
                      None if test.whole_p is None else float(test.whole_p[column]),
                      None if test.late_p is None else float(test.late_p[column]),
                      test.late_weeks)


def _judge(j: _Judged, q: tuple[float, ...], departments: Sequence[str], seams: Seams) -> SeamResult:
    a, b = departments[j.d1], departments[j.d2]
    drop, fdr = seams.drop_for(a, b), seams.false_discovery_rate
    signals = tuple(_signal(name, test, j.column, qv)
                    for (name, test), qv in zip(j.tests, q, strict=True))
    ties = signals[0]
    totals = _totals({s.signal: s.change for s in signals}, j.mail_change)
    big = [s for s in signals if _fell(s.signal, s.reached, totals, drop)]
    flagged = [s for s in big if _significant(s.signal, s.p, s.q, fdr)]
    if flagged:
        head, gate = min(flagged, key=_headline), "flagged"
    elif big:
        head, gate = min(big, key=_headline), "BH"
    else:
        head, gate = ties, "threshold"
    return SeamResult(
        departments=(a, b),
        baseline_share=head.baseline,
        recent_share=head.recent,
        change=head.change,
        score=-head.t if math.isfinite(head.t) else 99.0,
        p_value=head.p,
        q_value=head.q,
        baseline_volume=j.volume[0],
        recent_volume=j.volume[1],
        drifting=bool(flagged),
        tested=True,
        reason=_reason(head, gate, drop, fdr, ties, j.mail_change),
        rule=seams.label_for(a, b),
        signal=head.signal,
        gate=gate,
        tests=signals,
        volume_baseline_share=j.volume[2],
        volume_recent_share=j.volume[3],
        baseline_ties=j.ties[0],
        recent_ties=j.ties[1],
        mail_change=j.mail_change if math.isfinite(j.mail_change) else None,
    )


def _headline(test: SignalTest) -> tuple[float, int]:
    """Which signal speaks for a seam: the most significant, as far as its q is shown (three
    places); among those equally so, the first in ``SIGNALS`` (ties before the finer ones: a
    seam whose every count fell is told as its share of ties falling)."""
    return round(test.q, 3), SIGNALS.index(test.signal)


def _reason(head: SignalTest, gate: str, drop: float, fdr: float, ties: SignalTest,
            mail_change: float) -> str:
    fall = {TIES: f"share fell {-head.change:.0%}",
            PEOPLE: f"people in contact fell {-head.change:.0%} (ties {ties.change:+.0%})",
            INTENSITY: f"contact per tie fell {-head.change:.0%} (ties {ties.change:+.0%})",
            CONTACT: f"contact fell {-head.change:.0%} against its people's contact elsewhere "
                     f"(ties {ties.change:+.0%})",
            MESSAGES: f"messages per mail tie fell {-head.change:.0%} (ties {ties.change:+.0%}, "
                      f"mail {mail_change:+.0%})",
            CONVERSATIONS: f"conversations across it fell {-head.change:.0%} "
                           f"(ties {ties.change:+.0%})",
            STRONG: f"ties with more than a message fell {-head.change:.0%} "
                    f"(ties {ties.change:+.0%})",
            STRONG_MAIL: f"mail ties with more than a message fell {-head.change:.0%} "
                         f"(ties {ties.change:+.0%}, mail {mail_change:+.0%})",
            }[head.signal]
    if gate != "threshold" and head.change > -drop:  # only its last weeks fell that far
        span = "week" if head.latest_weeks == 1 else f"{head.latest_weeks} weeks"
        fall += f", {-head.latest:.0%} over the last {span}"
    if gate == "flagged":
        return f"{fall} (threshold {drop:.0%}), significant (q={head.q:.3f} ≤ {fdr})"
    if gate == "BH" and head.q <= fdr:  # a per-tie signal whose group passed, but not it
        return f"{fall} but within week-to-week variation on its own (p={head.p:.3f} > {fdr})"
    if gate == "BH":
        return f"{fall} but within week-to-week variation (q={head.q:.3f} > {fdr})"
    if head.change < 0:
        return f"{fall}, less than the {drop:.0%} threshold"
    return f"share steady or rising ({head.change:+.0%})"


@dataclass(frozen=True)
class PersonTrend:
    """One person's cross-department contact, recent against baseline (weekly averages)."""

    person: int
    cross_recent: float
    cross_baseline: float
    breadth_recent: int
    breadth_baseline: float


@dataclass(frozen=True)
class LapsedTie:
    a: int
    b: int
    baseline_weight: float
    baseline_weeks: int


def lapsed_ties(table: ContactTable, dept_of: np.ndarray, w: Windows, signals: Signals) -> list[LapsedTie]:
    """Cross-department ties that were real in the baseline and silent recently."""
    da, db = dept_of.take(table.a), dept_of.take(table.b)
    cross = (da != db) & (da >= 0) & (db >= 0)
    in_base = (table.week >= w.baseline.start) & (table.week < w.baseline.stop) & cross
    in_recent = (table.week >= w.recent.start) & (table.week < w.recent.stop) & cross
    key = table.a.astype(np.int64) << 32 | table.b.astype(np.int64)
    # a week's rows are in pair order, so a merge sort joins the weeks' runs in a pass
    base = key[in_base]
    order = np.argsort(base, kind="stable")
    ordered = base[order]
    first = np.flatnonzero(starts_of_runs(ordered))
    base_keys = ordered[first]
    base_weight = (np.add.reduceat(table.weight[in_base][order].astype(np.float64), first)
                   if first.size else np.zeros(0))
    base_weeks = np.diff(np.r_[first, ordered.size])  # one row per pair-week in the table
    alive = contained_in(base_keys, unique_sorted(key[in_recent], runs=True))
    real = (base_weight >= signals.lapsed_min_weight) & (base_weeks >= signals.lapsed_min_weeks)
    chosen = np.flatnonzero(real & ~alive)
    return [
        LapsedTie(int(base_keys[i] >> 32), int(base_keys[i] & 0xFFFFFFFF), float(base_weight[i]),
                  int(base_weeks[i]))
        for i in chosen
    ]


def person_trends(table: ContactTable, dept_of: np.ndarray, w: Windows, n_people: int) -> list[PersonTrend]:
    """Cross-department contact per person: weekly weight and distinct contacts."""
    da, db = dept_of[table.a], dept_of[table.b]
    cross = np.flatnonzero((da != db) & (da >= 0) & (db >= 0))  # positions: faster than a mask
    a, b = table.a.take(cross).astype(np.int64), table.b.take(cross).astype(np.int64)
    week, weight = table.week.take(cross), table.weight.take(cross).astype(np.float64)
    recent_len = max(1, w.recent.stop - w.recent.start)
    base_len = max(1, w.baseline.stop - w.baseline.start)
    in_recent = (week >= w.recent.start) & (week < w.recent.stop)
    in_base = (week >= w.baseline.start) & (week < w.baseline.stop)
    recent_weight = _both_ends(a[in_recent], b[in_recent], weight[in_recent], n_people)
    base_weight = _both_ends(a[in_base], b[in_base], weight[in_base], n_people)
    recent_breadth = _distinct(a[in_recent], b[in_recent], n_people)
    # Baseline breadth per block as long as the recent window, averaged; each block's people
    # are numbered apart (person + block x people) so one count covers every block.
    blocks = max(1, base_len // recent_len)
    block_of = (week[in_base] - w.baseline.start).astype(np.int64) // recent_len
    usable = block_of < blocks
    shift = n_people * block_of[usable]
    block_breadth = _distinct(a[in_base][usable] + shift, b[in_base][usable] + shift,
                              n_people * blocks)
    base_breadth = block_breadth.reshape(blocks, n_people).mean(axis=0)
    # plain Python numbers first: converting NumPy scalars one at a time costs more than the counts
    columns = zip((recent_weight / recent_len).tolist(), (base_weight / base_len).tolist(),
                  recent_breadth.tolist(), base_breadth.tolist(), strict=True)
    return [PersonTrend(i, *values) for i, values in enumerate(columns)]


def _both_ends(a: np.ndarray, b: np.ndarray, weight: np.ndarray, size: int) -> np.ndarray:
    """Each person's summed weight over the pairs they are an end of."""
    total: np.ndarray = (np.bincount(a, weights=weight, minlength=size)
                         + np.bincount(b, weights=weight, minlength=size))
    return total


def _distinct(a: np.ndarray, b: np.ndarray, size: int) -> np.ndarray:
    """Each person's number of distinct others over the pairs ``a[k], b[k]`` (rows may repeat a
    pair, in either order)."""
    if a.size == 0:
        return np.zeros(size, np.int64)
    pairs = unique_sorted(np.minimum(a, b) << 32 | np.maximum(a, b))
    return (np.bincount(pairs >> 32, minlength=size)
            + np.bincount(pairs & 0xFFFFFFFF, minlength=size))
