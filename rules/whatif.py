"""What a set of rules would do this week, on a data directory, without touching anything.

``rules explain`` and ``rules diff`` run the real pipeline steps (sync into a
throw-away ledger, analyse, exclusions, plan) with the rules under test. The
ledger lives in a temporary directory under a random key and is deleted at
the end; nothing is written to the data directory.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from agent import pipeline
from agent.ledger import LedgerFiles, week_of
from agent.matcher import History
from agent.pseudonym import Pseudonymiser
from agent.store import MemoryStore, SuggestionRecord
from connectors.common.errors import BridgeworkError
from connectors.files import open_directory
from rules.model import Rules


@dataclass(frozen=True)
class PastSuggestion:
    """An earlier suggestion, as a ``--history`` file gives it (e-mails, not pseudonyms)."""

    people: tuple[str, ...]
    day: dt.date
    reason: str = "new-tie"


@dataclass
class Outcome:
    """Everything explain and diff report on."""

    rules: Rules
    as_of: dt.date
    now: dt.datetime
    org: pipeline.Org
    analysis: pipeline.Analysis
    excluded: dict[str, str]
    history: History
    plans: list[pipeline.Planned]
    interactions: int
    data_problems: list[str] = field(default_factory=list)


def moment_of(as_of: dt.date) -> dt.datetime:
    """The instant a what-if run stands at: the start of ``as_of`` in UTC."""
    return dt.datetime.combine(as_of, dt.time(0), tzinfo=dt.UTC)


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
            status="met",
            mode="suggest",
        ))
    return records


def simulate(
    rules: Rules,
    data_dir: Path,
    as_of: dt.date,
    *,
    history: Iterable[PastSuggestion] = (),
    opted_out: Iterable[str] = (),
) -> Outcome:
    """Run analyse and plan on ``data_dir`` as on ``as_of``, with ``rules``."""
    now = moment_of(as_of)
    with tempfile.TemporaryDirectory(prefix="bridgework-whatif-") as scratch:
        root = Path(scratch)
        connectors = open_directory(data_dir, root / "outbox", clock=lambda: now)
        pseudonymiser = Pseudonymiser(secrets.token_bytes(32))
        org = pipeline.load_org(connectors.directory.people(), pseudonymiser)
        if not org.people:
            raise BridgeworkError(f"{data_dir}/people.csv lists nobody")
        ledger = LedgerFiles(root / "ledger", pseudonymiser, rules.signals)
        report = pipeline.sync(connectors, ledger, MemoryStore(), org, now)
        analysis = pipeline.analyse(ledger, org, rules, as_of)
        excluded = pipeline.exclusions(org, rules, {e.lower() for e in opted_out})
        past = pipeline.history_from(_records(history, org), org, as_of)
        calendar = connectors.calendar
        busy = calendar.busy if calendar is not None else None
        plans = pipeline.plan(analysis, org, rules, past, excluded, busy, now)
        problems = list(connectors.directory.problems)
    return Outcome(rules, as_of, now, org, analysis, excluded, past, plans,
                   report.stats.read, problems)
