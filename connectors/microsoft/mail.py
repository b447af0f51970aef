"""Mail metadata over Graph: each person's Sent Items, by ``messages/delta``.

Only the sender's copy is read, so every internal message is counted exactly
once however many colleagues received it, and mail from outside the
organisation is never touched. ``$select`` asks for sender, recipients, date
and Message-ID only: no subject, no body, no attachment names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from urllib.parse import quote

from connectors.base import Mail, Person, SyncChunk
from connectors.common.clock import Clock
from connectors.microsoft import parse
from connectors.microsoft.client import GraphClient
from connectors.microsoft.delta import DeltaReader, Feed

PERMISSION = "Mail.ReadBasic.All"
FIELDS = "from,toRecipients,ccRecipients,sentDateTime,internetMessageId"


class MicrosoftMail(Mail):
    def __init__(self, client: GraphClient, ids: MutableMapping[str, str], clock: Clock) -> None:
        self._client = client
        self._ids = ids
        self._clock = clock
        self._reader = DeltaReader(client, Feed(
            prefix="microsoft:mail",
            permission=PERMISSION,
            start=self._start,
            parse=parse.message,
            stale=lambda _until: False,  # a mail delta chain has no window to outgrow
        ))

    def _start(self, email: str) -> tuple[str, str | None]:
        since = self._clock().astimezone(dt.UTC) - dt.timedelta(days=self._client.settings.history_days)
        since_text = since.replace(hour=0, minute=0, second=0, microsecond=0).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        user = quote(self._ids.get(email, email), safe="")
        url = (f"users/{user}/mailFolders/sentitems/messages/delta?$select={FIELDS}"
               f"&$filter={quote(f'receivedDateTime ge {since_text}', safe='')}")
        return url, None

    def read(self, people: Sequence[Person], cursors: Mapping[str, str]) -> Iterator[SyncChunk]:
        return self._reader.read(people, cursors)
