"""The daemon says what it does: JSON log lines per job, /healthz, /readyz, /metrics, 404 elsewhere."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

from tests.ops.daemon import make_data, make_world, start, stop, wait_for


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_json_logs_and_the_three_endpoints(tmp_path: Path) -> None:
    world = make_world(tmp_path / "w", make_data(tmp_path), health_port=0)
    process = start(world, "--log-format", "json")
    try:
        assert wait_for(world, '"scheduled:', process), world.log.read_text()
        lines = [json.loads(line) for line in world.log.read_text().splitlines()]
        port = next(int(m.group(1)) for e in lines
                    if (m := re.search(r"127\.0\.0\.1:(\d+)/healthz", e["message"])))
        startup = next(e for e in lines if e.get("job") == "startup")
        assert startup["level"] == "info" and startup["next_run"].startswith("2026-11-02T10:00")
        assert startup["sync"]["read"] > 0 and startup["digests"]["sent"] > 0
        assert "holds placed" in startup["message"]
        assert not any("Daemon._job" in e["message"] or "Running job" in e["message"] for e in lines)
        base = f"http://127.0.0.1:{port}"
        assert _get(f"{base}/healthz") == (200, "ok\n")
        assert _get(f"{base}/readyz") == (200, "ok\n")
        status, metrics = _get(f"{base}/metrics")
        assert status == 200
        for name in ("bridgework_sync_lag_seconds{source=\"files\"}", "bridgework_holds{state=\"held\"}",
                     "bridgework_job_duration_seconds_count{job=\"startup\"}",
                     "bridgework_digests_sent_total"):
            assert name in metrics, name
        for path in ("/", "/metricsx", "/healthz/../metrics/x", "/favicon.ico"):
            assert _get(base + path)[0] == 404, path
    finally:
        assert stop(process) == 0
