"""The background daemon: APScheduler jobs in the organisation's time zone.

Each job runs in a child process (``agent.jobs``) so that what a cycle needs
is freed when it ends; the daemon itself holds only the schedule, the store's
lock and a small HTTP server. Jobs never overlap. Each logs one line: what it
did, how long it took and when it runs next. A job that fails is logged and
runs again at its next turn; a damaged state file found at startup stops the
daemon with the file named (exit 2) instead of failing every hour.

``SIGTERM``/``SIGINT`` stop the scheduler; a running job is asked to stop after
the step it is in, and the daemon exits 0 when it has.

HTTP (``daemon.health_host``:``daemon.health_port``):
``/healthz`` alive (no job failing again and again), ``/readyz`` ready (the last
sync is fresh and the store is writable), ``/metrics`` Prometheus; anything else 404.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import datetime as dt
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from agent.config import Config
from agent.logs import LogFormat, setup
from connectors.common.errors import BridgeworkError, ConfigError

log = logging.getLogger("bridgework.daemon")

#: A job failing this many times in a row makes /healthz fail (the pod is restarted).
FAILURES_BEFORE_UNHEALTHY = 3


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.runs = Counter("bridgework_job_runs", "Job runs by outcome", ["job", "outcome"], registry=r)
        self.duration = Histogram("bridgework_job_duration_seconds", "How long each job took",
                                  ["job"], registry=r,
                                  buckets=(1, 5, 15, 60, 300, 900, 1800, 3600, float("inf")))
        self.last_success = Gauge("bridgework_job_last_success_timestamp_seconds",
                                  "When each job last succeeded", ["job"], registry=r)
        self.sync_lag = Gauge("bridgework_sync_lag_seconds",
                              "Seconds since the source was last read in full", ["source"], registry=r)
        self.interactions = Counter("bridgework_interactions_read", "Interactions read by sync",
                                    registry=r)
        self.holds = Gauge("bridgework_holds", "Suggestions and holds by state", ["state"], registry=r)
        self.holds_placed = Counter("bridgework_holds_placed", "Holds placed", registry=r)
        self.digests_sent = Counter("bridgework_digests_sent", "Digests sent", registry=r)
        self.digests_in_doubt = Gauge("bridgework_digests_in_doubt",
                                      "Digests interrupted while sending and not resent", registry=r)
        self.rules_errors = Gauge("bridgework_rules_errors", "Problems in the rules file on disk",
                                  registry=r)
        self.api_calls = Counter("bridgework_api_requests", "Google and Microsoft Graph API "
                                 "requests by the status of their answer", ["service", "status"],
                                 registry=r)


@dataclass
class Outcome:
    ok: bool
    summary: dict[str, Any]
    error: str | None = None
    user_error: bool = False  # a BridgeworkError: the message says what to do


def _die_with_parent() -> None:
    """If the daemon is killed outright, its job must not live on holding the store's lock."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _child(name: str, config: Config, conn: Connection) -> None:
    _die_with_parent()
    from agent.jobs import run_job  # the heavy imports happen here, in the child only
    from connectors.retry import API_CALLS

    before = collections.Counter(API_CALLS)
    try:
        conn.send(Outcome(True, {**run_job(name, config), **_api_calls(before)}))
    except BridgeworkError as exc:
        conn.send(Outcome(False, _api_calls(before), exc.message, user_error=True))
    except Exception as exc:
        log.error("job %s failed:\n%s", name, traceback.format_exc())
        conn.send(Outcome(False, _api_calls(before), f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _api_calls(before: collections.Counter[tuple[str, str]]) -> dict[str, Any]:
    """The API requests this job made, by service and status (none: no key)."""
    from connectors.retry import API_CALLS

    made = collections.Counter(API_CALLS) - before
    return {"api_calls": [[s, status, n] for (s, status), n in sorted(made.items())]} if made else {}


class Daemon:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.metrics = Metrics()
        self.lock = threading.Lock()
        self.scheduler = BackgroundScheduler(timezone=ZoneInfo(config.timezone))
        self._stopped = threading.Event()
        self.failures: dict[str, int] = {}
        self.last_sync: float | None = None
        self.stopping = False
        self._child: Any = None
        self._digest_trigger_text: str | None = None

    # --- health ------------------------------------------------------------------------
    def healthy(self) -> tuple[bool, str]:
        failing = [f"{job} failed {n} times in a row" for job, n in self.failures.items()
                   if n >= FAILURES_BEFORE_UNHEALTHY]
        return (not failing, "; ".join(failing) or "ok")

    def ready(self) -> tuple[bool, str]:
        if self.last_sync is None:
            return False, "no sync has finished yet"
        fresh = 2 * self.config.daemon.sync_minutes * 60 + 300
        age = time.time() - self.last_sync
        if age > fresh:
            return False, f"the last sync finished {age / 60:.0f} minutes ago"
        probe = self.config.store.path / ".ready-probe"
        try:
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            return False, f"the store {self.config.store.path} is not writable: {exc.strerror}"
        return True, "ok"

    # --- jobs --------------------------------------------------------------------------
    def _run_child(self, name: str) -> Outcome:
        ctx = multiprocessing.get_context("fork")
        receive, send = ctx.Pipe(duplex=False)
        child = ctx.Process(target=_child, args=(name, self.config, send), name=f"bridgework-{name}")
        child.start()
        send.close()
        self._child = child
        try:
            outcome: Outcome = receive.recv()
        except EOFError:
            outcome = Outcome(False, {}, f"the job's process ended without a word "
                                         f"(exit code {child.exitcode})")
        finally:
            child.join()
            self._child = None
            receive.close()
        return outcome

    def run_job(self, name: str) -> Outcome:
        with self.lock:
            if self.stopping:
                return Outcome(False, {}, "stopping")
            started = time.monotonic()
            outcome = self._run_child(name)
            took = time.monotonic() - started
        self._record(name, outcome, took)
        return outcome

    def _job(self, name: str) -> Callable[[], None]:
        def job() -> None:
            self.run_job(name)
        job.__name__ = job.__qualname__ = name  # what APScheduler names in its own messages
        return job

    def _record(self, name: str, outcome: Outcome, took: float) -> None:
        m = self.metrics
        m.duration.labels(name).observe(took)
        for service, status, count in outcome.summary.get("api_calls", []):
            m.api_calls.labels(service, status).inc(count)  # failed jobs' calls count too
        fields: dict[str, Any] = {"job": name, "seconds": round(took, 2), "next_run": self._next(name)}
        if not outcome.ok:
            self.failures[name] = self.failures.get(name, 0) + 1
            m.runs.labels(name, "error").inc()
            fields["error"] = outcome.error
            log.error("%s failed after %.1f s: %s; next try %s", name, took,
                      (outcome.error or "").rstrip("."), _when(fields["next_run"]),
                      extra={"fields": fields})
            return
        self.failures[name] = 0
        m.runs.labels(name, "ok").inc()
        m.last_success.labels(name).set_to_current_time()
        summary = outcome.summary
        for state, count in summary.get("holds", {}).items():
            m.holds.labels(state).set(count)
        m.rules_errors.set(summary.get("rules_errors", 0))
        if "sync" in summary:
            self.last_sync = time.time()
            m.interactions.inc(summary["sync"]["read"])
        if "suggest" in summary:
            m.holds_placed.inc(summary["suggest"]["placed"] + summary["suggest"]["resumed"])
        if "digests" in summary:
            m.digests_sent.inc(summary["digests"]["sent"])
            m.digests_in_doubt.set(summary["digests"].get("in_doubt", 0))
        fields.update({k: v for k, v in summary.items() if k not in ("holds", "rules_errors")})
        log.info("%s done in %.1f s: %s; next %s", name, took, describe(summary),
                 _when(fields["next_run"]), extra={"fields": fields})
        self._follow_digest_rules()

    def _next(self, name: str) -> str | None:
        """When job ``name`` runs next (after startup: the next sync), as ISO time."""
        job = self.scheduler.get_job("sync" if name == "startup" else name)
        if job is None:
            return None
        # before the scheduler starts, jobs are pending and have no next_run_time yet
        when = getattr(job, "next_run_time", None) or job.trigger.get_next_fire_time(
            None, dt.datetime.now(ZoneInfo(self.config.timezone)))
        return when.isoformat() if when is not None else None

    # --- schedule ----------------------------------------------------------------------
    def _digest_trigger(self) -> CronTrigger:
        from rules.loader import load_rules  # the rules decide the digest day and time

        try:
            rules = load_rules(self.config.rules)
        except BridgeworkError:
            from rules.model import Rules

            rules = Rules()  # the job's own run reports the rules' problems
        hour, minute = (int(x) for x in rules.digests.time.split(":"))
        day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[rules.digests.day]
        return CronTrigger(day_of_week=day, hour=hour, minute=minute,
                           timezone=ZoneInfo(rules.digests.timezone))

    def _follow_digest_rules(self) -> None:
        """A rules change may move the digest day or time: follow it."""
        job = self.scheduler.get_job("digests")
        if job is None:
            return
        trigger = self._digest_trigger()
        if str(job.trigger) != str(trigger):
            self.scheduler.reschedule_job("digests", trigger=trigger)
            log.info("digests now go out %s", trigger)

    def schedule(self) -> None:
        d = self.config.daemon
        hour, minute = (int(x) for x in d.analyze_at.split(":"))
        common: dict[str, Any] = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 3600}
        add = self.scheduler.add_job
        add(self._job("sync"), IntervalTrigger(minutes=d.sync_minutes), id="sync", **common)
        add(self._job("upkeep"), IntervalTrigger(minutes=d.upkeep_minutes), id="upkeep", **common)
        add(self._job("suggest"), CronTrigger(hour=hour, minute=minute), id="suggest", **common)
        add(self._job("digests"), self._digest_trigger(), id="digests", **common)

    # --- HTTP --------------------------------------------------------------------------
    def serve_http(self) -> ThreadingHTTPServer | None:
        d = self.config.daemon
        if d.health_port is None:
            return None
        try:
            server = ThreadingHTTPServer((d.health_host, d.health_port), _handler(self))
        except OSError as exc:
            raise ConfigError(f"daemon.health_port {d.health_port} on {d.health_host}: "
                              f"{exc.strerror}; choose another port or null") from None
        threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
        log.info("health on http://%s:%d/healthz, /readyz and /metrics", d.health_host,
                 server.server_port)
        return server

    def update_lag(self) -> None:
        if self.last_sync is not None:
            self.metrics.sync_lag.labels(self.config.source.type).set(time.time() - self.last_sync)

    # --- life --------------------------------------------------------------------------
    def stop(self, signum: int, _frame: object) -> None:
        if self.stopping:
            return
        self.stopping = True
        log.info("%s received: stopping after the step in progress", signal.Signals(signum).name)
        child = self._child
        if child is not None and child.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGTERM)
        self._stopped.set()  # the main thread shuts the scheduler down: no race with its start

    def run(self) -> None:
        from agent.store import lock_store

        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        with lock_store(self.config.store.path):
            server = self.serve_http()
            try:
                self.schedule()
                outcome = self.run_job("startup")
                if outcome.user_error:
                    # damaged state or a bad setting: every later job would fail the same way
                    raise BridgeworkError(outcome.error or "startup failed")
                if not self.stopping:
                    self.scheduler.start()
                    log.info("scheduled: %s", "; ".join(
                        f"{job.id} next {_when(self._next(job.id))}"
                        for job in self.scheduler.get_jobs()))
                    while not self._stopped.wait(1.0):
                        pass
            finally:
                if self.scheduler.running:
                    self.scheduler.shutdown(wait=False)
                with self.lock:  # a job still running finishes its step first
                    pass
                if server is not None:
                    server.shutdown()
                log.info("stopped")


def describe(summary: dict[str, Any]) -> str:
    """A job's summary as a short sentence."""
    parts = []
    if "sync" in summary:
        s = summary["sync"]
        parts.append(f"sync read {s['read']:,} interactions ({s['new']:,} new)")
    if "upkeep" in summary:
        outcomes = summary["upkeep"]["outcomes"]
        parts.append("upkeep " + (", ".join(f"{v} {k}" for k, v in sorted(outcomes.items()))
                                  or "changed nothing"))
    if "suggest" in summary:
        s = summary["suggest"]
        parts.append(f"{s['drifting']} of {s['seams']} seams drifting, {s['placed']} holds placed, "
                     f"{s['suggested']} suggested, {s['resumed']} finished from an earlier run")
    if "digests" in summary:
        s = summary["digests"]
        text = f"{s['sent']} digests sent"
        if s.get("in_doubt"):
            text += f", {s['in_doubt']} in doubt (not resent)"
        if s.get("held_back"):
            text += f" ({s['held_back']})"
        parts.append(text)
    if "stopped_before" in summary:
        parts.append(f"stopped before {summary['stopped_before']}")
    return "; ".join(parts) or "nothing to do"


def _when(iso: str | None) -> str:
    if iso is None:
        return "not scheduled"
    return dt.datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M %Z")


def _handler(daemon: Daemon) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: bytes, kind: str = "text/plain; charset=utf-8") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/healthz":
                ok, why = daemon.healthy()
                self._answer(200 if ok else 503, f"{why}\n".encode())
            elif path == "/readyz":
                ok, why = daemon.ready()
                self._answer(200 if ok else 503, f"{why}\n".encode())
            elif path == "/metrics":
                daemon.update_lag()
                self._answer(200, generate_latest(daemon.metrics.registry),
                             "text/plain; version=0.0.4; charset=utf-8")
            else:
                self._answer(404, b"not found: try /healthz, /readyz or /metrics\n")

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("http: " + format, *args)

    return Handler


def serve(config: Config, log_format: LogFormat = "text") -> None:
    """Run the daemon until SIGTERM; returns normally (exit 0) after a clean stop."""
    setup(log_format, config.log_level)
    log.info("Bridgework daemon starting (pid %d, store %s, source %s)", os.getpid(),
             config.store.path, config.source.type)
    Daemon(config).run()
    sys.stderr.flush()

