"""Point 5: the conventions of the tools people know — version, -h, config discovery, --json,
no wrapping or colour off a terminal, exit codes, messages that name the thing and the fix."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from agent.cli import main
from agent.cli_common import default_config_path, default_state_path, find_config
from agent.cli_docs import commands
from connectors.common.errors import ConfigError
from tests.cli.conftest import ROOT, Home

GOLDEN = ROOT / "tests" / "golden" / "defaults" / "data"
#: Commands whose output is JSON already, so --json would say nothing more.
NO_JSON = {("rules", "schema"), ("export",)}


def test_version_and_short_help() -> None:
    runner = CliRunner()
    version = runner.invoke(main, ["--version"])
    assert version.exit_code == 0 and re.fullmatch(r"bridgework \d+\.\d+\.\d+\n", version.output)
    for args in (["-h"], ["rules", "-h"], ["rules", "check", "-h"], ["status", "-h"], ["init", "-h"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0 and result.output.startswith("Usage: "), args


def test_config_is_found_by_option_then_environment_then_xdg(tmp_path: Path) -> None:
    named, from_env, xdg = (tmp_path / n for n in ("named.yaml", "env.yaml", "xdg"))
    named.write_text("x")
    from_env.write_text("x")
    env = {"XDG_CONFIG_HOME": str(xdg), "BRIDGEWORK_CONFIG": str(from_env)}
    assert find_config(named, env) == named
    assert find_config(None, env) == from_env
    with pytest.raises(ConfigError, match="no configuration found: give --config FILE, set "
                       r"\$BRIDGEWORK_CONFIG, or run `bridgework init`"):
        find_config(None, {"XDG_CONFIG_HOME": str(xdg)})
    default_config_path({"XDG_CONFIG_HOME": str(xdg)}).parent.mkdir(parents=True)
    default_config_path({"XDG_CONFIG_HOME": str(xdg)}).write_text("x")
    assert find_config(None, {"XDG_CONFIG_HOME": str(xdg)}) == xdg / "bridgework" / "config.yaml"
    with pytest.raises(ConfigError, match=r"\$BRIDGEWORK_CONFIG .*missing.yaml: no such file"):
        find_config(None, {"BRIDGEWORK_CONFIG": str(tmp_path / "missing.yaml")})
    # a relative XDG value is ignored, as the spec says; the state goes under ~/.local/state
    assert default_state_path({"XDG_STATE_HOME": "relative"}) == Path.home() / ".local/state/bridgework"


def test_commands_that_need_a_config_say_how_to_get_one(home: Home) -> None:
    for args in (["run", "--once"], ["status"], ["opt-out", "a@x.org"], ["doctor"]):
        result = home.run(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert "no configuration found" in result.stderr and "bridgework init" in result.stderr
        assert "Traceback" not in result.stderr
    assert not home.state.exists()


def test_every_reporting_command_takes_json() -> None:
    lacking = [" ".join(path) for path, command in commands(main)
               if path and not isinstance(command, click.Group) and path not in NO_JSON
               and not any("--json" in getattr(p, "opts", ()) for p in command.params)]
    assert lacking == []


def test_piped_output_is_not_wrapped_or_coloured(home: Home) -> None:
    result = home.run("analyze", "--data", str(GOLDEN), "--as-of", "2024-06-03")
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stdout and "\x1b[" not in result.stderr
    lines = result.stdout.splitlines()
    assert max(map(len, lines)) > 120  # a table row wider than any terminal default, kept whole
    assert any(line.startswith("As of 2024-06-03: 12 people in 4 departments; data from ")
               for line in lines)


def test_exit_codes_user_error_2_bug_1(home: Home) -> None:
    bad = home.run("analyze", "--data", str(GOLDEN), "--as-of", "soon")
    assert bad.returncode == 2 and bad.stderr.startswith("error: --as-of: expected a date")
    usage = home.run("analyze")
    assert usage.returncode == 2 and "Missing option '--data'" in usage.stderr
    # a bug (an exception that is not a BridgeworkError) is exit 1 with its traceback
    boom = ("import sys\nfrom agent.cli import main\n"
            "@main.command(help='x')\ndef boom():\n    raise RuntimeError('a bug')\nmain()\n")
    crash = subprocess.run([sys.executable, "-c", boom, "boom"], env=home.env, cwd=home.cwd,
                           capture_output=True, text=True, timeout=60)
    assert crash.returncode == 1 and "Traceback" in crash.stderr and "RuntimeError: a bug" in crash.stderr


def test_missing_data_directory_is_named_with_the_fix(home: Home) -> None:
    gone = home.run("analyze", "--data", "nowhere")
    assert gone.returncode == 2
    assert gone.stderr == "error: --data nowhere: no such directory\n"
    (home.cwd / "empty").mkdir()
    empty = home.run("rules", "explain", "r.yaml", "--data", "empty")
    assert empty.returncode == 2
    assert "--data empty has no people.csv" in empty.stderr
    assert "README, 'Pointing it at real data'" in empty.stderr


def test_every_readme_heading_a_message_names_exists() -> None:
    headings = {line.lstrip("#").strip() for line in (ROOT / "README.md").read_text().splitlines()
                if line.startswith("#")}
    named = set()
    for path in (ROOT / "agent").rglob("*.py"):
        named |= set(re.findall(r"README, '([^']+)'", path.read_text()))
    for path in [*(ROOT / "connectors").rglob("*.py"), ROOT / "config.example.yaml",
                 *(ROOT / "agent" / "templates").rglob("*.j2")]:
        named |= set(re.findall(r"README, '([^']+)'", path.read_text()))
    assert named and named <= headings, named - headings


def _files_config(home: Home, data: str) -> Path:
    config = home.cwd / "config.yaml"
    config.write_text(f"source:\n  type: files\n  path: {data}\nstore:\n  path: {home.cwd / 'state'}\n")
    return config


def test_a_bad_source_path_creates_no_state_or_key(home: Home) -> None:
    config = _files_config(home, "no-such-dir")
    week = dt.date.today().isocalendar()
    for args in (["run", "--once"], ["opt-out", "ann@example.com"], ["run", "--once", "--dry-run"],
                 ["holds", "list"], ["forget", "ann@example.com"],
                 ["digest", "send", "--week", f"{week[0]}-W{week[1]:02d}"]):
        result = home.run(*args, "--config", str(config))
        assert result.returncode == 2, (args, result.stderr)
        assert f"source.path {home.cwd / 'no-such-dir'}: no such directory" in result.stderr
    assert not (home.cwd / "state").exists()


def test_opt_out_of_an_address_not_in_the_directory_is_an_error(home: Home) -> None:
    config = _files_config(home, str(GOLDEN))
    typo = home.run("opt-out", "ann@exmaple.com", "--config", str(config))
    assert typo.returncode == 2
    assert "ann@exmaple.com is not in the directory" in typo.stderr
    assert "did you mean ann@example.com?" in typo.stderr and "nothing was changed" in typo.stderr
    assert not (home.cwd / "state").exists()
    done = home.run("opt-out", "Ann@Example.com", "--config", str(config), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"email": "ann@example.com", "opted_out": True}
    status = json.loads(home.run("status", "--json", "--config", str(config)).stdout)
    assert status["opt_outs_waiting"] == 1  # applied by the next cycle
