"""Gmail metadata: who wrote to whom and when, from the headers only.

Counting: with a service account every mailbox is read, so each internal
message sits in the sender's mailbox (label SENT) and in every recipient's.
Only the sender's copy is read (``labelIds=SENT`` / ``labelId=SENT``), which
halves the calls and counts each message once; the interaction id is the
Message-ID header, the same in every copy, so the ledger would dedupe anyway.
The one-person trial has a single mailbox and reads all of it.

Sync: the first run notes the mailbox's ``historyId`` (``getProfile``) and
lists messages newest first until they are older than ``history_days``; later
runs read ``history.list`` from the stored id. A 404 there means Gmail no
longer has that history: start the mailbox over and say so (``resynced``).
Headers are fetched with ``format=metadata`` and only From/To/Cc/Date and
Message-ID; the subject is never requested.
"""

from __future__ import annotations

import collections
import datetime as dt
import email.utils
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from googleapiclient.errors import HttpError

from connectors.base import Interaction, InteractionKind, Mail, Person, SyncChunk
from connectors.common.clock import Clock, system_clock
from connectors.google.answers import status_of
from connectors.google.scopes import GMAIL_METADATA, read_scopes
from connectors.google.transport import GMAIL_UNITS, Call, GoogleClient

log = logging.getLogger(__name__)

PAGE = 500
HEADERS = ["From", "To", "Cc", "Date", "Message-ID"]
MESSAGE_FIELDS = "id,labelIds,internalDate,payload/headers"
SKIP_LABELS = frozenset({"DRAFT", "SPAM", "TRASH"})


def _addresses(values: Sequence[str]) -> list[str]:
    return [addr.strip().lower() for _, addr in email.utils.getaddresses(list(values))
            if addr and "@" in addr]


def to_interaction(message: Mapping[str, Any]) -> Interaction | None:
    """One message's headers as metadata; None when it has no sender or time."""
    headers: dict[str, list[str]] = {}
    for header in (message.get("payload") or {}).get("headers") or []:
        headers.setdefault(str(header.get("name", "")).lower(), []).append(str(header.get("value")))
    sender = _addresses(headers.get("from", []))
    recipients = list(dict.fromkeys(_addresses(headers.get("to", []) + headers.get("cc", []))))
    when: dt.datetime | None = None
    if message.get("internalDate"):
        when = dt.datetime.fromtimestamp(int(message["internalDate"]) / 1000, dt.UTC)
    elif headers.get("date"):
        try:
            when = email.utils.parsedate_to_datetime(headers["date"][0])
        except (TypeError, ValueError):
            when = None
    if not sender or when is None:
        return None
    message_id = (headers.get("message-id") or [""])[0].strip()
    others = [r for r in recipients if r != sender[0]]
    return Interaction(
        id=message_id or f"gmail:{message['id']}",
        kind=InteractionKind.EMAIL,
        start=when,
        participants=(sender[0], *others),
        size=len(recipients),
    )


@dataclass
class _Mailbox:
    """Where one mailbox's sync stands."""

    user: str
    cursor: str | None  # the history id to store once everything is read
    resynced: bool = False
    pending: int = 0  # message fetches under way
    listing: bool = True  # a list/history page is still to come
    next_list_page: str | None = None
    too_old: bool = False
    found: list[Interaction] = field(default_factory=list)


class GoogleMail(Mail):
    def __init__(self, client: GoogleClient, clock: Clock = system_clock) -> None:
        self._client = client
        self._clock = clock
        self._scopes = read_scopes(client.settings)

    def _users(self, people: Sequence[Person]) -> list[str]:
        if self._client.settings.trial:
            return ["me"]
        return list(dict.fromkeys(p.email for p in people))

    def read(self, people: Sequence[Person], cursors: Mapping[str, str]) -> Iterator[SyncChunk]:
        return _MailSync(self._client, self._scopes, self._clock()).run(self._users(people),
                                                                        cursors)


class _MailSync:
    """One pass over many mailboxes, as a small state machine per mailbox."""

    def __init__(self, client: GoogleClient, scopes: tuple[str, ...], now: dt.datetime) -> None:
        self.client = client
        users = client.service("gmail").users()  # building resources is slow: once each
        self.users, self.messages, self.history = users, users.messages(), users.history()
        self.scopes = scopes
        self.sent_only = not client.settings.trial
        self.cutoff_ms = int((now - dt.timedelta(days=client.settings.history_days))
                             .timestamp() * 1000)
        self.queue: collections.deque[Call] = collections.deque()
        self.out: collections.deque[SyncChunk] = collections.deque()

    @staticmethod
    def key(user: str) -> str:
        return f"google:mail:{user}"

    def run(self, users: list[str], cursors: Mapping[str, str]) -> Iterator[SyncChunk]:
        waiting = iter(users)

        def admit() -> None:
            user = next(waiting, None)
            if user is None:
                return
            box = _Mailbox(user, cursors.get(self.key(user)))
            if box.cursor:
                self.queue.append(self._history(box, box.cursor, None))
            else:
                self.queue.append(self._profile(box))

        self.admit = admit
        for _ in range(self.client.settings.batch_size * 2):
            admit()
        for _ in self.client.run_batches(self.queue):
            while self.out:
                yield self.out.popleft()
        while self.out:
            yield self.out.popleft()

    def _call(self, box: _Mailbox, kind: str, make: Any, done: Any, failed: Any = None) -> Call:
        return Call(box.user, "gmail", GMAIL_UNITS[kind], make, done,
                    f"reading {box.user}'s mail ({kind})", GMAIL_METADATA, self.scopes,
                    failed=failed)

    # --- first sync ---------------------------------------------------------------
    def _profile(self, box: _Mailbox) -> Call:
        def done(answer: Any) -> None:
            box.cursor = str(answer.get("historyId"))
            self.queue.append(self._list(box, None))

        return self._call(box, "profile", lambda: self.users.getProfile(userId="me"), done)

    def _list(self, box: _Mailbox, page: str | None) -> Call:
        box.listing = True

        def make() -> Any:
            params: dict[str, Any] = {"userId": "me", "maxResults": PAGE, "pageToken": page,
                                      "fields": "messages/id,nextPageToken"}
            if self.sent_only:
                params["labelIds"] = ["SENT"]
            return self.messages.list(**params)

        def done(answer: Any) -> None:
            box.listing = False
            box.next_list_page = answer.get("nextPageToken")
            for item in answer.get("messages") or []:
                self._fetch(box, str(item["id"]))
            self._maybe_finish(box)

        return self._call(box, "list", make, done)

    # --- later syncs --------------------------------------------------------------
    def _history(self, box: _Mailbox, start: str, page: str | None) -> Call:
        box.listing = True

        def make() -> Any:
            params: dict[str, Any] = {"userId": "me", "startHistoryId": start, "pageToken": page,
                                      "maxResults": PAGE, "historyTypes": ["messageAdded"]}
            if self.sent_only:
                params["labelId"] = "SENT"
            return self.history.list(**params)

        def done(answer: Any) -> None:
            for record in answer.get("history") or []:
                for added in record.get("messagesAdded") or []:
                    msg = added.get("message") or {}
                    labels = set(msg.get("labelIds") or [])
                    if (self.sent_only and "SENT" not in labels) or labels & SKIP_LABELS:
                        continue
                    self._fetch(box, str(msg["id"]))
            nxt = answer.get("nextPageToken")
            if nxt:
                self.queue.append(self._history(box, start, nxt))
            else:
                box.listing = False
                box.cursor = str(answer.get("historyId") or box.cursor)
            self._maybe_finish(box)

        def failed(exc: HttpError) -> bool:
            if status_of(exc) != 404:
                return False
            log.info("mail history of %s is gone; full resync", box.user)
            box.resynced, box.cursor = True, None
            self.queue.append(self._profile(box))
            return True

        return self._call(box, "history", make, done, failed)

    # --- messages -----------------------------------------------------------------
    def _fetch(self, box: _Mailbox, message_id: str) -> None:
        box.pending += 1

        def make() -> Any:
            return self.messages.get(userId="me", id=message_id, format="metadata",
                                                  metadataHeaders=HEADERS, fields=MESSAGE_FIELDS)

        def done(answer: Any) -> None:
            box.pending -= 1
            labels = set(answer.get("labelIds") or [])
            if int(answer.get("internalDate") or 0) < self.cutoff_ms:
                box.too_old = True
            elif not labels & SKIP_LABELS and (not self.sent_only or "SENT" in labels):
                found = to_interaction(answer)
                if found is not None:
                    box.found.append(found)
            self._maybe_finish(box)

        def failed(exc: HttpError) -> bool:
            if status_of(exc) != 404:  # deleted since it was listed: nothing to count
                return False
            box.pending -= 1
            self._maybe_finish(box)
            return True

        self.queue.append(self._call(box, "get", make, done, failed))

    def _maybe_finish(self, box: _Mailbox) -> None:
        if box.pending or box.listing:
            return
        if box.next_list_page and not box.too_old:
            page, box.next_list_page = box.next_list_page, None
            self.out.append(SyncChunk(box.found, self.key(box.user), None, box.resynced))
            box.found = []
            self.queue.append(self._list(box, page))
            return
        self.out.append(SyncChunk(box.found, self.key(box.user), box.cursor, box.resynced))
        box.found = []
        box.listing = True  # finished: late callbacks must not emit again
        self.admit()
