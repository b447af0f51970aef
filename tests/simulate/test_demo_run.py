"""Twelve simulated weeks of the demo organisation under the real engine.

The default rules (in invite mode, as the simulator runs a suggest-mode file)
with 60 % of invitees accepting, a third of them booking something over the
hold first, and half of the pairs who met keeping in touch. The same run with
nobody accepting is the control: what comes back must come from the
meetings, not from the replayed weeks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.simpeople import Behaviour
from agent.simulate import OrgData, Simulation, demo_org, simulate
from rules.model import Rules

PEOPLE, SEED, WEEKS = 80, 1, 12


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> OrgData:
    return demo_org(tmp_path_factory.mktemp("demo"), PEOPLE, SEED)


@pytest.fixture(scope="module")
def run(org: OrgData, tmp_path_factory: pytest.TempPathFactory) -> Simulation:
    behaviour = Behaviour(accept_rate=0.6, conflict_rate=0.3)
    return simulate(org, Rules(), WEEKS, behaviour, SEED, tmp_path_factory.mktemp("run"))


def _regained(sim: Simulation) -> float:
    planted = [s for s in sim.seams if s.planted]
    lost = sum(s.baseline - s.start for s in planted)
    return sum(s.end - s.start for s in planted) / lost


def test_nothing_that_must_never_happen_happened(run: Simulation) -> None:
    checks = run.checks
    assert checks.duplicate_holds == []
    assert checks.foreign_writes == []
    assert checks.outside_hours == []
    assert checks.over_busy == []
    assert checks.cap_breaches == []
    # and the checks had something to look at: many holds, clashes booked, holds moved
    assert checks.holds_checked >= 50 and checks.others_events >= 10
    assert sum(w.moved for w in run.weeks) >= 3


def test_people_accept_decline_and_ignore(run: Simulation) -> None:
    totals = {name: sum(getattr(w, name) for w in run.weeks)
              for name in ("placed", "accepted", "met", "declined", "expired")}
    assert totals["placed"] >= 50
    assert 0.45 <= totals["accepted"] / totals["placed"] <= 0.75
    assert totals["met"] == totals["accepted"]  # nobody who accepted was lost on the way
    assert totals["declined"] > 0 and totals["expired"] > 0


def test_every_planted_seam_is_followed(run: Simulation, org: OrgData) -> None:
    assert org.planted
    followed = {frozenset(s.seam) for s in run.seams if s.planted}
    assert followed == {frozenset(p) for p in org.planted}


def test_at_sixty_percent_half_the_lost_share_comes_back(run: Simulation) -> None:
    assert _regained(run) >= 0.5
    assert all(s.end > s.start for s in run.seams if s.planted)


def test_without_acceptances_nothing_comes_back(org: OrgData, tmp_path: Path) -> None:
    control = simulate(org, Rules(), 6, Behaviour(accept_rate=0.0, conflict_rate=0.3), SEED,
                       tmp_path)
    assert sum(w.met for w in control.weeks) == 0
    assert sum(w.placed for w in control.weeks) > 0
    assert _regained(control) < 0.2
    assert control.checks.clean
