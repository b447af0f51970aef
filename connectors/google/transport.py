"""Talking to Google: services, retries with backoff, per-user quotas, batches.

Every call goes through :class:`GoogleClient`, which

- sets a timeout on every HTTP request (``httplib2.Http(timeout=...)``);
- retries 429, 403 rate-limit and 5xx answers and transport errors with
  exponential backoff and full jitter, honouring ``Retry-After``
  (:mod:`connectors.retry`);
- turns a 403 for a missing scope into :class:`PermissionMissing` naming it;
- keeps each user under a per-minute budget before Google has to say no;
- packs many users' calls into batch requests of at most ``batch_size``.

Sleeping and the clock are injected so tests run without waiting.
"""

from __future__ import annotations

import collections
import logging
import random
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httplib2
from googleapiclient import discovery
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest, HttpRequest

from connectors.common.errors import ConnectorError
from connectors.google.answers import Transient, classify, status_of
from connectors.google.auth import ensure_token
from connectors.google.settings import GoogleSettings
from connectors.retry import Backoff, count_call

log = logging.getLogger(__name__)

TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    socket.timeout, TimeoutError, ConnectionError, httplib2.HttpLib2Error, OSError,
)

#: Gmail charges quota units per method; Calendar counts requests.
GMAIL_UNITS = {"get": 5, "list": 5, "history": 2, "profile": 1, "send": 100}


class _Http(httplib2.Http):
    """httplib2 with request bodies as bytes.

    http.client sends headers and a bytes body in one write but a str body in
    a second one, and that second small write waits on the server's delayed
    ACK (Nagle): about 40 ms lost on every POST, batches included.
    """

    def request(self, uri: str, method: str = "GET", body: Any = None,
                headers: Any = None, redirections: int = httplib2.DEFAULT_MAX_REDIRECTS,
                connection_type: Any = None) -> Any:
        if isinstance(body, str):
            body = body.encode("utf-8")
        return super().request(uri, method, body, headers, redirections, connection_type)


def new_http(timeout: float) -> httplib2.Http:
    return _Http(timeout=timeout)


class UserQuota:
    """Per-user sliding one-minute budgets, kept on our side of Google's limits."""

    WINDOW = 60.0

    def __init__(self, limits: dict[str, int], clock: Callable[[], float],
                 window: float = 60.0) -> None:
        self.WINDOW = window
        self._limits = limits
        self._clock = clock
        self._spent: dict[tuple[str, str], collections.deque[tuple[float, int]]] = {}

    def _window(self, api: str, user: str) -> collections.deque[tuple[float, int]]:
        spent = self._spent.setdefault((api, user), collections.deque())
        cutoff = self._clock() - self.WINDOW
        while spent and spent[0][0] <= cutoff:
            spent.popleft()
        return spent

    def wait_for(self, api: str, user: str, units: int) -> float:
        """Seconds until ``units`` more fit in the user's minute (0: now)."""
        limit = self._limits.get(api)
        if limit is None:
            return 0.0
        spent = self._window(api, user)
        total = sum(u for _, u in spent)
        if total + units <= limit:
            return 0.0
        # Free the oldest spends until the call fits.
        for when, used in spent:
            total -= used
            if total + units <= limit:
                return max(0.0, when + self.WINDOW - self._clock())
        return self.WINDOW

    def spend(self, api: str, user: str, units: int) -> None:
        self._window(api, user).append((self._clock(), units))


@dataclass
class Call:
    """One API call on behalf of one user, for a batch.

    ``make`` builds the request; ``done`` takes the answer; ``failed`` may
    handle an error answer (e.g. 410, 404) and returns True when it did.
    """

    user: str
    api: str
    units: int
    make: Callable[[], HttpRequest]
    done: Callable[[Any], None]
    what: str
    scope: str
    scopes: tuple[str, ...]
    failed: Callable[[HttpError], bool] | None = None
    attempts: int = 0
    not_before: float = 0.0


class GoogleClient:
    """Services, credentials and the retry/batch machinery shared by every part."""

    def __init__(self, settings: GoogleSettings, source: Any, *,
                 sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None,
                 quota_window: float = 60.0) -> None:
        self.settings = settings
        self.source = source
        self.monotonic = monotonic
        self.backoff = Backoff(settings.backoff_seconds, settings.backoff_max_seconds, sleep,
                               rng or random.Random())
        self.quota = UserQuota({"calendar": settings.quota.calendar_per_minute,
                                "gmail": settings.quota.gmail_units_per_minute}, monotonic,
                               quota_window)
        self._http = new_http(settings.timeout_seconds)
        self._services: dict[str, Any] = {}
        self._authed: dict[tuple[str, tuple[str, ...]], Any] = {}

    # --- plumbing -----------------------------------------------------------------
    def service(self, api: str) -> Any:
        if api not in self._services:
            name, version = {"directory": ("admin", "directory_v1"), "calendar": ("calendar", "v3"),
                             "gmail": ("gmail", "v1")}[api]
            endpoint = self.settings.endpoint(api)
            options = {"api_endpoint": endpoint} if endpoint else None
            self._services[api] = discovery.build(
                name, version, http=self._http, static_discovery=True, cache_discovery=False,
                client_options=options)
        return self._services[api]

    def http_for(self, user: str, scopes: Sequence[str]) -> Any:
        """An authorised http for one user (tokens cached with the credentials)."""
        import google_auth_httplib2

        key = (user, tuple(sorted(scopes)))
        if key not in self._authed:
            creds = self.source.for_user(user, key[1])
            self._authed[key] = google_auth_httplib2.AuthorizedHttp(
                creds, http=new_http(self.settings.timeout_seconds))
        return self._authed[key]

    def _token(self, user: str, scopes: Sequence[str]) -> Any:
        authed = self.http_for(user, scopes)
        ensure_token(authed.credentials, self._http, self.settings, user, scopes)
        return authed

    def bind(self, request: HttpRequest, user: str, scopes: Sequence[str]) -> HttpRequest:
        """Make ``request`` run as ``user`` (its own token, fetched if needed)."""
        request.http = self._token(user, scopes)
        return request

    def _pause(self, attempt: int, exc: Transient, what: str) -> None:
        if attempt >= self.settings.max_retries:
            raise ConnectorError(f"Google kept failing {what} after {attempt + 1} tries: {exc}")
        log.info("retrying %s after: %s", what, exc)
        self.backoff.wait(attempt, exc.retry_after)

    # --- single calls -------------------------------------------------------------
    def execute(self, make: Callable[[], HttpRequest], *, user: str, scopes: Sequence[str],
                what: str, scope: str, api: str | None = None, units: int = 1,
                expect: tuple[int, ...] = (), unsafe: bool = False) -> Any:
        """Run one call as ``user`` with retries.

        Error answers whose status is in ``expect`` raise the HttpError for the
        caller to handle (404, 409, ...); other final ones raise ConnectorError.
        An ``unsafe`` call (one that must not happen twice, like sending mail) is
        retried only when Google surely did not carry it out: throttling and 503,
        never after a timeout or a 500.
        """
        attempt = 0
        while True:
            if api is not None:
                self._respect_quota(api, user, units)
            try:
                request = self.bind(make(), user, scopes)
                try:
                    answer = request.execute()
                    count_call("google", "2xx")
                    return answer
                finally:
                    if api is not None:
                        self.quota.spend(api, user, units)
            except HttpError as exc:
                count_call("google", status_of(exc))
                if status_of(exc) in expect:
                    raise
                outcome = classify(exc, what, scope, self.settings)
                if not isinstance(outcome, Transient):
                    raise outcome from None
                if unsafe and status_of(exc) not in (429, 403, 503):
                    raise ConnectorError(f"{what} may or may not have happened: HTTP "
                                         f"{status_of(exc)}; not repeated") from None
                self._pause(attempt, outcome, what)
            except Transient as exc:  # the token request failed: nothing was sent yet
                self._pause(attempt, exc, what)
            except TRANSPORT_ERRORS as exc:
                count_call("google", "no-answer")
                if unsafe:
                    raise ConnectorError(f"{what} may or may not have happened "
                                         f"({type(exc).__name__}); not repeated") from None
                self._pause(attempt, Transient(f"{what}: {type(exc).__name__} {exc}"), what)
            attempt += 1

    def _respect_quota(self, api: str, user: str, units: int) -> None:
        wait = self.quota.wait_for(api, user, units)
        if wait > 0:
            log.info("pausing %.1fs to stay inside %s's %s quota", wait, user, api)
            self.backoff.sleep(wait)

    # --- batches ------------------------------------------------------------------
    def run_batches(self, calls: collections.deque[Call]) -> Iterator[None]:
        """Run queued calls in batches; yields after each batch so callers can emit results.

        Callbacks may append follow-up calls (next pages, message fetches) to
        ``calls``. Calls that Google throttles go back into the queue with a
        backoff; the loop ends when the queue is empty.
        """
        while calls:
            picked = self._pick(calls)
            if not picked:
                now = self.monotonic()
                pause = min(max(c.not_before - now, self.quota.wait_for(c.api, c.user, c.units))
                            for c in calls)
                self.backoff.sleep(max(pause, 0.001))
                continue
            self._run_batch(picked, calls)
            yield None

    def _pick(self, calls: collections.deque[Call]) -> list[Call]:
        """Up to batch_size ready calls of one API, each within its user's budget."""
        now = self.monotonic()
        picked: list[Call] = []
        skipped: list[Call] = []
        pending: collections.Counter[str] = collections.Counter()
        api: str | None = None
        while calls and len(picked) < self.settings.batch_size:
            call = calls.popleft()
            ready = call.not_before <= now and (api is None or call.api == api)
            if ready and self.quota.wait_for(call.api, call.user,
                                             call.units + pending[call.user]) == 0:
                pending[call.user] += call.units
                api = call.api
                picked.append(call)
            else:
                skipped.append(call)
            if len(skipped) > 4 * self.settings.batch_size:
                break  # do not scan a huge queue for every batch
        calls.extendleft(reversed(skipped))
        return picked

    def _run_batch(self, picked: list[Call], calls: collections.deque[Call]) -> None:
        answers: dict[str, tuple[Any, HttpError | None]] = {}

        def collect(request_id: str, response: Any, exception: HttpError | None) -> None:
            answers[request_id] = (response, exception)

        attempt = 0
        while True:
            batch = BatchHttpRequest(callback=collect, batch_uri=self.settings.batch_uri(picked[0].api))
            try:
                for index, call in enumerate(picked):
                    batch.add(self.bind(call.make(), call.user, call.scopes),
                              request_id=str(index))
                batch.execute()
                break
            except HttpError as exc:
                count_call("google", status_of(exc))
                outcome = classify(exc, "a batch request", picked[0].scope, self.settings)
                if not isinstance(outcome, Transient):
                    raise outcome from None
                self._pause(attempt, outcome, "a batch request")
            except Transient as exc:
                self._pause(attempt, exc, "a batch request")
            except TRANSPORT_ERRORS as exc:
                count_call("google", "no-answer")
                self._pause(attempt, Transient(f"batch: {type(exc).__name__} {exc}"), "a batch")
            answers.clear()
            attempt += 1
        # Spent when the answer is back: never earlier than Google counted it.
        for call in picked:
            self.quota.spend(call.api, call.user, call.units)
        self._settle(picked, answers, calls)

    def _settle(self, picked: list[Call], answers: dict[str, tuple[Any, HttpError | None]],
                calls: collections.deque[Call]) -> None:
        for index, call in enumerate(picked):
            response, error = answers.get(str(index), (None, None))
            count_call("google", "2xx" if error is None else status_of(error))
            if error is None:
                call.done(response)
                continue
            if call.failed is not None and call.failed(error):
                continue
            outcome = classify(error, call.what, call.scope, self.settings)
            if not isinstance(outcome, Transient):
                raise outcome from None
            if call.attempts >= self.settings.max_retries:
                raise ConnectorError(
                    f"Google kept failing {call.what} after {call.attempts + 1} tries: {outcome}")
            delay = self.backoff.defer(call.attempts, outcome.retry_after)
            call.attempts += 1
            call.not_before = self.monotonic() + delay
            calls.append(call)
