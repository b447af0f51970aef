"""One configured Bridgework: connectors, store, ledger and rules, and its cycle.

The CLI and the daemon both drive an Engine; neither knows the pipeline's
insides. Rules are re-read when their file changes; an invalid new file
leaves the last good rules in force and the admin digest says so.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agent import audit, pipeline, privacy
from agent.config import Config, secret_key
from agent.eligibility import active_pauses
from agent.ledger import LedgerFiles, week_of
from agent.levels import as_ruled
from agent.pseudonym import Pseudonymiser
from agent.repair import keep_repairing
from agent.store import OptOutInbox, StateDamaged, Store, TinyStore
from connectors.base import Connectors
from connectors.common.clock import Clock, system_clock
from connectors.common.errors import RulesError
from connectors.common.fileio import write_private
from connectors.registry import build_connectors
from rules.loader import load_rules
from rules.model import Rules

log = logging.getLogger(__name__)


class RulesSource:
    """The rules in force: reloaded when the file changes, last good kept on error.

    The last good rules are also kept in ``keep`` (a private copy of the
    admin's file, next to the state), so a restarted daemon that finds a
    broken rules file carries on with them instead of stopping.
    """

    def __init__(self, path: Path | None, keep: Path | None = None) -> None:
        self.path = path
        self.keep = keep
        self._rules: Rules | None = None
        self._stamp: tuple[object, ...] | None = None
        self._departments: tuple[str, ...] | None = None
        self.errors: list[str] = []

    def _file_stamp(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def current(self, departments: list[str] | None = None) -> Rules:
        """The rules; department names are checked against the latest directory seen."""
        if departments is not None:
            self._departments = tuple(departments)
        if self.path is None:
            self._rules = self._rules or Rules()
            return self._rules
        stamp = (self._file_stamp(), self._departments)
        if self._rules is not None and stamp == self._stamp:
            return self._rules
        try:
            rules = load_rules(self.path, departments=self._departments or None)
        except RulesError as exc:
            self.errors = exc.problems or [exc.message]
            for line in self.errors:
                log.error("rules: %s", line)
            if self._rules is None:
                self._rules = self._last_good()
                if self._rules is None:
                    raise
            log.error("keeping the last good rules in force")
            self._stamp = stamp
            return self._rules
        self._rules, self._stamp, self.errors = rules, stamp, []
        if self.keep is not None:
            write_private(self.keep, rules.model_dump_json().encode())
        return rules

    def _last_good(self) -> Rules | None:
        if self.keep is None or not self.keep.exists():
            return None
        try:
            return Rules.model_validate_json(self.keep.read_bytes())
        except ValueError:  # pydantic's ValidationError included: not a copy of good rules
            raise StateDamaged(self.keep, "is damaged: it is not a copy of good rules",
                               "Fix the rules file, or remove this copy "
                               "(`bridgework doctor --repair --config FILE`).") from None


@dataclass
class CycleReport:
    sync: pipeline.SyncReport
    analysis: pipeline.Analysis
    place: pipeline.PlaceReport
    upkeep: pipeline.UpkeepReport
    excluded: dict[str, str]
    digests: pipeline.DigestReport = field(default_factory=pipeline.DigestReport)
    rules_errors: list[str] = field(default_factory=list)

    @property
    def digests_sent(self) -> int:
        return self.digests.sent


class Engine:
    def __init__(self, connectors: Connectors, store: Store, ledger: LedgerFiles,
                 pseudonymiser: Pseudonymiser, rules: RulesSource, clock: Clock = system_clock,
                 sender_address: str | None = None, digests_enabled: bool = True,
                 opt_out_address: str | None = None, pause_address: str | None = None) -> None:
        self.digests_enabled = digests_enabled
        #: Read sources in worker processes: None decides by itself (only when no other
        #: thread runs); a command that knows its only other thread is harmless says True.
        self.parallel: bool | None = None
        self.inbox: OptOutInbox | None = None
        self.opt_out_address = opt_out_address.lower() if opt_out_address else None
        self.connectors = connectors
        self.store = store
        self.ledger = ledger
        self.pseudonymiser = pseudonymiser
        self.rules_source = rules
        self.clock = clock
        self.sender_address = sender_address
        self.pause_address = pause_address.lower() if pause_address else None

    def org(self) -> pipeline.Org:
        people = privacy.without_forgotten(self.connectors.directory.people(), self.store,
                                           self.pseudonymiser)
        return pipeline.load_org(people, self.pseudonymiser)

    def opted_out(self, org: pipeline.Org) -> set[str]:
        stored = self.store.opt_outs()
        return {e for e, p in org.pseudonym.items() if p in stored}

    def paused(self, org: pipeline.Org, rules: Rules, now: dt.datetime) -> dict[str, dt.datetime]:
        """Who asked "not now" and is still paused, with when the pause ends."""
        asked = {org.by_pseudonym[p]: dt.datetime.fromisoformat(when)
                 for p, when in self.store.pauses().items() if p in org.by_pseudonym}
        return active_pauses(asked, rules.pairing.pause_weeks, now)

    def excluded(self, org: pipeline.Org, rules: Rules, now: dt.datetime) -> dict[str, str]:
        """Everyone left out of suggestions now, with the reason."""
        return pipeline.exclusions(org, rules, self.opted_out(org), self.paused(org, rules, now))

    def _drop_ended_pauses(self, rules: Rules, now: dt.datetime) -> None:
        span = dt.timedelta(weeks=rules.pairing.pause_weeks)
        ended = {p for p, when in self.store.pauses().items()
                 if dt.datetime.fromisoformat(when) + span <= now}
        self.store.remove_pauses(ended)

    def org_and_rules(self) -> tuple[pipeline.Org, Rules]:
        """The directory as the rules in force see it (departments grouped, levels
        numbered), with those rules; their department names are checked against it."""
        org = self.org()
        rules = self.rules_source.current(org.departments)
        return as_ruled(org, rules), rules

    def _context(self) -> tuple[pipeline.Org, Rules]:
        if self.inbox is not None:
            self.inbox.drain(self.store)
        privacy.apply(self)  # forget requests first: the rest of the job runs without them
        org, rules = self.org_and_rules()
        self.ledger.signals = rules.signals
        return org, rules

    def _sync(self, org: pipeline.Org, rules: Rules, now: dt.datetime,
              progress: Callable[[str], None]) -> pipeline.SyncReport:
        try:
            report = pipeline.sync(self.connectors, self.ledger, self.store, org, now,
                                   progress=progress, opt_out_address=self.opt_out_address,
                                   pause_address=self.pause_address,
                                   parallel=self.parallel)
        except Exception as exc:
            pipeline.record_sync(self.store, self.connectors, now, error=str(exc)[:200])
            raise
        pipeline.record_sync(self.store, self.connectors, now)
        self.ledger.prune(week_of(now) - rules.privacy.retention_weeks)
        self._drop_ended_pauses(rules, now)
        privacy.enforce_retention(self.store, rules, now)
        return report

    def _suggest(self, org: pipeline.Org, rules: Rules, excluded: dict[str, str],
                 now: dt.datetime) -> tuple[pipeline.Analysis, pipeline.PlaceReport]:
        analysis = keep_repairing(pipeline.analyze(self.ledger, org, rules, now.date()),
                                  self.store, rules, now)
        records = self.store.suggestions()
        history = pipeline.history_from(records, org, now.date())
        calendar = self.connectors.calendar
        busy = pipeline.with_our_holds(calendar.busy if calendar is not None else None,
                                       records, org)
        plans = pipeline.plan(analysis, org, rules, history, excluded, busy, now)
        return analysis, pipeline.place(plans, calendar, self.store, org, rules, now, excluded)

    # --- the daemon's jobs ----------------------------------------------------------------
    def sync(self, progress: Callable[[str], None] = lambda _: None) -> pipeline.SyncReport:
        org, rules = self._context()
        return self._sync(org, rules, self.clock(), progress)

    def upkeep(self) -> pipeline.UpkeepReport:
        org, rules = self._context()
        now = self.clock()
        return pipeline.upkeep(self.connectors.calendar, self.store, org, rules,
                               self.excluded(org, rules, now), now, self.ledger)

    def suggest(self) -> tuple[pipeline.Analysis, pipeline.PlaceReport]:
        org, rules = self._context()
        now = self.clock()
        return self._suggest(org, rules, self.excluded(org, rules, now), now)

    def digests(self, now: dt.datetime | None = None, force: bool = False) -> pipeline.DigestReport:
        """The week's digests (``bridgework digest send`` names the moment and forces them)."""
        org, rules = self._context()
        now = now or self.clock()
        excluded = self.excluded(org, rules, now)
        analysis = pipeline.analyze(self.ledger, org, rules, now.date())
        return self.send_digests(org, rules, analysis, excluded, now, force)

    def run_once(self, progress: Callable[[str], None] = lambda _: None) -> CycleReport:
        """One full cycle, in the order that keeps every step crash-safe."""
        now = self.clock()
        org, rules = self._context()
        progress(f"directory: {len(org.people)} people in {len(org.departments)} departments")
        sync_report = self._sync(org, rules, now, progress)
        excluded = self.excluded(org, rules, now)  # after the sync: its opt-outs and pauses count
        upkeep_report = pipeline.upkeep(self.connectors.calendar, self.store, org, rules,
                                        excluded, now, self.ledger)
        analysis, place_report = self._suggest(org, rules, excluded, now)
        progress(f"analysis: {len(analysis.drifting)} drifting of {len(analysis.seams)} seams; "
                 f"holds: {len(place_report.placed)} placed, {len(place_report.suggested)} "
                 f"suggested, {place_report.resumed} resumed")
        report = CycleReport(sync_report, analysis, place_report, upkeep_report, excluded,
                             rules_errors=list(self.rules_source.errors))
        report.digests = self.send_digests(org, rules, analysis, excluded, now)
        return report

    def send_digests(self, org: pipeline.Org, rules: Rules, analysis: pipeline.Analysis,
                     excluded: dict[str, str], now: dt.datetime,
                     force: bool = False) -> pipeline.DigestReport:
        sender = self.connectors.sender
        if sender is None:
            return pipeline.DigestReport(held_back="no sender is configured (digest.smtp or the "
                                         "source's own sender)")
        if not self.digests_enabled and not force:
            return pipeline.DigestReport(held_back="digests are switched off (digest.enabled: false)")
        return pipeline.send_digests(sender, self.store, org, rules, analysis, excluded, now,
                                     self.pseudonymiser, ledger=self.ledger,
                                     connectors=self.connectors,
                                     rules_errors=self.rules_source.errors,
                                     sender_address=self.sender_address,
                                     opt_out_address=self.opt_out_address,
                                     pause_address=self.pause_address,
                                     paused=self.paused(org, rules, now), force=force)


def open_engine(config: Config, clock: Clock = system_clock) -> Engine:
    """Everything a configuration names, ready to run. Call inside ``lock_store``."""
    os.umask(0o077)
    store_dir = config.store.path
    key = secret_key(config.secret, store_dir)
    pseudonymiser = Pseudonymiser(key)
    store = TinyStore(store_dir)
    rules = RulesSource(config.rules, store_dir / "rules.last-good.json")
    ledger = LedgerFiles(store_dir / "ledger", pseudonymiser, Rules().signals)
    connectors = build_connectors(config.source)
    if config.digest.smtp is not None:
        from connectors.smtp import SmtpSender

        connectors.sender = SmtpSender(config.digest.smtp)
    engine = Engine(connectors, store, ledger, pseudonymiser, rules, clock,
                  sender_address=config.digest.sender, digests_enabled=config.digest.enabled,
                  opt_out_address=config.digest.opt_out_address,
                  pause_address=config.digest.pause_address)
    engine.inbox = OptOutInbox(store_dir)
    audit.attach(store_dir)
    return engine
