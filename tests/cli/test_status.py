"""`bridgework status`: the last cycle, what comes next, holds by state, opt-outs, last errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from agent.cli import main
from agent.store import OptOutInbox, TinyStore, lock_store
from tests.cli.conftest import ROOT
from tests.cli.test_changes import _cycle, _setup


def _status(config: Path, *extra: str) -> str:
    result = CliRunner().invoke(main, ["status", "--config", str(config), *extra])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_before_any_run_it_says_so_and_writes_nothing(tmp_path: Path) -> None:
    _, _, config = _setup(tmp_path, "hold")
    out = _status(config)
    assert "Last run: none yet (`bridgework run --once` runs one cycle)" in out
    assert "Holds by state: none yet" in out and "Daemon: not running" in out
    assert "no daemon is running: the next cycle is the next `bridgework run --once`" in out
    assert not (tmp_path / "state").exists()


def test_after_a_cycle_json_has_every_part(tmp_path: Path) -> None:
    _, _, config = _setup(tmp_path, "hold")
    placed = _cycle(config)["holds"]["placed"]
    OptOutInbox(tmp_path / "state").append(True, "a-pseudonym")  # as `opt-out` appends
    status = json.loads(_status(config, "--json"))
    assert set(status) == {"config", "state", "source", "rules", "mode", "daemon_running", "last",
                           "holds", "upcoming", "opt_outs", "opt_outs_waiting", "errors", "next"}
    assert status["holds"] == {"held": placed} and status["opt_outs_waiting"] == 1
    cycle = status["last"]["cycle"]
    assert cycle["holds"]["placed"] == placed and cycle["analysis"]["drifting"] == [["Legal", "Sales"]]
    assert [u["start"] for u in status["upcoming"]] == sorted(u["start"] for u in status["upcoming"])
    assert status["errors"] == [] and status["daemon_running"] is False
    assert any(line.startswith("digests: ") for line in status["next"])


def test_a_running_daemon_and_the_last_errors_are_shown(tmp_path: Path) -> None:
    _, rules, config = _setup(tmp_path, "hold")
    _cycle(config)
    store = TinyStore(tmp_path / "state")
    store.set_meta("health.mail.error", "IMAP refused the sign-in")  # as a failed sync records it
    store.close()
    rules.write_text("meetings:\n  mode: often\n")
    with lock_store(tmp_path / "state"):
        out = _status(config)
    assert "Daemon: running (it holds the store's lock)" in out
    assert "analysis and new holds: " in out and "(daemon.analyze_at)" in out
    errors = out.split("Last errors\n", 1)[1]
    assert "mail sync failed: IMAP refused the sign-in" in errors
    assert "rules: invalid rules in" in errors and "`bridgework rules check`" in errors


def test_the_daemons_last_jobs_are_shown(tmp_path: Path) -> None:
    """What the daemon's startup job did, as its child process records it."""
    _, _, config = _setup(tmp_path, "hold")
    job = ("import sys\nfrom pathlib import Path\nfrom agent.config import load_config\n"
           "from agent.jobs import run_job\nrun_job('startup', load_config(Path(sys.argv[1])))\n")
    done = subprocess.run([sys.executable, "-c", job, str(config)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    status = json.loads(_status(config, "--json"))
    startup = status["last"]["startup"]
    assert startup["sync"]["read"] > 0 and startup["suggest"]["placed"] > 0
    line = next(x for x in _status(config).splitlines() if x.startswith("  startup at "))
    assert f"holds {startup['suggest']['placed']} placed" in line and "drifting seam(s) of" in line
    assert status["errors"] == []
