"""The command line end to end on a data directory: analyze, run --once, the daemon."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from click.testing import CliRunner

from agent.cli import main
from tests.core.datadir import write_datadir
from tests.core.synth import make_org

# The synthetic org ends on 2026-11-23; the CLI reads the real clock, so build it around today.
TODAY = dt.datetime.now(dt.UTC).replace(hour=8, minute=0, second=0, microsecond=0)


def data(tmp_path: Path, drift: tuple[str, str] | None = ("Legal", "Sales")) -> Path:
    return write_datadir(make_org(as_of=TODAY, drift=drift), tmp_path / "data")


def config(tmp_path: Path, data_dir: Path, rules: str = "meetings:\n  mode: invite\n",
           port: int | None = None) -> Path:
    (tmp_path / "rules.yaml").write_text(rules)
    path = tmp_path / "config.yaml"
    path.write_text(
        f"timezone: Europe/London\nsource:\n  type: files\n  path: {data_dir}\n"
        f"store:\n  path: {tmp_path / 'state'}\nrules: rules.yaml\n"
        f"daemon:\n  health_port: {port if port else 'null'}\n"
    )
    return path


def test_analyze_json_has_the_documented_shape(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["analyze", "--data", str(data(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["people"] == 32 and out["interactions"] > 1000
    first = out["pairs"][0]
    assert set(first) >= {"departments", "baseline_share", "recent_share", "change", "score", "drifting"}
    assert sorted(first["departments"]) == ["Legal", "Sales"] and first["drifting"]
    assert out["suggestions"]
    for s in out["suggestions"]:
        assert sorted(s["departments"]) == ["Legal", "Sales"]
        assert s["reason"] in ("reconnect", "new-tie") and s["start"]


def test_analyze_as_of_an_older_date(tmp_path: Path) -> None:
    directory = data(tmp_path)
    as_of = (TODAY - dt.timedelta(weeks=8)).date().isoformat()
    result = CliRunner().invoke(main, ["analyze", "--data", str(directory), "--json", "--as-of", as_of])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["as_of"] == as_of
    assert not any(p["drifting"] for p in out["pairs"])  # the drift began after that date


def test_user_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(main, ["analyze", "--data", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "nowhere: no such directory" in missing.output
    assert "Traceback" not in missing.output
    bad_date = runner.invoke(main, ["analyze", "--data", str(data(tmp_path)), "--as-of", "last week"])
    assert bad_date.exit_code == 2 and "--as-of" in bad_date.output
    (tmp_path / "bad.yaml").write_text("source:\n  type: files\n  path: x\n  colour: blue\n")
    bad_config = runner.invoke(main, ["run", "--once", "--config", str(tmp_path / "bad.yaml")])
    assert bad_config.exit_code == 2 and "bad.yaml:4:3" in bad_config.output


def test_run_once_on_a_refused_rules_file_runs_on_the_last_good_and_exits_2(tmp_path: Path) -> None:
    directory = data(tmp_path)
    cfg = config(tmp_path, directory)
    runner = CliRunner()
    assert runner.invoke(main, ["run", "--once", "--config", str(cfg)]).exit_code == 0
    (tmp_path / "rules.yaml").write_text("meetings:\n  mode: invite\n  duration: forever\n")
    refused = runner.invoke(main, ["run", "--once", "--config", str(cfg)])
    assert refused.exit_code == 2, refused.output
    assert "rules error (last good rules kept):" in refused.output and "rules.yaml:3:" in refused.output
    assert "this cycle ran on the last good rules" in refused.output
    assert "sync: " in refused.output and "Traceback" not in refused.output  # the cycle did run
    dry = runner.invoke(main, ["run", "--once", "--dry-run", "--config", str(cfg)])
    assert dry.exit_code == 2 and "this cycle ran on the last good rules" in dry.output
    assert "dry run: nothing was written or sent" in dry.output


def _holds(directory: Path) -> list[str]:
    ics = directory / "outbox" / "holds.ics"
    return [line for line in ics.read_text().splitlines() if line.startswith("UID:")] if ics.exists() else []


def test_run_once_twice_places_each_hold_once(tmp_path: Path) -> None:
    directory = data(tmp_path)
    cfg = config(tmp_path, directory)
    runner = CliRunner()
    first = runner.invoke(main, ["run", "--once", "--config", str(cfg)])
    assert first.exit_code == 0, first.output
    assert "drifting seam(s): Legal / Sales" in first.output
    uids = _holds(directory)
    assert uids and len(uids) == len(set(uids))
    second = runner.invoke(main, ["run", "--once", "--config", str(cfg)])
    assert second.exit_code == 0, second.output
    assert _holds(directory) == uids
    state = tmp_path / "state"
    blob = b"".join(p.read_bytes() for p in state.rglob("*") if p.is_file() and p.name != "secret.key")
    assert b"example.org" not in blob and b"never stored" not in blob
    for p in state.rglob("*"):
        if p.is_file():
            assert (p.stat().st_mode & 0o077) == 0, p


def test_run_killed_mid_cycle_then_rerun_has_no_duplicates(tmp_path: Path) -> None:
    directory = data(tmp_path)
    cfg = config(tmp_path, directory)
    env = {**os.environ, "BRIDGEWORK_SECRET_KEY": "kill-test-key-0123456789"}
    cmd = [sys.executable, "-m", "agent", "run", "--once", "--config", str(cfg)]
    for delay in (0.3, 0.6, 0.9, 1.2):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.kill()
        proc.wait()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    uids = _holds(directory)
    assert uids and len(uids) == len(set(uids))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_daemon_serves_health_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    cfg = config(tmp_path, data(tmp_path), port=port)
    env = {**os.environ, "BRIDGEWORK_SECRET_KEY": "daemon-test-key-0123456789"}
    proc = subprocess.Popen([sys.executable, "-m", "agent", "run", "--config", str(cfg)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        body = ""
        for _ in range(100):
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1).read().decode()
                if 'bridgework_job_runs_total{job="startup",outcome="ok"}' in body:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        assert 'bridgework_job_runs_total{job="startup",outcome="ok"} 1.0' in body
        health = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
        assert health.status == 200
        second = subprocess.run([sys.executable, "-m", "agent", "run", "--once", "--config", str(cfg)],
                                env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 2 and "another Bridgework process" in second.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


def test_daemon_with_its_port_taken_says_so(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = config(tmp_path, data(tmp_path), port=port)
        env = {**os.environ, "BRIDGEWORK_SECRET_KEY": "daemon-test-key-0123456789"}
        done = subprocess.run([sys.executable, "-m", "agent", "run", "--config", str(cfg)], env=env,
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "daemon.health_port" in done.stderr and "Traceback" not in done.stderr
