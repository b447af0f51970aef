"""Google Workspace: Directory, Calendar, Gmail metadata and sending (issue 5)."""

from __future__ import annotations

from connectors.base import Connectors
from connectors.google.settings import GoogleSettings


def build(settings: GoogleSettings) -> Connectors:
    from agent.errors import ConfigError

    raise ConfigError("the Google connector is not available in this build yet")
