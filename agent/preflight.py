"""Checks made before a command writes any state: the files a configuration names exist.

A typo in ``source.path`` must fail with the setting named, before a store
directory, a lock or a generated key is created for a Bridgework that cannot
run. Only local files are checked here; a service that does not answer is
the sync's business (it retries, and the admin digest says so).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING

from connectors.common.errors import BridgeworkError, ConfigError
from connectors.files.settings import FilesSettings

if TYPE_CHECKING:
    from agent.config import Config

#: Settings that name a file Bridgework reads (so it must exist), wherever they appear.
_READ_FILES = ("credentials_file", "send_credentials_file", "client_secret_file",
               "certificate_file", "ca_bundle", "password_file", "accounts_file", "people")


def data_directory_problem(path: Path, what: str) -> str | None:
    """Why ``path`` is not a data directory, naming ``what`` (the option or setting); None if it is."""
    if not path.exists():
        return f"{what} {path}: no such directory"
    if not path.is_dir():
        return f"{what} {path} is a file, not a data directory"
    if not (path / "people.csv").is_file():
        return (f"{what} {path} has no people.csv: a data directory needs one, with at least the "
                "columns email and department (README, 'Pointing it at real data')")
    return None


def source_problems(config: Config) -> list[str]:
    """What is missing among the local files the configuration names."""
    problems = []
    source = config.source
    if isinstance(source, FilesSettings):
        problem = data_directory_problem(source.path, "source.path")
        if problem:
            problems.append(problem)
    sections = [("source", source), ("source.imap", getattr(source, "imap", None)),
                ("digest.smtp", config.digest.smtp)]
    for prefix, section in sections:
        if section is None:
            continue
        for name in _READ_FILES:
            value = getattr(section, name, None)
            if isinstance(value, Path) and not value.is_file():
                problems.append(f"{prefix}.{name} {value}: no such file")
    key_file = config.secret.key_file
    if key_file is not None and not key_file.is_file():
        problems.append(f"secret.key_file {key_file}: no such file (write a key of at least 16 "
                        "characters there, or leave key_file out to have one generated)")
    return problems


def check_sources(config: Config) -> None:
    """:raises ConfigError: a file or directory the configuration names is missing."""
    problems = source_problems(config)
    if problems:
        raise ConfigError("; ".join(problems) if len(problems) == 1
                          else "the configuration names files that are missing:\n  "
                          + "\n  ".join(problems))


def directory_person(config: Config, address: str) -> None:
    """:raises BridgeworkError: ``address`` is not in the configured directory."""
    from connectors.registry import build_connectors

    directory = build_connectors(config.source).directory
    known = sorted(p.email for p in directory.people())
    if address in known:
        return
    close = difflib.get_close_matches(address, known, n=1, cutoff=0.8)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise BridgeworkError(f"{address} is not in the directory ({len(known)} people in "
                          f"source {config.source.type}){hint}; nothing was changed")
