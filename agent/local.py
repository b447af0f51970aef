"""Analyse a data directory on its own: no config, no state, nothing written to it.

This is what ``bridgework analyze`` and ``bridgework demo`` run. The ledger
lives in a temporary directory under a throw-away key and is deleted after.
"""

from __future__ import annotations

import datetime as dt
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agent import pipeline
from agent.ledger import LedgerFiles, week_start
from agent.pseudonym import Pseudonymiser
from agent.store import MemoryStore
from connectors.common.clock import Clock, system_clock
from connectors.registry import FilesSettings, build_connectors
from rules.model import Rules


@dataclass
class LocalResult:
    org: pipeline.Org
    analysis: pipeline.Analysis
    plans: list[pipeline.Planned]
    excluded: dict[str, str]
    sync: pipeline.SyncReport
    problems: list[str]
    now: dt.datetime


def default_as_of(ledger: LedgerFiles, today: dt.date) -> dt.date:
    """Today, or for an older export the day after its last week of data."""
    weeks = ledger.weeks()
    if not weeks:
        return today
    after_data = week_start(weeks[-1]) + dt.timedelta(days=7)
    return min(today, after_data)


def analyse_directory(
    data: Path,
    rules: Rules,
    as_of: dt.date | None = None,
    *,
    clock: Clock = system_clock,
    progress: Callable[[str], None] = lambda _: None,
    parallel: bool | None = None,
) -> LocalResult:
    connectors = build_connectors(FilesSettings(type="files", path=data))
    pseudonymiser = Pseudonymiser(secrets.token_bytes(32))
    org = pipeline.load_org(connectors.directory.people(), pseudonymiser)
    progress(f"{len(org.people)} people in {len(org.departments)} departments")
    real_now = clock()
    # Interactions after as_of must wait like future meetings do.
    cutoff = (dt.datetime.combine(as_of, dt.time(), tzinfo=dt.UTC) if as_of else real_now)
    with tempfile.TemporaryDirectory(prefix="bridgework-") as tmp:
        ledger = LedgerFiles(Path(tmp), pseudonymiser, rules.signals)
        report = pipeline.sync(connectors, ledger, MemoryStore(), org, cutoff, progress=progress,
                               parallel=parallel)
        as_of = as_of or default_as_of(ledger, real_now.date())
        now = real_now if as_of == real_now.date() else dt.datetime.combine(
            as_of, dt.time(), tzinfo=dt.UTC)
        analysis = pipeline.analyse(ledger, org, rules, as_of)
    excluded = pipeline.exclusions(org, rules, set())
    calendar = connectors.calendar
    plans = pipeline.plan(analysis, org, rules, pipeline.History(), excluded,
                          calendar.busy if calendar else None, now)
    problems: list[str] = []
    for part in (connectors.directory, connectors.calendar, connectors.mail):
        problems.extend(getattr(part, "problems", []) or [])
    return LocalResult(org, analysis, plans, excluded, report, problems, now)


def as_json(result: LocalResult) -> dict[str, object]:
    """The documented ``analyze --json`` shape."""
    return {
        "as_of": result.analysis.as_of.isoformat(),
        "people": result.analysis.people,
        "interactions": result.sync.stats.read,
        "pairs": [s.as_json() for s in result.analysis.seams],
        "suggestions": [
            {
                "people": list(p.suggestion.emails),
                "departments": list(p.suggestion.departments),
                "reason": p.suggestion.reason,
                "start": p.slot.start.isoformat() if p.slot else None,
                "end": p.slot.end.isoformat() if p.slot else None,
                "rule": p.suggestion.rule,
            }
            for p in result.plans
        ],
        "lapsed_ties": len(result.analysis.lapsed),
        "problems": len(result.problems),
    }
