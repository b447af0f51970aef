"""A local server that speaks enough of Google's wire format for the connector.

It implements the parts of the Admin Directory, Calendar and Gmail APIs and
the OAuth token endpoint that Bridgework uses, with Google's response shapes:
paging, calendar sync tokens (410 when stale), Gmail history ids (404 when
too old), batch requests (multipart/mixed), per-user per-minute quotas, scope
checks on every call and fault injection (status codes, Retry-After, delays
longer than the client's timeout, dropped connections).

Tokens are real: the service account's JWT is verified with its public key,
and each access token remembers its user and scopes.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import itertools
import json
import re
import secrets
import socket
import threading
import time
import urllib.parse
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SCOPE = "https://www.googleapis.com/auth/"
DIRECTORY_SCOPES = {SCOPE + "admin.directory.user.readonly", SCOPE + "admin.directory.user"}
CAL_READ = {SCOPE + s for s in ("calendar", "calendar.readonly", "calendar.events",
                                "calendar.events.readonly")}
CAL_WRITE = {SCOPE + "calendar", SCOPE + "calendar.events"}
FREEBUSY = {SCOPE + s for s in ("calendar", "calendar.readonly", "calendar.freebusy",
                                "calendar.events.freebusy")}
GMAIL_READ = {SCOPE + s for s in ("gmail.metadata", "gmail.readonly", "gmail.modify")} | {
    "https://mail.google.com/"}
GMAIL_FULL = GMAIL_READ - {SCOPE + "gmail.metadata"}
GMAIL_SEND = {SCOPE + "gmail.send", SCOPE + "gmail.compose", SCOPE + "gmail.modify",
              "https://mail.google.com/"}
GMAIL_UNITS = {"profile": 1, "list": 5, "get": 5, "history": 2, "send": 100}
STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                404: "NOT_FOUND", 409: "ALREADY_EXISTS", 410: "FAILED_PRECONDITION",
                429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
BASE32HEX = re.compile(r"^[a-v0-9]{5,1024}$")

Answer = tuple[int, dict[str, str], bytes]


class Abort(Exception):
    """Close the connection without an answer (a crash or network cut mid-way)."""


def error(status: int, message: str, reason: str, domain: str = "global",
          details: list[dict[str, Any]] | None = None,
          headers: dict[str, str] | None = None) -> Answer:
    body: dict[str, Any] = {"error": {
        "code": status, "message": message,
        "errors": [{"domain": domain, "reason": reason, "message": message}],
        "status": STATUS_NAMES.get(status, "UNKNOWN")}}
    if details:
        body["error"]["details"] = details
    return status, {"Content-Type": "application/json; charset=UTF-8", **(headers or {})}, \
        json.dumps(body).encode()


def ok(data: Any, status: int = 200) -> Answer:
    if data is None:
        return 204, {}, b""
    return status, {"Content-Type": "application/json; charset=UTF-8"}, json.dumps(data).encode()


def iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def parse_iso(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass
class Fault:
    """Answer matching requests with ``status`` (or delay or drop them) for a while.

    ``match`` is a regular expression searched in ``"METHOD /path?query"``;
    ``after`` lets that many matching requests through first; ``where`` picks
    top-level requests (``outer``), calls inside a batch (``inner``) or both.
    """

    match: str
    status: int | None = None
    times: int = 1
    after: int = 0
    retry_after: str | None = None
    reason: str = "backendError"
    delay: float = 0.0
    drop: bool = False
    land: bool = False  # with drop: carry the request out first, then cut the connection
    where: str = "any"
    seen: int = 0
    fired: int = 0


@dataclass
class Token:
    user: str
    scopes: frozenset[str]
    expires: float


@dataclass
class Mailbox:
    owner: str
    history_id: int = 1000
    min_history: int = 0
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: list[tuple[int, str]] = field(default_factory=list)  # (history id, message id)


class FakeGoogle:
    """The state behind the server, and helpers to seed it and inject faults."""

    def __init__(self, domain: str = "example.org", *, quota_window: float = 60.0,
                 calendar_per_minute: int = 600, gmail_units_per_minute: int = 15_000) -> None:
        self.domain = domain
        self.lock = threading.RLock()
        self.users: dict[str, dict[str, Any]] = {}
        self.timezones: dict[str, str] = {}
        self.admins: set[str] = set()
        self.events: dict[str, dict[str, Any]] = {}
        self.calendars: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self.seq = 1
        self.sync_floor: dict[str, int] = {}
        self.mailboxes: dict[str, Mailbox] = {}
        self.tokens: dict[str, Token] = {}
        self.service_accounts: dict[str, str] = {}  # key id -> public key PEM
        self.granted: set[str] | None = None  # scopes granted by domain-wide delegation
        self.refresh_tokens: dict[str, Token] = {}
        self.signing_in: str | None = None  # who is at the browser for the OAuth consent page
        self.consented: list[frozenset[str]] = []  # scopes of each consent given
        self._codes: dict[str, tuple[str, frozenset[str], str, str]] = {}
        self.faults: list[Fault] = []
        self.stats: Counter[str] = Counter()
        self.batch_sizes: list[int] = []
        self.log: deque[str] = deque(maxlen=5000)
        self.sent: list[email.message.EmailMessage] = []
        self.requested_headers: set[str] = set()
        self.quota_window = quota_window
        self.quota_limits = {"calendar": calendar_per_minute, "gmail": gmail_units_per_minute}
        self.quota_spent: dict[tuple[str, str], deque[tuple[float, int]]] = defaultdict(deque)
        self.quota_peak: dict[str, int] = Counter()
        self.quota_violations = 0
        self.token_uri = ""
        self._pages: dict[str, tuple[list[Any], int, dict[str, Any]]] = {}
        self._ids = itertools.count(0x10000)

    # --- seeding ------------------------------------------------------------------
    def add_user(self, email_: str, name: str = "", department: str = "", title: str = "",
                 manager: str | None = None, *, suspended: bool = False, timezone: str = "UTC",
                 admin: bool = False, listed: bool = True) -> None:
        """A user; ``listed=False`` is an account outside the analysed organisation
        (it can sign in and has a mailbox, but the directory listing leaves it out)."""
        with self.lock:
            first, _, last = name.partition(" ")
            user: dict[str, Any] = {
                "kind": "admin#directory#user", "id": str(next(self._ids)),
                "primaryEmail": email_, "name": {"fullName": name, "givenName": first,
                                                 "familyName": last},
                "suspended": suspended, "archived": False, "isAdmin": admin,
                "organizations": [{"department": department, "title": title, "primary": True,
                                   "customType": ""}],
            }
            if manager:
                user["relations"] = [{"type": "manager", "value": manager}]
            user["_listed"] = listed
            self.users[email_] = user
            self.timezones[email_] = timezone
            self.mailboxes.setdefault(email_, Mailbox(email_))
            if admin:
                self.admins.add(email_)

    def add_event(self, organizer: str, attendees: list[str], start: float, end: float, *,
                  event_id: str | None = None, responses: dict[str, str] | None = None,
                  status: str = "confirmed", private: dict[str, str] | None = None,
                  summary: str = "A meeting") -> dict[str, Any]:
        """An event on the organiser's and every attendee's calendar (times in epoch seconds)."""
        with self.lock:
            event_id = event_id or f"ev{next(self._ids):x}"
            people = list(dict.fromkeys([organizer, *attendees])) if attendees else []
            resp = responses or {}
            event: dict[str, Any] = {
                "kind": "calendar#event", "id": event_id, "status": status,
                "iCalUID": f"{event_id}@google.com", "summary": summary,
                "description": "private agenda", "created": iso(time.time()),
                "start": {"dateTime": iso(start), "timeZone": "UTC"},
                "end": {"dateTime": iso(end), "timeZone": "UTC"},
                "organizer": {"email": organizer},
                "eventType": "default",
            }
            if people:
                event["attendees"] = [
                    {"email": p, "responseStatus": resp.get(
                        p, "accepted" if p == organizer else "needsAction"),
                     **({"organizer": True} if p == organizer else {})}
                    for p in people]
            if private:
                event["extendedProperties"] = {"private": dict(private)}
            self._store(event, [organizer, *attendees])
            return event

    def _store(self, event: dict[str, Any], owners: list[str]) -> None:
        self.seq += 1
        event["_seq"] = self.seq
        event["updated"] = iso(time.time())
        self.events[event["id"]] = event
        for owner in dict.fromkeys(owners):
            self.calendars[owner][event["id"]] = event

    def touch(self, event_id: str) -> None:
        with self.lock:
            self.seq += 1
            self.events[event_id]["_seq"] = self.seq

    def respond(self, event_id: str, who: str, status: str) -> None:
        with self.lock:
            for attendee in self.events[event_id].get("attendees", []):
                if attendee["email"] == who:
                    attendee["responseStatus"] = status
            self.touch(event_id)

    def cancel_event(self, event_id: str) -> None:
        with self.lock:
            self.events[event_id]["status"] = "cancelled"
            self.touch(event_id)

    def expire_sync_tokens(self, calendar: str | None = None) -> None:
        """Make every sync token handed out so far stale (answers 410)."""
        with self.lock:
            self.seq += 1
            for cal in [calendar] if calendar else list(self.calendars):
                self.sync_floor[cal] = self.seq

    def add_message(self, sender: str, to: list[str], cc: list[str] | None = None, *,
                    when: float, message_id: str | None = None,
                    subject: str = "Secret plans") -> str:
        """A message in the sender's mailbox (SENT) and each internal recipient's (INBOX)."""
        with self.lock:
            message_id = message_id or f"<m{next(self._ids):x}@{self.domain}>"
            headers = [{"name": "From", "value": sender}, {"name": "To", "value": ", ".join(to)},
                       {"name": "Subject", "value": subject},
                       {"name": "Date", "value": email.utils.formatdate(when)},
                       {"name": "Message-ID", "value": message_id}]
            if cc:
                headers.append({"name": "Cc", "value": ", ".join(cc)})
            self._file(sender, [*to, *(cc or [])], headers, when)
            return message_id

    def _file(self, sender: str, recipients: list[str], headers: list[dict[str, str]],
              when: float) -> None:
        """One message's copies: the sender's (SENT) and each internal recipient's (INBOX)."""
        with self.lock:
            thread = f"{next(self._ids):x}"
            for owner, labels in [(sender, ["SENT"]),
                                  *((r, ["INBOX", "UNREAD"]) for r in recipients)]:
                box = self.mailboxes.get(owner)
                if box is None:
                    continue
                gid = f"{next(self._ids):x}"
                box.history_id += 1
                box.messages[gid] = {"id": gid, "threadId": thread, "labelIds": labels,
                                     "internalDate": str(int(when * 1000)), "headers": headers,
                                     "historyId": str(box.history_id)}
                box.history.append((box.history_id, gid))

    def expire_history(self, user: str) -> None:
        with self.lock:
            box = self.mailboxes[user]
            box.history_id += 5
            box.min_history = box.history_id

    def register_key(self, key_id: str, public_pem: str) -> None:
        self.service_accounts[key_id] = public_pem

    def add_refresh_token(self, refresh: str, user: str, scopes: set[str]) -> None:
        self.refresh_tokens[refresh] = Token(user, frozenset(scopes), 0)

    def inject(self, fault: Fault) -> Fault:
        with self.lock:
            self.faults.append(fault)
        return fault

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def hold_events(self, mark_key: str = "bridgework") -> list[dict[str, Any]]:
        """Every live event that carries Bridgework's mark."""
        with self.lock:
            return [e for e in self.events.values() if e.get("status") != "cancelled"
                    and mark_key in ((e.get("extendedProperties") or {}).get("private") or {})]

    # --- faults -------------------------------------------------------------------
    def fault_for(self, line: str, where: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.where not in ("any", where) or not re.search(fault.match, line):
                    continue
                fault.seen += 1
                if fault.seen > fault.after and fault.fired < fault.times:
                    fault.fired += 1
                    return fault
        return None

    def apply_fault(self, fault: Fault) -> Answer | None:
        if fault.delay:
            time.sleep(fault.delay)
        if fault.drop:
            raise Abort()
        if fault.status is None:
            return None
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        if fault.status == 410:
            return error(410, "Sync token is no longer valid, a full sync is required.",
                         "fullSyncRequired", headers=headers)
        if fault.status == 403 and fault.reason in ("insufficientPermissions",):
            return self._scope_error()
        message = {429: "Rate Limit Exceeded", 503: "The service is currently unavailable.",
                   500: "Backend Error", 403: "Rate Limit Exceeded"}.get(fault.status, "error")
        reason = "rateLimitExceeded" if fault.status == 429 else fault.reason
        return error(fault.status, message, reason, "usageLimits" if fault.status in (403, 429)
                     else "global", headers=headers)

    # --- quotas -------------------------------------------------------------------
    def spend(self, api: str, user: str, units: int) -> bool:
        """Count units against the user's minute; False (and a violation) when over."""
        now = time.monotonic()
        spent = self.quota_spent[(api, user)]
        while spent and spent[0][0] <= now - self.quota_window:
            spent.popleft()
        total = sum(u for _, u in spent) + units
        if total > self.quota_limits[api]:
            self.quota_violations += 1
            self.stats[f"quota_exceeded:{api}"] += 1
            return False
        spent.append((now, units))
        self.quota_peak[api] = max(self.quota_peak[api], total)
        return True

    # --- auth ---------------------------------------------------------------------
    @staticmethod
    def _scope_error() -> Answer:
        return error(403, "Request had insufficient authentication scopes.",
                     "insufficientPermissions", details=[{
                         "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                         "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                         "domain": "googleapis.com"}])

    def token_endpoint(self, body: bytes) -> Answer:
        from google.auth import jwt

        self.stats["token_requests"] += 1
        form = dict(urllib.parse.parse_qsl(body.decode()))

        def refuse(status: int, code: str, text: str) -> Answer:
            return status, {"Content-Type": "application/json"}, json.dumps(
                {"error": code, "error_description": text}).encode()

        if form.get("grant_type") == "authorization_code":
            return self._exchange_code(form, refuse)
        if form.get("grant_type") == "refresh_token":
            known = self.refresh_tokens.get(form.get("refresh_token", ""))
            if known is None:
                return refuse(400, "invalid_grant", "Token has been expired or revoked.")
            return self._grant(known.user, known.scopes)
        try:
            # google-auth always names Google's own token endpoint as the audience.
            claims = jwt.decode(form.get("assertion", ""), certs=self.service_accounts,
                                audience=["https://oauth2.googleapis.com/token", self.token_uri])
        except Exception as exc:  # any defect in the assertion is a refusal, as at Google
            return refuse(400, "invalid_grant", f"Invalid JWT: {exc}")
        scopes = frozenset(str(claims.get("scope", "")).split())
        user = str(claims.get("sub") or claims.get("iss"))
        if self.granted is not None and not scopes <= self.granted:
            return refuse(401, "unauthorized_client",
                          "Client is unauthorized to retrieve access tokens using this method, "
                          "or client not authorized for any of the scopes requested.")
        if user not in self.users:
            return refuse(400, "invalid_grant", "Invalid email or User ID")
        return self._grant(user, scopes)

    def _grant(self, user: str, scopes: frozenset[str], refresh: str | None = None) -> Answer:
        token = "ya29.fake-" + secrets.token_urlsafe(12)
        with self.lock:
            self.tokens[token] = Token(user, scopes, time.time() + 3600)
        answer: dict[str, Any] = {"access_token": token, "expires_in": 3600,
                                  "token_type": "Bearer", "scope": " ".join(sorted(scopes))}
        if refresh is not None:
            answer["refresh_token"] = refresh
        return ok(answer)

    # --- the installed-app sign-in: consent page, then code for tokens (PKCE) ------
    def consent_page(self, query: str) -> Answer:
        """``GET /o/oauth2/auth``: the signed-in person consents; back to the app with a code."""
        q = dict(urllib.parse.parse_qsl(query))
        redirect = q.get("redirect_uri", "")
        if (self.signing_in is None or q.get("response_type") != "code"
                or not redirect.startswith(("http://127.0.0.1:", "http://localhost:"))
                or q.get("code_challenge_method") != "S256" or not q.get("code_challenge")):
            return 400, {"Content-Type": "text/plain"}, b"invalid sign-in request"
        scopes = frozenset(q.get("scope", "").split())
        code = "4/fake-" + secrets.token_urlsafe(12)
        with self.lock:
            self.consented.append(scopes)
            self._codes[code] = (self.signing_in, scopes, redirect, q["code_challenge"])
        back = urllib.parse.urlencode({"state": q.get("state", ""), "code": code,
                                       "scope": " ".join(sorted(scopes))})
        return 302, {"Location": f"{redirect}?{back}"}, b""

    def _exchange_code(self, form: dict[str, str], refuse: Callable[[int, str, str], Answer]
                       ) -> Answer:
        with self.lock:
            found = self._codes.pop(form.get("code", ""), None)  # a code works once
        if found is None:
            return refuse(400, "invalid_grant", "Malformed auth code.")
        user, scopes, redirect, challenge = found
        verifier = form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if digest.rstrip(b"=").decode() != challenge:
            return refuse(400, "invalid_grant", "Invalid code verifier.")
        if form.get("redirect_uri") != redirect:
            return refuse(400, "redirect_uri_mismatch", "Bad Request")
        refresh = "1//fake-" + secrets.token_urlsafe(12)
        self.refresh_tokens[refresh] = Token(user, scopes, 0)
        return self._grant(user, scopes, refresh)

    def identify(self, headers: dict[str, str]) -> Token | None:
        value = headers.get("authorization", "")
        token = self.tokens.get(value.removeprefix("Bearer ").strip())
        if token is None or token.expires < time.time():
            return None
        return token

    # --- dispatch -----------------------------------------------------------------
    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes,
               where: str) -> Answer:
        line = f"{method} {target}"
        self.log.append(line)
        fault = self.fault_for(line, where)
        if fault is not None and not fault.land:
            answer = self.apply_fault(fault)
            if answer is not None:
                return answer
        url = urllib.parse.urlsplit(target)
        query = urllib.parse.parse_qs(url.query)
        token = self.identify(headers)
        if token is None:
            return error(401, "Request had invalid authentication credentials.", "authError")
        path = urllib.parse.unquote(url.path)
        with self.lock:
            answer = self._route(method, path, query, body, token)
        if fault is not None and fault.land:
            self.apply_fault(fault)
        return answer

    def _route(self, method: str, path: str, q: dict[str, list[str]], body: bytes,
               token: Token) -> Answer:
        data = json.loads(body) if body.strip() else {}
        if path == "/admin/directory/v1/users" and method == "GET":
            return self.users_list(q, token)
        m = re.fullmatch(r"/calendar/v3/calendars/([^/]+)/events(?:/([^/]+))?", path)
        if m:
            return self.calendar_events(method, m.group(1), m.group(2), q, data, token)
        if path == "/calendar/v3/freeBusy" and method == "POST":
            return self.freebusy(data, token)
        m = re.fullmatch(r"/calendar/v3/users/me/settings/([^/]+)", path)
        if m:
            if not token.scopes & (CAL_READ | {SCOPE + "calendar.settings.readonly"}):
                return self._scope_error()
            if not self._spend("calendar", token.user, 1):
                return self._rate("calendar")
            return ok({"kind": "calendar#setting", "id": m.group(1),
                       "value": self.timezones.get(token.user, "UTC")})
        m = re.fullmatch(r"/gmail/v1/users/([^/]+)/(profile|history|messages)(?:/([^/]+))?", path)
        if m:
            user = token.user if m.group(1) == "me" else m.group(1)
            if user != token.user:
                return error(403, "Delegation denied", "forbidden")
            return self.gmail(method, user, m.group(2), m.group(3), q, data, token)
        return error(404, f"Not Found: {method} {path}", "notFound")

    def _spend(self, api: str, user: str, units: int) -> bool:
        return self.spend(api, user, units)

    @staticmethod
    def _rate(api: str) -> Answer:
        if api == "calendar":
            return error(403, "Rate Limit Exceeded", "userRateLimitExceeded", "usageLimits")
        return error(429, "User-rate limit exceeded.", "rateLimitExceeded", "usageLimits")

    def _page(self, items: list[Any], q: dict[str, list[str]], cap: int, default: int,
              extra: dict[str, Any]) -> tuple[list[Any], str | None, dict[str, Any]]:
        """One page of ``items``; later pages are served from a snapshot, as Google does."""
        size = min(int(q.get("maxResults", [default])[0]), cap)
        token = q.get("pageToken", [None])[0]
        offset = 0
        if token:
            if token not in self._pages:
                raise ValueError("invalid page token")
            items, offset, extra = self._pages.pop(token)
        part = items[offset : offset + size]
        nxt = None
        if offset + size < len(items):
            nxt = secrets.token_urlsafe(9)
            self._pages[nxt] = (items, offset + size, extra)
        return part, nxt, extra

    # --- directory ----------------------------------------------------------------
    def users_list(self, q: dict[str, list[str]], token: Token) -> Answer:
        if not token.scopes & DIRECTORY_SCOPES:
            return self._scope_error()
        view = q.get("viewType", ["admin_view"])[0]
        if view == "admin_view" and token.user not in self.admins:
            return error(403, "Not Authorized to access this resource/api", "forbidden")
        people = sorted(({k: v for k, v in u.items() if not k.startswith("_")}
                         for u in self.users.values() if u["_listed"]),
                        key=lambda u: u["primaryEmail"])
        part, nxt, _ = self._page(people, q, 500, 100, {})
        answer: dict[str, Any] = {"kind": "admin#directory#users", "users": part}
        if nxt:
            answer["nextPageToken"] = nxt
        return ok(answer)

    # --- calendar -----------------------------------------------------------------
    @staticmethod
    def _public(event: dict[str, Any], viewer: str) -> dict[str, Any]:
        out = {k: v for k, v in event.items() if not k.startswith("_")}
        if "attendees" in out:
            out["attendees"] = [dict(a, self=True) if a["email"] == viewer else a
                                for a in out["attendees"]]
        return out

    def calendar_events(self, method: str, cal: str, event_id: str | None,
                        q: dict[str, list[str]], data: dict[str, Any], token: Token) -> Answer:
        cal = token.user if cal == "primary" else cal
        write = method in ("POST", "PATCH", "PUT", "DELETE")
        if not token.scopes & (CAL_WRITE if write else CAL_READ):
            return self._scope_error()
        if cal != token.user:
            return error(404, "Not Found", "notFound")
        if not self._spend("calendar", token.user, 1):
            return self._rate("calendar")
        if event_id is None and method == "GET":
            return self.events_list(cal, q)
        if event_id is None and method == "POST":
            return self.events_insert(cal, data)
        event = self.calendars[cal].get(event_id or "")
        if event is None:
            return error(404, "Not Found", "notFound")
        if event["status"] == "cancelled":
            return error(410, "Resource has been deleted", "deleted")
        if method == "GET":
            return ok(self._public(event, cal))
        if event["organizer"]["email"] != cal:
            return error(403, "You need to have writer access to this calendar.",
                         "requiredAccessLevel")
        if method == "DELETE":
            event["status"] = "cancelled"
            self.touch(event["id"])
            return ok(None)
        for key in ("start", "end", "summary", "description", "status"):
            if key in data:
                event[key] = data[key]
        self.touch(event["id"])
        return ok(self._public(event, cal))

    def events_list(self, cal: str, q: dict[str, list[str]]) -> Answer:
        self.stats["events.list"] += 1
        sync = q.get("syncToken", [None])[0]
        page_token = q.get("pageToken", [None])[0]
        if sync and (q.get("timeMin") or q.get("timeMax")):
            return error(400, "Sync token cannot be combined with timeMin", "invalid")
        if page_token:
            items: list[dict[str, Any]] = []
        elif sync:
            try:
                since = int(sync.removeprefix("s"))
            except ValueError:
                return error(400, "Invalid sync token", "invalid")
            if since < self.sync_floor.get(cal, 0):
                return error(410, "Sync token is no longer valid, a full sync is required.",
                             "fullSyncRequired")
            items = sorted((e for e in self.calendars[cal].values() if e["_seq"] > since),
                           key=lambda e: e["_seq"])
        else:
            low = parse_iso(q["timeMin"][0]) if q.get("timeMin") else float("-inf")
            high = parse_iso(q["timeMax"][0]) if q.get("timeMax") else float("inf")
            items = sorted((e for e in self.calendars[cal].values() if e["status"] != "cancelled"
                            and parse_iso(e["end"]["dateTime"]) > low
                            and parse_iso(e["start"]["dateTime"]) < high),
                           key=lambda e: e["start"]["dateTime"])
        try:
            part, nxt, extra = self._page(items, q, 2500, 250, {"sync": f"s{self.seq}"})
        except ValueError:
            return error(400, "Invalid page token", "invalid")
        answer: dict[str, Any] = {"kind": "calendar#events", "items": [
            self._public(e, cal) for e in part]}
        if nxt:
            answer["nextPageToken"] = nxt
        else:
            answer["nextSyncToken"] = extra["sync"]
        return ok(answer)

    def events_insert(self, cal: str, data: dict[str, Any]) -> Answer:
        event_id = str(data.get("id") or f"ev{next(self._ids):x}")
        if not BASE32HEX.match(event_id):
            return error(400, "Invalid resource id value.", "invalid")
        if event_id in self.events:
            return error(409, "The requested identifier already exists.", "duplicate")
        self.stats["events.insert"] += 1
        attendees = [a["email"] for a in data.get("attendees") or []]
        event = self.add_event(
            cal, attendees, parse_iso(data["start"]["dateTime"]), parse_iso(data["end"]["dateTime"]),
            event_id=event_id, status=data.get("status", "confirmed"),
            private=((data.get("extendedProperties") or {}).get("private")),
            summary=data.get("summary", ""))
        event["description"] = data.get("description", "")
        return ok(self._public(event, cal))

    def freebusy(self, data: dict[str, Any], token: Token) -> Answer:
        if not token.scopes & FREEBUSY:
            return self._scope_error()
        if not self._spend("calendar", token.user, 1):
            return self._rate("calendar")
        items = data.get("items") or []
        if len(items) > 50:
            return error(400, "Too many calendars requested", "tooManyCalendarsRequested")
        low, high = parse_iso(data["timeMin"]), parse_iso(data["timeMax"])
        calendars: dict[str, Any] = {}
        for item in items:
            who = item["id"]
            if who not in self.calendars and who not in self.users:  # as Google answers then
                calendars[who] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
                continue
            busy = []
            for event in self.calendars.get(who, {}).values():
                if event["status"] == "cancelled" or event.get("transparency") == "transparent":
                    continue
                mine = [a for a in event.get("attendees", []) if a["email"] == who]
                if mine and mine[0].get("responseStatus") == "declined":
                    continue
                start, end = parse_iso(event["start"]["dateTime"]), parse_iso(event["end"]["dateTime"])
                if end > low and start < high:
                    busy.append((start, end))
            calendars[who] = {"busy": [{"start": iso(s), "end": iso(e)} for s, e in sorted(busy)]}
        return ok({"kind": "calendar#freeBusy", "timeMin": data["timeMin"],
                   "timeMax": data["timeMax"], "calendars": calendars})

    # --- gmail --------------------------------------------------------------------
    def gmail(self, method: str, user: str, kind: str, item: str | None,
              q: dict[str, list[str]], data: dict[str, Any], token: Token) -> Answer:
        box = self.mailboxes.get(user)
        if box is None:
            return error(400, "Mail service not enabled", "failedPrecondition")
        if kind == "messages" and item == "send":
            if not token.scopes & GMAIL_SEND:
                return self._scope_error()
            if not self._spend("gmail", user, GMAIL_UNITS["send"]):
                return self._rate("gmail")
            raw = base64.urlsafe_b64decode(data["raw"] + "=" * (-len(data["raw"]) % 4))
            mime = BytesParser(policy=email.policy.default).parsebytes(raw)
            self.sent.append(mime)
            # As Gmail does: the sent copy is filed under SENT with the headers as written
            # (Message-ID included), and internal recipients get theirs.
            self._file(user, [a for _, a in email.utils.getaddresses(mime.get_all("To", []))],
                       [{"name": k, "value": str(v)} for k, v in mime.items()], time.time())
            return ok({"id": f"{next(self._ids):x}", "threadId": "t", "labelIds": ["SENT"]})
        if not token.scopes & GMAIL_READ:
            return self._scope_error()
        units = GMAIL_UNITS["get" if item else ("list" if kind == "messages" else kind)]
        if not self._spend("gmail", user, units):
            return self._rate("gmail")
        if kind == "profile":
            return ok({"emailAddress": user, "messagesTotal": len(box.messages),
                       "threadsTotal": len(box.messages), "historyId": str(box.history_id)})
        if kind == "history":
            return self.history_list(box, q)
        if item is None:
            return self.messages_list(box, q, token)
        return self.messages_get(box, item, q, token)

    def messages_list(self, box: Mailbox, q: dict[str, list[str]], token: Token) -> Answer:
        if q.get("q") and not token.scopes & GMAIL_FULL:
            return error(403, "Metadata scope does not support 'q' parameter", "forbidden")
        wanted = set(q.get("labelIds", []))
        found = sorted((m for m in box.messages.values() if wanted <= set(m["labelIds"])),
                       key=lambda m: -int(m["internalDate"]))
        try:
            part, nxt, _ = self._page(found, q, 500, 100, {})
        except ValueError:
            return error(400, "Invalid pageToken", "invalidArgument")
        answer: dict[str, Any] = {"messages": [{"id": m["id"], "threadId": m["threadId"]}
                                               for m in part],
                                  "resultSizeEstimate": len(found)}
        if nxt:
            answer["nextPageToken"] = nxt
        if not part:
            del answer["messages"]
        return ok(answer)

    def messages_get(self, box: Mailbox, message_id: str, q: dict[str, list[str]],
                     token: Token) -> Answer:
        fmt = q.get("format", ["full"])[0]
        if fmt != "metadata" and not token.scopes & GMAIL_FULL:
            return error(403, f"Metadata scope doesn't allow format {fmt.upper()}", "forbidden")
        message = box.messages.get(message_id)
        if message is None:
            return error(404, "Requested entity was not found.", "notFound")
        asked = {h.lower() for h in q.get("metadataHeaders", [])}
        self.requested_headers |= asked
        headers = [h for h in message["headers"] if not asked or h["name"].lower() in asked]
        return ok({"id": message["id"], "threadId": message["threadId"],
                   "labelIds": message["labelIds"], "historyId": message["historyId"],
                   "internalDate": message["internalDate"], "sizeEstimate": 1234,
                   "payload": {"mimeType": "text/plain", "headers": headers}})

    def history_list(self, box: Mailbox, q: dict[str, list[str]]) -> Answer:
        if not q.get("startHistoryId"):
            return error(400, "startHistoryId is required", "invalidArgument")
        start = int(q["startHistoryId"][0])
        if start < box.min_history:
            return error(404, "Requested entity was not found.", "notFound")
        label = q.get("labelId", [None])[0]
        records = []
        for hid, gid in box.history:
            if hid <= start:
                continue
            message = box.messages[gid]
            if label and label not in message["labelIds"]:
                continue
            ref = {"id": gid, "threadId": message["threadId"]}
            records.append({"id": str(hid), "messages": [ref], "messagesAdded": [
                {"message": {**ref, "labelIds": message["labelIds"]}}]})
        try:
            part, nxt, extra = self._page(records, q, 500, 100, {"hid": str(box.history_id)})
        except ValueError:
            return error(400, "Invalid pageToken", "invalidArgument")
        answer: dict[str, Any] = {"historyId": extra["hid"]}
        if part:
            answer["history"] = part
        if nxt:
            answer["nextPageToken"] = nxt
        return ok(answer)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle and delayed ACKs
        # add 40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, answer: Answer) -> None:
        status, headers, body = answer
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _serve(self, method: str) -> None:
        fake = self.server.fake
        body = self._body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        path = urllib.parse.urlsplit(self.path).path
        fake.stats["http_requests"] += 1
        try:
            if path == "/o/oauth2/auth" and method == "GET":
                self._reply(fake.consent_page(urllib.parse.urlsplit(self.path).query))
            elif path == "/token":
                fault = fake.fault_for(f"{method} /token", "outer")
                answer = fake.apply_fault(fault) if fault else None
                self._reply(answer or fake.token_endpoint(body))
            elif path.startswith("/batch/"):
                fake.stats["batch_requests"] += 1
                fault = fake.fault_for(f"{method} {self.path}", "outer")
                answer = fake.apply_fault(fault) if fault else None
                self._reply(answer or self._batch(fake, body, headers))
            else:
                fake.stats["api_calls"] += 1
                self._reply(fake.handle(method, self.path, headers, body, "outer"))
        except Abort:
            self.close_connection = True
            self.connection.close()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _batch(self, fake: FakeGoogle, body: bytes, headers: dict[str, str]) -> Answer:
        ctype = headers.get("content-type", "")
        message = BytesParser().parsebytes(f"Content-Type: {ctype}\r\n\r\n".encode() + body)
        parts = message.get_payload()
        if not isinstance(parts, list) or not parts:
            return error(400, "Batch request has no parts", "badRequest")
        if len(parts) > 100:
            return error(400, "Too many requests in a batch", "badRequest")
        fake.batch_sizes.append(len(parts))
        boundary = "batch_" + secrets.token_hex(8)
        out: list[bytes] = []
        for part in parts:
            raw = part.get_payload(decode=False)
            text = raw if isinstance(raw, str) else str(raw)
            head, _, inner_body = text.replace("\r\n", "\n").partition("\n\n")
            lines = head.split("\n")
            method, target, _ = lines[0].split(" ", 2)
            inner_headers = {k.strip().lower(): v.strip() for k, _, v in
                             (ln.partition(":") for ln in lines[1:] if ":" in ln)}
            if "authorization" not in inner_headers and "authorization" in headers:
                inner_headers["authorization"] = headers["authorization"]
            fake.stats["inner_calls"] += 1
            status, res_headers, res_body = fake.handle(method, target, inner_headers,
                                                        inner_body.encode(), "inner")
            content_id = str(part.get("Content-ID", "<x+0>"))
            head_lines = [f"HTTP/1.1 {status} {'OK' if status < 300 else 'Error'}",
                          *(f"{k}: {v}" for k, v in res_headers.items()),
                          f"Content-Length: {len(res_body)}"]
            out.append(
                (f"--{boundary}\r\nContent-Type: application/http\r\n"
                 f"Content-ID: <response-{content_id.strip('<>')}>\r\n\r\n"
                 + "\r\n".join(head_lines) + "\r\n\r\n").encode() + res_body + b"\r\n")
        out.append(f"--{boundary}--\r\n".encode())
        return 200, {"Content-Type": f"multipart/mixed; boundary={boundary}"}, b"".join(out)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeGoogle) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
        fake.token_uri = self.url + "token"
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
