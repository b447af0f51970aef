"""IMAP mail metadata: header-only, incremental by UIDVALIDITY and the last UID read.

For each person: sign in (as them, or as a master account acting for them),
find the sent folder (the one marked ``\\Sent`` by SPECIAL-USE, else the
configured name; kept in the cursor), and for it and INBOX ask STATUS for
UIDVALIDITY and UIDNEXT. A folder with nothing new costs that one command.
New messages are fetched with ``BODY.PEEK[HEADER.FIELDS (FROM TO CC DATE
MESSAGE-ID)]`` — never a body, and PEEK so nothing is marked read. If a
folder's UIDVALIDITY changed, its old UIDs mean nothing any more: it is read
again from the start (``resynced``) and the ledger skips what it has.

The same message sits in the sender's sent folder and each recipient's
INBOX with one Message-ID, which is its interaction id, so it counts once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import random
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from connectors.accounts import Accounts, Login
from connectors.base import Interaction, Mail, Person, SyncChunk
from connectors.common.clock import Clock, system_clock
from connectors.common.errors import ConnectorError, PermissionMissing
from connectors.imap import headers
from connectors.imap.settings import ImapServer
from connectors.retry import Backoff

log = logging.getLogger(__name__)

HEADER_ITEM = b"BODY.PEEK[HEADER.FIELDS (" + " ".join(headers.FIELDS).encode() + b")]"
_ANSWER_ITEM = HEADER_ITEM.replace(b".PEEK", b"")
_VERSION = 1


def cursor_key(email: str) -> str:
    return f"imap:{email}"


class Refused(ConnectorError):
    """The server would not let this account read this mailbox."""


@dataclass
class _Cursor:
    sent: str | None = None
    folders: dict[str, list[int]] = field(default_factory=dict)  # name -> [uidvalidity, last uid]

    def dump(self) -> str:
        return json.dumps({"v": _VERSION, "sent": self.sent, "folders": self.folders},
                          separators=(",", ":"), sort_keys=True)

    @classmethod
    def load(cls, raw: str | None) -> _Cursor:
        """:raises ValueError: the cursor is not one this version wrote."""
        if not raw:
            return cls()
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("v") != _VERSION:
            raise ValueError("unknown cursor version")
        folders = {str(k): [int(v[0]), int(v[1])] for k, v in (data.get("folders") or {}).items()}
        return cls(data.get("sent"), folders)


@dataclass(frozen=True, slots=True)
class Folders:
    """What one mailbox shows: its sent folder (None: not found) and message counts."""

    sent: str | None
    sent_messages: int | None
    inbox_messages: int | None


class Session:
    """One signed-in IMAP connection, counting the commands it sends."""

    def __init__(self, settings: ImapServer, login: Login) -> None:
        self.settings = settings
        self.commands = 0
        context = ssl.create_default_context(
            cafile=str(settings.ca_bundle) if settings.ca_bundle else None)
        secure = settings.security == "ssl"
        self.client = IMAPClient(settings.host, settings.effective_port, ssl=secure,
                                 ssl_context=context if secure else None,
                                 timeout=settings.timeout_seconds)
        self.client.normalise_times = False  # INTERNALDATE with its zone, not local time
        # Without this, AUTHENTICATE's continuation meets Nagle and delayed ACKs: every
        # sign-in waits ~40 ms for nothing, which is most of an idle cycle's time.
        self.client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            if settings.security == "starttls":
                self.command(self.client.starttls, context)
            self._sign_in(login)
        except BaseException:
            self.close()
            raise

    def _sign_in(self, login: Login) -> None:
        try:
            if login.acting_for is None:
                self.command(self.client.login, login.username, login.password)
            elif self.settings.master_separator:
                self.command(self.client.login,
                             login.acting_for + self.settings.master_separator + login.username,
                             login.password)
            else:
                self.command(self.client.plain_login, login.username, login.password,
                             authorization_identity=login.acting_for)
        except LoginError:
            who = login.acting_for or login.username
            via = f" through {login.username}" if login.acting_for else ""
            raise Refused(f"the IMAP server refused the sign-in for {who}{via}") from None

    def command(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self.commands += 1
        return call(*args, **kwargs)

    def close(self) -> None:
        try:
            self.client.logout()
        except (IMAPClientError, OSError):
            with contextlib.suppress(IMAPClientError, OSError):
                self.client.shutdown()


SessionFactory = Callable[[ImapServer, Login], Session]


class ImapMail(Mail):
    def __init__(self, settings: ImapServer, accounts: Accounts, *, clock: Clock = system_clock,
                 sleep: Callable[[float], None] = time.sleep,
                 session: SessionFactory = Session) -> None:
        self.settings = settings
        self._accounts = accounts
        self._clock = clock
        self._open = session
        self._backoff = Backoff(settings.backoff_seconds, settings.max_backoff_seconds, sleep,
                                random.Random())
        self.commands = 0  # IMAP commands sent, sign-in included (for the bench)
        self.logins = 0

    def read(self, people: Sequence[Person], cursors: Mapping[str, str]) -> Iterator[SyncChunk]:
        refused: list[str] = []
        for person in people:
            login = self._accounts.for_person(person.email)
            if login is None:
                self.problems.report("accounts_file", person.email, "no sign-in for this person; "
                                     "their mail is not read")
                continue
            try:
                yield from self._read_person(person, login, cursors.get(cursor_key(person.email)))
            except Refused as exc:
                log.warning("%s; their mail is skipped this cycle", exc.message)
                refused.append(exc.message)
        if people and len(refused) == len(people):
            raise PermissionMissing(refused[0] + " (and every other mailbox): check the account, "
                                    "its password, and that it may act for each person")

    def _connect(self, login: Login) -> Session:
        attempt = 0
        while True:
            try:
                session = self._open(self.settings, login)
                self.logins += 1
                return session
            except (TimeoutError, OSError, IMAPClientError) as exc:
                if isinstance(exc, Refused):
                    raise
                if attempt >= self.settings.max_retries:
                    raise ConnectorError(f"cannot reach the IMAP server {self.settings.host}:"
                                         f"{self.settings.effective_port} ({type(exc).__name__}: "
                                         f"{exc})") from None
                self._backoff.wait(attempt)
                attempt += 1

    def inspect(self, email: str) -> Folders:
        """Sign in for one person and name their sent folder and message counts (no fetch).

        :raises Refused: the sign-in was refused.
        :raises ConnectorError: the server cannot be reached, or there is no sign-in for them.
        """
        login = self._accounts.for_person(email)
        if login is None:
            raise ConnectorError(f"no sign-in for {email} in the accounts file")
        session = self._connect(login)
        try:
            cursor = _Cursor()
            folders = self._folders(session, cursor, f"imap://{login.acting_for or login.username}")
            counts = {name: session.command(session.client.folder_status, name, [b"MESSAGES"])
                      for name in folders}
            return Folders(cursor.sent, int(counts[cursor.sent][b"MESSAGES"]) if cursor.sent else None,
                           int(counts["INBOX"][b"MESSAGES"]) if "INBOX" in counts else None)
        finally:
            self.commands += session.commands
            session.close()

    def _read_person(self, person: Person, login: Login, raw: str | None) -> Iterator[SyncChunk]:
        key = cursor_key(person.email)
        resynced = False
        try:
            cursor = _Cursor.load(raw)
        except (ValueError, TypeError, KeyError, IndexError):
            self.problems.report(key, "cursor", "unreadable cursor; the mailbox is read again "
                                 "from the start")
            cursor, resynced = _Cursor(), True
        session = self._connect(login)
        where = f"imap://{login.acting_for or login.username}"
        try:
            for folder in self._folders(session, cursor, where):
                yield from self._read_folder(session, person, cursor, folder, where, key, resynced)
        except (IMAPClientError, OSError) as exc:
            # a broken connection mid-mailbox: what was read is kept (its chunks carry the
            # cursor); the rest is read next cycle
            raise ConnectorError(f"{where}: the IMAP connection failed ({type(exc).__name__}: "
                                 f"{exc}); the rest is read next cycle") from None
        finally:
            self.commands += session.commands
            session.close()

    def _folders(self, session: Session, cursor: _Cursor, where: str) -> list[str]:
        sent = cursor.sent
        if sent is None:
            special = session.command(session.client.find_special_folder, b"\\Sent")
            if special:
                sent = str(special)
            elif session.command(session.client.folder_exists, self.settings.sent_folder):
                sent = self.settings.sent_folder
            else:
                self.problems.report(where, "folders", f"no folder marked \\Sent and none named "
                                     f"{self.settings.sent_folder!r}; sent mail is not read")
            cursor.sent = sent
        folders = [sent] if sent else []
        if self.settings.inbox and "INBOX" not in folders:
            folders.append("INBOX")
        return folders

    def _read_folder(self, session: Session, person: Person, cursor: _Cursor, folder: str,
                     where: str, key: str, resynced: bool) -> Iterator[SyncChunk]:
        client = session.client
        try:
            status = session.command(client.folder_status, folder, [b"UIDVALIDITY", b"UIDNEXT"])
        except IMAPClientError:
            if folder == cursor.sent:  # renamed or removed: look for the sent folder again
                cursor.sent = None
            self.problems.report(f"{where}/{folder}", "folder", "cannot be opened; skipped")
            return
        validity, uidnext = int(status[b"UIDVALIDITY"]), int(status[b"UIDNEXT"])
        before = cursor.folders.get(folder)
        if before is not None and before[0] == validity and uidnext - 1 <= before[1]:
            return  # nothing new
        if before is not None and before[0] != validity:
            log.info("UIDVALIDITY of one folder changed; reading it again")
            resynced, before = True, None
        session.command(client.select_folder, folder, readonly=True)
        if before is None:
            since = (self._clock() - dt.timedelta(days=self.settings.history_days)).date()
            uids = session.command(client.search, ["SINCE", since])
        else:
            uids = [u for u in session.command(client.search, ["UID", f"{before[1] + 1}:*"])
                    if u > before[1]]
        uids = sorted(int(u) for u in uids)
        last = before[1] if before else 0
        if not uids:
            cursor.folders[folder] = [validity, max(last, uidnext - 1)]
            yield SyncChunk([], key, cursor.dump(), resynced)
            return
        sent = folder == cursor.sent
        for begin in range(0, len(uids), self.settings.fetch_batch):
            batch = uids[begin:begin + self.settings.fetch_batch]
            answer = session.command(client.fetch, batch, [HEADER_ITEM, b"INTERNALDATE"])
            found: list[Interaction] = []
            for uid in batch:
                data = answer.get(uid)
                if data is None:
                    continue  # expunged meanwhile
                raw = data.get(_ANSWER_ITEM) or b""
                arrived = data.get(b"INTERNALDATE")
                parsed = headers.parse(raw, arrived if isinstance(arrived, dt.datetime) else None,
                                       owner=person.email, sent_folder=sent)
                for problem in parsed.problems:
                    self.problems.report(f"{where}/{folder}", f"UID {uid}", problem)
                if parsed.interaction is not None:
                    found.append(parsed.interaction)
            last = batch[-1]
            cursor.folders[folder] = [validity, last]
            yield SyncChunk(found, key, cursor.dump(), resynced)
