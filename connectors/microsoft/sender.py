"""Digests through Graph ``sendMail`` (application permission ``Mail.Send``).

The copy is not saved to Sent Items, so Bridgework's own digests never come
back as mail metadata, and the digest key travels as an ``X-Bridgework-Key``
header so a resend can be recognised.
"""

from __future__ import annotations

from urllib.parse import quote

from connectors.base import OutgoingMessage, Sender
from connectors.common.errors import ConfigError
from connectors.microsoft.client import Call, GraphClient

PERMISSION = "Mail.Send"


class MicrosoftSender(Sender):
    def __init__(self, client: GraphClient) -> None:
        self._client = client

    def send(self, message: OutgoingMessage) -> None:
        sender = message.sender or self._client.settings.mail_from
        if not sender:
            raise ConfigError("set source.mail_from (or digest.sender) to send digests from")
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
                "internetMessageHeaders": [{"name": "X-Bridgework-Key", "value": message.key}],
            },
            "saveToSentItems": False,
        }
        # A timed-out send may have gone out; do not risk sending it twice.
        self._client.call(Call("POST", f"users/{quote(sender, safe='')}/sendMail", sender,
                               PERMISSION, body=payload, repeatable=False))
