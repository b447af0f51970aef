"""One daemon job, run in a child process: open the engine, do the work, report plain facts.

The daemon forks a child for every job, so what a cycle needs (the analysis
libraries, the ledger's arrays, the connectors' clients) is freed when the
job ends and the idle daemon stays small. The child inherits the store's
lock from the daemon (one open file, shared across the fork) and reports
back a small dictionary of what it did, from which the daemon logs one line
and updates its metrics.

A ``startup`` job catches up with what was missed while the daemon was not
running: a sync, hold upkeep, the day's analysis if its time has passed, and
the week's digests if theirs has (sending skips what already went out). A
stop request (SIGTERM) is honoured between the steps of a job.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
from collections import Counter
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from agent import status
from agent.config import Config
from agent.engine import Engine, open_engine
from agent.store import TinyStore
from connectors.common.clock import Clock, system_clock

log = logging.getLogger(__name__)

#: Store meta key: when each job last finished.
LAST_RUN = "daemon.last.{}"

Summary = dict[str, Any]


class _Stop:
    requested = False

    @classmethod
    def request(cls, *_: object) -> None:
        cls.requested = True


def _sync(engine: Engine) -> Summary:
    report = engine.sync()
    return {"read": report.stats.read, "new": report.new, "resyncs": len(report.resyncs)}


def _suggest(engine: Engine) -> Summary:
    analysis, placed = engine.suggest()
    return {"drifting": len(analysis.drifting), "seams": len(analysis.seams),
            "placed": len(placed.placed), "suggested": len(placed.suggested),
            "resumed": placed.resumed, "failed": placed.failed,
            "unscheduled": len(placed.unscheduled)}


def _upkeep(engine: Engine) -> Summary:
    return {"outcomes": dict(engine.upkeep().outcomes)}


def _digests(engine: Engine) -> Summary:
    report: Any = engine.digests()
    if isinstance(report, int):
        return {"sent": report}
    return {"sent": report.sent, "already_sent": report.already_sent,
            "in_doubt": report.in_doubt, "held_back": report.held_back}


JOBS: dict[str, Callable[[Engine], Summary]] = {
    "sync": _sync, "upkeep": _upkeep, "suggest": _suggest, "digests": _digests,
}


def previous_daily(at: str, tz: str, now: dt.datetime) -> dt.datetime:
    """The latest moment at local time ``at`` (HH:MM) in ``tz`` that is not after ``now``."""
    hour, minute = (int(x) for x in at.split(":"))
    local = now.astimezone(ZoneInfo(tz))
    moment = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return moment if moment <= local else moment - dt.timedelta(days=1)


def _done_since(engine: Engine, job: str, moment: dt.datetime) -> bool:
    last = engine.store.meta(LAST_RUN.format(job))
    return last is not None and dt.datetime.fromisoformat(last) >= moment


def _startup(engine: Engine, config: Config) -> Summary:
    """What was missed while the daemon was down, in the cycle's crash-safe order."""
    summary: Summary = {}
    steps: list[str] = ["sync", "upkeep"]
    if not _done_since(engine, "suggest",
                       previous_daily(config.daemon.analyze_at, config.timezone, engine.clock())):
        steps.append("suggest")
    steps.append("digests")  # the digest step itself knows its day and what was sent
    for step in steps:
        if _Stop.requested:
            summary["stopped_before"] = step
            break
        summary[step] = JOBS[step](engine)
        engine.store.set_meta(LAST_RUN.format(step), engine.clock().isoformat())
    return summary


def holds_by_state(engine: Engine) -> dict[str, int]:
    return dict(Counter(record.status for record in engine.store.suggestions()))


def run_job(name: str, config: Config, clock: Clock = system_clock) -> Summary:
    """Run job ``name`` in this (child) process and say what it did."""
    signal.signal(signal.SIGTERM, _Stop.request)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the daemon decides; a terminal ^C reaches both
    engine = open_engine(config, clock)
    if name == "startup":
        summary = _startup(engine, config)
    else:
        summary = {name: JOBS[name](engine)}
        engine.store.set_meta(LAST_RUN.format(name), engine.clock().isoformat())
    summary["holds"] = holds_by_state(engine)
    summary["rules_errors"] = len(engine.rules_source.errors)
    status.record(engine.store, name, {**summary, "rules_problems": engine.rules_source.errors},
                  engine.clock())  # what `bridgework status` shows
    if isinstance(engine.store, TinyStore):
        engine.store.checkpoint()  # the job ended well: this state is the one to go back to
    return summary
