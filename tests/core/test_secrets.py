"""Secrets typed where their variable's name belongs are refused unquoted; private folders are 0700."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from agent.config import load_config, secret_key
from connectors.common.errors import ConfigError
from connectors.common.fileio import write_private
from connectors.smtp import SmtpSettings, _password

KEY = "9f2c41d7e8a0b3c5d6e7f8091a2b3c4d"  # looks like a key, not like a variable name
WORDY_KEY = "gH7kP2qR9sT4vW6xY8zA1bC3dE5fJ0mN"  # identifier-shaped: passes as a name


def _config(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"source:\n  type: files\n  path: data\nstore:\n  path: {tmp_path}/state\n{extra}")
    return path


def test_a_key_pasted_into_key_env_is_refused_without_echo(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_config(tmp_path, f"secret:\n  key_env: '{KEY}'\n"))
    assert "config.yaml:7" in info.value.message and "never in the config" in info.value.message
    assert KEY not in info.value.message


def test_a_name_shaped_key_in_key_env_never_makes_a_new_key(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WORDY_KEY, raising=False)
    config = load_config(_config(tmp_path, f"secret:\n  key_env: {WORDY_KEY}\n"))
    with pytest.raises(ConfigError, match="is not set") as info:
        secret_key(config.secret, config.store.path)
    assert WORDY_KEY not in info.value.message
    assert not (config.store.path / "secret.key").exists()  # no silent new pseudonyms


def test_an_unset_variable_with_a_conventional_name_is_named(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACME_BRIDGEWORK_KEY", raising=False)
    config = load_config(_config(tmp_path, "secret:\n  key_env: ACME_BRIDGEWORK_KEY\n"))
    with pytest.raises(ConfigError, match="ACME_BRIDGEWORK_KEY is not set"):
        secret_key(config.secret, config.store.path)
    monkeypatch.setenv("ACME_BRIDGEWORK_KEY", "a-long-enough-key-0123")
    assert secret_key(config.secret, config.store.path) == b"a-long-enough-key-0123"


def test_the_default_key_env_unset_still_falls_back_to_a_generated_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRIDGEWORK_SECRET_KEY", raising=False)
    config = load_config(_config(tmp_path, ""))
    first = secret_key(config.secret, config.store.path)
    assert secret_key(config.secret, config.store.path) == first
    assert stat.S_IMODE(config.store.path.stat().st_mode) == 0o700


def test_the_key_comes_from_a_systemd_credential(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRIDGEWORK_SECRET_KEY", raising=False)
    config = load_config(_config(tmp_path, "secret:\n  credential: secret-key\n"))
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    with pytest.raises(ConfigError, match="CREDENTIALS_DIRECTORY is not"):
        secret_key(config.secret, config.store.path)
    creds = tmp_path / "creds"
    creds.mkdir()
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    with pytest.raises(ConfigError, match="cannot read the credential"):
        secret_key(config.secret, config.store.path)
    (creds / "secret-key").write_text("credential-key-0123456789\n")
    assert secret_key(config.secret, config.store.path) == b"credential-key-0123456789"
    assert not (config.store.path / "secret.key").exists()


def test_a_damaged_generated_key_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRIDGEWORK_SECRET_KEY", raising=False)
    config = load_config(_config(tmp_path, ""))
    write_private(config.store.path / "secret.key", b"\xff\xfe\x00binary")
    with pytest.raises(ConfigError, match=r"cannot read the generated key .*secret\.key"):
        secret_key(config.secret, config.store.path)


def test_a_password_pasted_into_password_env_is_not_echoed(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    password = "hunter2-Correct-Horse!"
    path = _config(tmp_path, f"digest:\n  smtp:\n    host: localhost\n    username: bw\n"
                             f"    password_env: '{password}'\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "password_env" in info.value.message and password not in info.value.message
    # shaped like a name, yet not a conventional one: the runtime error does not quote it either
    monkeypatch.delenv("hunter2Horse", raising=False)
    settings = SmtpSettings(host="localhost", username="bw", password_env="hunter2Horse")
    with pytest.raises(ConfigError) as info:
        _password(settings)
    assert "hunter2Horse" not in info.value.message and "password_env" in info.value.message


def test_private_writes_make_every_missing_folder_0700(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    old = os.umask(0o022)
    try:
        write_private(tmp_path / "a" / "b" / "c" / "token.json", b"{}")
    finally:
        os.umask(old)
    for folder in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert stat.S_IMODE((tmp_path / "a" / "b" / "c" / "token.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755  # an existing folder is not changed
