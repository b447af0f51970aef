"""Sort-based set operations on integer arrays.

NumPy 2's ``np.unique`` without ``return_*`` (and so ``np.isin`` and
``np.union1d``, which call it) takes a hash-table path that is tens of times
slower than sorting for the int64 keys and digests the ledger handles; these
helpers sort instead.
"""

from __future__ import annotations

import numpy as np


def unique_sorted(values: np.ndarray) -> np.ndarray:
    """The distinct values, ascending."""
    if values.size == 0:
        return values
    ordered = np.sort(values)
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


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
