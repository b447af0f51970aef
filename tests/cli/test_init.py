"""`bridgework init`: commented files for the chosen source, checked before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from agent.cli import main
from agent.config import load_config
from rules.loader import load_rules
from tests.cli.conftest import Home


def _init(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["init", *args])
    return result.exit_code, result.output


def _people(folder: Path, rows: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "people.csv").write_text("email,name,department,level\n" + rows)
    return folder


def test_nothing_is_written_when_a_check_fails(home: Home) -> None:
    code, out = _init()
    assert code == 2 and "a files source needs --data DIR" in out
    code, out = _init("--data", "missing")
    assert code == 2 and "--data " in out and "missing: no such directory" in out
    _people(home.cwd / "d", "a@x.org,A,Sales,1\n")
    code, out = _init("--data", "d", "--timezone", "Mars/Olympus")
    assert code == 2 and "--timezone 'Mars/Olympus' is not a time zone" in out
    code, out = _init("--data", "d", "--rules", str(home.cwd))
    assert code == 2 and "is a directory" in out
    assert not home.config.parent.exists() and not home.state.exists()


def test_files_init_writes_a_commented_config_that_loads(home: Home) -> None:
    _people(home.cwd / "d", "a@x.org,A,Sales,Senior\nb@x.org,B,Legal,Junior\n")
    code, out = _init("--data", "d")
    assert code == 0, out
    text = home.config.read_text()
    assert text.count("\n#") > 5  # commented, line by line
    config = load_config(home.config)
    assert config.store.path == home.state and config.store.path.is_absolute()
    assert config.source.path == home.cwd / "d"  # type: ignore[union-attr]
    assert config.rules == home.config.with_name("rules.yaml")
    rules = load_rules(config.rules, departments=["Legal", "Sales"])
    assert rules.meetings.mode.value == "hold"
    assert rules.participants.levels == {"Senior": 1, "Junior": 2}  # as found: to be ordered
    assert "put them lowest first" in home.config.with_name("rules.yaml").read_text()


def test_an_existing_file_is_kept_unless_forced(home: Home) -> None:
    _people(home.cwd / "d", "a@x.org,A,Sales,1\n")
    assert _init("--data", "d")[0] == 0
    home.config.write_text("# mine\n")
    code, out = _init("--data", "d", "--mode", "invite")
    assert code == 2 and f"{home.config} exists; nothing was written (--force replaces it)" in out
    assert home.config.read_text() == "# mine\n"
    code, out = _init("--data", "d", "--mode", "invite", "--force")
    assert code == 0 and "(mode invite)" in out
    assert load_rules(home.config.with_name("rules.yaml")).meetings.mode.value == "invite"


@pytest.mark.parametrize("source", ["google", "microsoft", "caldav", "imap"])
def test_every_source_gets_a_config_that_loads_in_suggest_mode(home: Home, source: str) -> None:
    _people(home.cwd, "a@x.org,A,Sales,1\n")
    code, out = _init("--source", source, "--people", "people.csv")
    assert code == 0, out
    assert f"bridgework connect {source} --check" in out and "fill in" in out
    config = load_config(home.config)
    assert config.source.type == source
    assert load_rules(config.rules).meetings.mode.value == "suggest"
    data = yaml.safe_load(home.config.read_text())
    assert data["store"]["path"] == str(home.state)


def test_rules_check_without_a_file_checks_the_configured_rules(home: Home) -> None:
    """After `init`, `rules check` alone finds the rules file the configuration names."""
    def check(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, ["rules", "check", *args])
        return result.exit_code, result.output

    code, out = check()
    assert code == 2 and "no configuration found" in out
    _people(home.cwd / "d", "a@x.org,A,Sales,1\n")
    assert _init("--data", "d")[0] == 0
    rules_file = home.config.with_name("rules.yaml")
    code, out = check()
    assert code == 0 and f"OK: {rules_file}" in out
    rules_file.write_text(rules_file.read_text().replace("mode: hold", "mode: holdd", 1))
    code, out = check()
    assert code == 2 and f"{rules_file}:" in out and "got 'holdd'" in out
    config = yaml.safe_load(home.config.read_text())
    del config["rules"]
    bare = home.cwd / "bare.yaml"
    bare.write_text(yaml.safe_dump(config))
    code, out = check("--config", str(bare))
    assert code == 2 and "names no rules file" in out
