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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from agent import pipeline
from agent.grouping import grouped_people
from agent.ledger import LedgerFiles, week_of, week_start
from agent.levels import resolve_levels
from agent.lifecycle import Stage
from agent.matcher import History
from agent.notices import (
    DataRange,
    SetAside,
    as_of_warnings,
    data_range,
    department_sizes,
    set_aside,
)
from agent.pseudonym import Pseudonymiser
from agent.store import MemoryStore, SuggestionRecord
from connectors.common.clock import Clock, system_clock
from connectors.common.errors import BridgeworkError
from connectors.registry import FilesSettings, build_connectors
from rules.model import Rules


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
    #: How many of ``problems`` (the first ones) are the directory's rows.
    directory_problems: int = 0
    #: The weeks the data holds contact for (None: no contact at all).
    data: DataRange | None = None
    #: Level names in the directory that the rules' ``participants.levels`` does not map.
    unmapped_levels: dict[str, list[str]] = field(default_factory=dict)
    #: Why the report may mislead: an ``--as-of`` outside the data, a short baseline.
    warnings: list[str] = field(default_factory=list)

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


#: Rules, or how to load them once the directory's department names are known.
RulesFor = Rules | Callable[[list[str]], Rules]


def dry_run(
    data: Path,
    rules: RulesFor,
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
    after its last week of data. Slots are never looked for in the past: a
    run as of an earlier day finds them from the real now on.

    ``rules`` may be a function of the directory's department names (a loader
    that checks the names), so the directory is read only once.

    :raises BridgeworkError: the data directory cannot be read, or lists nobody.
    :raises RulesError: the rules loader found problems.
    """
    real_now = clock()
    with tempfile.TemporaryDirectory(prefix="bridgework-dryrun-") as scratch:
        root = Path(scratch)
        connectors = build_connectors(FilesSettings(type="files", path=data,
                                                    outbox=root / "outbox"))
        pseudonymiser = Pseudonymiser(secrets.token_bytes(32))
        people = list(connectors.directory.people())
        if not people:
            raise BridgeworkError(f"{data / 'people.csv'} lists nobody")
        if not isinstance(rules, Rules):
            rules = rules(sorted({p.department for p in people}))
        people, unmapped = resolve_levels(grouped_people(people, rules.departments),
                                          rules.participants.levels)
        org = pipeline.load_org(people, pseudonymiser)
        progress(f"{len(org.people)} people in {len(org.departments)} departments")
        # Interactions after as_of must wait like future meetings do.
        cutoff = moment_of(as_of) if as_of else real_now
        ledger = LedgerFiles(root / "ledger", pseudonymiser, rules.signals)
        report = pipeline.sync(connectors, ledger, MemoryStore(), org, cutoff, progress=progress,
                               parallel=parallel)
        as_of = as_of or default_as_of(ledger, real_now.date())
        now = real_now if as_of == real_now.date() else moment_of(as_of)
        covered = data_range(ledger.weeks())  # counted as of as_of
        known = data_range(ledger.weeks() + ledger.pending_weeks())  # with meetings after it
        analysis = pipeline.analyze(ledger, org, rules, as_of)
        excluded = pipeline.exclusions(org, rules, {e.lower() for e in opted_out})
        past = pipeline.history_from(_records(history, org), org, as_of)
        calendar = connectors.calendar
        plans = pipeline.plan(analysis, org, rules, past, excluded,
                              calendar.busy if calendar is not None else None, now,
                              slots_from=max(now, real_now))
    readers = (connectors.calendar, connectors.mail)
    problems = list(connectors.directory.problems)
    problems += [problem for part in readers if part is not None for problem in part.problems]
    warnings = as_of_warnings(as_of, known, rules, real_now.date())
    return DryRun(rules, as_of, now, org, analysis, excluded, past, plans, report, problems,
                  len(connectors.directory.problems), covered, unmapped, warnings)


def notice_lines(result: DryRun, details: bool = False) -> list[str]:
    """What every report of a dry run says about its input, in the same words: problems by
    kind, level names the rules do not map, and warnings about the date. ``details``
    (``-v``) names the people behind each unmapped level too."""
    from agent.levels import unmapped_lines
    from agent.notices import problem_lines

    split = result.directory_problems
    lines = problem_lines(result.problems[:split], result.problems[split:])  # -v logs each one
    lines += unmapped_lines(result.unmapped_levels, result.rules.participants.levels, details)
    return lines + [f"warning: {w}" for w in result.warnings]


def pairs_set_aside(result: DryRun) -> SetAside:
    """The department pairs the analysis did not judge, by reason (``notices.SetAside``)."""
    people = result.org.people.values()
    return set_aside(result.org.departments, [s.departments for s in result.analysis.seams],
                     result.analysis.too_thin, department_sizes([p.department for p in people]),
                     result.rules)


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
        "data": ({"first_day": result.data.first_day.isoformat(),
                  "last_day": result.data.last_day.isoformat()} if result.data else None),
        "set_aside": pairs_set_aside(result).as_json(),
        "unmapped_levels": {name: len(emails) for name, emails in result.unmapped_levels.items()},
        "warnings": list(result.warnings),
        "not_judged": [{"departments": list(pair), "baseline_volume": round(volume, 1),
                        "min_volume": result.rules.seams.min_volume_for(*pair), "gate": "volume"}
                       for pair, volume in sorted(result.analysis.too_thin.items())],
        "calibration": (result.analysis.calibration.as_json()
                        if result.analysis.calibration else None),
    }
