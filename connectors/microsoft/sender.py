"""Digests through Graph ``sendMail`` (application permission ``Mail.Send``).

Each digest carries the Message-ID derived from its key (``internetMessageId``)
and the key itself as an ``X-Bridgework-Key`` header, and is saved to the
sending mailbox's Sent Items: that copy is how a digest in doubt after a crash
is found again (:meth:`MicrosoftSender.delivered`, with ``Mail.ReadBasic.All``,
which reads no bodies). The sending mailbox is a shared one outside the
directory, so its Sent Items are never read as anyone's mail metadata.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from connectors.base import OutgoingMessage, Sender, as_email
from connectors.common.errors import ConfigError
from connectors.microsoft.client import Call, GraphClient

log = logging.getLogger(__name__)

PERMISSION = "Mail.Send"
#: Enough to find one message in Sent Items by its Message-ID (no body, no subject).
READ_PERMISSION = "Mail.ReadBasic.All"


class MicrosoftSender(Sender):
    def __init__(self, client: GraphClient) -> None:
        self._client = client

    def _sender(self, message: OutgoingMessage) -> str:
        sender = message.sender or self._client.settings.mail_from
        if not sender:
            raise ConfigError("set source.mail_from (or digest.sender) to send digests from")
        return sender

    def send(self, message: OutgoingMessage) -> None:
        sender = self._sender(message)
        body = (
            {"contentType": "html", "content": message.html}
            if message.html
            else {"contentType": "text", "content": message.text}
        )
        payload = {
            "message": {
                "subject": message.subject,
                "body": body,
                "toRecipients": [{"emailAddress": {"address": message.to}}],
                "internetMessageId": _message_id(message, sender),
                "internetMessageHeaders": [{"name": "X-Bridgework-Key", "value": message.key}],
            },
            "saveToSentItems": True,  # the copy delivered() looks for
        }
        # A timed-out send may have gone out; do not risk sending it twice.
        self._client.call(Call("POST", f"users/{quote(sender, safe='')}/sendMail", sender,
                               PERMISSION, body=payload, repeatable=False))

    def delivered(self, message: OutgoingMessage) -> bool | None:
        """Whether the sending mailbox's Sent Items holds a message with the digest's
        Message-ID; None when the app may not look there (no ``Mail.ReadBasic.All``, or an
        access policy keeps the mailbox out).

        :raises ConnectorError: Graph kept failing.
        """
        sender = self._sender(message)
        wanted = _message_id(message, sender).replace("'", "''")  # an OData string literal
        query = quote(f"internetMessageId eq '{wanted}'", safe="")
        reply = self._client.call(Call(
            "GET", f"users/{quote(sender, safe='')}/mailFolders/sentitems/messages"
            f"?$filter={query}&$select=id&$top=1", sender, READ_PERMISSION, allow=frozenset({403})))
        if reply.status == 403:
            log.warning("cannot look in %s's Sent Items (%s): the app needs %s on that mailbox; "
                        "a digest in doubt is not resent", sender, reply.error_code or "Forbidden",
                        READ_PERMISSION)
            return None
        return bool(reply.body.get("value"))


def _message_id(message: OutgoingMessage, sender: str) -> str:
    # the same Message-ID every other sender gives this digest
    return str(as_email(message, sender)["Message-ID"])
