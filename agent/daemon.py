"""The background daemon: APScheduler jobs in the organisation's time zone.

Jobs never overlap (one lock for all of them: they share the store and the
ledger), a failing job is logged and retried at its next turn, SIGTERM and
SIGINT stop the scheduler cleanly after the running job, and a small HTTP
server answers ``/healthz`` and ``/metrics`` (Prometheus).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.exposition import MetricsHandler

from agent.config import Config
from agent.engine import Engine
from connectors.common.errors import ConfigError

log = logging.getLogger(__name__)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.runs = Counter("bridgework_job_runs", "Job runs", ["job", "outcome"],
                            registry=self.registry)
        self.last_success = Gauge("bridgework_job_last_success_timestamp_seconds",
                                  "When each job last succeeded", ["job"], registry=self.registry)
        self.rules_errors = Gauge("bridgework_rules_errors", "Problems in the rules file on disk",
                                  registry=self.registry)
        self.holds_placed = Counter("bridgework_holds_placed", "Holds placed",
                                    registry=self.registry)
        self.interactions = Counter("bridgework_interactions_read", "Interactions read by sync",
                                    registry=self.registry)


def _health_handler(metrics: Metrics, healthy: Callable[[], bool]) -> type[MetricsHandler]:
    base = MetricsHandler.factory(metrics.registry)

    class Handler(base):  # type: ignore[valid-type,misc]
        def do_GET(self) -> None:
            if self.path.startswith("/healthz"):
                ok = healthy()
                body = b"ok\n" if ok else b"unhealthy\n"
                self.send_response(200 if ok else 503)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(body)
                return
            super().do_GET()

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("health: " + format, *args)

    return Handler


class Daemon:
    def __init__(self, engine: Engine, config: Config) -> None:
        self.engine = engine
        self.config = config
        self.metrics = Metrics()
        self.lock = threading.Lock()
        self.scheduler = BlockingScheduler(timezone=ZoneInfo(config.timezone))
        self.started = time.time()
        self.failures: dict[str, int] = {}

    def healthy(self) -> bool:
        return all(count < 3 for count in self.failures.values())

    def _job(self, name: str, work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            with self.lock:
                try:
                    work()
                except Exception:
                    self.failures[name] = self.failures.get(name, 0) + 1
                    self.metrics.runs.labels(name, "error").inc()
                    log.exception("job %s failed; it runs again at its next turn", name)
                    return
                self.failures[name] = 0
                self.metrics.runs.labels(name, "ok").inc()
                self.metrics.last_success.labels(name).set_to_current_time()
                self.metrics.rules_errors.set(len(self.engine.rules_source.errors))
                self._follow_digest_rules()
        return run

    def _digest_trigger(self) -> CronTrigger:
        rules = self.engine.rules_source.current()
        hour, minute = (int(x) for x in rules.digests.time.split(":"))
        day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[rules.digests.day]
        return CronTrigger(day_of_week=day, hour=hour, minute=minute,
                           timezone=ZoneInfo(rules.digests.timezone))

    def _follow_digest_rules(self) -> None:
        """A rules change may move the digest day or time: follow it."""
        trigger = self._digest_trigger()
        job = self.scheduler.get_job("digests")
        if job is not None and str(job.trigger) != str(trigger):
            self.scheduler.reschedule_job("digests", trigger=trigger)
            log.info("digests now go out %s", trigger)

    def _sync(self) -> None:
        report = self.engine.sync()
        self.metrics.interactions.inc(report.stats.read)

    def _suggest(self) -> None:
        _, placed = self.engine.suggest()
        self.metrics.holds_placed.inc(len(placed.placed))

    def _upkeep(self) -> None:
        self.engine.upkeep()

    def _digests(self) -> None:
        self.engine.digests()

    def schedule(self) -> None:
        d = self.config.daemon
        hour, minute = (int(x) for x in d.analyse_at.split(":"))
        add = self.scheduler.add_job
        common: dict[str, Any] = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 3600}
        add(self._job("sync", self._sync), IntervalTrigger(minutes=d.sync_minutes), id="sync",
            next_run_time=_now(self.config), **common)
        add(self._job("upkeep", self._upkeep), IntervalTrigger(minutes=d.upkeep_minutes),
            id="upkeep", **common)
        add(self._job("suggest", self._suggest), CronTrigger(hour=hour, minute=minute),
            id="suggest", **common)
        add(self._job("digests", self._digests), self._digest_trigger(), id="digests", **common)

    def serve_health(self) -> ThreadingHTTPServer | None:
        d = self.config.daemon
        if d.health_port is None:
            return None
        try:
            server = ThreadingHTTPServer((d.health_host, d.health_port),
                                         _health_handler(self.metrics, self.healthy))
        except OSError as exc:
            raise ConfigError(f"daemon.health_port {d.health_port} on {d.health_host}: "
                              f"{exc.strerror}; choose another port or null") from None
        threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
        log.info("health and metrics on http://%s:%d/", d.health_host, server.server_port)
        return server

    def stop(self, *_: object) -> None:
        log.info("stopping after the running job")
        self.scheduler.shutdown(wait=False)

    def run(self) -> None:
        self.schedule()
        server = self.serve_health()
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        try:
            self.scheduler.start()
        finally:
            with self.lock:  # let a running job finish before the process ends
                pass
            if server is not None:
                server.shutdown()
            log.info("stopped")


def _now(config: Config) -> Any:
    import datetime as dt

    return dt.datetime.now(ZoneInfo(config.timezone))


def serve(engine: Engine, config: Config) -> None:
    Daemon(engine, config).run()
