"""Settings of the caldav and imap sources, as a config file gives them."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import load_config
from connectors.accounts import Accounts
from connectors.caldav.settings import CalDavSettings
from connectors.common.errors import ConfigError
from connectors.imap.settings import ImapSettings


def write(tmp: Path, text: str) -> Path:
    path = tmp / "bridgework.yaml"
    path.write_text(text)
    return path


def test_relative_paths_are_the_config_files_own_in_both_sections(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, """\
source:
  type: caldav
  url: https://dav.example.org
  people: people.csv
  accounts_file: secrets/accounts.csv
  imap: {host: mail.example.org, username: master, password_file: imap.password}
"""))
    source = config.source
    assert isinstance(source, CalDavSettings) and source.imap is not None
    assert source.url == "https://dav.example.org/"
    assert source.people == tmp_path / "people.csv"
    assert source.accounts_file == tmp_path / "secrets" / "accounts.csv"
    assert source.imap.password_file == tmp_path / "imap.password"
    assert source.imap.effective_port == 993


def test_sign_in_must_be_one_way_and_problems_are_located(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, """\
source:
  type: imap
  host: mail.example.org
  people: people.csv
  username: master
  accounts_file: accounts.csv
"""))
    assert f"{tmp_path / 'bridgework.yaml'}:2:3:" in info.value.message
    assert "either username" in info.value.message


def test_an_accounts_file_others_may_read_is_refused_and_no_password_is_shown(
        tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("email,username,password\nada@example.org,ada,s3cret-pw\nbad-row,,\n")
    settings = ImapSettings(type="imap", host="h", people=tmp_path / "p.csv",
                            accounts_file=accounts)
    accounts.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        Accounts(settings, "source")
    accounts.chmod(0o600)
    with pytest.raises(ConfigError) as info:
        Accounts(settings, "source")
    assert info.value.message == f"{accounts}:3: a row needs an email address and a password"
    accounts.write_text("email,username,password\nada@example.org,ada,s3cret-pw\n")
    login = Accounts(settings, "source").for_person("ADA@example.org")
    assert login is not None and login.username == "ada" and "s3cret" not in repr(login)


def test_an_unset_password_variable_is_named_not_guessed(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BW_TEST_CALDAV_PASSWORD", raising=False)
    settings = CalDavSettings(type="caldav", url="http://127.0.0.1:1/", people=tmp_path / "p.csv",
                              username="admin", password_env="BW_TEST_CALDAV_PASSWORD")
    with pytest.raises(ConfigError, match="BW_TEST_CALDAV_PASSWORD is not set"):
        Accounts(settings, "source")
