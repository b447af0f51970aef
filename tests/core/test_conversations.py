"""Conversations: one per distinct set of people a week brought together."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.ledger.conversations import Groups, alone, distinct, groups_of, joined, pack, unpack


def sets_of(groups: Groups) -> list[frozenset[int]]:
    ends = np.cumsum(groups.size)
    return [frozenset(groups.member[e - s:e].tolist())
            for s, e in zip(groups.size.tolist(), ends.tolist(), strict=True)]


def items(groups: list[list[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs each group gives as a meeting would (every two of its people), as ``Batch``
    holds them."""
    item, a, b = [], [], []
    for k, group in enumerate(groups):
        people = sorted(set(group))
        for i, x in enumerate(people):
            for y in people[i + 1:]:
                item.append(k)
                a.append(x)
                b.append(y)
    return (np.array(item, np.int32), np.array(a, np.int32), np.array(b, np.int32))


def pairs_alone(groups: list[list[int]]) -> set[tuple[int, int]]:
    item, a, b = items(groups)
    flags = alone(item, len(groups))
    return {(int(x), int(y)) for x, y in zip(a[flags], b[flags], strict=True)}


def test_the_same_people_again_are_one_conversation() -> None:
    # a thread of three messages between two people, a meeting of three twice, and a message
    # to the same three: two people alone (a flag on their pair), one group of three
    week = [[1, 2], [2, 1], [1, 2], [4, 1, 3], [1, 3, 4], [3, 4, 1], [2, 5]]
    assert pairs_alone(week) == {(1, 2), (2, 5)}
    groups = groups_of(*items(week))
    assert sets_of(groups) == [frozenset({1, 3, 4})]
    assert groups.member.tolist() == [1, 3, 4]  # ascending, as the ledger stores them


def test_a_message_to_several_is_a_group_though_its_recipients_have_no_pair() -> None:
    # sender 7 to 8 and 9: pairs 7-8 and 7-9 only, one conversation of three
    item, a, b = (np.array(v, np.int32) for v in ([0, 0], [7, 7], [8, 9]))
    assert not alone(item, 1).any()
    assert sets_of(groups_of(item, a, b)) == [frozenset({7, 8, 9})]


def test_a_weeks_conversations_are_stored_in_one_array_and_read_back() -> None:
    groups = groups_of(*items([[1, 2, 3], [0, 5, 6, 7], [3, 2, 1], [3, 4, 5]]))
    for rows in (0, 1, 31, 32, 33, 70):
        flags = np.random.default_rng(rows).random(rows) < 0.5
        packed = pack(flags, groups)
        assert packed.dtype == np.int32
        assert packed.size == 1 + -(-rows // 32) + 10  # count, bits, three groups' members
        back = unpack(packed, rows)
        assert back is not None
        assert np.array_equal(back[0], flags) and back[0].dtype == bool
        assert sets_of(back[1]) == sets_of(groups)
        assert np.array_equal(back[1].keys(), groups.keys())
        assert unpack(packed, rows + 1) is None  # not this week's rows
    assert unpack(pack(np.zeros(0, bool), Groups.empty()), 0) is not None
    # a damaged file's: not starting a group, a group of two, not 32-bit
    packed = pack(np.ones(3, bool), groups)
    for bad in (np.delete(packed, 2), np.array([3, 7, ~1, 2, ~3, 4, 5], np.int32),
                packed.astype(np.int64)):
        assert unpack(bad, 3) is None


def test_each_set_once_and_segments_joined_as_they_are() -> None:
    first = groups_of(*items([[1, 2, 3], [4, 5, 6, 7]]))
    second = groups_of(*items([[3, 4, 5]]))
    assert sorted(map(sorted, sets_of(distinct(joined([first, first]))))) == [[1, 2, 3],
                                                                              [4, 5, 6, 7]]
    assert sets_of(joined([first, second])) == sets_of(first) + sets_of(second)
    assert len(joined([])) == 0 and joined([first, Groups.empty()]) is first


def test_forgetting_a_person_takes_them_out_and_joins_what_became_equal() -> None:
    groups = groups_of(*items([[1, 2, 9], [9, 3, 4], [1, 2, 3, 9], [1, 2, 3]]))
    trimmed, now_two = groups.without(9)
    assert sets_of(trimmed) == [frozenset({1, 2, 3})]
    assert sorted(now_two.tolist()) == [1 << 32 | 2, 3 << 32 | 4]
    assert groups.without(42)[0] is groups


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 12), min_size=2, max_size=6), max_size=25),
       st.integers(0, 12))
def test_keys_name_sets_whatever_was_done_to_them(week: list[list[int]], gone: int) -> None:
    """Counting, then forgetting a person, gives the groups counting without them would have,
    under the same keys (the key is the set's, not the history's), and the pairs left alone."""
    week = [g for g in week if len(set(g)) >= 2]
    after = [sorted({p for p in g if p != gone}) for g in week]
    direct = groups_of(*items([g for g in after if len(g) >= 2]))
    forgotten, now_two = groups_of(*items(week)).without(gone)
    assert np.array_equal(direct.keys(), forgotten.keys())
    assert sets_of(direct) == sets_of(forgotten)
    assert len(direct) == len({tuple(g) for g in after if len(g) >= 3})
    became_two = {(g[0], g[1]) for g, old in zip(after, week, strict=True)
                  if len(g) == 2 and len(set(old)) >= 3}
    assert {(int(k >> 32), int(k & 0xFFFFFFFF)) for k in now_two.tolist()} == became_two
