"""The sort-based set helpers agree with NumPy's own functions."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from agent.arrays import contained_in, first_occurrences, union_sorted, unique_sorted

ints = st.lists(st.integers(-(2**62), 2**62), max_size=60).map(lambda v: np.array(v, np.int64))
small = st.lists(st.integers(0, 20), max_size=60).map(lambda v: np.array(v, np.int64))


@given(ints | small, ints | small)
def test_helpers_match_numpy(a: np.ndarray, b: np.ndarray) -> None:
    assert np.array_equal(unique_sorted(a), np.unique(a))
    assert np.array_equal(union_sorted(a, b), np.union1d(a, b))
    assert np.array_equal(contained_in(a, np.unique(b)), np.isin(a, b))
    _, first = np.unique(a, return_index=True)
    assert np.array_equal(np.sort(first_occurrences(a)), np.sort(first))
