"""The configuration file: where data comes from, where state lives, secrets.

Parsed once, at the edge, into strict models; unknown keys are errors and
every problem is reported with its file, line and column. Secrets never sit
in the file itself: they come from an environment variable or a ``*_file``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from connectors.common.envname import EnvName, describe
from connectors.common.errors import ConfigError
from connectors.common.fileio import write_private
from connectors.registry import SourceSettings
from connectors.smtp import SmtpSettings
from rules.model import TimeZone, parse_clock
from rules.yamlsource import YamlProblems, load_file, validation_problems

DEFAULT_KEY_ENV = "BRIDGEWORK_SECRET_KEY"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreSettings(_Strict):
    type: Literal["tinydb"] = "tinydb"
    path: Path = Field(Path(".bridgework"), description="directory for state, ledger and lock")


class SecretSettings(_Strict):
    """The key that pseudonymises people at rest (keyed HMAC)."""

    key_env: EnvName = Field(DEFAULT_KEY_ENV, description="environment variable holding the key")
    key_file: Path | None = Field(None, description="file holding the key (mode 0600)")
    credential: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_.-]+$",
        description="name of a systemd credential holding the key (LoadCredential=), read from "
        "$CREDENTIALS_DIRECTORY")


class DigestSettings(_Strict):
    sender: str = Field("bridgework@localhost", description="From address of digests")
    enabled: bool = True
    smtp: SmtpSettings | None = Field(
        None, description="send digests through this mail server instead of the source's sender")
    opt_out_address: str | None = Field(
        None,
        description="a mail to this address opts its sender out (seen in mail metadata only; "
        "e.g. bridgework+stop@example.org)",
    )
    pause_address: str | None = Field(
        None,
        description="a mail to this address pauses new suggestions for its sender for "
        "pairing.pause_weeks (\"not now\"; seen in mail metadata only; e.g. "
        "bridgework+pause@example.org). The person digest links to it only when it is set",
    )

    @model_validator(mode="after")
    def _two_addresses(self) -> DigestSettings:
        if self.pause_address and self.opt_out_address and \
                self.pause_address.strip().lower() == self.opt_out_address.strip().lower():
            raise ValueError("pause_address and opt_out_address must differ: one mail cannot "
                             "both pause and opt out")
        return self


class DaemonSettings(_Strict):
    sync_minutes: int = Field(60, ge=5, description="minutes between syncs")
    # ``analyse_at``, the earlier spelling, still loads
    analyze_at: str = Field("06:00", validation_alias=AliasChoices("analyze_at", "analyse_at"),
                            description="daily analyse-and-suggest time, org time zone")
    upkeep_minutes: int = Field(30, ge=5, description="minutes between hold upkeep passes")
    health_port: int | None = Field(9464, ge=0, le=65535,
                                    description="port for /healthz and /metrics; null: off")
    health_host: str = Field("127.0.0.1", min_length=1,
                             description="address the health server binds; 0.0.0.0 in a container")

    @field_validator("analyze_at")
    @classmethod
    def _clock(cls, value: str) -> str:
        moment = parse_clock(value)
        return f"{moment:%H:%M}"


class Config(_Strict):
    timezone: TimeZone = Field("UTC", description="the organisation's time zone")
    source: SourceSettings
    store: StoreSettings = Field(default_factory=StoreSettings)
    secret: SecretSettings = Field(default_factory=SecretSettings)
    rules: Path | None = Field(None, description="the rules file; built-in defaults without one")
    digest: DigestSettings = Field(default_factory=DigestSettings)
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


def _resolve_paths(config: Config, base: Path) -> Config:
    """Relative paths in a config file mean relative to that file."""

    def fix(p: Path | None) -> Path | None:
        return None if p is None or p.is_absolute() else (base / p)

    updates: dict[str, object] = {}
    if fix(config.store.path):
        updates["store"] = config.store.model_copy(update={"path": fix(config.store.path)})
    if config.rules is not None and fix(config.rules):
        updates["rules"] = fix(config.rules)
    if config.secret.key_file is not None and fix(config.secret.key_file):
        updates["secret"] = config.secret.model_copy(update={"key_file": fix(config.secret.key_file)})
    source_updates: dict[str, object] = {}
    smtp = config.digest.smtp
    if smtp is not None:
        smtp_updates = {name: base / value for name in ("password_file", "ca_bundle")
                        if isinstance(value := getattr(smtp, name), Path) and not value.is_absolute()}
        if smtp_updates:
            updates["digest"] = config.digest.model_copy(
                update={"smtp": smtp.model_copy(update=smtp_updates)})
    names = ("path", "outbox", "credentials_file", "client_secret_file", "certificate_file",
             "token_file", "ca_bundle", "send_credentials_file", "people", "password_file",
             "accounts_file")
    for name in names:
        value = getattr(config.source, name, None)
        if isinstance(value, Path) and not value.is_absolute():
            source_updates[name] = base / value
    nested = getattr(config.source, "imap", None)  # the IMAP section beside a CalDAV source
    if isinstance(nested, BaseModel):
        fixed = {n: base / v for n in names
                 if isinstance(v := getattr(nested, n, None), Path) and not v.is_absolute()}
        if fixed:
            source_updates["imap"] = nested.model_copy(update=fixed)
    if source_updates:
        updates["source"] = config.source.model_copy(update=source_updates)
    return config.model_copy(update=updates) if updates else config


def load_config(path: Path) -> Config:
    try:
        located = load_file(path)
        if not isinstance(located.data, dict):
            raise ConfigError(f"{path}:1:1: the config must be a mapping of settings")
        config = Config.model_validate(located.data)
    except YamlProblems as exc:
        raise ConfigError("invalid config:\n" + "\n".join(map(str, exc.problems))) from None
    except ValidationError as exc:
        problems = validation_problems(exc, located, Config)
        raise ConfigError("invalid config:\n" + "\n".join(map(str, problems))) from None
    return _resolve_paths(config, path.parent)


def _long_enough(key: str, where: str) -> bytes:
    if len(key) < 16:
        raise ConfigError(f"{where} holds fewer than 16 characters; a pseudonymisation key needs more")
    return key.encode()


def _read_key_file(path: Path, what: str) -> bytes:
    try:
        text = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not text"
        raise ConfigError(f"cannot read {what} {path}: {reason}") from None
    return _long_enough(text, f"{what} {path}")


def secret_key(settings: SecretSettings, store_dir: Path) -> bytes:
    """The pseudonymisation key: env var, credential, key file, else one made and kept in the store.

    A key is generated only when nothing was configured: a configured source that
    gives nothing is an error, because a new key would silently change every pseudonym.

    :raises ConfigError: a configured source is missing, unreadable or too short.
    """
    from_env = os.environ.get(settings.key_env)
    if from_env:
        return _long_enough(from_env, describe(settings.key_env, "secret.key_env"))
    if "key_env" in settings.model_fields_set:
        raise ConfigError(f"{describe(settings.key_env, 'secret.key_env')} is not set. It must hold "
                          "the key; if you wrote the key itself into secret.key_env, move it into "
                          "that variable or a key_file")
    if settings.credential is not None:
        folder = os.environ.get("CREDENTIALS_DIRECTORY")
        if not folder:
            raise ConfigError(f"secret.credential {settings.credential!r} is set but "
                              "$CREDENTIALS_DIRECTORY is not (is the unit's LoadCredential= in place?)")
        return _read_key_file(Path(folder) / settings.credential, "the credential")
    if settings.key_file is not None:
        return _read_key_file(settings.key_file, "secret.key_file")
    generated = store_dir / "secret.key"
    if generated.exists():
        return _read_key_file(generated, "the generated key")
    key = secrets.token_hex(32)
    write_private(generated, key.encode())
    return key.encode()
