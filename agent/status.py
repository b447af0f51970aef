"""``bridgework status``: what the last cycle did, what comes next, holds by state, errors.

A cycle (``run --once``) and each daemon job leave a short summary of plain
figures in the store's meta table (:func:`record`); ``status`` reads those and
the store's suggestions without opening the store for writing, so it works
beside a running daemon and never creates state where there is none.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from agent.store import OptOutInbox, Store, TinyStore, validate_state
from connectors.common.errors import BridgeworkError

if TYPE_CHECKING:
    from agent.config import Config
    from agent.engine import CycleReport

#: Store meta key of the last summary of a cycle or of one daemon job.
SUMMARY_KEY = "status.last.{}"
#: What a summary can be of: the whole cycle (``run --once``) or one daemon job.
KINDS = ("cycle", "startup", "sync", "upkeep", "suggest", "digests")
#: Stages whose hold may still be on a calendar and ahead of us.
_UPCOMING = ("planned", "placed", "held", "moved", "accepted")


def cycle_summary(report: CycleReport, problems: int) -> dict[str, Any]:
    """The plain figures of one cycle, as ``run --once --json`` prints and status shows."""
    place = report.place
    return {
        "sync": {"read": report.sync.stats.read, "new": report.sync.new,
                 "upcoming": report.sync.stats.pending},
        "analysis": {"as_of": report.analysis.as_of.isoformat(),
                     "seams": len(report.analysis.seams),
                     "drifting": [list(pair) for pair in report.analysis.drifting]},
        "holds": {"placed": len(place.placed), "suggested": len(place.suggested),
                  "unscheduled": len(place.unscheduled), "resumed": place.resumed,
                  "failed": place.failed, "promoted": place.promoted},
        "upkeep": dict(sorted(report.upkeep.outcomes.items())),
        "digests": {"sent": report.digests.sent, "in_doubt": report.digests.in_doubt,
                    "held_back": report.digests.held_back},
        "rules_errors": list(report.rules_errors),
        "input_problems": problems,
    }


def record(store: Store, kind: str, summary: Mapping[str, Any], now: dt.datetime) -> None:
    """Keep ``summary`` as the last of its kind, stamped with ``now``."""
    store.set_meta(SUMMARY_KEY.format(kind), json.dumps({"at": now.isoformat(), **summary},
                                                         sort_keys=True, default=str))


@dataclass
class Status:
    """Everything ``bridgework status`` says, as plain data (its ``--json``)."""

    config: str
    state: str
    source: str
    rules: str | None
    mode: str | None
    daemon_running: bool
    last: dict[str, Any] = field(default_factory=dict)  # kind -> summary with "at"
    holds: dict[str, int] = field(default_factory=dict)
    upcoming: list[dict[str, Any]] = field(default_factory=list)
    opt_outs: int = 0
    opt_outs_waiting: int = 0
    errors: list[str] = field(default_factory=list)
    next: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "config": self.config, "state": self.state, "source": self.source,
            "rules": self.rules, "mode": self.mode, "daemon_running": self.daemon_running,
            "last": self.last, "holds": self.holds, "upcoming": self.upcoming,
            "opt_outs": self.opt_outs, "opt_outs_waiting": self.opt_outs_waiting,
            "errors": self.errors, "next": self.next,
        }


def _tables(state_dir: Path) -> dict[str, dict[str, dict[str, Any]]] | None:
    path = state_dir / TinyStore.FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    return validate_state(path, raw)


def _daemon_running(state_dir: Path) -> bool:
    """Whether another process holds the store's lock (tested without taking it for long)."""
    try:
        fd = os.open(state_dir / "lock", os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the shared lock if it was taken
    return False


def _waiting_opt_outs(state_dir: Path, meta: Mapping[str, str]) -> int:
    try:
        data = (state_dir / OptOutInbox.FILE).read_bytes()
    except FileNotFoundError:
        return 0
    start = int(meta.get("opt_out_inbox_offset") or 0)
    return data[start:].count(b"\n") if start <= len(data) else data.count(b"\n")


def _source_text(config: Config) -> str:
    source = config.source
    where = getattr(source, "path", None) or getattr(source, "domain", None) \
        or getattr(source, "tenant_id", None) or getattr(source, "url", None) or ""
    return f"{source.type} {where}".strip()


def _next_daily(at: str, zone: str, now: dt.datetime) -> dt.datetime:
    hour, minute = (int(x) for x in at.split(":"))
    local = now.astimezone(ZoneInfo(zone))
    moment = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return moment if moment > local else moment + dt.timedelta(days=1)


def _next_digest(day: int, at: str, zone: str, now: dt.datetime) -> dt.datetime:
    moment = _next_daily(at, zone, now)
    while moment.weekday() != day:
        moment += dt.timedelta(days=1)
    return moment


def _when(moment: dt.datetime) -> str:
    return f"{moment:%a %d %b %H:%M} {moment.tzname()}"


def _plan_next(config: Config, status: Status, digests: tuple[int, str, str] | None,
               now: dt.datetime) -> list[str]:
    daemon = config.daemon
    out = []
    if status.daemon_running:
        out.append(f"analysis and new holds: {_when(_next_daily(daemon.analyze_at, config.timezone, now))} "
                   f"(daemon.analyze_at); sync every {daemon.sync_minutes} min, hold upkeep every "
                   f"{daemon.upkeep_minutes} min")
    else:
        out.append("no daemon is running: the next cycle is the next `bridgework run --once` "
                   "(or start the daemon with `bridgework run`)")
    if digests is not None and config.digest.enabled:
        day, at, zone = digests
        out.append(f"digests: {_when(_next_digest(day, at, zone, now))} (digests.day and digests.time "
                   "in the rules)")
    elif not config.digest.enabled:
        out.append("digests: switched off (digest.enabled: false)")
    return out


def read_status(config: Config, config_path: Path, now: dt.datetime) -> Status:
    """The status of the Bridgework ``config`` describes, read without writing anything.

    :raises StateDamaged: the state file is damaged (the message names it and the way out).
    """
    from rules.loader import load_rules

    state_dir = config.store.path
    status = Status(str(config_path), str(state_dir), _source_text(config),
                    str(config.rules) if config.rules else None, None, _daemon_running(state_dir))
    digests: tuple[int, str, str] | None = None
    try:
        rules = load_rules(config.rules)
        status.mode = rules.meetings.mode.value
        digests = (rules.digests.day, rules.digests.time, rules.digests.timezone)
    except BridgeworkError as exc:
        status.errors.append(f"rules: {exc.message.splitlines()[0]} "
                             "(`bridgework rules check` lists every problem)")
    tables = _tables(state_dir)
    meta = ({doc["key"]: doc["value"] for doc in tables.get("meta", {}).values()}
            if tables is not None else {})
    status.opt_outs_waiting = _waiting_opt_outs(state_dir, meta)
    if tables is not None:
        for kind in KINDS:
            raw = meta.get(SUMMARY_KEY.format(kind))
            if raw:
                status.last[kind] = json.loads(raw)
        records = list(tables.get("suggestions", {}).values())
        status.holds = dict(sorted(Counter(str(r["status"]) for r in records).items()))
        ahead = sorted((r for r in records if r["status"] in _UPCOMING and r.get("start")
                        and dt.datetime.fromisoformat(r["start"]) > now), key=lambda r: r["start"])
        status.upcoming = [{"id": r["id"], "status": r["status"], "start": r["start"],
                            "departments": list(r["departments"])} for r in ahead]
        status.opt_outs = len(tables.get("opt_outs", {}))
        for key, value in sorted(meta.items()):
            if key.startswith("health.") and key.endswith(".error") and value:
                status.errors.append(f"{key.split('.')[1]} sync failed: {value}")
        for summary in status.last.values():
            problems = summary.get("rules_problems", summary.get("rules_errors", []))
            status.errors += [f"rules (last good rules kept): {line}"
                              for line in (problems if isinstance(problems, list) else [])]
            failed = _placing(summary).get("failed", 0)
            if failed:
                status.errors.append(f"{failed} hold(s) could not be placed at {summary['at']}; "
                                     "the next cycle tries again")
        status.errors = list(dict.fromkeys(status.errors))  # a cycle and a job may say the same
    status.next = _plan_next(config, status, digests, now)
    return status


def _placing(summary: Mapping[str, Any]) -> Mapping[str, Any]:
    """The hold figures of a summary: a cycle's ``holds``, or a daemon job's ``suggest``
    (a job's own ``holds`` counts the holds by state)."""
    suggest = summary.get("suggest")
    if isinstance(suggest, dict):
        return suggest
    holds = summary.get("holds")
    return holds if isinstance(holds, dict) and "placed" in holds else {}


def _last_line(kind: str, summary: Mapping[str, Any]) -> str:
    """One line for the last cycle (``run --once``) or the last daemon job of a kind."""
    at = dt.datetime.fromisoformat(summary["at"]).astimezone(dt.UTC)
    parts = []
    sync = summary.get("sync")
    if isinstance(sync, dict):
        parts.append(f"read {sync.get('read', 0):,} interactions ({sync.get('new', 0):,} new)")
    analysis, placing = summary.get("analysis"), _placing(summary)
    if isinstance(analysis, dict):
        drifting = analysis.get("drifting", [])
        parts.append(f"{len(drifting)} drifting seam(s) of {analysis.get('seams', 0)}"
                     + (": " + ", ".join(" / ".join(p) for p in drifting) if drifting else ""))
    elif "drifting" in placing:
        parts.append(f"{placing['drifting']} drifting seam(s) of {placing.get('seams', 0)}")
    if placing:
        parts.append(f"holds {placing.get('placed', 0)} placed, {placing.get('suggested', 0)} "
                     f"suggested, {placing.get('unscheduled', 0)} without a free slot")
    upkeep = summary.get("upkeep")
    outcomes = upkeep.get("outcomes", upkeep) if isinstance(upkeep, dict) else {}
    if outcomes:
        parts.append("upkeep " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    digests = summary.get("digests")
    if isinstance(digests, dict):
        parts.append(f"digests {digests.get('sent', 0)} sent")
    return f"  {kind} at {at:%Y-%m-%d %H:%M} UTC: {'; '.join(parts) or 'done'}"


def status_lines(status: Status) -> list[str]:
    """The readable ``bridgework status``."""
    lines = [f"Config: {status.config}", f"State:  {status.state}",
             f"Source: {status.source}; rules: {status.rules or 'built-in defaults'}"
             + (f"; mode {status.mode}" if status.mode else ""),
             "Daemon: running (it holds the store's lock)" if status.daemon_running
             else "Daemon: not running", ""]
    if status.last:
        lines.append("Last run")
        lines += [_last_line(kind, summary) for kind, summary in status.last.items()]
    else:
        lines.append("Last run: none yet (`bridgework run --once` runs one cycle)")
    lines += ["", "Next"] + [f"  {line}" for line in status.next]
    held = ", ".join(f"{count} {stage}" for stage, count in status.holds.items())
    lines += ["", f"Holds by state: {held or 'none yet'}"]
    for item in status.upcoming[:5]:
        start = dt.datetime.fromisoformat(item["start"]).astimezone(dt.UTC)
        lines.append(f"  {item['status']:9} {start:%a %d %b %H:%M} UTC  {' / '.join(item['departments'])}")
    if len(status.upcoming) > 5:
        lines.append(f"  ... and {len(status.upcoming) - 5} more ahead (`--json` lists them all)")
    waiting = (f" ({status.opt_outs_waiting} more waiting for the next cycle)"
               if status.opt_outs_waiting else "")
    lines += [f"Opt-outs: {status.opt_outs}{waiting}", ""]
    if status.errors:
        lines.append("Last errors")
        lines += [f"  {line}" for line in status.errors]
    else:
        lines.append("Last errors: none")
    return lines
