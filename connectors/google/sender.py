"""Digests through Gmail (``users.messages.send``) with their own credentials.

The sending key holds only ``gmail.send`` and is kept apart from the reading
key, so a leaked reading key cannot send mail and vice versa. The Message-ID
is derived from the digest's key, so a resent digest can be recognised.

Whether a digest in doubt went out (:meth:`GmailSender.delivered`): ``gmail.send``
cannot list anything, and ``gmail.metadata`` (the reading key's scope) refuses the
``q=rfc822msgid:`` search, so the reading key lists the sending mailbox's newest
``SENT`` messages and compares their Message-ID headers, nothing else of them.
Without mail reading (no ``gmail.metadata``) the answer is "cannot tell".
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from connectors.base import OutgoingMessage, Sender, as_email
from connectors.common.errors import ConfigError, PermissionMissing
from connectors.google.scopes import GMAIL_METADATA, GMAIL_SEND, read_scopes
from connectors.google.transport import GMAIL_UNITS, GoogleClient

log = logging.getLogger(__name__)

#: The newest sent messages looked through. A digest in doubt is the first one looked at
#: when the job runs again, so if it went it is among the newest of the sending mailbox.
SENT_SCAN = 50


class GmailSender(Sender):
    def __init__(self, client: GoogleClient, default_sender: str | None,
                 reader: GoogleClient | None = None) -> None:
        self._client = client
        self._default = default_sender
        self._reader = reader  # holds gmail.metadata on the sending mailbox, or None

    def send(self, message: OutgoingMessage) -> None:
        sender = message.sender or self._default
        if not sender:
            raise ConfigError("no sender address for digests: set source.send_as")
        raw = base64.urlsafe_b64encode(as_email(message, sender).as_bytes()).decode()
        svc = self._client.service("gmail")
        self._client.execute(
            lambda: svc.users().messages().send(userId="me", body={"raw": raw}, fields="id"),
            user=sender, scopes=(GMAIL_SEND,), what=f"sending a digest as {sender}",
            scope=GMAIL_SEND, api="gmail", units=GMAIL_UNITS["send"], unsafe=True)

    def delivered(self, message: OutgoingMessage) -> bool | None:
        """Found among the sending mailbox's newest SENT messages by its Message-ID: True;
        not there and nothing older to look at: False; else None (cannot tell).

        :raises ConnectorError: Gmail kept failing.
        """
        sender = message.sender or self._default
        if self._reader is None or not sender:
            return None
        wanted = str(as_email(message, sender)["Message-ID"])
        reader = self._reader
        scopes = read_scopes(reader.settings)
        messages = reader.service("gmail").users().messages()

        def ask(make: Any, kind: str) -> Any:
            return reader.execute(make, user=sender, scopes=scopes, scope=GMAIL_METADATA,
                                  what=f"looking for a digest in {sender}'s sent mail",
                                  api="gmail", units=GMAIL_UNITS[kind])

        try:
            listing = ask(lambda: messages.list(userId="me", labelIds=["SENT"],
                                                maxResults=SENT_SCAN,
                                                fields="messages/id,nextPageToken"), "list")
            for item in listing.get("messages") or []:
                found = ask(lambda i=item["id"]: messages.get(
                    userId="me", id=i, format="metadata", metadataHeaders=["Message-ID"],
                    fields="payload/headers"), "get")
                headers = (found.get("payload") or {}).get("headers") or []
                if any(str(h.get("value", "")).strip() == wanted for h in headers
                       if str(h.get("name", "")).lower() == "message-id"):
                    return True
        except PermissionMissing as exc:
            log.warning("cannot look in the sending mailbox's sent mail: %s", exc.message)
            return None
        return False if not listing.get("nextPageToken") else None
