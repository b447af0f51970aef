"""IMAP mail metadata (Dovecot, Cyrus, Stalwart, Exchange's IMAP, ...): headers only.

``source: {type: imap}`` reads people from a ``people.csv`` and message
headers from each person's sent folder and INBOX. The same settings, without
``type`` and ``people``, form the ``imap:`` section of a CalDAV source.
See docs/caldav-imap.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.base import Connectors
from connectors.common.clock import Clock, system_clock
from connectors.imap.settings import ImapServer, ImapSettings

if TYPE_CHECKING:
    from connectors.imap.mail import ImapMail


def build_mail(settings: ImapServer, *, clock: Clock = system_clock,
               setting: str = "source.imap") -> ImapMail:
    """The mail reader for one IMAP server.

    :raises ConfigError: a password or the accounts file cannot be read, or imapclient is missing.
    """
    from connectors.accounts import Accounts
    from connectors.common.errors import ConfigError

    try:
        from connectors.imap.mail import ImapMail
    except ImportError as exc:
        raise ConfigError(f"the IMAP connector needs the imapclient package: pip install "
                          f"imapclient ({exc.name} is missing)") from None
    return ImapMail(settings, Accounts(settings, setting), clock=clock)


def build(settings: ImapSettings, *, clock: Clock = system_clock) -> Connectors:
    """The connectors one ``imap`` source names: people.csv and mail metadata.

    :raises ConfigError: see :func:`build_mail`.
    """
    from connectors.files.people import FilesDirectory

    return Connectors(directory=FilesDirectory(settings.people),
                      mail=build_mail(settings, clock=clock, setting="source"))
