"""Conversations: the distinct sets of people a week's counted interactions brought together.

A mail thread going back and forth between the same people, or a meeting
series with the same attendees, is one conversation in a week however many
messages or occurrences it has. The drift detector counts the conversations
that cross a seam (``agent.drift``): a burst of mail on one thread is one
conversation there, not dozens of messages.

The data-directory format and most sources give no thread id, so a
conversation is keyed by its set of people: the key is the sum of a mixed
64-bit hash of each member id (wrapping), so removing a member (``forget``)
is a subtraction and two sets that become equal get equal keys. Members are
the ledger's integer ids, already pseudonyms' positions.

Pure: arrays in, arrays out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agent.arrays import first_occurrences, starts_of_runs


def member_hash(person: np.ndarray) -> np.ndarray:
    """A well-mixed 64-bit value per member id (the splitmix64 finaliser), as uint64."""
    with np.errstate(over="ignore"):
        z = person.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        mixed: np.ndarray = z ^ (z >> np.uint64(31))
    return mixed


@dataclass(frozen=True)
class WeekConversations:
    """One week's conversations: ``key`` (ascending, distinct), each one's ``size`` (members,
    at least two) and the members themselves one conversation after another (``member``, each
    conversation's ids ascending)."""

    key: np.ndarray  # int64
    size: np.ndarray  # int32
    member: np.ndarray  # int32

    @staticmethod
    def empty() -> WeekConversations:
        return WeekConversations(np.empty(0, np.int64), np.empty(0, np.int32),
                                 np.empty(0, np.int32))

    def __len__(self) -> int:
        return int(self.key.size)

    def fits(self) -> bool:
        """Whether the arrays agree with each other (a damaged file's may not)."""
        return (self.key.size == self.size.size and int(self.size.sum()) == self.member.size
                and self.key.dtype == np.int64 and bool((self.size >= 2).all()))

    def owner(self) -> np.ndarray:
        """For each entry of ``member``, the position of its conversation."""
        return np.repeat(np.arange(self.key.size), self.size)

    def pick(self, chosen: np.ndarray) -> WeekConversations:
        """Only the conversations at positions ``chosen``, in that order."""
        starts = np.concatenate(([0], np.cumsum(self.size)[:-1])).astype(np.int64)
        sizes = self.size[chosen]
        offsets = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        entries = np.repeat(starts[chosen], sizes) + offsets
        return WeekConversations(self.key[chosen], sizes.astype(np.int32), self.member[entries])

    def without(self, person: int) -> WeekConversations:
        """The week with ``person`` taken out of every conversation; one left with fewer than
        two members goes, and two that become the same set become one."""
        present = self.member == person
        if not present.any():
            return self
        had = np.bincount(self.owner()[present], minlength=self.key.size).astype(bool)
        with np.errstate(over="ignore"):
            key = (self.key.view(np.uint64)
                   - had.astype(np.uint64) * member_hash(np.array([person]))[0]).view(np.int64)
        size = self.size - had.astype(np.int32)
        trimmed = WeekConversations(key, size, self.member[~present])
        return merge([trimmed.pick(np.flatnonzero(size >= 2))], distinct=False)


def from_items(item: np.ndarray, a: np.ndarray, b: np.ndarray) -> WeekConversations:
    """The distinct conversations of a week's counted interactions, given every pair of people
    each one gave weight to (``item[k]`` names the interaction pair ``a[k], b[k]`` came from).
    Every member of a counted interaction is an end of one of its pairs."""
    if item.size == 0:
        return WeekConversations.empty()
    code = np.concatenate([item, item]).astype(np.int64) << 32 | np.concatenate([a, b]).astype(np.int64)
    code = np.sort(code)
    code = code[starts_of_runs(code)]  # (interaction, member) once each, by interaction
    owner, person = code >> 32, (code & 0xFFFFFFFF).astype(np.int32)
    first = np.flatnonzero(starts_of_runs(owner))
    with np.errstate(over="ignore"):
        key = np.add.reduceat(member_hash(person), first).view(np.int64)
    size = np.diff(np.append(first, owner.size)).astype(np.int32)
    return merge([WeekConversations(key, size, person)], distinct=False)


def merge(parts: list[WeekConversations], *, distinct: bool = True) -> WeekConversations:
    """The parts' conversations as one week, each set once and in key order. ``distinct``:
    each part already holds every key once (only across parts may they repeat)."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return WeekConversations.empty()
    if len(parts) == 1 and distinct:
        return parts[0]
    whole = WeekConversations(np.concatenate([p.key for p in parts]),
                              np.concatenate([p.size for p in parts]),
                              np.concatenate([p.member for p in parts]))
    return whole.pick(first_occurrences(whole.key))
