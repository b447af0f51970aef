"""What the outcomes teach: declines, met pairs, rates, and seams kept under repair."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from agent.drift import SeamResult
from agent.lifecycle import Cause, Stage, outcome_rates
from agent.matcher import History, ask_share, asked_this_week, in_cooldown
from agent.pipeline import history_from, load_org
from agent.pseudonym import Pseudonymiser
from agent.repair import Repair, repair_step
from agent.store import SuggestionRecord
from connectors.base import Person
from rules.model import Pairing, Rules

TODAY = dt.date(2026, 3, 2)
NOW = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
PAIRING = Pairing()


def history(*days_ago: int) -> History:
    return History(declines={"a@x.org": [TODAY - dt.timedelta(days=d) for d in days_ago]})


def test_a_decline_halves_how_often_one_is_asked_with_a_floor_and_a_recovery() -> None:
    assert ask_share("a@x.org", History(), PAIRING, TODAY) == 1.0
    assert ask_share("a@x.org", history(0), PAIRING, TODAY) == pytest.approx(0.5)
    assert ask_share("a@x.org", history(0, 1, 2), PAIRING, TODAY) == PAIRING.declines.floor
    eight_weeks = ask_share("a@x.org", history(56), PAIRING, TODAY)
    assert eight_weeks == pytest.approx(0.75)  # half the weight after recovery_weeks
    assert ask_share("a@x.org", history(7 * 40), PAIRING, TODAY) > 0.95


@pytest.mark.parametrize("days_ago", [0, 56])
def test_asked_in_about_that_share_of_weeks(days_ago: int) -> None:
    hist = history(days_ago)
    share = ask_share("a@x.org", hist, PAIRING, TODAY)
    weeks = [asked_this_week("a@x.org", hist, PAIRING, TODAY, f"week-{w}") for w in range(2000)]
    assert sum(weeks) / len(weeks) == pytest.approx(share, abs=0.04)
    assert all(asked_this_week("b@x.org", hist, PAIRING, TODAY, f"week-{w}") for w in range(50))


def _people() -> list[Person]:
    return [Person("a@x.org", "Sales", level=2), Person("b@x.org", "Legal", level=2),
            Person("c@x.org", "Legal", level=4)]


def _record(id_: str, people: tuple[str, ...], org_pseudonyms: dict[str, str], stage: Stage,
            reason: str = "new-tie", days_ago: int = 0) -> SuggestionRecord:
    created = NOW - dt.timedelta(days=days_ago)
    record = SuggestionRecord(id_, tuple(org_pseudonyms[e] for e in people), ("Sales", "Legal"),
                              reason, 2930, created.isoformat(), Stage.PLANNED, "invite")
    record = record.advance(Stage.HELD, Cause.PLACED, created)
    if stage is Stage.DECLINED:
        return record.advance(stage, Cause.DECLINED, created, by=[org_pseudonyms[people[1]]])
    if stage is Stage.MET:
        record = record.advance(Stage.ACCEPTED, Cause.ACCEPTED, created)
        return record.advance(Stage.MET, Cause.HAPPENED, created)
    return record


def test_history_learns_declines_and_met_pairs_wait_out_the_cooldown() -> None:
    org = load_org(_people(), Pseudonymiser(b"learning-test-key-0123456789"))
    records = [_record("r1", ("a@x.org", "b@x.org"), org.pseudonym, Stage.MET, days_ago=7),
               _record("r2", ("a@x.org", "c@x.org"), org.pseudonym, Stage.DECLINED, days_ago=3)]
    hist = history_from(records, org, TODAY)
    assert hist.declines == {"c@x.org": [TODAY - dt.timedelta(days=3)]}
    cooldown = PAIRING.cooldown_weeks * 7
    assert in_cooldown("a@x.org", "b@x.org", hist, PAIRING, TODAY - dt.timedelta(days=7)
                       + dt.timedelta(days=cooldown - 1))
    assert not in_cooldown("a@x.org", "b@x.org", hist, PAIRING,
                           TODAY - dt.timedelta(days=7) + dt.timedelta(days=cooldown))


def test_rates_by_seam_and_reason_count_renewed_ties_and_withhold_small_groups() -> None:
    org = load_org(_people(), Pseudonymiser(b"learning-test-key-0123456789"))
    p = org.pseudonym
    records = [
        _record("r1", ("a@x.org", "b@x.org"), p, Stage.MET),  # same level: peers
        _record("r2", ("a@x.org", "c@x.org"), p, Stage.DECLINED),
        _record("r3", ("a@x.org", "c@x.org"), p, Stage.MET, reason="reconnect"),
        _record("r4", ("b@x.org", "c@x.org"), p, Stage.HELD),
    ]
    records.append(SuggestionRecord("r5", (p["a@x.org"], p["b@x.org"]), ("Sales", "Legal"),
                                    "new-tie", 2930, NOW.isoformat(), Stage.SUGGESTED, "suggest"))

    def level(pseudonym: str) -> int | None:
        return org.people[org.by_pseudonym[pseudonym]].level

    rates = outcome_rates(records, level)
    (seam,) = rates.by_seam
    assert (seam.group, seam.held, seam.accepted, seam.met, seam.declined) == \
        ("Legal / Sales", 4, 2, 2, 1)
    assert seam.acceptance == pytest.approx(0.5) and seam.met_rate == pytest.approx(0.5)
    by_reason = {r.group: (r.held, r.met) for r in rates.by_reason}
    assert by_reason == {"drifting seam": (2, 0), "lapsed tie": (1, 1), "peer": (1, 1)}
    assert rates.renewed_ties == 2
    withheld = outcome_rates(records, level, min_group_size=5)
    assert all(r.withheld and r.acceptance is None for r in withheld.by_seam)
    assert withheld.as_json()["by_seam"] == [{"group": "Legal / Sales", "withheld": True}]
    assert withheld.renewed_ties is None  # two pairs, three people: fewer than five


def _seam(recent: float, drifting: bool) -> SeamResult:
    """A judged seam whose deciding signal is ties (its share of its departments' ties)."""
    return SeamResult(departments=("Legal", "Sales"), baseline_share=0.05, recent_share=recent,
                      change=recent / 0.05 - 1, score=1.0, p_value=0.5, q_value=0.5,
                      baseline_volume=100, recent_volume=10, drifting=drifting, tested=True,
                      reason="", rule="seams (defaults)", signal="ties")


def test_a_flagged_seam_stays_under_repair_until_its_share_is_back_or_time_is_up() -> None:
    rules = Rules()
    seams, kept = repair_step([_seam(0.01, True)], {}, rules, week=100)
    assert kept == {("Legal", "Sales"): Repair(0.05, 100)}
    # the detector no longer flags it, but the share is still far below: still repaired
    seams, kept = repair_step([_seam(0.02, False)], kept, rules, week=106)
    assert seams[0].drifting and seams[0].gate == "repair" and kept
    # back within the drop (0.3) of the share it was flagged on: repaired, forgotten
    seams, done = repair_step([_seam(0.036, False)], kept, rules, week=107)
    assert not seams[0].drifting and done == {}
    # given up after pairing.repair_weeks
    seams, late = repair_step([_seam(0.02, False)], kept, rules,
                              week=100 + rules.pairing.repair_weeks)
    assert not seams[0].drifting and late == {}


def test_a_seam_flagged_on_its_conversations_is_repaired_when_they_are_back() -> None:
    """Its ties held, so their share says nothing about repair: the conversations' does."""
    from agent.drift import SignalTest

    def seam(conversations: float, drifting: bool) -> SeamResult:
        def test(name: str, baseline: float, recent: float) -> SignalTest:
            return SignalTest(name, baseline, recent, recent / baseline - 1, recent / baseline - 1,
                              3, 10, 10, 1.0, 1.0, 25, -3.0, 0.001, 0.01)
        return replace(_seam(0.05, drifting), signal="conversations",
                       tests=(test("ties", 0.05, 0.05), test("conversations", 0.04, conversations)))

    rules = Rules()
    _, kept = repair_step([seam(0.01, True)], {}, rules, week=100)
    assert kept == {("Legal", "Sales"): Repair(0.04, 100, "conversations")}
    seams, kept = repair_step([seam(0.02, False)], kept, rules, week=104)  # ties at baseline
    assert seams[0].drifting and seams[0].gate == "repair" and kept
    assert "share of conversations 2.0% against 4.0%" in seams[0].reason
    seams, done = repair_step([seam(0.035, False)], kept, rules, week=105)
    assert not seams[0].drifting and done == {}
    # a seam flagged on a level that is not a share (contact) is remembered by its ties
    contact = replace(seam(0.01, True), signal="contact")
    assert repair_step([contact], {}, rules, week=100)[1] == {
        ("Legal", "Sales"): Repair(0.05, 100, "ties")}
