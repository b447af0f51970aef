"""Analyse: the ledger's recent weeks against their baseline, per department pair
and per person (pure: ledger and rules in, an ``Analysis`` out)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from agent.calibrate import Calibration, calibrate
from agent.drift import (
    PersonTrend,
    SeamResult,
    SeamWeeks,
    detect,
    lapsed_ties,
    person_trends,
    seam_weeks,
    windows_for,
)
from agent.ledger import LedgerFiles, read_table, week_of
from agent.pipeline.org import Org
from rules.model import Rules


@dataclass
class Analysis:
    as_of: dt.date
    people: int
    seams: list[SeamResult]
    lapsed: list[tuple[str, str, float]]  # e-mails and baseline weight, cross-department only
    trends: dict[str, PersonTrend]
    first_week: int
    last_week: int
    too_thin: dict[tuple[str, str], float] = field(default_factory=dict)  # below min_volume
    #: the week-shuffle placebo's false-alarm rate for these rules on this organisation
    calibration: Calibration | None = None
    #: the analysed weeks per department pair (small: weeks x departments squared), for a
    #: longer calibration on demand (``analyze --calibrate``)
    seam_weeks: SeamWeeks | None = None

    @property
    def drifting(self) -> list[tuple[str, str]]:
        return [s.departments for s in self.seams if s.drifting]


def last_full_week(as_of: dt.date) -> int:
    """The analysis ends with the last complete week before ``as_of``."""
    return week_of(dt.datetime.combine(as_of, dt.time(12), tzinfo=dt.UTC)) - 1


def index_people(ledger: LedgerFiles, org: Org) -> tuple[np.ndarray, dict[int, str]]:
    """Each ledger id's department index (-1: not in the directory) and e-mail."""
    dept_index = {d: i for i, d in enumerate(org.departments)}
    dept_of = np.full(max(len(ledger.people), 1), -1, np.int64)
    email_of: dict[int, str] = {}
    for email, person in org.people.items():
        idx = ledger.id_of(email)
        if idx is not None:
            dept_of[idx] = dept_index[person.department]
            email_of[idx] = email
    return dept_of, email_of


def analyze(ledger: LedgerFiles, org: Org, rules: Rules, as_of: dt.date) -> Analysis:
    seams_rules = rules.seams
    span = seams_rules.longest_window()
    last = last_full_week(as_of)
    first = last - span + 1
    table = read_table(ledger, first, last)
    departments = org.departments
    dept_of, email_of = index_people(ledger, org)
    too_thin: dict[tuple[str, str], float] = {}
    weeks = seam_weeks(table, dept_of, len(departments), seams_rules)
    seams = detect(weeks, departments, seams_rules, too_thin)
    calibration = calibrate(weeks, departments, seams_rules) if seams else None
    windows = windows_for(table, seams_rules.recent_weeks, seams_rules.baseline_weeks)
    ties = [
        (email_of[t.a], email_of[t.b], t.baseline_weight)
        for t in lapsed_ties(table, dept_of, windows, rules.signals)
        if t.a in email_of and t.b in email_of
    ]
    trends = {
        email_of[t.person]: t
        for t in person_trends(table, dept_of, windows, dept_of.size)
        if t.person in email_of
    }
    return Analysis(as_of, len(org.people), seams, ties, trends, first, last, too_thin,
                    calibration, weeks)
