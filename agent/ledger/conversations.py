"""Conversations: the distinct sets of people a week's counted interactions brought together.

A mail thread going back and forth between the same people, or a meeting
series with the same attendees, is one conversation in a week however many
messages or occurrences it has. The drift detector counts the conversations
that cross a seam (``agent.drift``): a burst of mail on one thread is one
conversation there, not dozens of messages.

The data-directory format and most sources give no thread id, so a
conversation is its set of people. Most are two people (a message to one
recipient, a one-to-one meeting), and those are a flag on the week's row for
the pair (``WeekContacts.alone``): four in five conversations cost a bit on disk.
The rest, groups of three or more, are kept as ``Groups``. On disk a week's
conversations are one int32 array (``pack``): the row count, the flags one bit
a row, then the groups' members, the first of each as ``~id`` to mark where a
group begins (every array of an ``.npz`` costs a header to read, and the
analysis reads a few hundred files). A group is named
by its key, the sum of a mixed 64-bit hash of each member id (wrapping), so
taking a member out (``forget``) is a subtraction and two sets that become
equal get equal keys. The ledger adds a group to a week only when the week
does not hold its key yet, so a week's segments never repeat a group and
reading a week joins them as they are. Members are the ledger's integer ids,
already pseudonyms' positions.

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
class Groups:
    """Conversations of three people or more: ``size`` (each one's members) and ``member``
    (the members one conversation after another, each conversation's ids ascending)."""

    size: np.ndarray  # int32
    member: np.ndarray  # int32

    @staticmethod
    def empty() -> Groups:
        return Groups(np.empty(0, np.int32), np.empty(0, np.int32))

    def __len__(self) -> int:
        return int(self.size.size)

    def keys(self) -> np.ndarray:
        """Each group's key (int64), in the groups' order."""
        if not len(self):
            return np.empty(0, np.int64)
        starts = np.cumsum(self.size, dtype=np.int64) - self.size
        with np.errstate(over="ignore"):
            keys: np.ndarray = np.add.reduceat(member_hash(self.member), starts).view(np.int64)
        return keys

    def owner(self) -> np.ndarray:
        """For each entry of ``member``, the position of its conversation."""
        return np.repeat(np.arange(self.size.size), self.size)

    def pick(self, chosen: np.ndarray) -> Groups:
        """Only the conversations at positions ``chosen``, in that order."""
        return Groups(self.size[chosen], self.member[entries_of(self.size, chosen)])

    def without(self, person: int) -> tuple[Groups, np.ndarray]:
        """The groups with ``person`` taken out of each, and the pairs (``a << 32 | b``,
        ``a < b``) of those left with two people: they are two people's conversation now.
        Two groups that become the same set become one."""
        present = self.member == person
        if not present.any():
            return self, np.empty(0, np.int64)
        had = np.bincount(self.owner()[present], minlength=len(self)).astype(bool)
        trimmed = Groups((self.size - had).astype(np.int32), self.member[~present])
        pairs = trimmed.pick(np.flatnonzero(trimmed.size == 2)).member.astype(np.int64)
        return distinct(trimmed.pick(np.flatnonzero(trimmed.size >= 3))), \
            pairs[0::2] << 32 | pairs[1::2]


def pack(alone: np.ndarray, groups: Groups) -> np.ndarray:
    """A week's conversations as one int32 array (the module's docstring says how)."""
    bits = np.packbits(alone, bitorder="little")
    words = np.zeros(-(-bits.size // 4) * 4, np.uint8)
    words[:bits.size] = bits
    members = groups.member.copy()
    starts = np.cumsum(groups.size, dtype=np.int64) - groups.size
    members[starts] = ~members[starts]
    return np.concatenate([np.array([alone.size], np.int32), words.view(np.int32), members])


def unpack(packed: np.ndarray, rows: int) -> tuple[np.ndarray, Groups] | None:
    """What ``pack`` stored for a week of ``rows`` pair rows (None: it does not fit that,
    a damaged file's)."""
    if packed.dtype != np.int32 or packed.ndim != 1 or packed.size < 1 or packed[0] != rows:
        return None
    n_words = -(-rows // 32)
    if packed.size < 1 + n_words:
        return None
    alone = np.unpackbits(packed[1:1 + n_words].view(np.uint8), count=rows,
                          bitorder="little").astype(bool)
    members = packed[1 + n_words:]
    if members.size and members[0] >= 0:
        return None
    starts = np.flatnonzero(members < 0)
    size = np.diff(np.append(starts, members.size))
    if (size < 3).any():
        return None
    members = members.copy()
    members[starts] = ~members[starts]
    return alone, Groups(size.astype(np.int32), members)


def entries_of(size: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """Where the members of the groups at positions ``chosen`` are, in a list of groups of these
    sizes laid one after another: the groups' entries in the order ``chosen`` names them."""
    sizes = size[chosen].astype(np.int64)
    starts = (np.cumsum(size, dtype=np.int64) - size)[chosen]
    within = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    result: np.ndarray = np.repeat(starts, sizes) + within
    return result


def alone(item: np.ndarray, n_items: int) -> np.ndarray:
    """For each pair of people an interaction gave weight to (``item[k]`` names the
    interaction), whether it was that interaction's only pair: it brought two people together.
    (A message to k recipients gives k pairs, a meeting of m people m(m-1)/2, so one pair
    means two people.)"""
    result: np.ndarray = np.bincount(item, minlength=n_items)[item] == 1
    return result


def groups_of(item: np.ndarray, a: np.ndarray, b: np.ndarray) -> Groups:
    """The distinct groups of three people or more among a week's counted interactions, given
    every pair of people each one gave weight to (``item[k]`` names the interaction pair
    ``a[k], b[k]`` came from; every member of an interaction is an end of one of its pairs)."""
    many = np.flatnonzero(~alone(item, int(item.max()) + 1 if item.size else 0))
    if many.size == 0:
        return Groups.empty()
    code = (np.concatenate([item[many], item[many]]).astype(np.int64) << 32
            | np.concatenate([a[many], b[many]]).astype(np.int64))
    code = np.sort(code)
    code = code[starts_of_runs(code)]  # (interaction, member) once each, by interaction
    owner, person = code >> 32, (code & 0xFFFFFFFF).astype(np.int32)
    size = np.diff(np.append(np.flatnonzero(starts_of_runs(owner)), owner.size))
    return distinct(Groups(size.astype(np.int32), person))


def distinct(groups: Groups) -> Groups:
    """Each set of people once (the first of each, in key order)."""
    return groups.pick(first_occurrences(groups.keys())) if len(groups) else groups


def joined(parts: list[Groups]) -> Groups:
    """Groups one after another, as they are (a week's segments hold distinct groups)."""
    parts = [p for p in parts if len(p)]
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return Groups.empty()
    return Groups(np.concatenate([p.size for p in parts]), np.concatenate([p.member for p in parts]))
