"""The network generator (tests/quality/network.py) keeps the promises its docstring makes.

Small organisations (300 people, 30 weeks) keep this fast. The detector is not
run here: these tests check the generator itself, so that a bench built on it
measures what it says it measures.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from types import ModuleType

import numpy as np
import pytest

from tests.quality import bursty as bursty_module
from tests.quality import network as network_module
from tests.quality.bursty import BROADCAST, BurstyOrg, Mail, Meeting, _pairs_of
from tests.quality.network import DEPARTMENTS, default_as_of, generate

PEOPLE, WEEKS = 300, 30
SEEDS = (301, 302)  # outside the bench's tuning (101-110) and scoring (1-10) seeds

Item = Mail | Meeting


@pytest.fixture(scope="module")
def orgs() -> dict[int, tuple[BurstyOrg, BurstyOrg]]:
    """Each seed's planted organisation and the same one with nothing planted."""
    return {seed: (generate(seed, people=PEOPLE, weeks=WEEKS),
                   generate(seed, people=PEOPLE, weeks=WEEKS, plant=False)) for seed in SEEDS}


def _department(org: BurstyOrg) -> dict[str, str]:
    return {p.email: p.department for p in org.people}


def _items(org: BurstyOrg) -> list[Item]:
    return [*org.mails, *org.meetings]


def _seam_ties(org: BurstyOrg, pair: tuple[str, str]) -> set[tuple[int, str, str]]:
    """Distinct (week, person, person) in contact across ``pair`` under the counting rules."""
    dept = _department(org)
    return {(item.week, min(a, b), max(a, b)) for item in _items(org)
            for a, b in _pairs_of(item) if {dept.get(a), dept.get(b)} == set(pair)}


def _seam_items(org: BurstyOrg, pair: tuple[str, str]) -> Counter[int]:
    """Messages and meeting occurrences giving contact across ``pair``, per week."""
    dept = _department(org)
    return Counter(item.week for item in _items(org)
                   if any({dept.get(a), dept.get(b)} == set(pair) for a, b in _pairs_of(item)))


def _touches(item: Item, pairs: list[tuple[str, str]], dept: dict[str, str]) -> bool:
    return any({dept.get(a), dept.get(b)} == set(p) for a, b in _pairs_of(item) for p in pairs)


def test_the_organisation_is_shaped_as_described(orgs: dict[int, tuple[BurstyOrg, BurstyOrg]]) -> None:
    planted, _ = orgs[SEEDS[0]]
    sizes = Counter(p.department for p in planted.people)
    assert len(sizes) == len(DEPARTMENTS) == 9
    assert max(sizes.values()) >= 3 * min(sizes.values())  # unequal on purpose
    truth = planted.truth
    assert len(truth.declining) == 4 and len(truth.thinning) == 1
    assert set(truth.declining + truth.thinning) <= set(truth.eligible)
    assert all(truth.weeks - 3 <= end <= truth.weeks - 1 for end in truth.ramp_end.values())
    # the all-hands invites everyone and counts for nothing
    all_hands = [e for e in planted.meetings if e.group == "allhands"]
    assert all_hands and all(len(e.attendees) + 1 > BROADCAST and not _pairs_of(e) for e in all_hands)
    # about a quarter of the contact each person has is across departments
    dept = _department(planted)
    pairs = [(dept[a], dept[b]) for m in planted.mails for a, b in _pairs_of(m)
             if a in dept and b in dept]
    cross = sum(x != y for x, y in pairs) / len(pairs)
    assert 0.15 <= cross <= 0.4


def test_as_of_walks_through_the_year() -> None:
    weeks = {default_as_of(seed).isocalendar()[1] for seed in range(201, 211)}
    assert len(weeks) == 10
    assert all(default_as_of(seed).weekday() == 0 for seed in range(20))


def test_planting_changes_only_the_planted_seams(orgs: dict[int, tuple[BurstyOrg, BurstyOrg]]) -> None:
    """The unplanted organisation is the same one, message for message, and planting
    only takes people out of items across its seams (no item is invented)."""
    for planted, null in orgs.values():
        assert planted.people == null.people
        assert null.truth.declining == null.truth.thinning == []
        seams = planted.truth.declining + planted.truth.thinning
        dept = _department(null)
        after = {m.id: m for m in _items(planted)}
        changed = 0
        for item in _items(null):
            if item.id not in after or after[item.id] != item:
                assert _touches(item, seams, dept), item
                changed += 1
        assert changed > 0
        before = {m.id for m in _items(null)}
        assert set(after) <= before


def test_declining_seams_fall_as_planted(orgs: dict[int, tuple[BurstyOrg, BurstyOrg]]) -> None:
    """Before its ramp a seam is untouched; at its full drop (60 %) about that share of the
    items across it lose the far side, and its distinct ties fall, by less (a tie with
    several items that week survives if one of them does)."""
    items_then = items_before = ties_then = ties_before = 0
    for planted, null in orgs.values():
        for pair in planted.truth.declining:
            end = planted.truth.ramp_end[" / ".join(pair)]
            start = end - 8
            p_items, n_items = _seam_items(planted, pair), _seam_items(null, pair)
            assert all(p_items[w] == n_items[w] for w in range(start + 1))
            full = range(end, planted.truth.weeks)
            items_then += sum(p_items[w] for w in full)
            items_before += sum(n_items[w] for w in full)
            p_ties = Counter(w for w, _, _ in _seam_ties(planted, pair))
            n_ties = Counter(w for w, _, _ in _seam_ties(null, pair))
            ties_then += sum(p_ties[w] for w in full)
            ties_before += sum(n_ties[w] for w in full)
    assert 0.28 <= items_then / items_before <= 0.52
    assert items_then / items_before <= ties_then / ties_before <= 0.75


def test_thinning_keeps_the_ties_but_not_the_messages(
        orgs: dict[int, tuple[BurstyOrg, BurstyOrg]]) -> None:
    messages_then = messages_before = 0
    for planted, null in orgs.values():
        for pair in planted.truth.thinning:
            assert _seam_ties(planted, pair) == _seam_ties(null, pair)
            end = planted.truth.ramp_end[" / ".join(pair)]
            full = range(end, planted.truth.weeks)
            p_items, n_items = _seam_items(planted, pair), _seam_items(null, pair)
            messages_then += sum(p_items[w] for w in full)
            messages_before += sum(n_items[w] for w in full)
    assert messages_then <= 0.85 * messages_before


def test_a_few_threads_carry_most_mail(orgs: dict[int, tuple[BurstyOrg, BurstyOrg]]) -> None:
    _, null = orgs[SEEDS[0]]
    lengths = np.sort(np.array(list(Counter(m.group for m in null.mails
                                            if m.group.startswith("t")).values())))[::-1]
    assert lengths[: lengths.size // 10].sum() > 0.5 * lengths.sum()
    spans: Counter[int] = Counter()
    weeks: dict[str, set[int]] = {}
    for m in null.mails:
        weeks.setdefault(m.group, set()).add(m.week)
    spans.update(max(w) - min(w) + 1 for w in weeks.values())
    assert set(spans) <= {1, 2, 3} and spans[2] + spans[3] > 0


def test_holidays_lower_the_weekly_volume() -> None:
    """A window spanning a year end: its two deepest weeks are well below a usual week."""
    org = generate(303, people=PEOPLE, weeks=WEEKS, plant=False, as_of=dt.date(2025, 3, 3))
    starts = [org.truth.as_of - dt.timedelta(weeks=org.truth.weeks - w)
              for w in range(org.truth.weeks)]
    count = Counter(m.week for m in org.mails if len(m.recipients) <= BROADCAST)
    volume = np.array([count[w] for w in range(org.truth.weeks)], float)
    year_end = [w for w, d in enumerate(starts) if d.isocalendar()[1] in (52, 1)]
    assert len(year_end) == 2
    assert volume[year_end].max() < 0.65 * np.median(volume)
    spring = [w for w, d in enumerate(starts) if d.isocalendar()[1] == 15]
    assert not spring or volume[spring[0]] < np.median(volume)


def test_the_same_arguments_give_the_same_organisation() -> None:
    first, again = generate(311, people=150, weeks=20), generate(311, people=150, weeks=20)
    assert first.mails == again.mails and first.meetings == again.meetings
    assert first.truth == again.truth


@pytest.mark.parametrize("module", [bursty_module, network_module], ids=["bursty", "network"])
def test_generate_both_is_generate_planted_and_unplanted(module: ModuleType) -> None:
    planted, null = module.generate_both(305, people=150, weeks=24)
    again = module.generate(305, people=150, weeks=24)
    unplanted = module.generate(305, people=150, weeks=24, plant=False)
    assert (planted.mails, planted.meetings, planted.truth) == (again.mails, again.meetings, again.truth)
    assert (null.mails, null.meetings, null.truth) == (unplanted.mails, unplanted.meetings,
                                                       unplanted.truth)
    assert planted.truth.declining and not null.truth.declining


@pytest.mark.parametrize("module", [bursty_module, network_module], ids=["bursty", "network"])
def test_settled_moves_each_ramp_back_and_keeps_the_organisation(module: ModuleType) -> None:
    """``settled`` ends every planted ramp that many weeks earlier; the seams and the
    organisation underneath are the ones drawn without it."""
    now, _ = module.generate_both(305, people=150, weeks=24)
    earlier, null = module.generate_both(305, people=150, weeks=24, settled=3)
    assert (earlier.truth.declining, earlier.truth.thinning) == (now.truth.declining,
                                                                 now.truth.thinning)
    assert {seam: end + 3 for seam, end in earlier.truth.ramp_end.items()} == now.truth.ramp_end
    assert null.mails == module.generate(305, people=150, weeks=24, plant=False).mails
    assert earlier.mails != now.mails


@pytest.mark.parametrize("module", [bursty_module, network_module], ids=["bursty", "network"])
def test_whole_planting_drops_items_and_leaves_the_rest_as_it_was(module: ModuleType) -> None:
    """``planting="whole"`` plants on the same seams of the same organisation, but a fallen
    item is gone rather than held without one side; ``side`` does change items."""
    side, null = module.generate_both(305, people=150, weeks=24)
    whole, whole_null = module.generate_both(305, people=150, weeks=24, planting="whole")
    assert (whole.truth.declining, whole.truth.thinning, whole.truth.ramp_end) == (
        side.truth.declining, side.truth.thinning, side.truth.ramp_end)
    assert (whole_null.mails, whole_null.meetings) == (null.mails, null.meetings)
    before = {item.id: item for item in _items(null)}
    dept = _department(null)
    declining = whole.truth.declining

    def changed(org: BurstyOrg) -> tuple[list[Item], set[str]]:
        """Items that differ from the unplanted one, and the ids that are gone."""
        after = {item.id: item for item in _items(org)}
        edited = [item for key, item in after.items() if key in before and before[key] != item]
        return edited, set(before) - set(after)

    edited, gone = changed(whole)
    # the thinning seam still keeps its ties by editing items; the declining ones only drop
    assert gone and all(not _touches(item, declining, dept) for item in edited)
    # (bursty's seam is any item with people of both departments; network's a pair across it)
    seams = declining + whole.truth.thinning
    assert all(any(set(seam) <= {dept.get(x) for xy in _pairs_of(before[key]) for x in xy}
                   for seam in seams) for key in gone)
    side_edited, _ = changed(side)
    assert any(_touches(item, declining, dept) for item in side_edited)
    with pytest.raises(ValueError, match="planting must be one of side, whole"):
        module.generate(305, people=150, weeks=24, planting="sideways")


@pytest.mark.parametrize("module", [bursty_module, network_module], ids=["bursty", "network"])
def test_departments_keeps_the_largest_or_adds_more(module: ModuleType) -> None:
    """``departments`` reshapes the same number of people: fewer keeps the largest
    departments of the generator's own list, more adds some of 4 % each."""
    own = [name for name, _ in module.DEPARTMENTS]
    fewer = module.generate(305, people=150, weeks=12, departments=5)
    assert sorted({p.department for p in fewer.people}) == sorted(own[:5])
    more = module.generate(305, people=300, weeks=12, departments=len(own) + 3)
    sizes = Counter(p.department for p in more.people)
    assert set(sizes) == {*own, "Design", "Security", "Facilities"}
    assert len(fewer.people) == 150 and sum(sizes.values()) == 300
    assert all(sizes[extra] >= 5 for extra in ("Design", "Security", "Facilities"))
    assert module.generate(305, people=150, weeks=12, departments=None).truth == \
        module.generate(305, people=150, weeks=12).truth
    with pytest.raises(ValueError, match="departments must be between 2 and"):
        module.generate(305, people=150, weeks=12, departments=1)
