"""Sync with one worker process per source, for big imports on several cores.

Each worker (forked, so it shares the parent's connectors, ids and key)
reads its source and turns interactions into contributions with its own
``Batcher``; it sends them back in parts with the cursors they reach. The
parent alone writes: it absorbs parts into the ledger, commits, and only
then stores the cursors of what it committed — the same crash-safety rule
as the sequential sync. A worker that fails or dies stops the sync with its
error; nothing read after the last commit is lost, it is read again.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import queue as queue_module
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.holds import HoldEchoes
from agent.ledger import AddStats, Batch, Batcher, LedgerFiles
from agent.pipeline.intake import (
    KeyedCursors,
    SyncReport,
    opt_out_senders,
    pause_requests,
    record_opt_outs,
    record_pauses,
)
from agent.pipeline.org import Org, Progress
from agent.store import Store, drop_inherited_locks
from connectors.base import Interaction, Person, Reader
from connectors.common.errors import ConnectorError

PART_PAIRS = 500_000  # contributions per part sent to the parent (about 8 MB)


@dataclass
class _Part:
    source: str
    batch: Batch
    pending_changes: dict[str, list[Any] | None]
    cursors: dict[str, str]
    stats: AddStats
    resyncs: list[str] = field(default_factory=list)
    opt_out_senders: list[str] = field(default_factory=list)
    pause_requests: list[tuple[str, dt.datetime]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    done: bool = False


@dataclass
class _Failure:
    source: str
    error: BaseException


def _worker(name: str, source: Reader, people: Sequence[Person], cursors: Mapping[str, str],
            batcher: Batcher, now: dt.datetime, opt_out_address: str | None,
            echoes: HoldEchoes, out: Any, pause_address: str | None = None) -> None:
    drop_inherited_locks()
    parent = os.getppid()

    def send(item: _Part | _Failure) -> None:
        # A parent that died (killed, out of memory) reads no more: do not wait for ever.
        while True:
            try:
                out.put(item, timeout=1.0)
                return
            except queue_module.Full:
                if os.getppid() != parent:
                    os._exit(1)

    def part(done: bool = False) -> _Part:
        made = _Part(name, batcher.take(), batcher.pending_changes, dict(waiting), stats,
                     list(resyncs), list(senders), list(pauses), done=done)
        batcher.pending_changes = {}
        return made

    try:
        known_problems = len(source.problems)
        waiting: dict[str, str] = {}
        resyncs: list[str] = []
        senders: list[str] = []
        pauses: list[tuple[str, dt.datetime]] = []
        stats = AddStats()
        for chunk in source.read(people, cursors):
            interactions: Iterable[Interaction] = echoes.drop(chunk.interactions)
            if opt_out_address and name.startswith("mail"):
                senders.extend(opt_out_senders(interactions, opt_out_address))
            if pause_address and name.startswith("mail"):
                pauses.extend(pause_requests(interactions, pause_address))
            stats.merge(batcher.add(interactions, now))
            if chunk.resynced:
                resyncs.append(chunk.cursor_key)
            if chunk.cursor is not None:
                waiting[chunk.cursor_key] = chunk.cursor
            if len(batcher.batch.a) >= PART_PAIRS:
                send(part())
                waiting, resyncs, senders, pauses, stats = {}, [], [], [], AddStats()
        last = part(done=True)
        last.problems = list(source.problems[known_problems:])  # only what this worker found
        send(last)
    except BaseException as exc:  # the parent re-raises it
        send(_Failure(name, exc))


def sync_in_workers(sources: Sequence[tuple[str, Reader]], ledger: LedgerFiles, store: Store,
                    org: Org, now: dt.datetime, report: SyncReport, progress: Progress,
                    commit_every: int, opt_out_address: str | None,
                    echoes: HoldEchoes | None = None, pause_address: str | None = None) -> None:
    """Read every source in its own forked process (a big file in several); write here."""
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue(maxsize=2)  # bounds memory: a fast reader waits for the parent
    cursors = KeyedCursors(store.cursors(), ledger.pseudonymiser)
    readers, ranges = _split_large(sources, cursors)
    people = list(org.people.values())
    workers = {
        name: ctx.Process(target=_worker, name=f"bridgework-sync-{name}", daemon=True,
                          args=(name, source, people, cursors, ledger.worker_batcher(org.people),
                                now, opt_out_address, echoes or HoldEchoes(), out, pause_address))
        for name, source in readers
    }
    by_name = dict(readers)
    for process in workers.values():
        process.start()
    waiting: dict[str, str] = {}
    running = set(workers)
    try:
        while running:
            item = _next(out, workers, running)
            if isinstance(item, _Failure):
                raise item.error
            ledger.absorb(item.batch, item.pending_changes)
            report.stats.merge(item.stats)
            report.resyncs.extend(item.resyncs)
            record_opt_outs(item.opt_out_senders, org, store, report)
            record_pauses(item.pause_requests, org, store, report, now)
            waiting.update(item.cursors)
            if item.done:
                running.discard(item.source)
                by_name[item.source].problems.extend(item.problems)
            if ledger.buffered() >= commit_every:
                report.new += ledger.commit(now)
                if not ranges:  # ranges of one file: its cursor is good only when all are read
                    store.save_cursors(cursors.keyed(waiting))
                    waiting = {}
                progress(f"sync: {report.stats.read:,} interactions read")
        report.new += ledger.commit(now)
        store.save_cursors(cursors.keyed(waiting))
    finally:
        for process in workers.values():
            if process.is_alive():
                process.terminate()
            process.join(5)


def _split_large(sources: Sequence[tuple[str, Reader]], cursors: Mapping[str, str]
                 ) -> tuple[list[tuple[str, Reader]], bool]:
    """Big sources that can be read in byte ranges become one worker per range."""
    out: list[tuple[str, Reader]] = []
    ranges = False
    for name, source in sources:
        parts = source.split(cursors, 2)
        if parts:
            out.extend((f"{name}-{i + 1}", part) for i, part in enumerate(parts))
            ranges = True
        else:
            out.append((name, source))
    return out, ranges


def _next(out: Any, workers: dict[str, Any], running: set[str]) -> _Part | _Failure:
    """The next part, noticing a worker that died without a word."""
    while True:
        try:
            item: _Part | _Failure = out.get(timeout=1.0)
            return item
        except queue_module.Empty:
            for name in running:
                code = workers[name].exitcode
                if code is not None and code != 0:
                    raise ConnectorError(
                        f"reading {name} stopped unexpectedly (exit code {code})") from None
