"""``bridgework connect imap --check``: sign in for each person, name their folders.

Pure reporting: only STATUS is asked, no message is fetched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from imapclient.exceptions import IMAPClientError

from connectors.base import Person
from connectors.common.errors import ConnectorError
from connectors.imap.mail import ImapMail


@dataclass
class MailboxCheck:
    email: str
    sent_folder: str | None = None
    sent_messages: int | None = None
    inbox_messages: int | None = None
    problem: str | None = None


def check_connection(mail: ImapMail, people: Sequence[Person]) -> list[MailboxCheck]:
    """For each person: can the account sign in, which folder is sent mail, how much is there."""
    found = []
    for person in people:
        seen = MailboxCheck(person.email)
        found.append(seen)
        try:
            folders = mail.inspect(person.email)
        except (ConnectorError, IMAPClientError, OSError) as exc:
            seen.problem = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            continue
        seen.sent_folder, seen.sent_messages = folders.sent, folders.sent_messages
        seen.inbox_messages = folders.inbox_messages
        if seen.sent_folder is None:
            seen.problem = (f"no folder marked \\Sent and none named {mail.settings.sent_folder!r}; "
                            "set sent_folder")
    return found
