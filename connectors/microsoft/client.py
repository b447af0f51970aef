"""Microsoft Graph over requests: retries, throttling, $batch and per-mailbox limits.

Every call names the mailbox it touches and the permission it needs, so that
(a) no mailbox ever has more than ``mailbox_concurrency`` requests in flight
(Exchange Online throttles at four), counting each call inside a ``$batch``,
and (b) a 403 turns into :class:`PermissionMissing` naming what to grant.

429 and 503 are retried after ``Retry-After`` when Graph sends one, otherwise
after an exponential backoff with full jitter (:mod:`connectors.retry`);
timeouts and dropped connections are retried the same way unless the call is
not safe to repeat.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests

from connectors.common.errors import ConnectorError, PermissionMissing
from connectors.microsoft.auth import TokenProvider
from connectors.microsoft.settings import MicrosoftSettings
from connectors.retry import Backoff, count_call, retry_after

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Refusals that mean the request was not carried out: safe to repeat even a send.
NOT_DONE_STATUSES = frozenset({429, 503})


def should_retry(status: int, repeatable: bool) -> bool:
    """A 500/502/504 may come after the work was done: only repeatable calls retry it."""
    return status in (RETRY_STATUSES if repeatable else NOT_DONE_STATUSES)


Sleep = Callable[[float], None]


@dataclass(frozen=True)
class Call:
    """One Graph request. ``url`` is relative to the Graph root, or an absolute next/delta link."""

    method: str
    url: str
    mailbox: str | None
    permission: str
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    allow: frozenset[int] = frozenset()  # error statuses handed back instead of raised
    repeatable: bool = True  # safe to send again after a timeout


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error_code(self) -> str:
        error = self.body.get("error")
        return str(error.get("code", "")) if isinstance(error, dict) else ""


@dataclass
class Stats:
    """What went over the wire; the benchmark prints these."""

    http_requests: int = 0
    calls: int = 0
    batches: int = 0
    retries: int = 0
    throttled: int = 0
    slept_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: float) -> None:
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


class MailboxLimiter:
    """At most ``limit`` requests in flight per mailbox; units are taken in sorted order."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._sems: dict[str, threading.BoundedSemaphore] = {}

    def _sem(self, mailbox: str) -> threading.BoundedSemaphore:
        with self._lock:
            sem = self._sems.get(mailbox)
            if sem is None:
                sem = self._sems[mailbox] = threading.BoundedSemaphore(self._limit)
            return sem

    @contextmanager
    def hold(self, mailboxes: Counter[str]) -> Iterator[None]:
        taken: list[threading.BoundedSemaphore] = []
        try:
            # A fixed order means two threads can never each wait for the other's units.
            for mailbox in sorted(mailboxes):
                sem = self._sem(mailbox)
                for _ in range(min(mailboxes[mailbox], self._limit)):
                    sem.acquire()
                    taken.append(sem)
            yield
        finally:
            for sem in reversed(taken):
                sem.release()


class GraphClient:
    def __init__(
        self,
        settings: MicrosoftSettings,
        session: requests.Session,
        tokens: TokenProvider,
        sleep: Sleep = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.session = session
        self.tokens = tokens
        self.stats = Stats()
        self.limiter = MailboxLimiter(settings.mailbox_concurrency)
        self.backoff = Backoff(settings.backoff_seconds, settings.max_backoff_seconds, sleep,
                               rng or random.Random())
        self._root = settings.graph_root

    # --- URLs ------------------------------------------------------------------------
    def absolute(self, url: str) -> str:
        return url if url.startswith("https://") else f"{self._root}/{url.lstrip('/')}"

    def relative(self, url: str) -> str:
        """A path relative to the Graph root, as ``$batch`` wants it."""
        if url.startswith(self._root):
            url = url[len(self._root) :]
        elif url.startswith("https://"):
            raise ConnectorError(f"Graph returned a link outside {self._root}")
        return "/" + url.lstrip("/")

    # --- waiting -----------------------------------------------------------------------
    def _wait(self, seconds: float) -> None:
        self.stats.add(slept_seconds=seconds, retries=1)
        self.backoff.pause(seconds)

    # --- single calls ------------------------------------------------------------------
    def _send(self, method: str, url: str, body: Mapping[str, Any] | None,
              headers: Mapping[str, str], mailboxes: Counter[str]) -> requests.Response:
        all_headers = {
            "Authorization": f"Bearer {self.tokens.token()}",
            "Accept": "application/json",
            "Prefer": 'outlook.timezone="UTC"',
            **headers,
        }
        timeout = (self.settings.connect_timeout_seconds, self.settings.timeout_seconds)
        with self.limiter.hold(mailboxes):
            self.stats.add(http_requests=1)
            return self.session.request(method, self.absolute(url), json=body,
                                        headers=all_headers, timeout=timeout)

    def _exchange(self, method: str, url: str, body: Mapping[str, Any] | None,
                  headers: Mapping[str, str], mailboxes: Counter[str],
                  repeatable: bool) -> requests.Response:
        """One HTTP exchange with every transient failure retried."""
        refreshed = False
        attempt = 0
        while True:
            try:
                resp = self._send(method, url, body, headers, mailboxes)
                if url != "$batch" or resp.status_code >= 400:  # else its requests count
                    count_call("microsoft", resp.status_code)
            except (requests.Timeout, requests.ConnectionError) as exc:
                count_call("microsoft", "no-answer")
                # Only a failed connect proves the request never left; anything later may
                # have been carried out, so a call that is unsafe to repeat is not repeated.
                never_sent = isinstance(exc, requests.ConnectTimeout)
                if attempt >= self.settings.max_retries or not (repeatable or never_sent):
                    raise ConnectorError(
                        f"Microsoft Graph did not answer {method} {_path(url)}: "
                        f"{type(exc).__name__}"
                    ) from None
                log.info("retrying %s %s after %s", method, _path(url), type(exc).__name__)
                self._wait(self.backoff.delay(attempt))
                attempt += 1
                continue
            if resp.status_code == 401 and not refreshed:
                refreshed = True
                self.tokens.invalidate()
                continue
            if should_retry(resp.status_code, repeatable) and attempt < self.settings.max_retries:
                self.stats.add(throttled=int(resp.status_code == 429))
                self._wait(self.backoff.delay(attempt, retry_after(resp.headers)))
                attempt += 1
                continue
            return resp

    def call(self, call: Call) -> Reply:
        self.stats.add(calls=1)
        mailboxes = Counter([call.mailbox] if call.mailbox else [])
        resp = self._exchange(call.method, call.url, call.body, call.headers, mailboxes,
                              call.repeatable)
        reply = Reply(resp.status_code, dict(resp.headers), _json(resp))
        self.check(call, reply)
        return reply

    def pages(self, call: Call) -> Iterator[dict[str, Any]]:
        """Every item of a collection, following ``@odata.nextLink``."""
        url: str | None = call.url
        while url:
            reply = self.call(Call(call.method, url, call.mailbox, call.permission,
                                   headers=call.headers))
            yield from reply.body.get("value", [])
            url = reply.body.get("@odata.nextLink")

    # --- $batch ------------------------------------------------------------------------
    def _groups(self, calls: Sequence[Call]) -> Iterator[list[int]]:
        """Indexes of calls packed into batches: ≤ batch_size, ≤ concurrency per mailbox."""
        pending = list(range(len(calls)))
        limit = self.settings.mailbox_concurrency
        while pending:
            group: list[int] = []
            per_box: Counter[str] = Counter()
            rest: list[int] = []
            for index in pending:
                box = calls[index].mailbox or ""
                if len(group) < self.settings.batch_size and per_box[box] < limit:
                    group.append(index)
                    per_box[box] += 1
                else:
                    rest.append(index)
            yield group
            pending = rest

    def batch(self, calls: Sequence[Call]) -> list[Reply]:
        """Send calls through ``$batch``; replies come back in the order of ``calls``."""
        replies: list[Reply | None] = [None] * len(calls)
        for group in self._groups(calls):
            for index, reply in zip(group, self._batch_once([calls[i] for i in group]), strict=True):
                replies[index] = reply
        out = [r for r in replies if r is not None]
        for call, reply in zip(calls, out, strict=True):
            self.check(call, reply)
        return out

    def _batch_once(self, calls: list[Call]) -> list[Reply]:
        if len(calls) == 1:  # a batch of one is just overhead
            call = calls[0]
            self.stats.add(calls=1)
            resp = self._exchange(call.method, call.url, call.body, call.headers,
                                  Counter([call.mailbox] if call.mailbox else []), call.repeatable)
            return [Reply(resp.status_code, dict(resp.headers), _json(resp))]
        results: dict[int, Reply] = {}
        todo = list(range(len(calls)))
        attempt = 0
        while todo:
            got = self._post_batch([calls[i] for i in todo])
            retry: list[int] = []
            delays: list[float] = []
            for index, reply in zip(todo, got, strict=True):
                count_call("microsoft", reply.status)
                if (should_retry(reply.status, calls[index].repeatable)
                        and attempt < self.settings.max_retries):
                    retry.append(index)
                    self.stats.add(throttled=int(reply.status == 429))
                    delays.append(self.backoff.delay(attempt, retry_after(reply.headers)))
                else:
                    results[index] = reply
            if retry:
                self._wait(max(delays))
                attempt += 1
            todo = retry
        return [results[i] for i in range(len(calls))]

    def _post_batch(self, calls: list[Call]) -> list[Reply]:
        self.stats.add(calls=len(calls), batches=1)
        requests_ = []
        for number, call in enumerate(calls):
            item: dict[str, Any] = {"id": str(number), "method": call.method,
                                    "url": self.relative(call.url)}
            headers = {"Prefer": 'outlook.timezone="UTC"', **call.headers}
            if call.body is not None:
                item["body"] = call.body
                headers["Content-Type"] = "application/json"
            item["headers"] = headers
            requests_.append(item)
        boxes = Counter(c.mailbox for c in calls if c.mailbox)
        repeatable = all(c.repeatable for c in calls)
        resp = self._exchange("POST", "$batch", {"requests": requests_}, {}, boxes, repeatable)
        if resp.status_code == 403:
            raise _permission_error(calls[0], Reply(403, dict(resp.headers), _json(resp)))
        if resp.status_code != 200:
            raise ConnectorError(f"Microsoft Graph refused a $batch request ({resp.status_code})")
        by_id = {str(r.get("id")): r for r in _json(resp).get("responses", [])}
        out = []
        for number in range(len(calls)):
            raw = by_id.get(str(number))
            if raw is None:
                raise ConnectorError("Microsoft Graph left a call out of a $batch response")
            body = raw.get("body")
            out.append(Reply(int(raw.get("status", 500)), raw.get("headers") or {},
                             body if isinstance(body, dict) else {}))
        return out

    # --- errors ------------------------------------------------------------------------
    def check(self, call: Call, reply: Reply) -> None:
        if reply.ok or reply.status in call.allow:
            return
        if reply.status == 403:
            raise _permission_error(call, reply)
        if reply.status == 401:
            raise ConnectorError(
                "Microsoft Graph rejected the app's token (401); check tenant_id, client_id "
                "and that the app registration is in this tenant"
            )
        if reply.status == 429:
            raise ConnectorError(f"Microsoft Graph kept throttling {call.method} {_path(call.url)}")
        code = reply.error_code or "no error code"
        raise ConnectorError(
            f"Microsoft Graph answered {reply.status} ({code}) to {call.method} {_path(call.url)}"
        )


def _permission_error(call: Call, reply: Reply) -> PermissionMissing:
    code = reply.error_code or "Forbidden"
    where = f" for mailbox {call.mailbox}" if call.mailbox else ""
    return PermissionMissing(
        f"Microsoft Graph refused {call.method} {_path(call.url)}{where} ({code}): the app "
        f"registration needs the application permission {call.permission} with admin consent "
        f"(or an application access policy excludes this mailbox)"
    )


def _path(url: str) -> str:
    """The URL without its query: delta and skip tokens stay out of messages and logs."""
    return url.split("?", 1)[0]


def _json(resp: requests.Response) -> dict[str, Any]:
    if not resp.content:
        return {}
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
