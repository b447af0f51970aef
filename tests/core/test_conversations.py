"""Conversations: one per distinct set of people a week brought together."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.ledger.conversations import WeekConversations, from_items, merge


def sets_of(talks: WeekConversations) -> list[frozenset[int]]:
    ends = np.cumsum(talks.size)
    starts = ends - talks.size
    return [frozenset(talks.member[s:e].tolist()) for s, e in zip(starts, ends, strict=True)]


def items(groups: list[list[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs each group gives (every two of its people), as ``Batch`` holds them."""
    item, a, b = [], [], []
    for k, group in enumerate(groups):
        people = sorted(set(group))
        for i, x in enumerate(people):
            for y in people[i + 1:]:
                item.append(k)
                a.append(x)
                b.append(y)
    return (np.array(item, np.int32), np.array(a, np.int32), np.array(b, np.int32))


def test_the_same_people_again_are_one_conversation() -> None:
    # a thread of three messages between two people, a meeting of three twice, and a message
    # to the same three: three sets, whatever the order the people came in
    talks = from_items(*items([[1, 2], [2, 1], [1, 2], [4, 1, 3], [1, 3, 4], [3, 4, 1], [2, 5]]))
    assert sorted(map(sorted, sets_of(talks))) == [[1, 2], [1, 3, 4], [2, 5]]
    assert talks.fits() and np.all(np.diff(talks.key) > 0)
    # each conversation's members ascending, as the ledger stores them
    ends = np.cumsum(talks.size)
    for start, end in zip(ends - talks.size, ends, strict=True):
        assert np.all(np.diff(talks.member[start:end]) > 0)


def test_merging_weeks_keeps_each_set_once() -> None:
    first = from_items(*items([[1, 2], [1, 2, 3]]))
    second = from_items(*items([[2, 1], [3, 4]]))
    merged = merge([first, second])
    assert sorted(map(sorted, sets_of(merged))) == [[1, 2], [1, 2, 3], [3, 4]]
    assert merge([]).key.size == 0 and merge([first]) is first


def test_forgetting_a_person_takes_them_out_and_joins_what_became_equal() -> None:
    talks = from_items(*items([[1, 2], [1, 2, 9], [9, 3], [1, 2, 3]]))
    trimmed = talks.without(9)
    assert sorted(map(sorted, sets_of(trimmed))) == [[1, 2], [1, 2, 3]]
    assert trimmed.fits() and 9 not in trimmed.member
    assert talks.without(42) is talks


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 12), min_size=2, max_size=6), max_size=25),
       st.integers(0, 12))
def test_keys_name_sets_whatever_was_done_to_them(groups: list[list[int]], gone: int) -> None:
    """Counting, then forgetting a person, gives what counting without them would have: the
    same sets under the same keys (the key is the set's, not the history's)."""
    groups = [g for g in groups if len(set(g)) >= 2]
    after = [[p for p in g if p != gone] for g in groups]
    direct = from_items(*items([g for g in after if len(set(g)) >= 2]))
    forgotten = from_items(*items(groups)).without(gone)
    assert np.array_equal(direct.key, forgotten.key)
    assert sets_of(direct) == sets_of(forgotten)
    assert len(direct) == len({frozenset(g) for g in after if len(set(g)) >= 2})
