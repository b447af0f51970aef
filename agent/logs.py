"""How the daemon logs: readable lines by default, one JSON object a line on request.

Only the standard library: a formatter each, and the scheduler's own chatter
("Running job ... Daemon._job.<locals>.run") turned down to warnings, because
every job already logs one line saying what it did and when it runs next.
Fields passed with ``extra={"fields": {...}}`` become JSON keys.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any, Literal

LogFormat = Literal["text", "json"]


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(message)s"


def setup(fmt: LogFormat, level: str) -> None:
    """Send every log line to stderr in ``fmt`` from ``level`` up (replaces earlier handlers)."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT, datefmt="%Y-%m-%d %H:%M:%S%z"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level))
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
