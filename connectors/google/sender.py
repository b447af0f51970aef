"""Digests through Gmail (``users.messages.send``) with their own credentials.

The sending key holds only ``gmail.send`` and is kept apart from the reading
key, so a leaked reading key cannot send mail and vice versa. The Message-ID
is derived from the digest's key, so a resent digest can be recognised.
"""

from __future__ import annotations

import base64

from connectors.base import OutgoingMessage, Sender, as_email
from connectors.common.errors import ConfigError
from connectors.google.scopes import GMAIL_SEND
from connectors.google.transport import GMAIL_UNITS, GoogleClient


class GmailSender(Sender):
    def __init__(self, client: GoogleClient, default_sender: str | None) -> None:
        self._client = client
        self._default = default_sender

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
