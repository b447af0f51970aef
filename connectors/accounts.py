"""Sign-in for the standards servers (CalDAV, IMAP): one proxy account, or one per person.

Self-hosted servers let an administrator read everyone's data in one of two
ways, and Bridgework takes either:

- **one account** (``username`` with ``password_env`` or ``password_file``)
  that may read every person's data: a Dovecot master user, a Radicale user
  granted rights over every collection, a Nextcloud admin with delegation;
- **an accounts file** (``accounts_file``): a CSV ``email,username,password``
  with one row per person, for servers that only let people read their own.
  It holds secrets, so it must not be readable by group or others.

Passwords are read when the connector is built and kept only in memory; no
error message or log line ever contains one.
"""

from __future__ import annotations

import csv
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors.common.envname import EnvName, describe
from connectors.common.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Login:
    """How one session signs in. ``acting_for`` is set when a proxy account acts as a person."""

    username: str
    password: str = field(repr=False)
    acting_for: str | None = None


class AccountSettings(BaseModel):
    """The sign-in part of the ``caldav`` and ``imap`` source settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str | None = Field(
        None, description="one account that may read everyone's data (admin, proxy or master user)")
    password_env: EnvName | None = Field(
        None, description="environment variable holding that account's password")
    password_file: Path | None = Field(None, description="file holding that account's password")
    accounts_file: Path | None = Field(
        None, description="CSV email,username,password: one sign-in per person (mode 0600)")
    login_format: str = Field(
        "{email}", description="each person's user name on the server: {email} or {local} "
        "(the part before @), e.g. {local}@mail.example.org")

    @model_validator(mode="after")
    def _one_way_in(self) -> AccountSettings:
        if (self.username is None) == (self.accounts_file is None):
            raise ValueError("give either username (one account that reads everyone) or "
                             "accounts_file (one sign-in per person)")
        if self.username is not None:
            if (self.password_env is None) == (self.password_file is None):
                raise ValueError("the account needs exactly one of password_env and password_file")
        elif self.password_env is not None or self.password_file is not None:
            raise ValueError("password_env and password_file belong to username; the accounts "
                             "file carries its own passwords")
        try:
            self.login_format.format(email="a@b", local="a")
        except (KeyError, IndexError, ValueError):
            raise ValueError("login_format may use only {email} and {local}") from None
        return self

    def login_name(self, email: str) -> str:
        return self.login_format.format(email=email, local=email.split("@")[0])


def read_secret(env: str | None, path: Path | None, setting: str) -> str:
    """A password from the named environment variable or file; never quoted back.

    :raises ConfigError: the variable is unset or empty, or the file cannot be read or is empty.
    """
    if path is not None:
        try:
            value = path.read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not text"
            raise ConfigError(f"cannot read {setting}.password_file {path}: {reason}") from None
        if not value:
            raise ConfigError(f"{setting}.password_file {path} is empty")
        return value
    name = env or ""
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigError(f"{describe(name, setting + '.password_env')} is not set or empty")
    return value


def _read_accounts(path: Path, setting: str) -> dict[str, tuple[str, str]]:
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(f"{setting}.accounts_file {path} holds passwords but others may read "
                              "it; chmod 600 it")
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except OSError as exc:
        raise ConfigError(f"cannot read {setting}.accounts_file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{setting}.accounts_file {path} is not UTF-8 text") from None
    header = [h.strip().lower() for h in (rows[0] if rows else [])]
    if not {"email", "password"} <= set(header):
        raise ConfigError(f"{path}:1: the accounts file needs the columns email,username,password")
    at = {name: i for i, name in enumerate(header)}
    found: dict[str, tuple[str, str]] = {}
    for line, row in enumerate(rows[1:], start=2):
        cells = {name: (row[i].strip() if i < len(row) else "") for name, i in at.items()}
        email = cells["email"].lower()
        if not email:
            continue
        if "@" not in email or not cells["password"]:
            # the row may hold a password in the wrong column: name the line, never the cells
            raise ConfigError(f"{path}:{line}: a row needs an email address and a password")
        found[email] = (cells.get("username") or email, cells["password"])
    return found


class Accounts:
    """The sign-ins one configuration gives, resolved once (secrets read at build time).

    :raises ConfigError: a password or the accounts file cannot be read.
    """

    def __init__(self, settings: AccountSettings, setting: str) -> None:
        self._settings = settings
        self._setting = setting
        self.proxy: Login | None = None
        self._people: dict[str, tuple[str, str]] = {}
        if settings.username is not None:
            password = read_secret(settings.password_env, settings.password_file, setting)
            self.proxy = Login(settings.username, password)
        else:
            assert settings.accounts_file is not None
            self._people = _read_accounts(settings.accounts_file, setting)

    def for_person(self, email: str) -> Login | None:
        """How to sign in to read ``email``'s data; None if the accounts file has no row."""
        if self.proxy is not None:
            return Login(self.proxy.username, self.proxy.password,
                         self._settings.login_name(email))
        row = self._people.get(email.lower())
        return Login(row[0], row[1]) if row else None

    def login_name(self, email: str) -> str:
        """The user name the server knows ``email`` by."""
        row = self._people.get(email.lower())
        return row[0] if row else self._settings.login_name(email)
