"""The README's path from a fresh clone to holds on calendars, command by command.

``make demo`` runs ``bridgework demo --out demo-data``; the README then says
``bridgework init --data demo-data``, ``bridgework run --once`` and
``bridgework status``. Each is run here as a user would (a subprocess, its
output piped), from a fresh home with no configuration anywhere.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.cli.conftest import ROOT, Home


def _readme_commands() -> list[str]:
    """The commands of the README's 'From the demo to holds' block."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### From the demo to holds", 1)[1].split("\n#", 1)[0]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]


def test_readme_keeps_two_setup_commands_at_the_top() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first = text.split("```sh", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in first.splitlines() if line.strip()] == [
        "make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert "$(BIN)/bridgework demo --out demo-data" in makefile


def test_demo_init_run_status_places_holds(home: Home) -> None:
    commands = _readme_commands()
    assert commands == ["bridgework init --data demo-data", "bridgework run --once",
                        "bridgework status"]

    demo = home.run("demo", "--out", "demo-data")  # what `make demo` runs
    assert demo.returncode == 0, demo.stderr
    assert "planted drift found: 3 of 3" in demo.stdout
    assert "bridgework init --data demo-data" in demo.stdout  # the demo names the next step
    assert not home.config.exists() and not home.state.exists()

    init = home.run(*commands[0].split()[1:])
    assert init.returncode == 0, init.stderr
    assert f"wrote {home.config}" in init.stdout and f"state in {home.state}" in init.stdout
    assert "(mode hold)" in init.stdout
    assert "bridgework run --once" in init.stdout
    assert home.config.is_file() and home.config.with_name("rules.yaml").is_file()
    assert not home.state.exists()  # made by the first run, not by init

    run = home.run(*commands[1].split()[1:])
    assert run.returncode == 0, run.stderr
    placed = int(re.search(r"holds: (\d+) placed", run.stdout)[1])  # type: ignore[index]
    assert placed > 0, run.stdout
    assert "drifting seam(s): " in run.stdout
    ics = (home.cwd / "demo-data" / "outbox" / "holds.ics").read_text()
    assert ics.count("BEGIN:VEVENT") == placed
    assert home.state.is_dir() and (home.state / "state.json").is_file()
    assert (home.state.stat().st_mode & 0o077) == 0

    status = home.run(*commands[2].split()[1:])
    assert status.returncode == 0, status.stderr
    assert f"Config: {home.config}" in status.stdout and f"State:  {home.state}" in status.stdout
    assert "mode hold" in status.stdout and "Daemon: not running" in status.stdout
    assert f"holds {placed} placed" in status.stdout
    assert f"Holds by state: {placed} held" in status.stdout
    assert "digests:" in status.stdout and "Last errors: none" in status.stdout
    as_json = json.loads(home.run("status", "--json").stdout)
    assert as_json["holds"] == {"held": placed} and len(as_json["upcoming"]) == placed
    assert as_json["last"]["cycle"]["holds"]["placed"] == placed

    again = home.run("run", "--once")  # the same day, the same rules: nothing new, nothing twice
    assert again.returncode == 0, again.stderr
    assert "holds: 0 placed" in again.stdout
    assert (home.cwd / "demo-data" / "outbox" / "holds.ics").read_text().count("BEGIN:VEVENT") == placed


def test_state_lives_where_the_config_says(home: Home, tmp_path: Path) -> None:
    """--state and --config put both elsewhere; the commands then need only --config."""
    (home.cwd / "data").mkdir()
    (home.cwd / "data" / "people.csv").write_text("email,department\na@x.org,Sales\nb@x.org,Legal\n")
    config = tmp_path / "elsewhere" / "bw.yaml"
    init = home.run("init", "--data", "data", "--config", str(config), "--state", "st")
    assert init.returncode == 0, init.stderr
    assert f"state in {home.cwd / 'st'}" in init.stdout  # made absolute
    assert f"--config {config}" in init.stdout and "BRIDGEWORK_CONFIG" in init.stdout
    assert not home.config.exists()
    status = home.run("status", BRIDGEWORK_CONFIG=str(config))
    assert status.returncode == 0 and "Last run: none yet" in status.stdout
    assert not (home.cwd / "st").exists()  # status writes nothing
