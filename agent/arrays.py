"""Sort-based set operations on integer arrays.

NumPy 2's ``np.unique`` without ``return_*`` (and so ``np.isin`` and
``np.union1d``, which call it) takes a hash-table path that is tens of times
slower than sorting for the int64 keys and digests the ledger handles; these
helpers sort instead.
"""

from __future__ import annotations

import numpy as np


def unique_sorted(values: np.ndarray, *, runs: bool = False) -> np.ndarray:
    """The distinct values, ascending. ``runs``: the values are a few ascending runs one after
    another, which a merge sort joins in a pass (on unordered values it is several times slower)."""
    if values.size == 0:
        return values
    ordered = np.sort(values, kind="stable" if runs else "quicksort")
    return ordered[starts_of_runs(ordered)]


def starts_of_runs(ordered: np.ndarray) -> np.ndarray:
    """For sorted values, whether each is the first of its run of equal values."""
    if ordered.size == 0:
        return np.zeros(0, bool)
    return np.concatenate(([True], ordered[1:] != ordered[:-1]))


def union_sorted(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return unique_sorted(np.concatenate([a, b]))


def contained_in(values: np.ndarray, sorted_reference: np.ndarray) -> np.ndarray:
    """For each value, whether it is in ``sorted_reference`` (ascending, distinct)."""
    if sorted_reference.size == 0 or values.size == 0:
        return np.zeros(values.size, bool)
    at = np.searchsorted(sorted_reference, values)
    at[at == sorted_reference.size] = 0
    return sorted_reference[at] == values


def first_occurrences(values: np.ndarray) -> np.ndarray:
    """Positions of the first occurrence of each distinct value."""
    if values.size == 0:
        return np.empty(0, np.int64)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    return order[np.concatenate(([True], ordered[1:] != ordered[:-1]))]
