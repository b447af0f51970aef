"""The counting rules: how an interaction becomes contact weight between people.

A meeting gives every pair of attendees its duration in hours shared among
the other attendees, so each person's total is the meeting's length; a
message gives sender and each recipient ``mail_weight`` shared among the
recipients; broadcasts, cancelled events and declined invitations give
nothing. Meetings count once they have happened: future ones wait in the
pending table and a cancellation removes them.

Nothing here touches a file: ``Batcher`` gathers contributions in a
``Batch`` that the ledger's storage folds into its week files.
"""

from __future__ import annotations

import datetime as dt
import functools
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agent.ledger.weeks import EPOCH_SECONDS, WEEK_SECONDS, week_of_timestamp
from connectors.base import Interaction, InteractionKind
from rules.model import Signals


def weigh(
    interaction: Interaction, members: Iterable[int], signals: Signals
) -> list[tuple[int, int, float]]:
    """Contact weights (a < b) a meeting gives, given its attendees' ids.

    ``members`` are the ids of the attendees who are people of the
    organisation. (``Batcher.add`` applies the same rule in bulk.)
    """
    ids = list(dict.fromkeys(members))
    share = meeting_share(interaction, len(ids), signals)
    if share is None:
        return []
    return [(min(a, b), max(a, b), share) for i, a in enumerate(ids) for b in ids[i + 1 :]]


def meeting_share(interaction: Interaction, attendees: int, signals: Signals) -> float | None:
    """The weight each pair of a meeting's ``attendees`` (ours, distinct) gets, or None
    when the meeting counts for nothing (cancelled, a broadcast, alone, no length)."""
    if interaction.cancelled or interaction.size > signals.broadcast_size or attendees < 2:
        return None
    hours = interaction.duration.total_seconds() / 3600
    return hours / (attendees - 1) if hours > 0 else None


@functools.lru_cache(maxsize=64)
def _pair_index(size: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Positions (i, j), i < j, of every pair among ``size`` sorted attendees."""
    pairs = [(i, j) for i in range(size) for j in range(i + 1, size)]
    return tuple(i for i, _ in pairs), tuple(j for _, j in pairs)


@dataclass
class AddStats:
    read: int = 0
    counted: int = 0
    duplicates: int = 0
    ignored: int = 0  # broadcasts, cancelled, external-only, single person
    pending: int = 0  # future meetings waiting to happen

    def merge(self, other: AddStats) -> None:
        for name in ("read", "counted", "duplicates", "ignored", "pending"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Batch:
    """Contributions gathered since the last commit, as flat typed arrays.

    One row per counted interaction (its digest, week, and whether it is mail);
    one entry per pair of people it gives weight to, pointing at its row.
    """

    digest: array = field(default_factory=lambda: array("q"))
    week: array = field(default_factory=lambda: array("i"))
    is_mail: array = field(default_factory=lambda: array("b"))  # 1: a message, 0: a meeting
    row: array = field(default_factory=lambda: array("i"))  # which digest a pair belongs to
    a: array = field(default_factory=lambda: array("i"))
    b: array = field(default_factory=lambda: array("i"))
    weight: array = field(default_factory=lambda: array("f"))

    def __len__(self) -> int:
        return len(self.digest)

    def extend(self, other: Batch) -> None:
        """Append another batch (from a worker), its pairs pointing at the right rows."""
        offset = len(self.digest)
        self.digest.extend(other.digest)
        self.week.extend(other.week)
        self.is_mail.extend(other.is_mail)
        self.row.frombytes((np.frombuffer(other.row, np.int32) + offset).astype(np.int32).tobytes())
        self.a.extend(other.a)
        self.b.extend(other.b)
        self.weight.extend(other.weight)

    def add_meeting(self, digest: int, week: int, members: Sequence[int], share: float) -> None:
        """A meeting that happened: every pair of its ``members`` (ascending, distinct,
        at least two) gets ``share``. Used for meetings as they are read and for
        future ones whose time has come."""
        row = len(self.digest)
        self.digest.append(digest)
        self.week.append(week)
        self.is_mail.append(0)
        if len(members) == 2:  # a one-to-one: one pair
            self.a.append(members[0])
            self.b.append(members[1])
            self.weight.append(share)
            self.row.append(row)
            return
        first, second = _pair_index(len(members))
        self.a.extend([members[i] for i in first])
        self.b.extend([members[j] for j in second])
        self.weight.extend([share] * len(first))
        self.row.extend([row] * len(first))


#: A future meeting waiting to happen: [start timestamp, share per pair, attendee ids].
PendingEntry = list[Any]


class Batcher:
    """Turns interactions into contributions: the counting rules, with no files.

    The ledger owns one; a sync worker process gets its own (same ids,
    same key) and hands its batches back to the ledger (``absorb``).
    ``pending`` is the table of future meetings, changed in place; the
    changes are also kept in ``pending_changes`` for a worker to report.
    """

    def __init__(self, ids_of: Mapping[str, int], digest_of: Callable[[str], int], signals: Signals,
                 pending: dict[str, PendingEntry]) -> None:
        self.ids_of = ids_of
        self.digest_of = digest_of
        self.signals = signals
        self.pending = pending
        self.pending_changes: dict[str, PendingEntry | None] = {}
        self.batch = Batch()

    def take(self) -> Batch:
        batch, self.batch = self.batch, Batch()
        return batch

    def add(self, interactions: Iterable[Interaction], now: dt.datetime) -> AddStats:
        """Fold interactions into the batch (or the pending table, for future meetings).

        This loop runs once per message in the organisation's history, so it
        is written for speed: ids are looked up in one prepared dict, and the
        common case (a message between a few people) is appended inline.
        """
        stats = AddStats()
        batch, signals = self.batch, self.signals
        ids_of, digest_of = self.ids_of, self.digest_of
        append_row, append_a, append_b = batch.row.append, batch.a.append, batch.b.append
        append_w, append_digest, append_week = batch.weight.append, batch.digest.append, batch.week.append
        append_mail = batch.is_mail.append
        add_meeting = batch.add_meeting
        email_kind = InteractionKind.EMAIL
        broadcast, mail_weight = signals.broadcast_size, signals.mail_weight
        now_ts = now.timestamp()
        read = counted = ignored = pending = 0
        row = len(batch.digest)
        for item in interactions:
            read += 1
            start_ts = item.start.timestamp()
            # week_of_timestamp, inlined: a call per message is measurable here
            week = (int(start_ts) - EPOCH_SECONDS) // WEEK_SECONDS
            if item.kind is email_kind:
                # sender to each recipient; a message from outside gives nothing
                parts = item.participants
                sender = ids_of.get(parts[0])
                if sender is None or item.size > broadcast or item.cancelled:
                    ignored += 1
                    continue
                share = mail_weight / (item.size or 1)
                if len(parts) == 2:  # one recipient: most mail
                    r = ids_of.get(parts[1])
                    if r is None or r == sender:
                        ignored += 1
                        continue
                    append_row(row)
                    append_a(sender if sender < r else r)
                    append_b(r if sender < r else sender)
                    append_w(share)
                    append_digest(digest_of("email:" + item.id))
                    append_week(week)
                    append_mail(1)
                    row += 1
                    counted += 1
                    continue
                first_pair = len(batch.a)
                for recipient in dict.fromkeys(parts[1:]):
                    r = ids_of.get(recipient)
                    if r is None or r == sender:
                        continue
                    append_row(row)
                    if sender < r:
                        append_a(sender)
                        append_b(r)
                    else:
                        append_a(r)
                        append_b(sender)
                    append_w(share)
                if len(batch.a) == first_pair:
                    ignored += 1
                    continue
                append_digest(digest_of("email:" + item.id))
                append_week(week)
                append_mail(1)
            else:
                ids = [ids_of[p] for p in item.participants if p in ids_of]
                digest = digest_of("meeting:" + item.id)
                if item.cancelled:  # whenever it was to be: a future one waiting is dropped
                    if str(digest) in self.pending:
                        self._defer(str(digest), item, ids)
                    ignored += 1
                    continue
                if start_ts > now_ts:
                    self._defer(str(digest), item, ids)
                    pending += 1
                    continue
                members = sorted(set(ids))
                pair_share = meeting_share(item, len(members), signals)
                if pair_share is None:
                    ignored += 1
                    continue
                add_meeting(digest, week, members, pair_share)
            row += 1
            counted += 1
        stats.read, stats.counted, stats.ignored, stats.pending = read, counted, ignored, pending
        return stats

    def _defer(self, key: str, item: Interaction, ids: list[int]) -> None:
        """Keep a future meeting as [start, share per pair, attendee ids] until it happens.

        (Ids, not pairs: a recurring team meeting repeats for weeks ahead, and its
        pairs grow with the square of its size.)
        """
        members = sorted(set(ids))
        share = meeting_share(item, len(members), self.signals)
        entry = [item.start.timestamp(), share, members] if share is not None else None
        if entry is None:
            self.pending.pop(key, None)
        else:
            self.pending[key] = entry
        self.pending_changes[key] = entry

    def release_due(self, now: dt.datetime) -> bool:
        """Future meetings whose time has come join the batch; whether any did."""
        now_ts = now.timestamp()
        due = [k for k, entry in self.pending.items() if entry[0] <= now_ts]
        for key in due:
            start, share, members = self.pending.pop(key)
            self.batch.add_meeting(int(key), week_of_timestamp(start), members, share)
        return bool(due)
