"""Sync: read new metadata from the sources into the ledger.

A source's cursor is stored only after the ledger has committed what was
read before it (the ledger ignores what it has already counted), so a crash
at any point re-reads instead of losing or double-counting.
"""

from __future__ import annotations

import datetime as dt
import gc
import multiprocessing
import os
import threading
from collections.abc import Sequence

from agent.holds import HoldEchoes, echoes_of
from agent.ledger import LedgerFiles, week_of
from agent.pipeline.intake import (
    KeyedCursors,
    SyncReport,
    opt_out_senders,
    pause_requests,
    record_opt_outs,
    record_pauses,
)
from agent.pipeline.org import Org, Progress, quiet
from agent.pipeline.workers import sync_in_workers
from agent.store import Store
from connectors.base import Connectors, Reader


def sync(
    connectors: Connectors,
    ledger: LedgerFiles,
    store: Store,
    org: Org,
    now: dt.datetime,
    *,
    progress: Progress = quiet,
    commit_every: int = 1_500_000,
    opt_out_address: str | None = None,
    parallel: bool | None = None,
    pause_address: str | None = None,
) -> SyncReport:
    """Read new metadata into the ledger; cursors are saved only after their data is.

    ``parallel``: read the sources in worker processes (when they allow it);
    None decides by itself (only when no other thread runs). Mail to
    ``opt_out_address`` opts its sender out; mail to ``pause_address`` pauses them.
    """
    report = SyncReport()
    echoes = echoes_of(store.suggestions(), org.by_pseudonym)
    sources: list[tuple[str, Reader]] = [
        (name, src) for name, src in (("calendar", connectors.calendar), ("mail", connectors.mail))
        if src is not None
    ]
    # Millions of short-lived, cycle-free objects pass through here; the cycle
    # collector would rescan them over and over (a fifth of the ingest time).
    collecting = gc.isenabled()
    gc.disable()
    try:
        if can_fork(sources) and (parallel if parallel is not None else _single_threaded()):
            sync_in_workers(sources, ledger, store, org, now, report, progress, commit_every,
                            opt_out_address, echoes, pause_address)
        else:
            _sync_in_turn(sources, ledger, store, org, now, report, progress, commit_every,
                          opt_out_address, echoes, pause_address)
    finally:
        if collecting:
            gc.enable()
    ledger.compact_finished(week_of(now))
    progress(f"sync done: {report.stats.read:,} read, {report.new:,} new")
    return report


def _sync_in_turn(sources: Sequence[tuple[str, Reader]], ledger: LedgerFiles, store: Store,
                  org: Org, now: dt.datetime, report: SyncReport, progress: Progress,
                  commit_every: int, opt_out_address: str | None, echoes: HoldEchoes,
                  pause_address: str | None = None) -> None:
    """One source after the other, in this process."""
    cursors = KeyedCursors(store.cursors(), ledger.pseudonymiser)
    waiting: dict[str, str] = {}
    people = list(org.people.values())
    for name, source in sources:
        for chunk in source.read(people, cursors):
            if opt_out_address and name == "mail":
                record_opt_outs(opt_out_senders(chunk.interactions, opt_out_address), org, store,
                                report)
            if pause_address and name == "mail":
                record_pauses(pause_requests(chunk.interactions, pause_address), org, store,
                              report, now)
            report.stats.merge(ledger.add(echoes.drop(chunk.interactions), org.people, now))
            if chunk.resynced:
                report.resyncs.append(chunk.cursor_key)
            if chunk.cursor is not None:
                waiting[chunk.cursor_key] = chunk.cursor
            if ledger.buffered() >= commit_every:
                report.new += ledger.commit(now)
                store.save_cursors(cursors.keyed(waiting))
                waiting = {}
                progress(f"{name}: {report.stats.read:,} interactions read")
    report.new += ledger.commit(now)
    store.save_cursors(cursors.keyed(waiting))


def can_fork(sources: Sequence[tuple[str, Reader]]) -> bool:
    """Several sources, several cores, and sources that hold no open connections."""
    return (len(sources) > 1 and (os.cpu_count() or 1) > 1
            and all(src.parallel_safe for _, src in sources)
            and "fork" in multiprocessing.get_all_start_methods())


def _single_threaded() -> bool:
    """Forking a process that runs other threads (the daemon's scheduler and health
    server) can copy a held lock into the child; without being told, fork only when
    this is the only thread."""
    return threading.active_count() == 1
