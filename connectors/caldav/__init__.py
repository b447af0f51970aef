"""CalDAV calendars (any standard server: Radicale, Nextcloud, Fastmail, Stalwart, ...).

``source: {type: caldav}`` reads people from a ``people.csv``, meetings and
free/busy from each person's CalDAV calendars, and puts holds there; an
``imap:`` section beside it adds mail metadata from an IMAP server. Digests
go out through ``digest.smtp``. See docs/caldav-imap.md.
"""

from __future__ import annotations

from connectors.base import Connectors
from connectors.caldav.settings import CalDavSettings
from connectors.common.clock import Clock, system_clock


def build(settings: CalDavSettings, *, clock: Clock = system_clock) -> Connectors:
    """The connectors one ``caldav`` source names.

    :raises ConfigError: a password or the accounts file cannot be read, or the
        ``caldav``/``imapclient`` packages are missing.
    """
    from connectors.accounts import Accounts
    from connectors.common.errors import ConfigError
    from connectors.files.people import FilesDirectory

    try:
        from connectors.caldav.calendar import CalDavCalendar
    except ImportError as exc:
        raise ConfigError(f"the CalDAV connector needs the caldav package: pip install caldav "
                          f"({exc.name} is missing)") from None
    mail = None
    if settings.imap is not None:
        from connectors.imap import build_mail

        mail = build_mail(settings.imap, clock=clock)
    return Connectors(
        directory=FilesDirectory(settings.people),
        calendar=CalDavCalendar(settings, Accounts(settings, "source"), clock=clock),
        mail=mail,
    )
