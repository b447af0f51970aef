"""What a report says about its own input: problems by kind, the data's dates, pairs set aside.

Pure: problems, weeks, analysis and rules in; short lines and plain data out.
``analyze``, ``demo`` and ``rules explain`` print these, so a report says what
it stands on — which weeks the data covers, which department pairs it could
not judge and the setting that would change that, an ``--as-of`` that falls
outside the data — instead of leaving an empty table to be puzzled over.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from agent.ledger import week_start
from rules.model import Rules

#: How many kinds of input problem a report lists before it only counts the rest.
KINDS_SHOWN = 20


@dataclass(frozen=True)
class ProblemKind:
    """Input problems with the same file and the same words, counted."""

    file: str
    what: str
    count: int
    first: str  # where the first one is: a line number, or what the reader names

    def line(self, noun: str) -> str:
        if self.count == 1:
            return f"{self.file}:{self.first}: {self.what}"
        return f"{self.file}: {self.count} {noun}s: {self.what} (the first at {self.first})"


def _split(problem: str) -> tuple[str, str, str]:
    """``path:line: what`` as (path, line, what); a problem without a place keeps it whole."""
    place, sep, what = problem.partition(": ")
    if not sep:
        return "", "", problem
    path, _, line = place.rpartition(":")
    return (path, line, what) if path else (place, "", what)


def problem_kinds(problems: Sequence[str]) -> list[ProblemKind]:
    """Problems grouped by file and wording, the largest group first, else in input order."""
    groups: dict[tuple[str, str], list[str]] = {}
    for problem in problems:
        path, line, what = _split(problem)
        groups.setdefault((path, what), []).append(line)
    kinds = [ProblemKind(path, what, len(lines), lines[0]) for (path, what), lines in groups.items()]
    order = {key: index for index, key in enumerate(groups)}
    return sorted(kinds, key=lambda k: (-k.count, order[(k.file, k.what)]))


def problem_lines(directory: Sequence[str], readers: Sequence[str]) -> list[str]:
    """One line per kind of input problem: directory rows first, then calendar and mail lines.

    Every single problem is logged where it is found (``-v`` shows them all).
    """
    kinds = [(kind, "row") for kind in problem_kinds(directory)]
    kinds += [(kind, "line") for kind in problem_kinds(readers)]
    lines = [kind.line(noun) for kind, noun in kinds[:KINDS_SHOWN]]
    if len(kinds) > KINDS_SHOWN:
        rest = sum(kind.count for kind, _ in kinds[KINDS_SHOWN:])
        lines.append(f"... and {rest} more problems of {len(kinds) - KINDS_SHOWN} other kinds "
                     "(-v lists every one)")
    return lines


@dataclass(frozen=True)
class DataRange:
    """The weeks the ledger holds contact for."""

    first_week: int
    last_week: int

    @property
    def first_day(self) -> dt.date:
        return week_start(self.first_week)

    @property
    def last_day(self) -> dt.date:
        return week_start(self.last_week) + dt.timedelta(days=6)

    def text(self) -> str:
        weeks = self.last_week - self.first_week + 1
        return f"{self.first_day} to {self.last_day}, {weeks} week{'s' if weeks != 1 else ''}"


def data_range(weeks: Sequence[int]) -> DataRange | None:
    return DataRange(min(weeks), max(weeks)) if weeks else None


def as_of_warnings(as_of: dt.date, data: DataRange | None, rules: Rules,
                   today: dt.date) -> list[str]:
    """Why an analysis as of ``as_of`` may come out empty, in words; none when all is well.

    ``data`` is every week the data holds, meetings after ``as_of`` included.
    """
    if data is None:
        return ["the data holds no contact at all (no meetings or mail between people in the "
                "directory), so there is nothing to analyse"]
    out = []
    if as_of <= data.first_day:
        out.append(f"--as-of {as_of} is before the data begins ({data.text()}): there is nothing "
                   f"to analyse; pick a date after {data.first_day}")
    elif as_of > data.last_day + dt.timedelta(days=7):
        out.append(f"--as-of {as_of} is after the data ends ({data.text()}): the recent weeks "
                   "hold no contact, so every seam looks silent; pick a date up to "
                   f"{data.last_day + dt.timedelta(days=1)}")
    else:
        span = rules.seams.recent_weeks + rules.seams.baseline_weeks
        before = (as_of - data.first_day).days // 7
        if before < span:
            out.append(f"only {before} week(s) of data before {as_of}; the analysis reads "
                       f"{span} (seams.recent_weeks {rules.seams.recent_weeks} + "
                       f"seams.baseline_weeks {rules.seams.baseline_weeks}), so the baseline "
                       "is short")
    if as_of < today:
        out.append(f"as of {as_of}, which is past: slots are looked for from today, "
                   "never in the past")
    return out


@dataclass(frozen=True)
class SetAside:
    """The department pairs a report did not judge, by reason."""

    pairs: int  # every pair of departments
    judged: int
    ignored: list[tuple[str, str]]
    no_contact: list[tuple[str, str]]  # no baseline contact at all
    thin: list[tuple[tuple[str, str], float]]  # some, below min_volume (largest first)
    small: list[tuple[str, str]]  # judged, but a side is under privacy.min_group_size

    def as_json(self) -> dict[str, object]:
        return {
            "pairs": self.pairs, "judged": self.judged,
            "ignored": [list(p) for p in self.ignored],
            "no_contact": [list(p) for p in self.no_contact],
            "below_min_volume": len(self.thin),  # each with its volume: analyze's not_judged
            "small_departments": [list(p) for p in self.small],
        }


def set_aside(departments: Sequence[str], judged: Sequence[tuple[str, str]],
              too_thin: Mapping[tuple[str, str], float], sizes: Mapping[str, int],
              rules: Rules) -> SetAside:
    judged_keys = {frozenset(p) for p in judged}
    thin = {frozenset(p): v for p, v in too_thin.items()}
    ignored, none, low = [], [], []
    for a, b in itertools.combinations(sorted(departments), 2):
        key = frozenset((a, b))
        if key in judged_keys:
            continue
        if rules.seams.ignores(a, b):
            ignored.append((a, b))
        elif thin.get(key, 0.0) > 0:
            low.append(((a, b), thin[key]))
        else:
            none.append((a, b))
    k = rules.privacy.min_group_size
    small = sorted((a, b) if a < b else (b, a) for a, b in judged
                   if sizes.get(a, 0) < k or sizes.get(b, 0) < k)
    low.sort(key=lambda item: (-item[1], item[0]))
    total = len(departments) * (len(departments) - 1) // 2
    return SetAside(total, len(judged_keys), ignored, none, low, small)


def set_aside_lines(aside: SetAside, rules: Rules) -> list[str]:
    """How many pairs were judged, and for each reason the rest were not, the knob that decides."""
    seams = rules.seams
    lines = [f"{aside.judged} of {aside.pairs} department pairs judged"]
    if aside.thin:
        (a, b), most = aside.thin[0]
        floor, where = seams.min_volume_for(a, b), seams.source_of(a, b, "min_volume")
        against = (f"seams.min_volume {floor:g}" if seams.rule_for(a, b) is None
                   else f"{floor:g} in {where}")
        lines.append(f"  {len(aside.thin)} set aside for too little baseline contact (the most: "
                     f"{a} / {b}, {most:.1f} meeting-hour equivalents against {against}); lower "
                     "seams.min_volume, or a pair's own in seams.pairs, to judge them")
    if aside.no_contact:
        lines.append(f"  {len(aside.no_contact)} set aside with no contact at all in the "
                     f"baseline weeks (seams.baseline_weeks {seams.baseline_weeks})")
    if aside.ignored:
        lines.append(f"  {len(aside.ignored)} ignored by the rules (seams.ignore_pairs, "
                     "seams.ignore_departments)")
    if aside.small:
        lines.append(f"  {len(aside.small)} judged pair(s) touch a department of fewer than "
                     f"privacy.min_group_size {rules.privacy.min_group_size} people: the admin "
                     "digest does not show them")
    return lines


def department_sizes(departments: Sequence[str]) -> dict[str, int]:
    return dict(Counter(departments))
