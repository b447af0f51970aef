"""One dry run of the real pipeline on a data directory: nothing written, nothing kept.

``bridgework analyze``, ``demo``, ``rules explain`` and ``rules diff`` all run
:func:`dry_run`, so they read the same data the same way and report the same
skipped input. The ledger lives in a temporary directory under a throw-away
key and is deleted at the end; holds or digests would go to a temporary outbox,
so the data directory is only ever read.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from agent import pipeline
from agent.ledger import LedgerFiles, week_of, week_start
from agent.lifecycle import Stage
from agent.matcher import History
from agent.pseudonym import Pseudonymiser
from agent.store import MemoryStore, SuggestionRecord
from connectors.common.clock import Clock, system_clock
from connectors.common.errors import BridgeworkError
from connectors.registry import FilesSettings, build_connectors
from rules.model import Rules

#: How many skipped-input problems a report lists before it only counts the rest.
PROBLEMS_SHOWN = 20


@dataclass(frozen=True)
class PastSuggestion:
    """An earlier suggestion, as a ``--history`` file gives it (e-mails, not pseudonyms)."""

    people: tuple[str, ...]
    day: dt.date
    reason: str = "new-tie"


@dataclass
class DryRun:
    """What the rules would do on the data: everything analyze, explain and diff report on."""

    rules: Rules
    as_of: dt.date
    now: dt.datetime
    org: pipeline.Org
    analysis: pipeline.Analysis
    excluded: dict[str, str]
    history: History
    plans: list[pipeline.Planned]
    sync: pipeline.SyncReport
    #: Input the connectors skipped (directory, calendar and mail), each as ``file:line: what``.
    problems: list[str]

    @property
    def interactions(self) -> int:
        return self.sync.stats.read


def moment_of(as_of: dt.date) -> dt.datetime:
    """The instant a run as on ``as_of`` stands at: the start of that day in UTC."""
    return dt.datetime.combine(as_of, dt.time(0), tzinfo=dt.UTC)


def default_as_of(ledger: LedgerFiles, today: dt.date) -> dt.date:
    """Today, or for an older export the day after its last week of data."""
    weeks = ledger.weeks()
    if not weeks:
        return today
    after_data = week_start(weeks[-1]) + dt.timedelta(days=7)
    return min(today, after_data)


def read_history(path: Path) -> list[PastSuggestion]:
    """Earlier suggestions from a JSON-lines file: ``{"people": [...], "date": "YYYY-MM-DD"}``."""
    out: list[PastSuggestion] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BridgeworkError(f"cannot read {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            people = tuple(str(p).lower() for p in record["people"])
            day = dt.date.fromisoformat(record["date"])
            reason = str(record.get("reason", "new-tie"))
        except (ValueError, KeyError, TypeError) as exc:
            raise BridgeworkError(f"{path}:{number}: expected {{\"people\": [...], \"date\": "
                                  f"\"YYYY-MM-DD\"}} ({exc})") from None
        out.append(PastSuggestion(people, day, reason))
    return out


def _records(past: Iterable[PastSuggestion], org: pipeline.Org) -> list[SuggestionRecord]:
    records: list[SuggestionRecord] = []
    for item in past:
        if not all(p in org.pseudonym for p in item.people):
            continue  # someone no longer in the directory
        created = dt.datetime.combine(item.day, dt.time(12), tzinfo=dt.UTC)
        records.append(SuggestionRecord(
            id=f"history-{len(records)}",
            people=tuple(org.pseudonym[p] for p in item.people),
            departments=tuple(org.people[p].department for p in item.people),
            reason=item.reason,
            week=week_of(created),
            created=created.isoformat(),
            status=Stage.MET,
            mode="suggest",
        ))
    return records


def dry_run(
    data: Path,
    rules: Rules,
    as_of: dt.date | None = None,
    *,
    history: Iterable[PastSuggestion] = (),
    opted_out: Iterable[str] = (),
    clock: Clock = system_clock,
    progress: Callable[[str], None] = lambda _: None,
    parallel: bool | None = None,
) -> DryRun:
    """Sync, analyse, leave out and plan on ``data`` as on ``as_of``, with ``rules``.

    Without ``as_of`` the run stands at today, or for an older export just
    after its last week of data.

    :raises BridgeworkError: the data directory cannot be read, or lists nobody.
    """
    real_now = clock()
    with tempfile.TemporaryDirectory(prefix="bridgework-dryrun-") as scratch:
        root = Path(scratch)
        connectors = build_connectors(FilesSettings(type="files", path=data,
                                                    outbox=root / "outbox"))
        pseudonymiser = Pseudonymiser(secrets.token_bytes(32))
        org = pipeline.load_org(connectors.directory.people(), pseudonymiser)
        if not org.people:
            raise BridgeworkError(f"{data / 'people.csv'} lists nobody")
        progress(f"{len(org.people)} people in {len(org.departments)} departments")
        # Interactions after as_of must wait like future meetings do.
        cutoff = moment_of(as_of) if as_of else real_now
        ledger = LedgerFiles(root / "ledger", pseudonymiser, rules.signals)
        report = pipeline.sync(connectors, ledger, MemoryStore(), org, cutoff, progress=progress,
                               parallel=parallel)
        as_of = as_of or default_as_of(ledger, real_now.date())
        now = real_now if as_of == real_now.date() else moment_of(as_of)
        analysis = pipeline.analyse(ledger, org, rules, as_of)
        excluded = pipeline.exclusions(org, rules, {e.lower() for e in opted_out})
        past = pipeline.history_from(_records(history, org), org, as_of)
        calendar = connectors.calendar
        plans = pipeline.plan(analysis, org, rules, past, excluded,
                              calendar.busy if calendar is not None else None, now)
    parts = (connectors.directory, connectors.calendar, connectors.mail)
    problems = [problem for part in parts if part is not None for problem in part.problems]
    return DryRun(rules, as_of, now, org, analysis, excluded, past, plans, report, problems)


def problem_lines(problems: Sequence[str]) -> list[str]:
    """Skipped input as every report lists it: the first few, then how many more."""
    lines = [f"skipped {problem}" for problem in problems[:PROBLEMS_SHOWN]]
    if len(problems) > PROBLEMS_SHOWN:
        lines.append(f"... and {len(problems) - PROBLEMS_SHOWN} more problems")
    return lines


def as_json(result: DryRun) -> dict[str, object]:
    """The documented ``analyze --json`` shape."""
    return {
        "as_of": result.analysis.as_of.isoformat(),
        "people": result.analysis.people,
        "interactions": result.interactions,
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
