"""The ledger on disk: one set of ``.npz`` files per week, beside a list of pseudonyms.

Each week is a base file plus the segments later commits added, as integer
arrays (pair of people, weight, digests of the interactions counted) —
compact, fast to load for analysis, and written atomically. The integer ids
index ``people.json``, a list of pseudonyms; future meetings wait in
``pending.json``. TinyDB holds everything else, but could not hold millions
of pair-weeks within the time budget.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agent.arrays import contained_in, first_occurrences, starts_of_runs, union_sorted, unique_sorted
from agent.ledger import conversations
from agent.ledger.conversations import Groups
from agent.ledger.counting import AddStats, Batch, Batcher, PendingEntry
from agent.ledger.weeks import week_of_timestamp
from agent.pseudonym import Pseudonymiser
from agent.store import StateDamaged
from connectors.base import Interaction
from connectors.common.errors import ConfigError
from connectors.common.fileio import write_private
from rules.model import Signals

log = logging.getLogger(__name__)

# 2: pending meetings as attendee ids; 3: weeks as a base plus segments; 4: each pair-week's
# mail weight beside its weight (a schema-3 ledger is read as it is: its weeks' mail is unknown);
# 5: each week's conversations (older weeks are read as they are: their conversations are unknown)
SCHEMA = 5
READABLE = (3, 4, 5)
MAX_SEGMENTS = 8  # a week with this many segments is compacted into its base
#: What stands in people.json where a forgotten person's pseudonym was (never a pseudonym).
FORGOTTEN = "-"


@dataclass
class WeekContacts:
    """One week of pair weights; ``a < b`` index the ledger's people list. ``mail`` is the
    part of each pair's weight that came from messages, None for a week written before the
    ledger kept it (schema 3): unknown, not zero. The week's conversations
    (``agent.ledger.conversations``) are ``alone``, whether the two people of a row had one of
    just the two of them, and ``groups``, those of three or more; both None for a week with a
    part written before schema 5."""

    a: np.ndarray
    b: np.ndarray
    weight: np.ndarray
    seen: np.ndarray  # sorted digests of the interactions counted in this week
    mail: np.ndarray | None
    alone: np.ndarray | None = None  # bool, a row each
    groups: Groups | None = None

    @staticmethod
    def empty() -> WeekContacts:
        return WeekContacts(
            np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0, np.float32),
            np.empty(0, np.int64), np.empty(0, np.float32), np.empty(0, bool), Groups.empty(),
        )

    def without(self, person: int) -> WeekContacts:
        """The week with every trace of ``person`` gone: their pair rows, and them from every
        conversation (every digest stays counted)."""
        keep = (self.a != person) & (self.b != person)
        a, b = self.a[keep], self.b[keep]
        mail = None if self.mail is None else self.mail[keep]
        if self.alone is None or self.groups is None:
            return WeekContacts(a, b, self.weight[keep], self.seen, mail)
        groups, now_two = self.groups.without(person)
        # a group left with two people is their conversation now, if they had contact in it
        # (a message's recipients had none with each other: theirs goes)
        alone = self.alone[keep] | contained_in(a.astype(np.int64) << 32 | b.astype(np.int64),
                                                unique_sorted(now_two))
        return WeekContacts(a, b, self.weight[keep], self.seen, mail, alone, groups)


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
        self._pending: dict[str, PendingEntry] = self._load_json("pending.json", {})
        self._pending_dirty = False
        self._people_saved = len(self.people)
        self._email_ids: dict[str, int] = {}
        self._counted_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._batcher = Batcher({}, pseudonymiser.interaction, signals, self._pending)

    # --- files -------------------------------------------------------------------
    def _load_json(self, name: str, default: Any) -> Any:
        path = self.directory / name
        if not path.exists():
            return default
        try:
            value = json.loads(path.read_bytes())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _damaged(path, exc) from None
        if not isinstance(value, type(default)):
            raise _damaged(path, TypeError(f"holds a {type(value).__name__}"))
        return value

    def _check_meta(self) -> None:
        path = self.directory / "meta.json"
        meta = {"schema": SCHEMA, "key": self._pseudo.fingerprint()}
        if path.exists():
            stored = self._load_json("meta.json", {})
            if stored.get("key") != meta["key"]:
                raise ConfigError(
                    f"the ledger in {self.directory} was written with a different secret key; "
                    "restore the old key or move the ledger away to start afresh"
                )
            if stored.get("schema") not in READABLE:
                raise ConfigError(f"the ledger in {self.directory} has schema "
                                  f"{stored.get('schema')}, this version reads schemas "
                                  f"{READABLE[0]} to {READABLE[-1]}")
            if stored.get("schema") != SCHEMA:
                # weeks already written stay as they are; new ones carry what this schema adds
                log.info("ledger %s upgraded from schema %s to %s", self.directory,
                         stored.get("schema"), SCHEMA)
                write_private(path, json.dumps(meta).encode())
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

    def pending_weeks(self) -> list[int]:
        """The weeks of the meetings still to happen (after the last sync's cut-off)."""
        return sorted({week_of_timestamp(entry[0]) for entry in self._pending.values()})

    def _parts(self, week: int) -> tuple[int, list[tuple[int, Path]]]:
        """The base's ``upto`` and the segments that come after it, in order."""
        upto = 0
        base = self._base_path(week)
        if base.exists():
            try:
                with np.load(base) as data:
                    upto = int(data["upto"]) if "upto" in data else 0
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
                raise _damaged(base, exc) from None
        segments = sorted((int(p.stem.split("-")[2]), p)
                          for p in self.directory.glob(f"week-{week:05d}-*.npz"))
        return upto, [(seq, p) for seq, p in segments if seq > upto]

    def load_week(self, week: int, *, digests: bool = True) -> WeekContacts:
        """The week as one row per pair (base and segments merged). Without ``digests`` its
        ``seen`` is left empty: the analysis reads only the pairs, and the digests are the
        larger part of a week on disk.

        :raises StateDamaged: a file of the week cannot be read or its arrays do not fit.
        """
        _, segments = self._parts(week)
        base = self._base_path(week)
        paths = ([base] if base.exists() else []) + [path for _, path in segments]
        pieces = [_read_npz(path, digests=digests) for path in paths]
        if not pieces:
            return WeekContacts.empty()
        if len(pieces) == 1:
            return pieces[0]
        a, b, weight, seen = (np.concatenate([getattr(p, name) for p in pieces[1:]])
                              for name in ("a", "b", "weight", "seen"))
        mail = (None if any(p.mail is None for p in pieces[1:])
                else np.concatenate([p.mail for p in pieces[1:] if p.mail is not None]))
        later = pieces[1:]
        known = all(p.alone is not None and p.groups is not None for p in later)
        alone = np.concatenate([p.alone for p in later if p.alone is not None]) if known else None
        groups = conversations.joined([p.groups for p in later if p.groups is not None])
        return _merged(pieces[0], a, b, weight, mail, seen, alone, groups if known else None,
                       sorted_runs=True)

    def _counted(self, week: int) -> tuple[np.ndarray, np.ndarray]:
        """The digests of the interactions counted in a week and the keys of its groups (both
        sorted), kept in memory while this ledger is open."""
        found = self._counted_cache.get(week)
        if found is None:
            contacts = self.load_week(week)
            groups = contacts.groups or Groups.empty()
            found = contacts.seen, unique_sorted(groups.keys())
            self._counted_cache[week] = found
        return found

    def _add_segment(self, week: int, contacts: WeekContacts) -> None:
        upto, segments = self._parts(week)
        seq = max([upto, *(s for s, _ in segments)]) + 1
        _write_npz(self._segment_path(week, seq), contacts)
        seen, keys = self._counted(week)
        added = contacts.groups.keys() if contacts.groups is not None else np.empty(0, np.int64)
        self._counted_cache[week] = union_sorted(seen, contacts.seen), union_sorted(keys, added)
        if len(segments) + 1 >= MAX_SEGMENTS:
            self._compact(week, seq)

    def compact_finished(self, before_week: int) -> int:
        """Fold every week before ``before_week`` that is in several files into its base; how
        many were. An analysis reads each of its weeks whole, base and segments merged, so a
        finished week is cheaper read once folded (a week keeps taking segments while it is
        current, and compacts itself at ``MAX_SEGMENTS``)."""
        folded = 0
        # only a week with a segment file can be in several (a base alone is named week-NNNNN)
        segmented = {int(p.stem.split("-")[1]) for p in self.directory.glob("week-*-*.npz")}
        for week in sorted(w for w in segmented if w < before_week):
            _, segments = self._parts(week)
            if len(segments) + self._base_path(week).exists() > 1:
                self._compact(week, segments[-1][0])
                folded += 1
        return folded

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

    def absorb(self, batch: Batch, pending_changes: Mapping[str, PendingEntry | None]) -> None:
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

    def buffered(self) -> int:
        """Contributions (person pairs) waiting for ``commit``: what its memory grows with."""
        return len(self._batcher.batch.a)

    def commit(self, now: dt.datetime) -> int:
        """Fold the buffer into the week files; returns how many interactions were new."""
        self._pending_dirty = self._pending_dirty or bool(self._batcher.pending_changes)
        self._batcher.pending_changes = {}
        if self._batcher.release_due(now):
            self._pending_dirty = True
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

    def _fold(self, batch: Batch) -> int:
        digests = np.frombuffer(batch.digest, np.int64)
        weeks = np.frombuffer(batch.week, np.int32)
        rows = np.frombuffer(batch.row, np.int32)
        pair_a = np.frombuffer(batch.a, np.int32)
        pair_b = np.frombuffer(batch.b, np.int32)
        weights = np.frombuffer(batch.weight, np.float32)
        mail = weights * np.frombuffer(batch.is_mail, np.int8)[rows]
        alone = conversations.alone(rows, digests.size)
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
            seen, known_groups = self._counted(int(week))
            fresh = fresh[~contained_in(digests[fresh], seen)]
            if fresh.size == 0:
                continue
            keep[fresh] = True
            plo, phi = np.searchsorted(sorted_pair_weeks, [week, week + 1])
            pairs = pair_order[plo:phi]
            pairs = pairs[keep[rows[pairs]]]
            groups = conversations.groups_of(rows[pairs], pair_a[pairs], pair_b[pairs])
            # a group the week holds already stays in its segment: segments never repeat one
            groups = groups.pick(np.flatnonzero(~contained_in(groups.keys(), known_groups)))
            self._add_segment(int(week), _merged(
                empty, pair_a[pairs], pair_b[pairs], weights[pairs], mail[pairs], digests[fresh],
                alone[pairs], groups))
            new_total += int(fresh.size)
        return new_total

    def future_attendees(self) -> list[list[int]]:
        """The ledger ids of each future meeting's attendees (counted once it happens)."""
        return [list(entry[2]) for entry in self._pending.values()]

    def forget(self, pseudonym: str) -> int:
        """Remove one person's contact from every week and every future meeting.

        Their place in ``people.json`` keeps its position (week files refer to
        people by position) but no longer holds their pseudonym. Each week they
        appear in is rewritten whole as its base, so no segment still names them.
        Returns how many pair rows were removed.
        """
        index = self._index.pop(pseudonym, None)
        if index is None:
            return 0
        removed = 0
        for week in self.weeks():
            contacts = self.load_week(week)
            upto, segments = self._parts(week)
            # every conversation they were in gave them a pair row, so the rows say it all
            trimmed = contacts.without(index)
            if trimmed.a.size < contacts.a.size:
                removed += contacts.a.size - trimmed.a.size
                upto = max([upto, *(seq for seq, _ in segments)])
                _write_npz(self._base_path(week), trimmed, upto=upto)
                self._counted_cache.pop(week, None)
            # segments the base took in, also those an interrupted earlier forget left
            for path in self.directory.glob(f"week-{week:05d}-*.npz"):
                if int(path.stem.split("-")[2]) <= upto:
                    path.unlink()
        for key, entry in list(self._pending.items()):
            if index in entry[2]:
                members = [m for m in entry[2] if m != index]
                if len(members) < 2:
                    del self._pending[key]
                else:
                    entry[2] = members
        self.people[index] = FORGOTTEN
        write_private(self.directory / "people.json", json.dumps(self.people).encode())
        write_private(self.directory / "pending.json", json.dumps(self._pending).encode())
        self._email_ids = {}
        return removed

    def prune(self, keep_from_week: int) -> int:
        """Forget weeks older than the retention period."""
        dropped = 0
        for week in self.weeks():
            if week < keep_from_week:
                for path in self.directory.glob(f"week-{week:05d}*.npz"):
                    path.unlink()
                self._counted_cache.pop(week, None)
                dropped += 1
        return dropped


def _damaged(path: Path, exc: BaseException) -> StateDamaged:
    return StateDamaged(path, f"is damaged ({type(exc).__name__}: {exc})",
                        "`bridgework doctor --repair --config FILE` moves the ledger aside and the "
                        "next sync rebuilds it from the sources (nothing is counted twice).")


def _read_npz(path: Path, *, digests: bool = True) -> WeekContacts:
    try:
        with np.load(path) as data:  # each array is read only when asked for
            seen = data["seen"] if digests else np.empty(0, np.int64)
            a = data["a"]
            # None: damaged; a week written before schema 5 has no conversations (unknown)
            talks = (conversations.unpack(data["conversations"], a.size)
                     if "conversations" in data else (None, None))
            week = WeekContacts(a, data["b"], data["weight"], seen, data.get("mail"),
                                *(talks or (None, None)))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise _damaged(path, exc) from None
    sizes = {week.a.size, week.b.size, week.weight.size,
             *(() if week.mail is None else (week.mail.size,))}
    if len(sizes) != 1 or week.a.dtype != np.int32 or week.seen.dtype != np.int64 or talks is None:
        raise _damaged(path, ValueError("its arrays do not fit together"))
    return week


def _write_npz(path: Path, contacts: WeekContacts, upto: int | None = None) -> None:
    buffer = io.BytesIO()
    arrays: dict[str, np.ndarray] = {"a": contacts.a, "b": contacts.b, "weight": contacts.weight,
                                     "seen": contacts.seen}
    if contacts.mail is not None:
        arrays["mail"] = contacts.mail
    if contacts.alone is not None and contacts.groups is not None:
        arrays["conversations"] = conversations.pack(contacts.alone, contacts.groups)
    if upto is not None:
        arrays["upto"] = np.array(upto)
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    write_private(path, buffer.getvalue())


def _merged(existing: WeekContacts, a: np.ndarray, b: np.ndarray, w: np.ndarray,
            mail: np.ndarray | None, digests: np.ndarray, alone: np.ndarray | None,
            groups: Groups | None, *, sorted_runs: bool = False) -> WeekContacts:
    """Existing week plus new contributions, one row per pair. ``sorted_runs``: the parts are
    stored weeks one after another (each one's pairs and digests ascending), joined run by run.
    The mail weight and the conversations stay unknown (None) if either side's are; ``alone``
    and ``groups`` are the new contributions' (``alone`` a pair each)."""
    a = np.concatenate([existing.a, a])
    b = np.concatenate([existing.b, b])
    key = a.astype(np.int64) << 32 | b.astype(np.int64)
    order = np.argsort(key, kind="stable" if sorted_runs else "quicksort")
    ordered = key[order]
    first = starts_of_runs(ordered)
    unique_keys = ordered[first]
    group = np.cumsum(first) - 1

    def summed(existing_part: np.ndarray, new: np.ndarray) -> np.ndarray:
        values = np.concatenate([existing_part, new])[order]
        return np.bincount(group, weights=values, minlength=unique_keys.size).astype(np.float32)

    old_mail = existing.mail
    talks: tuple[np.ndarray | None, Groups | None] = (None, None)
    if (alone is not None and groups is not None and existing.alone is not None
            and existing.groups is not None):
        flags = np.concatenate([existing.alone, alone])[order]
        talks = (np.logical_or.reduceat(flags, np.flatnonzero(first)) if flags.size else flags,
                 conversations.joined([existing.groups, groups]))
    return WeekContacts(
        (unique_keys >> 32).astype(np.int32),
        (unique_keys & 0xFFFFFFFF).astype(np.int32),
        summed(existing.weight, w),
        unique_sorted(np.concatenate([existing.seen, digests]), runs=sorted_runs),
        None if mail is None or old_mail is None else summed(old_mail, mail),
        *talks,
    )
