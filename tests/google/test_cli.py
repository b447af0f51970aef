"""``bridgework connect google --check`` against the fake server."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from agent.cli import main
from tests.fakes.google.world import GoogleWorld

SCOPE = "https://www.googleapis.com/auth/"


def _config(world: GoogleWorld, tmp: Path, mode: str) -> Path:
    s = world.settings
    rules = tmp / "rules.yaml"
    rules.write_text(yaml.safe_dump({"meetings": {"mode": mode}}))
    config = tmp / "bridgework.yaml"
    config.write_text(yaml.safe_dump({
        "source": {"type": "google", "domain": s.domain, "admin_subject": s.admin_subject,
                   "credentials_file": str(s.credentials_file),
                   "send_credentials_file": str(s.send_credentials_file), "send_as": s.send_as,
                   "api_root": s.api_root, "token_uri": s.token_uri,
                   "backoff_seconds": 0.01, "backoff_max_seconds": 0.02, "max_retries": 1},
        "rules": str(rules),
        "store": {"path": str(tmp / "store")},
    }))
    return config


def test_check_passes_when_everything_is_granted(gworld: GoogleWorld, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["connect", "google", "--check", "--config",
                                       str(_config(gworld, tmp_path, "invite"))])
    assert result.exit_code == 0, result.output
    assert "calendar.events" in result.output and "all scopes granted" in result.output


def test_check_names_missing_scopes_and_how_to_grant(gworld: GoogleWorld,
                                                     tmp_path: Path) -> None:
    gworld.fake.granted = {SCOPE + "admin.directory.user.readonly", SCOPE + "calendar.readonly",
                           SCOPE + "gmail.send"}
    result = CliRunner().invoke(main, ["connect", "google", "--check", "--config",
                                       str(_config(gworld, tmp_path, "hold"))])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert any(line.strip().startswith("MISSING gmail.metadata") for line in lines)
    assert any(line.strip().startswith("MISSING calendar.events") for line in lines)
    assert any(line.strip().startswith("ok      calendar.readonly") for line in lines)
    assert "Domain-wide delegation" in result.output and "Client ID: 1234567890" in result.output
    assert "Traceback" not in result.output


def test_suggest_mode_does_not_ask_for_write_scope(gworld: GoogleWorld, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["connect", "google", "--check", "--config",
                                       str(_config(gworld, tmp_path, "suggest"))])
    assert result.exit_code == 0, result.output
    assert "calendar.events" not in result.output
