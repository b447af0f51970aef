"""Microsoft 365 over Microsoft Graph (issue 6)."""

from __future__ import annotations

from connectors.base import Connectors
from connectors.microsoft.settings import MicrosoftSettings


def build(settings: MicrosoftSettings) -> Connectors:
    from agent.errors import ConfigError

    raise ConfigError("the Microsoft connector is not available in this build yet")
