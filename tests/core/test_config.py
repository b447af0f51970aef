"""The configuration file: the example loads, mistakes are located, secrets stay out."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from agent.config import SecretSettings, load_config, secret_key
from connectors.common.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_example_config_loads() -> None:
    config = load_config(ROOT / "config.example.yaml")
    assert config.source.type == "files"
    assert config.store.path == ROOT / ".bridgework"
    assert config.daemon.health_port == 9464


def test_every_problem_is_located(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("timezone: Mars/Olympus\nsource:\n  type: files\n  path: d\nstore:\n  pth: x\n"
                    "daemon:\n  sync_minutes: 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = info.value.message
    assert f"{path}:1:11:" in text and "Mars/Olympus" in text
    assert f"{path}:6:3:" in text and "did you mean 'path'" in text
    assert f"{path}:8:17:" in text


def test_unknown_source_type(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("source:\n  type: lotus-notes\n")
    with pytest.raises(ConfigError, match=r"config\.yaml:2"):
        load_config(path)


def test_secret_from_env_file_or_generated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRIDGEWORK_SECRET_KEY", raising=False)
    generated = secret_key(SecretSettings(), tmp_path)
    assert stat.S_IMODE((tmp_path / "secret.key").stat().st_mode) == 0o600
    assert secret_key(SecretSettings(), tmp_path) == generated
    monkeypatch.setenv("BRIDGEWORK_SECRET_KEY", "from-the-environment-1234")
    assert secret_key(SecretSettings(), tmp_path) == b"from-the-environment-1234"
    monkeypatch.delenv("BRIDGEWORK_SECRET_KEY")
    short = tmp_path / "short.key"
    short.write_text("tiny")
    with pytest.raises(ConfigError, match="fewer than 16"):
        secret_key(SecretSettings(key_file=short), tmp_path)


def test_daemon_times_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("source:\n  type: files\n  path: d\ndaemon:\n  analyze_at: '25:00'\n")
    with pytest.raises(ConfigError, match=r"config\.yaml:5:15: .*25:00"):
        load_config(path)


def test_the_older_spelling_analyse_at_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("source:\n  type: files\n  path: d\ndaemon:\n  analyse_at: '7:30'\n")
    assert load_config(path).daemon.analyze_at == "07:30"


def test_a_short_key_in_the_environment_is_a_clear_error(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGEWORK_SECRET_KEY", "short")
    with pytest.raises(ConfigError, match="BRIDGEWORK_SECRET_KEY holds fewer than 16"):
        secret_key(SecretSettings(), tmp_path)
