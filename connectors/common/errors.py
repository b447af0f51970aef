"""The one error tier users see: a message and exit code 2, never a traceback."""

from __future__ import annotations


class BridgeworkError(Exception):
    """A problem the user can fix (bad input, missing permission, unreachable service)."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(BridgeworkError):
    """The configuration file is missing or invalid."""


class RulesError(BridgeworkError):
    """The rules file is invalid; ``problems`` holds every located message."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class ConnectorError(BridgeworkError):
    """An outside system refused or failed in a way retrying will not fix."""


class PermissionMissing(ConnectorError):
    """The credentials lack a scope or permission; the message names it."""


class NotOurEvent(BridgeworkError):
    """Refused to change a calendar event that Bridgework did not create."""


class StoreLocked(BridgeworkError):
    """Another Bridgework process holds the store."""
