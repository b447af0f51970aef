"""The contact ledger: weekly contact weight per pair of people, pseudonymised.

No raw event or message is kept. Each interaction becomes a few
(week, person, person, weight) contributions and is then forgotten, except
for a keyed digest of its id that stops it being counted twice when a source
delivers it again (resync, the same meeting seen in several calendars).

Counting rules: a meeting gives every pair of attendees its
duration in hours shared among the other attendees, so each person's total
is the meeting's length; a message gives sender and each recipient
``mail_weight`` shared among the recipients; broadcasts, cancelled events
and declined invitations give nothing. Meetings count once they have
happened: future ones wait in ``pending`` and a cancellation removes them.

On disk (``LedgerFiles``) each week is one ``.npz`` file of integer arrays —
compact, fast to load for analysis, and written atomically — beside a list
of pseudonyms that the integer ids refer to. TinyDB holds everything else,
but could not hold millions of pair-weeks within the time budget.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import logging
from array import array
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agent.arrays import contained_in, first_occurrences, union_sorted, unique_sorted
from agent.pseudonym import Pseudonymiser
from connectors.base import Interaction, InteractionKind
from connectors.common.fileio import write_private
from rules.model import Signals

log = logging.getLogger(__name__)

WEEK_EPOCH = dt.date(1970, 1, 5)  # a Monday
_EPOCH_SECONDS = 4 * 86_400  # 1970-01-05 00:00 UTC
_WEEK_SECONDS = 7 * 86_400
SCHEMA = 3  # 2: pending meetings as attendee ids; 3: weeks as a base plus segments
MAX_SEGMENTS = 8  # a week with this many segments is compacted into its base


def week_of(moment: dt.datetime) -> int:
    """Weeks run Monday to Sunday in UTC; the index counts from WEEK_EPOCH."""
    return (moment.astimezone(dt.UTC).date() - WEEK_EPOCH).days // 7


def week_start(week: int) -> dt.date:
    return WEEK_EPOCH + dt.timedelta(weeks=week)


def weigh(
    interaction: Interaction, members: Iterable[int], signals: Signals
) -> list[tuple[int, int, float]]:
    """Contact weights (a < b) a meeting gives, given its attendees' ids.

    ``members`` are the ids of the attendees who are people of the
    organisation. (Messages are weighed inline in ``LedgerFiles.add``: they
    are most of the volume, and the sender must be one of ours.)
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
class WeekContacts:
    """One week of pair weights; ``a < b`` index the ledger's people list."""

    a: np.ndarray
    b: np.ndarray
    weight: np.ndarray
    seen: np.ndarray  # sorted digests of the interactions counted in this week

    @staticmethod
    def empty() -> WeekContacts:
        return WeekContacts(
            np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0, np.float32),
            np.empty(0, np.int64),
        )


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
class _Batch:
    """Contributions gathered since the last commit, as flat typed arrays."""

    digest: array = field(default_factory=lambda: array("q"))
    week: array = field(default_factory=lambda: array("i"))
    row: array = field(default_factory=lambda: array("i"))  # which digest a pair belongs to
    a: array = field(default_factory=lambda: array("i"))
    b: array = field(default_factory=lambda: array("i"))
    weight: array = field(default_factory=lambda: array("f"))

    def __len__(self) -> int:
        return len(self.digest)

    def extend(self, other: _Batch) -> None:
        """Append another batch (from a worker), its pairs pointing at the right rows."""
        offset = len(self.digest)
        self.digest.extend(other.digest)
        self.week.extend(other.week)
        self.row.frombytes((np.frombuffer(other.row, np.int32) + offset).astype(np.int32).tobytes())
        self.a.extend(other.a)
        self.b.extend(other.b)
        self.weight.extend(other.weight)


class Batcher:
    """Turns interactions into contributions: the counting rules, with no files.

    ``LedgerFiles`` owns one; a sync worker process gets its own (same ids,
    same key) and hands its batches back to the ledger (``absorb``).
    ``pending`` is the table of future meetings, changed in place; the
    changes are also kept in ``pending_changes`` for a worker to report.
    """

    def __init__(self, ids_of: Mapping[str, int], digest_of: Callable[[str], int], signals: Signals,
                 pending: dict[str, list[Any]]) -> None:
        self.ids_of = ids_of
        self.digest_of = digest_of
        self.signals = signals
        self.pending = pending
        self.pending_changes: dict[str, list[Any] | None] = {}
        self.batch = _Batch()

    def take(self) -> _Batch:
        batch, self.batch = self.batch, _Batch()
        return batch

    def add(self, interactions: Iterable[Interaction], now: dt.datetime) -> AddStats:
        """Fold interactions into the batch (or the pending table, for future meetings).

        This loop runs once per message in the organisation's history, so it
        is written for speed: ids are looked up in one prepared dict, and the
        common case (a message between a few people) skips ``weigh``.
        """
        stats = AddStats()
        batch, signals = self.batch, self.signals
        ids_of, digest_of = self.ids_of, self.digest_of
        append_row, append_a, append_b = batch.row.append, batch.a.append, batch.b.append
        append_w, append_digest, append_week = batch.weight.append, batch.digest.append, batch.week.append
        email_kind = InteractionKind.EMAIL
        broadcast, mail_weight = signals.broadcast_size, signals.mail_weight
        now_ts = now.timestamp()
        read = counted = ignored = pending = 0
        row = len(batch.digest)
        for item in interactions:
            read += 1
            start_ts = item.start.timestamp()
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
                    append_week((int(start_ts) - _EPOCH_SECONDS) // _WEEK_SECONDS)
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
                size = len(members)
                pair_share = meeting_share(item, size, signals)
                if pair_share is None:
                    ignored += 1
                    continue
                # same rule as weigh(), in bulk: every pair of attendees, i < j
                if size == 2:  # a one-to-one: one pair
                    append_a(members[0])
                    append_b(members[1])
                    append_w(pair_share)
                    append_row(row)
                else:
                    first, second = _pair_index(size)
                    count = len(first)
                    batch.a.extend([members[i] for i in first])
                    batch.b.extend([members[j] for j in second])
                    batch.weight.extend([pair_share] * count)
                    batch.row.extend([row] * count)
                append_digest(digest)
            append_week((int(start_ts) - _EPOCH_SECONDS) // _WEEK_SECONDS)
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


class LedgerFiles:
    """The ledger on disk: ``people.json``, ``pending.json`` and ``week-NNNN.npz`` files."""

    def __init__(self, directory: Path, pseudonymiser: Pseudonymiser, signals: Signals) -> None:
        self.directory = directory
        self.signals = signals
        self._pseudo = pseudonymiser
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._check_meta()
        self.people: list[str] = self._load_json("people.json", [])
        self._index = {p: i for i, p in enumerate(self.people)}
        # future meetings: digest -> [start timestamp, weight per pair, [attendee ids]]
        self._pending: dict[str, list[Any]] = self._load_json("pending.json", {})
        self._pending_dirty = False
        self._people_saved = len(self.people)
        self._email_ids: dict[str, int] = {}
        self._seen_cache: dict[int, np.ndarray] = {}
        self._batcher = Batcher({}, pseudonymiser.interaction, signals, self._pending)

    # --- files -------------------------------------------------------------------
    def _load_json(self, name: str, default: Any) -> Any:
        path = self.directory / name
        if not path.exists():
            return default
        return json.loads(path.read_text())

    def _check_meta(self) -> None:
        path = self.directory / "meta.json"
        meta = {"schema": SCHEMA, "key": self._pseudo.fingerprint()}
        if path.exists():
            stored = json.loads(path.read_text())
            if stored.get("key") != meta["key"]:
                from connectors.common.errors import ConfigError

                raise ConfigError(
                    f"the ledger in {self.directory} was written with a different secret key; "
                    "restore the old key or move the ledger away to start afresh"
                )
            if stored.get("schema") != SCHEMA:
                from connectors.common.errors import ConfigError

                raise ConfigError(f"the ledger in {self.directory} has schema "
                                  f"{stored.get('schema')}, this version reads {SCHEMA}")
        else:
            write_private(path, json.dumps(meta).encode())

    # A week is a base file plus the segments later commits added, so a commit
    # writes only what is new instead of rewriting every week it touches. The
    # base records the last segment it took in (``upto``); older segments are
    # ignored (a crash during compaction leaves nothing counted twice).
    def _base_path(self, week: int) -> Path:
        return self.directory / f"week-{week:05d}.npz"

    def _segment_path(self, week: int, seq: int) -> Path:
        return self.directory / f"week-{week:05d}-{seq:05d}.npz"

    def weeks(self) -> list[int]:
        return sorted({int(p.stem.split("-")[1]) for p in self.directory.glob("week-*.npz")})

    def _parts(self, week: int) -> tuple[int, list[tuple[int, Path]]]:
        """The base's ``upto`` and the segments that come after it, in order."""
        upto = 0
        base = self._base_path(week)
        if base.exists():
            with np.load(base) as data:
                upto = int(data["upto"]) if "upto" in data else 0
        segments = sorted((int(p.stem.split("-")[2]), p)
                          for p in self.directory.glob(f"week-{week:05d}-*.npz"))
        return upto, [(seq, p) for seq, p in segments if seq > upto]

    def load_week(self, week: int) -> WeekContacts:
        """The week as one row per pair (base and segments merged)."""
        _, segments = self._parts(week)
        base = self._base_path(week)
        paths = ([base] if base.exists() else []) + [path for _, path in segments]
        pieces = [_read_npz(path) for path in paths]
        if not pieces:
            return WeekContacts.empty()
        if len(pieces) == 1:
            return pieces[0]
        merged = pieces[0]
        for piece in pieces[1:]:
            merged = _merged(merged, piece.a, piece.b, piece.weight, piece.seen)
        return merged

    def _seen(self, week: int) -> np.ndarray:
        """Digests counted in a week, kept in memory while this ledger is open."""
        found = self._seen_cache.get(week)
        if found is None:
            found = self.load_week(week).seen
            self._seen_cache[week] = found
        return found

    def _add_segment(self, week: int, contacts: WeekContacts) -> None:
        upto, segments = self._parts(week)
        seq = max([upto, *(s for s, _ in segments)]) + 1
        _write_npz(self._segment_path(week, seq), contacts)
        self._seen_cache[week] = union_sorted(self._seen(week), contacts.seen)
        if len(segments) + 1 >= MAX_SEGMENTS:
            self._compact(week, seq)

    def _compact(self, week: int, upto: int) -> None:
        merged = self.load_week(week)
        _write_npz(self._base_path(week), merged, upto=upto)
        for path in self.directory.glob(f"week-{week:05d}-*.npz"):
            if int(path.stem.split("-")[2]) <= upto:
                path.unlink()

    # --- adding ------------------------------------------------------------------
    def person_id(self, email: str) -> int:
        pseudonym = self._pseudo.person(email)
        index = self._index.get(pseudonym)
        if index is None:
            index = len(self.people)
            self.people.append(pseudonym)
            self._index[pseudonym] = index
        return index

    def id_of(self, email: str) -> int | None:
        """The ledger id of a person, if they have any contact recorded."""
        return self._index.get(self._pseudo.person(email))

    def add(
        self, interactions: Iterable[Interaction], members: Mapping[str, object], now: dt.datetime
    ) -> AddStats:
        """Buffer interactions between ``members`` (e-mail keyed); ``commit`` makes them durable."""
        self._batcher.ids_of = self.member_ids(members)
        self._batcher.signals = self.signals
        return self._batcher.add(interactions, now)

    @property
    def pseudonymiser(self) -> Pseudonymiser:
        return self._pseudo

    def worker_batcher(self, members: Mapping[str, object]) -> Batcher:
        """A Batcher for a sync worker: the same ids and key, its own copy of pending."""
        return Batcher(self.member_ids(members), self._pseudo.interaction, self.signals,
                       dict(self._pending))

    def absorb(self, batch: _Batch, pending_changes: Mapping[str, list[Any] | None]) -> None:
        """Take in what a sync worker gathered with this ledger's ids and key."""
        self._batcher.batch.extend(batch)
        for key, entry in pending_changes.items():
            if entry is None:
                self._pending.pop(key, None)
            else:
                self._pending[key] = entry
        self._pending_dirty = self._pending_dirty or bool(pending_changes)

    def member_ids(self, members: Mapping[str, object]) -> dict[str, int]:
        """Ledger ids of the organisation's people, pseudonymised once per cycle."""
        if self._email_ids.keys() != members.keys():
            self._email_ids = {email: self.person_id(email) for email in members}
        return self._email_ids

    def _release_due(self, now: dt.datetime) -> None:
        """Meetings whose time has come join the batch."""
        now_ts = now.timestamp()
        for key in [k for k, entry in self._pending.items() if entry[0] <= now_ts]:
            start, share, members = self._pending.pop(key)
            self._pending_dirty = True
            batch = self._batcher.batch
            row = len(batch.digest)
            batch.digest.append(int(key))
            batch.week.append((int(start) - _EPOCH_SECONDS) // _WEEK_SECONDS)
            first, second = _pair_index(len(members))
            batch.a.extend([members[i] for i in first])
            batch.b.extend([members[j] for j in second])
            batch.weight.extend([share] * len(first))
            batch.row.extend([row] * len(first))

    def buffered(self) -> int:
        """Contributions (person pairs) waiting for ``commit``: what its memory grows with."""
        return len(self._batcher.batch.a)

    def commit(self, now: dt.datetime) -> int:
        """Fold the buffer into the week files; returns how many interactions were new."""
        self._pending_dirty = self._pending_dirty or bool(self._batcher.pending_changes)
        self._batcher.pending_changes = {}
        self._release_due(now)
        batch = self._batcher.take()
        # People first: week files refer to them by position.
        if len(self.people) != self._people_saved or not (self.directory / "people.json").exists():
            write_private(self.directory / "people.json", json.dumps(self.people).encode())
            self._people_saved = len(self.people)
        new_total = 0
        if len(batch):
            new_total = self._fold(batch)
        if self._pending_dirty or not (self.directory / "pending.json").exists():
            write_private(self.directory / "pending.json", json.dumps(self._pending).encode())
            self._pending_dirty = False
        return new_total

    def _fold(self, batch: _Batch) -> int:
        digests = np.frombuffer(batch.digest, np.int64)
        weeks = np.frombuffer(batch.week, np.int32)
        rows = np.frombuffer(batch.row, np.int32)
        pair_a = np.frombuffer(batch.a, np.int32)
        pair_b = np.frombuffer(batch.b, np.int32)
        weights = np.frombuffer(batch.weight, np.float32)
        # Sort rows and pairs by week once, then walk the weeks in slices.
        row_order = np.argsort(weeks, kind="stable")
        sorted_weeks = weeks[row_order]
        pair_week = weeks[rows]
        pair_order = np.argsort(pair_week, kind="stable")
        sorted_pair_weeks = pair_week[pair_order]
        keep = np.zeros(digests.size, bool)
        new_total = 0
        empty = WeekContacts.empty()
        for week in unique_sorted(sorted_weeks):
            lo, hi = np.searchsorted(sorted_weeks, [week, week + 1])
            week_rows = row_order[lo:hi]
            fresh = week_rows[first_occurrences(digests[week_rows])]
            fresh = fresh[~contained_in(digests[fresh], self._seen(int(week)))]
            if fresh.size == 0:
                continue
            keep[fresh] = True
            plo, phi = np.searchsorted(sorted_pair_weeks, [week, week + 1])
            pairs = pair_order[plo:phi]
            pairs = pairs[keep[rows[pairs]]]
            self._add_segment(int(week), _merged(empty, pair_a[pairs], pair_b[pairs],
                                                 weights[pairs], digests[fresh]))
            new_total += int(fresh.size)
        return new_total

    def prune(self, keep_from_week: int) -> int:
        """Forget weeks older than the retention period."""
        dropped = 0
        for week in self.weeks():
            if week < keep_from_week:
                for path in self.directory.glob(f"week-{week:05d}*.npz"):
                    path.unlink()
                self._seen_cache.pop(week, None)
                dropped += 1
        return dropped


def _read_npz(path: Path) -> WeekContacts:
    with np.load(path) as data:
        return WeekContacts(data["a"], data["b"], data["weight"], data["seen"])


def _write_npz(path: Path, contacts: WeekContacts, upto: int | None = None) -> None:
    buffer = io.BytesIO()
    arrays: dict[str, np.ndarray] = {"a": contacts.a, "b": contacts.b, "weight": contacts.weight,
                                     "seen": contacts.seen}
    if upto is not None:
        arrays["upto"] = np.array(upto)
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    write_private(path, buffer.getvalue())


def _merged(existing: WeekContacts, a: np.ndarray, b: np.ndarray, w: np.ndarray,
            digests: np.ndarray) -> WeekContacts:
    """Existing week plus new contributions, one row per pair."""
    a = np.concatenate([existing.a, a])
    b = np.concatenate([existing.b, b])
    w = np.concatenate([existing.weight, w])
    key = a.astype(np.int64) << 32 | b.astype(np.int64)
    unique_keys, inverse = np.unique(key, return_inverse=True)
    return WeekContacts(
        (unique_keys >> 32).astype(np.int32),
        (unique_keys & 0xFFFFFFFF).astype(np.int32),
        np.bincount(inverse, weights=w).astype(np.float32),
        union_sorted(existing.seen, digests),
    )


@dataclass
class ContactTable:
    """Pair weights over a range of weeks, as flat arrays (the analysis input)."""

    first_week: int
    last_week: int  # inclusive
    week: np.ndarray  # offset from first_week
    a: np.ndarray
    b: np.ndarray
    weight: np.ndarray

    @property
    def n_weeks(self) -> int:
        return self.last_week - self.first_week + 1


def read_table(ledger: LedgerFiles, first_week: int, last_week: int) -> ContactTable:
    parts: list[WeekContacts] = []
    offsets: list[np.ndarray] = []
    for week in range(first_week, last_week + 1):
        contacts = ledger.load_week(week)
        parts.append(contacts)
        offsets.append(np.full(contacts.a.size, week - first_week, np.int32))
    if not parts:
        empty = np.empty(0, np.int32)
        return ContactTable(first_week, last_week, empty, empty, empty, np.empty(0, np.float32))
    return ContactTable(
        first_week,
        last_week,
        np.concatenate(offsets),
        np.concatenate([p.a for p in parts]),
        np.concatenate([p.b for p in parts]),
        np.concatenate([p.weight for p in parts]),
    )
