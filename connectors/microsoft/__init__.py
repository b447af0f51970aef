"""Microsoft 365 over Microsoft Graph (issue 6): Entra ID users, Outlook calendars and mail."""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING

from connectors.base import Connectors
from connectors.common.clock import Clock, system_clock
from connectors.microsoft.settings import MicrosoftSettings

if TYPE_CHECKING:  # msal and requests load only when the connector is used
    import requests

    from connectors.microsoft.client import Sleep


def build(
    settings: MicrosoftSettings,
    *,
    clock: Clock = system_clock,
    sleep: Sleep = time.sleep,
    rng: random.Random | None = None,
    session: requests.Session | None = None,
) -> Connectors:
    """The Graph-backed connectors; ``clock``, ``sleep``, ``rng`` and ``session`` are for tests."""
    try:
        from connectors.microsoft.auth import TokenProvider, make_session
        from connectors.microsoft.calendar import MicrosoftCalendar
        from connectors.microsoft.client import GraphClient
        from connectors.microsoft.directory import MicrosoftDirectory
        from connectors.microsoft.mail import MicrosoftMail
        from connectors.microsoft.sender import MicrosoftSender
    except ImportError as exc:
        from connectors.common.errors import ConfigError

        raise ConfigError(f"the Microsoft connector needs its extra: pip install 'bridgework[microsoft]' "
                          f"({exc.name} is missing)") from None

    session = session or make_session(settings)
    client = GraphClient(settings, session, TokenProvider(settings, session), sleep=sleep,
                         rng=rng)
    ids: dict[str, str] = {}  # e-mail -> Graph user id, shared by all four
    return Connectors(
        directory=MicrosoftDirectory(client, ids),
        calendar=MicrosoftCalendar(client, ids, clock) if settings.read_calendar else None,
        mail=MicrosoftMail(client, ids, clock) if settings.read_mail else None,
        sender=MicrosoftSender(client),
    )
