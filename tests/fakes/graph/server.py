"""A local HTTPS stand-in for Entra ID sign-in and Microsoft Graph.

One threaded TLS server on 127.0.0.1 (certificate from a trustme test CA)
serves the tenant endpoints msal needs (OpenID configuration, token) and the
Graph endpoints the connector uses, with Graph's response shapes, paging by
``@odata.nextLink``, delta links, ``$batch`` and errors. Tokens carry a
``roles`` claim; every Graph route checks the role it needs and answers 403
without it, as Graph does.

Fault injection (:class:`Fault`, ``throttle_rate``) covers 429 with
Retry-After, 503, expired delta tokens, slow answers (client timeouts) and
403. The server also measures what a client did: requests per route, the
highest number of requests in flight per mailbox, and whether it came back
before a Retry-After had passed.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import re
import socket
import ssl
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import trustme

from tests.fakes.graph.tenant import Tenant, User, g_time, parse_g_time

ALL_ROLES = frozenset({"User.Read.All", "Calendars.ReadWrite", "Mail.ReadBasic.All",
                       "MailboxSettings.Read", "Mail.Send"})
MAX_PAGE = 1000
DEFAULT_PAGE = 10
_ALWAYS = ("id", "@odata.etag", "@odata.type")

Json = dict[str, Any]


@dataclass
class Req:
    method: str
    path: str  # below /v1.0, decoded, e.g. /users/x/events
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: Any
    roles: frozenset[str] = frozenset()
    in_batch: bool = False


@dataclass
class Reply:
    status: int
    body: Json | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    """Answer matching requests (``"METHOD /path"`` regex) with ``status``, ``times`` times."""

    pattern: str
    status: int = 503
    times: int = 1
    retry_after: str | None = None
    code: str = ""
    delay: float = 0.0  # sleep this long first (a timeout for the client)


def _error(status: int, code: str, message: str = "") -> Reply:
    return Reply(status, {"error": {"code": code, "message": message or code,
                                    "innerError": {"request-id": str(uuid.uuid4())}}})


def _b64(data: Json) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def _unb64(text: str) -> Json:
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def _page_size(req: Req) -> int:
    found = re.search(r"odata\.maxpagesize=(\d+)", req.headers.get("prefer", ""))
    return min(int(found.group(1)), MAX_PAGE) if found else DEFAULT_PAGE


class FakeGraph:
    def __init__(self, tmp: Path, tenant: Tenant | None = None, *, tenant_id: str = "contoso-tid",
                 client_id: str = "bw-client", client_secret: str = "s3cret-value") -> None:
        self.tenant = tenant or Tenant()
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.roles: set[str] = set(ALL_ROLES)
        self.faults: list[Fault] = []
        self.users_page_cap = 999
        self.throttle_rate = 0.0
        self.throttle_retry_after = 1
        self.on_create: Callable[[int], None] | None = None
        self.epoch = 0
        self.requests: Counter[str] = Counter()  # "METHOD route" -> count (batch items too)
        self.http_requests = 0  # what came over the wire (a $batch is one)
        self.token_requests = 0
        self.selects: list[str] = []  # $select of every mail read
        self.max_in_flight: Counter[str] = Counter()
        self.throttled = 0  # 429s the fake sent
        self.early_returns = 0  # requests that came back before their Retry-After
        self._in_flight: Counter[str] = Counter()
        self._blocked: dict[str, float] = {}
        self._tokens: dict[str, frozenset[str]] = {}
        self._lock = threading.Lock()
        self._rng = random.Random(7)
        self._ca = trustme.CA()
        self.ca_path = tmp / "fake-graph-ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_path))
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> FakeGraph:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        # The handshake happens in each connection's thread, not in the accept loop.
        server.socket = context.wrap_socket(server.socket, server_side=True,
                                            do_handshake_on_connect=False)
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeGraph:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def graph_url(self) -> str:
        return f"{self.base}/v1.0"

    def settings_dict(self, **extra: Any) -> Json:
        """A ``source:`` section pointing at this fake (secret from a file next to the CA)."""
        secret = self.ca_path.with_name("client-secret.txt")
        secret.write_text(self.client_secret)
        return {"type": "microsoft", "tenant_id": self.tenant_id, "client_id": self.client_id,
                "client_secret_file": str(secret), "authority_host": self.base,
                "graph_url": self.graph_url, "ca_bundle": str(self.ca_path), **extra}

    # --- controls -------------------------------------------------------------------------
    def expire_delta_tokens(self) -> None:
        self.epoch += 1

    def revoke_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    # --- HTTP entry -------------------------------------------------------------------------
    def serve(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> Reply:
        with self._lock:
            self.http_requests += 1
        parts = urlsplit(target)
        path = unquote(parts.path)
        if not path.startswith("/v1.0/"):
            return self._sign_in(method, path, raw)
        token = headers.get("authorization", "").removeprefix("Bearer ").strip()
        roles = self._tokens.get(token)
        if roles is None:
            return _error(401, "InvalidAuthenticationToken", "Access token is empty or invalid.")
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return _error(400, "BadRequest", "Unable to read JSON request payload.")
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        req = Req(method, path[len("/v1.0"):], query, headers, body, roles)
        if req.path == "/$batch" and method == "POST":
            return self._batch(req)
        return self._tracked(req)

    # --- sign-in ----------------------------------------------------------------------------
    def _sign_in(self, method: str, path: str, raw: bytes) -> Reply:
        prefix = f"/{self.tenant_id}"
        if not path.startswith(prefix + "/"):
            return Reply(400, {"error": "invalid_tenant",
                               "error_description": "AADSTS90002: Tenant not found."})
        rest = path[len(prefix):]
        if method == "GET" and rest == "/v2.0/.well-known/openid-configuration":
            root = f"{self.base}/{self.tenant_id}"
            return Reply(200, {
                "token_endpoint": f"{root}/oauth2/v2.0/token",
                "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                "issuer": f"{root}/v2.0",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
                "response_types_supported": ["code", "id_token", "token"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "tenant_region_scope": "EU",
            })
        if method == "POST" and rest == "/oauth2/v2.0/token":
            return self._token({k: v[0] for k, v in parse_qs(raw.decode()).items()})
        return Reply(404, {"error": "not_found"})

    def _token(self, form: dict[str, str]) -> Reply:
        with self._lock:
            self.token_requests += 1
        if form.get("grant_type") != "client_credentials" or not form.get("scope", "").endswith("/.default"):
            return Reply(400, {"error": "invalid_request", "error_description": "AADSTS900144"})
        if form.get("client_id") != self.client_id:
            return Reply(400, {"error": "unauthorized_client",
                               "error_description": "AADSTS700016: Application not found."})
        assertion = form.get("client_assertion")
        if form.get("client_secret") != self.client_secret and not assertion:
            return Reply(401, {"error": "invalid_client",
                               "error_description": "AADSTS7000215: Invalid client secret provided."})
        now = int(time.time())
        claims = {"aud": form["scope"].removesuffix("/.default"), "iss": f"{self.base}/{self.tenant_id}/",
                  "iat": now, "nbf": now, "exp": now + 3600, "appid": self.client_id,
                  "tid": self.tenant_id, "idtyp": "app", "roles": sorted(self.roles),
                  "jti": uuid.uuid4().hex}
        token = f"{_b64({'typ': 'JWT', 'alg': 'RS256', 'x5t': 'fake'})}.{_b64(claims)}.c2ln"
        with self._lock:
            self._tokens[token] = frozenset(self.roles)
        return Reply(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                           "access_token": token})

    # --- $batch ------------------------------------------------------------------------------
    def _batch(self, outer: Req) -> Reply:
        items = (outer.body or {}).get("requests") or []
        if not items or len(items) > 20:
            return _error(400, "BadRequest", "The number of batch requests must be between 1 and 20.")
        fault = self._fault(outer)
        if fault is not None:
            return fault
        reqs = []
        for item in items:
            parts = urlsplit(str(item.get("url", "")))
            query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            headers = {k.lower(): str(v) for k, v in (item.get("headers") or {}).items()}
            reqs.append(Req(str(item.get("method", "GET")).upper(), unquote(parts.path), query,
                            headers, item.get("body"), outer.roles, in_batch=True))
        # Graph may run the calls of one batch side by side: count them all in flight at once.
        boxes = Counter(b for b in (self._mailbox_of(r) for r in reqs) if b)
        self._enter(boxes)
        try:
            out = []
            for item, req in zip(items, reqs, strict=True):
                reply = self._route(req)
                out.append({"id": item.get("id"), "status": reply.status,
                            "headers": {"Content-Type": "application/json", **reply.headers},
                            "body": reply.body})
        finally:
            self._leave(boxes)
        return Reply(200, {"responses": out})

    # --- tracking and faults ------------------------------------------------------------------
    def _mailbox_of(self, req: Req) -> str | None:
        found = re.match(r"/users/([^/]+)/", req.path)
        if not found:
            return None
        user = self.tenant.user(found.group(1))
        return user.mail if user else found.group(1).lower()

    def _enter(self, boxes: Counter[str]) -> None:
        with self._lock:
            for box, n in boxes.items():
                self._in_flight[box] += n
                self.max_in_flight[box] = max(self.max_in_flight[box], self._in_flight[box])

    def _leave(self, boxes: Counter[str]) -> None:
        with self._lock:
            for box, n in boxes.items():
                self._in_flight[box] -= n

    def _tracked(self, req: Req) -> Reply:
        box = self._mailbox_of(req)
        boxes = Counter([box] if box else [])
        self._enter(boxes)
        try:
            return self._route(req)
        finally:
            self._leave(boxes)

    def _fault(self, req: Req) -> Reply | None:
        line = f"{req.method} {req.path}"
        with self._lock:
            fault = next((f for f in self.faults if f.times > 0 and re.search(f.pattern, line)), None)
            if fault is not None:
                fault.times -= 1
        if fault is None:
            return None
        if fault.delay:
            time.sleep(fault.delay)
        if not fault.status:
            return None
        reply = _error(fault.status, fault.code or {429: "TooManyRequests", 503: "ServiceUnavailable",
                                                    410: "SyncStateNotFound"}.get(fault.status, "Error"))
        if fault.retry_after is not None:
            reply.headers["Retry-After"] = fault.retry_after
        return reply

    def _throttle(self, req: Req) -> Reply | None:
        box = self._mailbox_of(req)
        if box is None:
            return None
        now = time.monotonic()
        with self._lock:
            until = self._blocked.get(box, 0.0)
            if now < until:
                self.early_returns += 1
                return self._too_many(box, now)
            if self.throttle_rate and self._rng.random() < self.throttle_rate:
                return self._too_many(box, now)
        return None

    def _too_many(self, box: str, now: float) -> Reply:
        self._blocked[box] = now + self.throttle_retry_after
        self.throttled += 1
        reply = _error(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.")
        reply.headers["Retry-After"] = str(self.throttle_retry_after)
        return reply

    # --- routing --------------------------------------------------------------------------------
    def _route(self, req: Req) -> Reply:
        for method, pattern, roles, handler in _ROUTES:
            found = re.fullmatch(pattern, req.path)
            if method != req.method or not found:
                continue
            with self._lock:
                self.requests[f"{method} {pattern}"] += 1
            reply = self._fault(req) or self._throttle(req)
            if reply is not None:
                return reply
            if not roles & req.roles:
                code = "Authorization_RequestDenied" if "User" in pattern else "ErrorAccessDenied"
                return _error(403, code, "Access is denied. Check credentials and try again.")
            with self.tenant.lock:
                return handler(self, req, **found.groupdict())
        return _error(400, "BadRequest", f"Resource not found for the segment in {req.path}.")

    def _user(self, key: str) -> User | None:
        return self.tenant.user(unquote(key))

    # --- directory ------------------------------------------------------------------------------
    def users(self, req: Req) -> Reply:
        users = sorted(self.tenant.users.values(), key=lambda u: u.id)
        top = min(int(req.query.get("$top", "100")), self.users_page_cap)
        start = int(req.query.get("$skiptoken", "0") or 0)
        page = users[start:start + top]
        manager = "manager" in req.query.get("$expand", "")
        select = [s for s in req.query.get("$select", "").split(",") if s]
        value = []
        for user in page:
            item = self.tenant.user_json(user, manager)
            if select:
                item = {k: v for k, v in item.items() if k in select or k in ("id", "manager")}
            value.append(item)
        body: Json = {"@odata.context": f"{self.graph_url}/$metadata#users", "value": value}
        if start + top < len(users):
            rest = {k: v for k, v in req.query.items() if k != "$skiptoken"}
            query = "&".join(f"{k}={v}" for k, v in rest.items())
            body["@odata.nextLink"] = f"{self.graph_url}/users?{query}&$skiptoken={start + top}"
        return Reply(200, body)

    def mailbox_settings(self, req: Req, u: str) -> Reply:
        user = self._user(u)
        if user is None:
            return _error(404, "ErrorInvalidUser", "The requested user is invalid.")
        if not user.has_mailbox:
            return _error(404, "MailboxNotEnabledForRESTAPI", "The mailbox is inactive or on-premises.")
        return Reply(200, self.tenant.mailbox_settings_json(user))

    # --- delta ------------------------------------------------------------------------------------
    def _delta_state(self, req: Req, kind: str, mailbox: str) -> Json | Reply:
        token = req.query.get("$skiptoken") or req.query.get("$deltatoken")
        if token is None:
            return {"k": kind, "m": mailbox, "s": 0, "u": self.tenant.last_seq, "a": 0,
                    "e": self.epoch, "i": True}
        try:
            state = _unb64(token)
        except ValueError:
            return _error(400, "ErrorInvalidSyncStateData", "Bad sync state.")
        if state.get("e") != self.epoch or state.get("m") != mailbox or state.get("k") != kind:
            return _error(410, "SyncStateNotFound", "The sync state cannot be found; restart sync.")
        if "$deltatoken" in req.query:  # a new round: everything changed since the last one
            state = {**state, "s": state["u"], "u": self.tenant.last_seq, "a": state["u"], "i": False}
        return state

    def _delta_reply(self, req: Req, route: str, state: Json, items: list[tuple[int, Json]]) -> Reply:
        items.sort(key=lambda pair: pair[0])
        size = _page_size(req)
        page = items[:size]
        body: Json = {"@odata.context": f"{self.graph_url}/$metadata#Collection",
                      "value": [j for _, j in page]}
        if len(items) > size:
            token = _b64({**state, "a": page[-1][0]})
            body["@odata.nextLink"] = f"{self.graph_url}{route}?$skiptoken={token}"
        else:
            body["@odata.deltaLink"] = f"{self.graph_url}{route}?$deltatoken={_b64(state)}"
        return Reply(200, body)

    def calendar_delta(self, req: Req, u: str) -> Reply:
        user = self._user(u)
        if user is None or not user.has_mailbox:
            return _error(404, "MailboxNotEnabledForRESTAPI", "No mailbox.")
        if "$select" in req.query:
            return _error(400, "ErrorInvalidUrlQuery", "$select is not supported with calendarView delta.")
        state = self._delta_state(req, "cal", user.mail)
        if isinstance(state, Reply):
            return state
        if "w" not in state:
            try:
                state["w"] = [req.query["startDateTime"], req.query["endDateTime"]]
            except KeyError:
                return _error(400, "ErrorInvalidParameter", "startDateTime and endDateTime are required.")
        lo = dt.datetime.fromisoformat(state["w"][0].replace("Z", "+00:00"))
        hi = dt.datetime.fromisoformat(state["w"][1].replace("Z", "+00:00"))
        items = []
        for copy in self.tenant.mailboxes[user.mail].events.values():
            if not state["a"] < copy.seq <= state["u"]:
                continue
            if copy.deleted and state["i"]:
                continue
            m = copy.meeting
            if not copy.deleted and (m.start >= hi or m.end <= lo):
                continue
            items.append((copy.seq, self.tenant.event_json(copy)))
        return self._delta_reply(req, f"/users/{user.id}/calendarView/delta", state, items)

    def mail_delta(self, req: Req, u: str) -> Reply:
        user = self._user(u)
        if user is None or not user.has_mailbox:
            return _error(404, "MailboxNotEnabledForRESTAPI", "No mailbox.")
        state = self._delta_state(req, "mail", user.mail)
        if isinstance(state, Reply):
            return state
        if "sel" not in state:
            state["sel"] = req.query.get("$select", "")
            found = re.fullmatch(r"receivedDateTime ge (\S+)", req.query.get("$filter", ""))
            state["f"] = found.group(1) if found else None
        with self._lock:
            self.selects.append(state["sel"])
        since = dt.datetime.fromisoformat(state["f"].replace("Z", "+00:00")) if state["f"] else None
        wanted = [s for s in state["sel"].split(",") if s]
        items = []
        for msg in self.tenant.mailboxes[user.mail].sent.values():
            if not state["a"] < msg.seq <= state["u"]:
                continue
            if since is not None and msg.sent < since:
                continue
            full = self.tenant.message_json(msg)
            if wanted:
                full = {k: v for k, v in full.items() if k in wanted or k in _ALWAYS}
            items.append((msg.seq, full))
        return self._delta_reply(req, f"/users/{user.id}/mailFolders/sentitems/messages/delta", state, items)

    # --- free/busy --------------------------------------------------------------------------------
    def get_schedule(self, req: Req, u: str) -> Reply:
        body = req.body or {}
        people = body.get("schedules") or []
        if len(people) > 20:
            return _error(400, "ErrorInvalidParameter", "Too many schedules; at most 20.")
        start, end = parse_g_time(body["startTime"]), parse_g_time(body["endTime"])
        if end - start >= dt.timedelta(days=62) or end <= start:
            return _error(400, "ErrorInvalidTimeInterval", "The time interval must be under 62 days.")
        value = []
        for who in people:
            user = self._user(who)
            if user is None or not user.has_mailbox:
                value.append({"scheduleId": who, "error": {
                    "message": "not found", "responseCode": "ErrorMailRecipientNotFound"}})
                continue
            items: list[Json] = []
            for copy in self.tenant.mailboxes[user.mail].events.values():
                m = copy.meeting
                if copy.deleted or m.cancelled or m.start >= end or m.end <= start or m.show_as == "free":
                    continue
                if copy.owner != m.organizer and m.responses.get(copy.owner) == "declined":
                    continue
                items.append({"isPrivate": False, "status": m.show_as,
                              "start": g_time(m.start), "end": g_time(m.end)})
            items.sort(key=lambda i: i["start"]["dateTime"])
            settings = self.tenant.mailbox_settings_json(user)["workingHours"]
            value.append({"scheduleId": who, "availabilityView": "", "scheduleItems": items,
                          "workingHours": settings})
        context = f"{self.graph_url}/$metadata#Collection(microsoft.graph.scheduleInformation)"
        return Reply(200, {"@odata.context": context, "value": value})

    # --- events (holds) ---------------------------------------------------------------------------
    _PROP_FILTER = re.compile(
        r"singleValueExtendedProperties/Any\(ep: ep/id eq '([^']+)' and ep/value eq '([^']*)'\)")
    _PROP_EXPAND = re.compile(r"singleValueExtendedProperties\(\$filter=id eq '([^']+)'\)")

    def list_events(self, req: Req, u: str) -> Reply:
        user = self._user(u)
        if user is None or not user.has_mailbox:
            return _error(404, "MailboxNotEnabledForRESTAPI", "No mailbox.")
        found = self._PROP_FILTER.fullmatch(req.query.get("$filter", ""))
        if not found:
            return _error(400, "ErrorInvalidUrlQueryFilter", "This fake only filters by extended property.")
        expand = self._PROP_EXPAND.fullmatch(req.query.get("$expand", ""))
        copies = self.tenant.find_by_prop(user.mail, found.group(1), found.group(2))
        prop = expand.group(1) if expand else None
        return Reply(200, {"value": [self.tenant.event_json(c, prop) for c in copies]})

    def create_event(self, req: Req, u: str) -> Reply:
        user = self._user(u)
        if user is None or not user.has_mailbox:
            return _error(404, "MailboxNotEnabledForRESTAPI", "No mailbox.")
        body = req.body or {}
        txn = body.get("transactionId")
        if txn:
            for copy in self.tenant.mailboxes[user.mail].events.values():
                if copy.transaction_id == txn and not copy.deleted:
                    return Reply(201, self.tenant.event_json(copy))
        attendees = [a["emailAddress"]["address"].lower() for a in body.get("attendees") or []]
        props = {p["id"]: p["value"] for p in body.get("singleValueExtendedProperties") or []}
        _, copy = self.tenant.add_meeting(
            user.mail, attendees, parse_g_time(body["start"]), parse_g_time(body["end"]),
            responses={a: "none" for a in attendees}, props=props, transaction_id=txn,
            subject=str(body.get("subject", "")), show_as=str(body.get("showAs", "busy")))
        self.tenant.creates += 1
        if self.on_create is not None:
            self.on_create(self.tenant.creates)
        return Reply(201, self.tenant.event_json(copy))

    def _copy(self, u: str, event_id: str) -> Any:
        user = self._user(u)
        if user is None:
            return None
        copy = self.tenant.mailboxes[user.mail].events.get(unquote(event_id))
        return None if copy is None or copy.deleted else copy

    def update_event(self, req: Req, u: str, id: str) -> Reply:
        copy = self._copy(u, id)
        if copy is None:
            return _error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        body = req.body or {}
        if "start" in body:
            copy.meeting.start = parse_g_time(body["start"])
        if "end" in body:
            copy.meeting.end = parse_g_time(body["end"])
        self.tenant.touch(copy.meeting)
        return Reply(200, self.tenant.event_json(copy))

    def delete_event(self, req: Req, u: str, id: str) -> Reply:
        copy = self._copy(u, id)
        if copy is None:
            return _error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        self.tenant.delete_copy(copy)
        return Reply(204)

    # --- sending -----------------------------------------------------------------------------------
    def send_mail(self, req: Req, u: str) -> Reply:
        user = self._user(u)
        if user is None:
            return _error(404, "ErrorInvalidUser", "The requested user is invalid.")
        message = (req.body or {}).get("message") or {}
        to = [r["emailAddress"]["address"] for r in message.get("toRecipients", [])]
        saved = (req.body or {}).get("saveToSentItems", True)
        self.tenant.sent_mail.append({
            "from": user.mail,
            "to": to,
            "subject": message.get("subject", ""),
            "body": message.get("body", {}),
            "headers": {h["name"]: h["value"] for h in message.get("internetMessageHeaders", [])},
            "message_id": message.get("internetMessageId"),
            "saved": saved,
        })
        if saved:  # as Exchange does: a copy in Sent Items, under the Message-ID it was given
            self.tenant.add_message(user.mail, to, dt.datetime.now(dt.UTC),
                                    message_id=message.get("internetMessageId"))
        return Reply(202)

    _BY_MESSAGE_ID = re.compile(r"internetMessageId eq '((?:[^']|'')*)'")

    def list_sent(self, req: Req, u: str) -> Reply:
        """Sent Items filtered by Message-ID, the one filter this fake (like Bridgework) uses."""
        user = self._user(u)
        if user is None or not user.has_mailbox:
            return _error(404, "MailboxNotEnabledForRESTAPI", "No mailbox.")
        found = self._BY_MESSAGE_ID.fullmatch(req.query.get("$filter", ""))
        if not found:
            return _error(400, "ErrorInvalidUrlQueryFilter", "This fake only filters by internetMessageId.")
        wanted = found.group(1).replace("''", "'")
        select = [s for s in req.query.get("$select", "").split(",") if s]
        value = []
        for msg in self.tenant.mailboxes[user.mail].sent.values():
            if msg.message_id == wanted:
                full = self.tenant.message_json(msg)
                value.append({k: v for k, v in full.items() if not select or k in select
                              or k in _ALWAYS})
        top = int(req.query.get("$top", str(DEFAULT_PAGE)))
        return Reply(200, {"@odata.context": f"{self.graph_url}/$metadata#users('{user.id}')"
                                             "/mailFolders('sentitems')/messages", "value": value[:top]})


_CAL_READ = frozenset({"Calendars.Read", "Calendars.ReadWrite"})
_ROUTES: list[tuple[str, str, frozenset[str], Callable[..., Reply]]] = [
    ("GET", r"/users", frozenset({"User.Read.All", "Directory.Read.All"}), FakeGraph.users),
    ("GET", r"/users/(?P<u>[^/]+)/mailboxSettings",
     frozenset({"MailboxSettings.Read", "MailboxSettings.ReadWrite"}), FakeGraph.mailbox_settings),
    ("GET", r"/users/(?P<u>[^/]+)/calendarView/delta", _CAL_READ, FakeGraph.calendar_delta),
    ("GET", r"/users/(?P<u>[^/]+)/mailFolders/sentitems/messages/delta",
     frozenset({"Mail.ReadBasic.All", "Mail.Read", "Mail.ReadWrite"}), FakeGraph.mail_delta),
    ("GET", r"/users/(?P<u>[^/]+)/mailFolders/sentitems/messages",
     frozenset({"Mail.ReadBasic.All", "Mail.Read", "Mail.ReadWrite"}), FakeGraph.list_sent),
    ("POST", r"/users/(?P<u>[^/]+)/calendar/getSchedule", _CAL_READ, FakeGraph.get_schedule),
    ("GET", r"/users/(?P<u>[^/]+)/events", _CAL_READ, FakeGraph.list_events),
    ("POST", r"/users/(?P<u>[^/]+)/events", frozenset({"Calendars.ReadWrite"}), FakeGraph.create_event),
    ("PATCH", r"/users/(?P<u>[^/]+)/events/(?P<id>[^/]+)", frozenset({"Calendars.ReadWrite"}),
     FakeGraph.update_event),
    ("DELETE", r"/users/(?P<u>[^/]+)/events/(?P<id>[^/]+)", frozenset({"Calendars.ReadWrite"}),
     FakeGraph.delete_event),
    ("POST", r"/users/(?P<u>[^/]+)/sendMail", frozenset({"Mail.Send"}), FakeGraph.send_mail),
]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every answer on a kept-alive connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _serve(self) -> None:
        fake: FakeGraph = self.server.fake  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            reply = fake.serve(self.command, self.path, headers, raw)
        except Exception as exc:  # a bug in the fake: say so loudly
            reply = _error(500, "FakeServerBug", repr(exc))
        data = b"" if reply.body is None else json.dumps(reply.body).encode()
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if data:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True

    do_GET = do_POST = do_PATCH = do_DELETE = _serve
