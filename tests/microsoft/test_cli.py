"""``bridgework connect microsoft --check`` against the fake tenant."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from agent.cli import main
from tests.fakes.graph import FakeGraph


def _config(tmp_path: Path, fake: FakeGraph, mode: str | None = None, **source: Any) -> Path:
    data: dict[str, Any] = {"source": fake.settings_dict(**source),
                            "store": {"path": str(tmp_path / "store")}}
    if mode is not None:
        rules = tmp_path / "rules.yaml"
        rules.write_text(f"meetings:\n  mode: {mode}\n")
        data["rules"] = str(rules)
    path = tmp_path / "bridgework.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _check(path: Path, *extra: str) -> Any:
    return CliRunner().invoke(main, ["connect", "microsoft", "--check", "--config", str(path), *extra])


def test_all_permissions_present(fake: FakeGraph, tmp_path: Path) -> None:
    fake.tenant.add_user("a@example.org", "A", "Sales")
    result = _check(_config(tmp_path, fake, "hold"))
    assert result.exit_code == 0, result.output
    assert "token: ok" in result.output and "all permissions present" in result.output
    assert "Calendars.ReadWrite" in result.output and "MISSING" not in result.output


def test_missing_permissions_are_named(fake: FakeGraph, tmp_path: Path) -> None:
    fake.roles = {"User.Read.All", "Calendars.Read", "Mail.Read"}
    result = _check(_config(tmp_path, fake, "invite"))
    assert result.exit_code == 2
    assert "MISSING Calendars.ReadWrite" in result.output
    assert "MISSING Mail.Send" in result.output
    assert "Mail.Read (only Mail.ReadBasic.All is needed)" in result.output
    assert "lacks Calendars.ReadWrite, MailboxSettings.Read, Mail.Send" in result.output
    assert "Traceback" not in result.output


def test_suggest_mode_needs_only_read(fake: FakeGraph, tmp_path: Path) -> None:
    fake.roles = {"User.Read.All", "Calendars.Read", "Mail.ReadBasic.All", "MailboxSettings.Read",
                  "Mail.Send"}
    assert _check(_config(tmp_path, fake)).exit_code == 0  # default rules: suggest
    assert _check(_config(tmp_path, fake), "--mode", "hold").exit_code == 2


def test_bad_secret_and_wrong_source(fake: FakeGraph, tmp_path: Path) -> None:
    path = _config(tmp_path, fake)
    Path(fake.settings_dict()["client_secret_file"]).write_text("nope")
    result = _check(path)
    assert result.exit_code == 2 and "refused the app's credentials" in result.output
    assert "nope" not in result.output
    other = tmp_path / "files.yaml"
    other.write_text(yaml.safe_dump({"source": {"type": "files", "path": str(tmp_path)}}))
    result = _check(other)
    assert result.exit_code == 2 and "not 'microsoft'" in result.output
