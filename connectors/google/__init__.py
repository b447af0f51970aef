"""Google Workspace: Directory, Calendar, Gmail metadata and sending (issue 5)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from connectors.base import Connectors
from connectors.common.clock import Clock, system_clock
from connectors.google.settings import GoogleSettings


def build(settings: GoogleSettings, *, clock: Clock = system_clock,
          sleep: Callable[[float], None] = time.sleep,
          monotonic: Callable[[], float] = time.monotonic,
          rng: random.Random | None = None,
          quota_window: float = 60.0) -> Connectors:
    """The Google connectors for one configuration (sleep, clocks and randomness injectable for tests)."""
    try:
        from connectors.google.auth import ServiceAccountSource, credential_source
        from connectors.google.calendar import GoogleCalendar
        from connectors.google.directory import GoogleDirectory
        from connectors.google.mail import GoogleMail
        from connectors.google.sender import GmailSender
        from connectors.google.transport import GoogleClient
    except ImportError as exc:
        from connectors.common.errors import ConfigError

        raise ConfigError(f"the Google connector needs its extra: pip install 'bridgework[google]' "
                          f"({exc.name} is missing)") from None

    def client(source: object) -> GoogleClient:
        return GoogleClient(settings, source, sleep=sleep, monotonic=monotonic, rng=rng,
                            quota_window=quota_window)

    reader = client(credential_source(settings))
    sender = None
    if settings.send_credentials_file is not None:
        sender = GmailSender(client(ServiceAccountSource(settings.send_credentials_file,
                                                         settings.token_uri)),
                             settings.send_as or settings.admin_subject,
                             reader if settings.mail else None)
    elif settings.trial:
        sender = GmailSender(reader, settings.send_as, reader if settings.mail else None)
    return Connectors(
        directory=GoogleDirectory(reader),
        calendar=GoogleCalendar(reader, clock) if settings.calendar else None,
        mail=GoogleMail(reader, clock) if settings.mail else None,
        sender=sender,
    )
