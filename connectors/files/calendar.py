"""Meetings of a data directory: ``events.jsonl`` and ``calendar/*.ics``, free/busy, holds.

Recurring lines of events.jsonl are remembered by byte offset and expanded
once the latest event (and so the horizon) is known; holds live in
``outbox/holds.ics`` (:mod:`connectors.files.outbox`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from connectors.base import Busy, Calendar, Hold, HoldState, Interaction, Person, Response, SyncChunk
from connectors.common.clock import Clock, system_clock
from connectors.files.fields import RECORD_ERRORS, json_record
from connectors.files.ics import ics_occurrences, load_ics
from connectors.files.limits import MAX_PER_DAY
from connectors.files.lines import (
    CHUNK_SIZE,
    count_newlines,
    cursor_at,
    fingerprint,
    resume,
    scan_lines,
)
from connectors.files.outbox import HoldsFile
from connectors.files.records import event_from_record
from connectors.files.recurrence import Series

UTC = dt.UTC
HORIZON_AFTER_LATEST = dt.timedelta(weeks=8)
BUSY_MARGIN = dt.timedelta(days=7)  # longest event busy() expects to overlap its window
_START_DAY = re.compile(rb'"start"\s*:\s*"(\d{4}-\d{2}-\d{2})')


class FilesCalendar(Calendar):
    """Meetings from ``events.jsonl`` and ``calendar/*.ics``; holds in ``outbox/holds.ics``.

    Recurring events are expanded up to ``horizon``, by default the latest
    event in the data plus ``horizon_after_latest``; a later sync that pushes
    the horizon further adds the occurrences in between.
    """

    parallel_safe = True  # plain files, no connections: may be read in a forked process
    reads_files = True

    def __init__(self, root: Path, outbox: Path | None = None, *,
                 horizon: dt.datetime | None = None,
                 horizon_after_latest: dt.timedelta = HORIZON_AFTER_LATEST,
                 chunk_size: int = CHUNK_SIZE, clock: Clock = system_clock) -> None:
        self.root = root
        self.outbox = outbox or root / "outbox"
        self.holds_path = self.outbox / "holds.ics"
        self.horizon = horizon
        self.horizon_after_latest = horizon_after_latest
        self.chunk_size = chunk_size
        self.clock = clock
        self.holds = HoldsFile(self.holds_path, self.problems, clock)
        self._busy: _BusyIndex | None = None

    # --- reading ----------------------------------------------------------------
    def read(self, people: Sequence[Person], cursors: Mapping[str, str]) -> Iterator[SyncChunk]:
        path = self.root / "events.jsonl"
        if path.is_file():
            yield from self._read_jsonl(path, cursors.get("files:events"))
        for ics_path in self._ics_paths():
            yield from self._read_ics(ics_path, cursors)

    def _ics_paths(self) -> list[Path]:
        folder = self.root / "calendar"
        return sorted(folder.glob("*.ics")) if folder.is_dir() else []

    def _horizon_for(self, latest: dt.datetime | None) -> dt.datetime:
        if self.horizon is not None:
            return self.horizon
        if latest is None:
            return self.clock() + self.horizon_after_latest
        return latest + self.horizon_after_latest

    def _read_jsonl(self, path: Path, raw: str | None) -> Iterator[SyncChunk]:
        pos, resynced = resume(path, raw)
        # Recurring lines are remembered by offset: "done" ones were expanded up to
        # the stored horizon, "pending" ones not at all. They are expanded at the end,
        # once the latest event (and so the horizon) is known.
        done: list[int] = pos.extra.get("done", [])
        pending_series: list[int] = pos.extra.get("pending", [])
        latest_raw = pos.extra.get("latest")
        latest = dt.datetime.fromisoformat(latest_raw) if latest_raw else None
        old_horizon_raw = pos.extra.get("horizon")
        pending: list[Interaction] = []
        append = pending.append
        newest: list[dt.datetime | None] = [latest]

        fresh: list[Series] = []  # series first seen in this pass, kept for expansion

        def parse(line: bytes, offset: int) -> None:
            item = event_from_record(json_record(line))
            if isinstance(item, Series):
                pending_series.append(offset)
                fresh.append(item)
                start = item.first.start
            else:
                append(item)
                start = item.start
            if newest[0] is None or start > newest[0]:
                newest[0] = start

        def cursor(offset: int, line: int) -> str:
            pos.extra = {"done": done, "pending": pending_series, "horizon": old_horizon_raw,
                         "latest": newest[0].isoformat() if newest[0] else None}
            return cursor_at(path, pos, offset, line)

        offset, line = pos.offset, pos.line
        for offset, line in scan_lines(path, pos.offset, pos.line, parse, self.problems):
            if len(pending) >= self.chunk_size:
                yield SyncChunk(list(pending), "files:events", cursor(offset, line), resynced)
                pending.clear()
                resynced = False
        horizon = self._horizon_for(newest[0])
        old_horizon = dt.datetime.fromisoformat(old_horizon_raw) if old_horizon_raw else None
        expansions: list[tuple[int, Series, dt.datetime | None]] = []
        if old_horizon is None or horizon > old_horizon:
            expansions += [(at, s, old_horizon) for at, s in self._series_at(path, done)]
        elif old_horizon is not None:
            horizon = old_horizon
        # pending series from an interrupted earlier pass are read again by offset
        earlier = pending_series[: len(pending_series) - len(fresh)]
        fresh_at = zip(pending_series[len(earlier):], fresh, strict=True)
        expansions += [(at, s, None) for at, s in [*self._series_at(path, earlier), *fresh_at]]
        for at, item, since in expansions:
            pending.extend(item.between(since, horizon))
            if item.capped:
                self._report_capped(path, at)
            if len(pending) >= self.chunk_size:
                # No cursor yet: the series count as done only with the last chunk, so
                # a crash in between expands them again (the ledger drops repeats).
                yield SyncChunk(list(pending), "files:events", None, resynced)
                pending.clear()
                resynced = False
        done += pending_series
        pending_series = []
        old_horizon_raw = horizon.isoformat()
        yield SyncChunk(pending, "files:events", cursor(offset, line), resynced)

    def _series_at(self, path: Path, offsets: Iterable[int]) -> Iterator[tuple[int, Series]]:
        """Re-read recurring events by the byte offset of their line."""
        with path.open("rb") as f:
            for offset in offsets:
                f.seek(offset)
                try:
                    item = event_from_record(json_record(f.readline()))
                except RECORD_ERRORS:
                    continue  # reported when the line was first read
                if isinstance(item, Series):
                    yield offset, item

    def _report_capped(self, path: Path, offset: int) -> None:
        with path.open("rb") as f:
            line = count_newlines(f, 0, offset) + 1
        self.problems.report(path, line, "recurring event has more occurrences than "
                             f"{MAX_PER_DAY} a day on average; only the first ones were kept")

    def _read_ics(self, path: Path, cursors: Mapping[str, str]) -> Iterator[SyncChunk]:
        key = f"files:ics:{path.name}"
        # the horizon follows from the file itself unless it is fixed, so it joins the stamp
        stamp = fingerprint(path, self.horizon, self.horizon_after_latest)
        if cursors.get(key) == stamp:
            return
        ics = load_ics(path, self.problems)
        horizon = self._horizon_for(ics.latest)
        lo = dt.datetime(1970, 1, 1, tzinfo=UTC)
        yield SyncChunk(list(ics_occurrences(ics, lo, horizon)), key, stamp, key in cursors)

    # --- free/busy ----------------------------------------------------------------
    def busy(
        self, emails: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> dict[str, list[Busy]]:
        index = self._busy_index(start, end, frozenset(e.lower() for e in emails))
        out: dict[str, list[Busy]] = {e: [] for e in emails}
        for who in emails:
            for s, e in index.spans.get(who.lower(), ()):
                if s < end and e > start:
                    out[who].append(Busy(s, e))
        for rec in self.holds.records().values():
            if rec.cancelled or rec.start >= end or rec.end <= start:
                continue
            for who in emails:
                state = rec.responses.get(who.lower())
                if state is not None and state is not Response.DECLINED:
                    out[who].append(Busy(rec.start, rec.end))
        for spans in out.values():
            spans.sort(key=lambda b: b.start)
        return out

    def _sources_stamp(self) -> str:
        paths = [self.root / "events.jsonl", *self._ics_paths()]
        return "|".join(fingerprint(p) for p in paths if p.is_file())

    def _busy_index(self, start: dt.datetime, end: dt.datetime,
                    wanted: frozenset[str]) -> _BusyIndex:
        """An index covering the window and these people.

        The first call indexes only the people it asks about (a plan asks once for
        a few dozen); a later call for others builds the index for everyone, once.
        """
        stamp = self._sources_stamp()
        idx = self._busy
        if (idx is not None and idx.stamp == stamp and idx.lo <= start and end <= idx.hi
                and (idx.people is None or wanted <= idx.people)):
            return idx
        lo = min(start, idx.lo) if idx and idx.stamp == stamp else start
        hi = max(end, start + dt.timedelta(weeks=8))
        people = wanted if idx is None else None
        self._busy = idx = _BusyIndex.build(self.root / "events.jsonl", self._ics_paths(),
                                            lo, hi, stamp, people)
        return idx

    # --- holds ------------------------------------------------------------------
    def place(self, hold: Hold) -> None:
        self.holds.add(hold)

    def state(self, hold: Hold) -> HoldState:
        rec = self.holds.records().get(hold.id)
        if rec is None:
            return HoldState(exists=False)
        return HoldState(True, rec.start, rec.end, rec.cancelled, dict(rec.responses))

    def _read_mark(self, hold: Hold) -> str | None:
        rec = self.holds.records().get(hold.id)
        return rec.mark if rec else None

    def _update_time(self, hold: Hold, start: dt.datetime, end: dt.datetime) -> None:
        self.holds.move(hold.id, start, end)

    def _delete(self, hold: Hold) -> None:
        self.holds.remove(hold.id)


@dataclass(slots=True)
class _BusyIndex:
    """Busy spans per person for one window, built once from every calendar source."""

    lo: dt.datetime
    hi: dt.datetime
    stamp: str
    spans: dict[str, list[tuple[dt.datetime, dt.datetime]]]
    people: frozenset[str] | None = None  # None: everyone

    @classmethod
    def build(cls, events: Path, ics_paths: Sequence[Path], lo: dt.datetime, hi: dt.datetime,
              stamp: str, people: frozenset[str] | None = None) -> _BusyIndex:
        spans: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {}
        early = lo - BUSY_MARGIN
        # ISO dates sort as text; a day's slack covers any UTC offset
        first_day = (early - dt.timedelta(days=1)).date().isoformat()
        last_day = (hi + dt.timedelta(days=1)).date().isoformat()

        def add(m: Interaction) -> None:
            if m.cancelled:
                return
            m_end = m.start + m.duration
            if m_end <= lo or m.start >= hi:
                return
            for who in m.participants:
                if people is None or who in people:
                    spans.setdefault(who, []).append((m.start, m_end))

        low, high = first_day.encode(), last_day.encode()
        wanted = [p.encode() for p in people] if people is not None else None

        def parse(line: bytes, _offset: int) -> None:
            # Look at the raw bytes before paying for a JSON parse: most lines are
            # one-off meetings far from the window, or concern nobody asked about.
            if wanted is not None:
                folded = line.lower()
                if not any(w in folded for w in wanted):
                    return
            if b'"rrule"' not in line:
                found = _START_DAY.search(line)
                if found and not (low <= found.group(1) <= high):
                    return
            rec = json_record(line)
            if not rec.get("rrule"):
                day = rec.get("start")
                if isinstance(day, str) and not (first_day <= day[:10] <= last_day):
                    return
            item = event_from_record(rec)
            if isinstance(item, Series):
                for m in item.between(early, hi):
                    add(m)
            else:
                add(item)

        if events.is_file():
            for _ in scan_lines(events, 0, 0, parse, None):
                pass
        for path in ics_paths:
            for m in ics_occurrences(load_ics(path, None), early, hi):
                add(m)
        return cls(lo, hi, stamp, spans, people)


