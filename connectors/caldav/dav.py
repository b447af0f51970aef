"""The CalDAV requests Bridgework makes, over the ``caldav`` library's client.

``caldav.DAVClient`` carries the session, authentication and TLS, its
element classes build the request bodies and its response parser reads the
multistatus answers. This module chooses the few requests needed and keeps
them few: a person whose calendars did not change costs one PROPFIND of
their calendar home per cycle.

Failures: 429 and 503 (obeying ``Retry-After``), other 5xx, timeouts and
dropped connections are retried with full-jitter backoff; 401/403 becomes
:class:`Refused` (the caller decides whether one calendar or the whole sync
is affected); anything else that is not what the request expects is a
:class:`DavError`. Every request is counted (``requests``), for the bench
and the check command.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

from caldav.davclient import DAVClient
from caldav.elements import cdav, dav
from caldav.elements.base import BaseElement
from caldav.lib import error as dav_error
from caldav.response import CalendarQueryResult, SyncCollectionResult
from lxml import etree

from connectors.accounts import Login
from connectors.caldav.settings import CalDavSettings
from connectors.common.errors import ConnectorError
from connectors.retry import Backoff, parse_retry_after

log = logging.getLogger(__name__)

MULTIGET_CHUNK = 100
_RETRY_STATUS = {429, 500, 502, 503, 504}
_CS = "http://calendarserver.org/ns/"


class GetCtag(BaseElement):
    tag: ClassVar[str] = f"{{{_CS}}}getctag"


class DavError(ConnectorError):
    """The server answered in a way this request cannot use (after retries)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Refused(DavError):
    """401 or 403: the account may not do this here."""


class TokenExpired(DavError):
    """The server no longer knows the sync-token (RFC 6578 valid-sync-token)."""


@dataclass(frozen=True, slots=True)
class Collection:
    """One calendar in a calendar home, with what says whether it changed."""

    href: str
    name: str
    ctag: str | None
    sync_token: str | None
    events: bool  # takes VEVENTs (or does not say)


def _xml(element: BaseElement) -> str:
    return etree.tostring(element.xmlelement(), encoding="utf-8", xml_declaration=True).decode()


def _tree(parent: BaseElement, *children: BaseElement) -> BaseElement:
    """``parent`` holding ``children`` (the element classes nest with ``append``)."""
    return parent.append(list(children))


def _object_props() -> BaseElement:
    return _tree(dav.Prop(), dav.GetEtag(), cdav.CalendarData())


def _path(href: str) -> str:
    """An href as a path, so hrefs compare equal whether absolute or not."""
    return urlsplit(href).path or href


class Dav:
    """One signed-in client. A proxy account shares one; per-person logins get one each."""

    def __init__(self, settings: CalDavSettings, login: Login, *,
                 sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> None:
        self.settings = settings
        self.login = login
        verify: bool | str = str(settings.ca_bundle) if settings.ca_bundle else True
        self._client = DAVClient(
            url=settings.url, username=login.username, password=login.password,
            auth_type="basic", timeout=int(settings.timeout_seconds) or 1,
            ssl_verify_cert=verify, enable_rfc6764=False)
        self._backoff = Backoff(settings.backoff_seconds, settings.max_backoff_seconds, sleep,
                                rng or random.Random())
        self.requests = 0

    def close(self) -> None:
        self._client.close()

    def url(self, href: str) -> str:
        return urljoin(self.settings.url, href)

    # --- the one way out ------------------------------------------------------------------
    def request(self, method: str, href: str, body: str = "",
                headers: Mapping[str, str] | None = None, *,
                ok: Iterable[int] = (200, 207)) -> Any:
        """One request, retried on throttling and server or network failures.

        :raises Refused: 401/403.
        :raises DavError: a status outside ``ok`` (after retries for 429/5xx).
        """
        wanted = set(ok)
        url = self.url(href)
        attempt = 0
        while True:
            self.requests += 1
            hint: float | None = None
            try:
                response = self._client.request(url, method, body, dict(headers or {}))
                status = int(response.status)
            except dav_error.AuthorizationError as exc:
                raise Refused(f"{method} {_path(url)} was refused for {self.login.username} "
                              f"({getattr(exc, 'reason', '') or 'not authorised'})", 403) from None
            except dav_error.RateLimitError as exc:
                status = 429
                hint = getattr(exc, "retry_after_seconds", None)
                if hint is None:
                    hint = parse_retry_after(getattr(exc, "retry_after", None))
                response = None
            except (OSError, dav_error.DAVError) as exc:
                # connection refused or dropped, timeouts (niquests raises OSError subclasses)
                status, response = 0, None
                reason = type(exc).__name__
                if attempt >= self.settings.max_retries:
                    raise DavError(f"{method} {_path(url)}: {reason} after "
                                   f"{attempt + 1} attempts") from None
            if response is not None and status in wanted:
                return response
            if status and status not in _RETRY_STATUS:
                raise DavError(f"{method} {_path(url)} answered {status}", status)
            if attempt >= self.settings.max_retries:
                raise DavError(f"{method} {_path(url)} still failing ({status or 'no answer'}) "
                               f"after {attempt + 1} attempts", status or None)
            log.info("CalDAV %s answered %s; retrying", method, status or "nothing")
            self._backoff.wait(attempt, hint)
            attempt += 1

    def _propfind(self, href: str, props: Sequence[BaseElement], depth: int) -> Any:
        body = _xml(_tree(dav.Propfind(), _tree(dav.Prop(), *props)))
        response = self.request("PROPFIND", href, body, {"Depth": str(depth)})
        return response.parse_propfind()

    # --- discovery ------------------------------------------------------------------------
    def current_principal(self) -> str:
        """The signed-in account's principal (RFC 5397).

        :raises DavError: the server names none.
        """
        for result in self._propfind(self.settings.url, [dav.CurrentUserPrincipal()], 0):
            href = result.properties.get(dav.CurrentUserPrincipal.tag)
            if href:
                return _path(self.url(str(href)))
        raise DavError(f"{self.settings.url} names no current-user-principal")

    def calendar_home(self, principal: str) -> str:
        """The principal's calendar-home-set (RFC 4791 6.2.1).

        :raises DavError: the principal does not exist or names no calendar home.
        """
        for result in self._propfind(principal, [cdav.CalendarHomeSet()], 0):
            home = result.properties.get(cdav.CalendarHomeSet.tag)
            if isinstance(home, list):
                home = home[0] if home else None
            if home:
                return _path(self.url(str(home)))
        raise DavError(f"{principal} names no calendar-home-set", 404)

    def collections(self, home: str) -> list[Collection]:
        """The calendars in a home, each with its ctag and sync-token."""
        found = []
        props = [dav.ResourceType(), dav.DisplayName(), GetCtag(), dav.SyncToken(),
                 cdav.SupportedCalendarComponentSet()]
        for result in self._propfind(home, props, 1):
            kinds = result.properties.get(dav.ResourceType.tag) or []
            if cdav.Calendar.tag not in kinds:
                continue
            components = result.properties.get(cdav.SupportedCalendarComponentSet.tag)
            takes_events = not isinstance(components, list) or "VEVENT" in components
            found.append(Collection(
                _path(self.url(result.href)), str(result.properties.get(dav.DisplayName.tag) or ""),
                _text(result.properties.get(GetCtag.tag)),
                _text(result.properties.get(dav.SyncToken.tag)), takes_events))
        return found

    def schedules(self, href: str) -> bool:
        """Whether the server delivers invitations itself (RFC 6638 ``calendar-auto-schedule``)."""
        response = self.request("OPTIONS", href, ok=(200, 204))
        return "calendar-auto-schedule" in (_header(response, "dav") or "").lower()

    def may_write(self, href: str) -> bool | None:
        """Whether the account may write into a collection (RFC 3744); None if not told."""
        for result in self._propfind(href, [dav.CurrentUserPrivilegeSet()], 0):
            granted = result.properties.get(dav.CurrentUserPrivilegeSet.tag)
            if isinstance(granted, list):
                return any(p in granted for p in ("{DAV:}write", "{DAV:}write-content", "{DAV:}all"))
        return None

    # --- reading --------------------------------------------------------------------------
    def sync(self, calendar: str, token: str | None) -> SyncCollectionResult:
        """Changes since ``token`` (everything without one), calendar data included.

        A truncated answer (507 inside the multistatus) is followed up with the new token.

        :raises TokenExpired: the server no longer knows ``token``.
        """
        changed: dict[str, CalendarQueryResult] = {}
        deleted: set[str] = set()
        current = token
        for _page in range(100):
            body = _xml(_tree(dav.SyncCollection(), dav.SyncToken(value=current or ""),
                              dav.SyncLevel(value="1"), _object_props()))
            try:
                result = self.request("REPORT", calendar, body, {"Depth": "0"}).parse_sync_collection()
            except (Refused, DavError) as exc:
                if current and exc.status in (403, 409, 412):
                    raise TokenExpired(f"{calendar}: the server forgot the sync-token",
                                       exc.status) from None
                raise
            for item in result.changed:
                deleted.discard(_path(item.href))
                changed[_path(item.href)] = item
            for href in result.deleted:
                changed.pop(_path(href), None)
                deleted.add(_path(href))
            current = result.sync_token or current
            if not result.truncated:
                break
        return SyncCollectionResult(list(changed.values()), sorted(deleted), current, False)

    def etags(self, calendar: str) -> dict[str, str]:
        """Every object's etag in a calendar (the fallback without sync-tokens)."""
        out = {}
        for result in self._propfind(calendar, [dav.GetEtag()], 1):
            href = _path(self.url(result.href))
            etag = result.properties.get(dav.GetEtag.tag)
            if href.rstrip("/") != calendar.rstrip("/") and etag:
                out[href] = str(etag)
        return out

    def multiget(self, calendar: str, hrefs: Sequence[str]) -> list[CalendarQueryResult]:
        found: list[CalendarQueryResult] = []
        for begin in range(0, len(hrefs), MULTIGET_CHUNK):
            wanted = [dav.Href(value=href) for href in hrefs[begin:begin + MULTIGET_CHUNK]]
            body = _xml(_tree(cdav.CalendarMultiGet(), _object_props(), *wanted))
            response = self.request("REPORT", calendar, body, {"Depth": "1"})
            found.extend(response.parse_calendar_query())
        return found

    def query(self, calendar: str, start: dt.datetime, end: dt.datetime) -> list[CalendarQueryResult]:
        """Objects with an event overlapping [start, end) (the server expands recurrences)."""
        events = _tree(cdav.CompFilter("VEVENT"), cdav.TimeRange(start, end))
        body = _xml(_tree(cdav.CalendarQuery(), _object_props(),
                          _tree(cdav.Filter(), _tree(cdav.CompFilter("VCALENDAR"), events))))
        return list(self.request("REPORT", calendar, body, {"Depth": "1"}).parse_calendar_query())

    def free_busy(self, calendar: str, start: dt.datetime, end: dt.datetime) -> str:
        """The server's VFREEBUSY for one calendar (RFC 4791 7.10)."""
        body = _xml(_tree(cdav.FreeBusyQuery(), cdav.TimeRange(start, end)))
        response = self.request("REPORT", calendar, body, {"Depth": "1"}, ok=(200,))
        return str(response.raw)

    # --- one object -----------------------------------------------------------------------
    def get(self, href: str) -> tuple[str, str | None] | None:
        """An object's data and etag; None when there is none."""
        response = self.request("GET", href, ok=(200, 404, 410))
        if int(response.status) != 200:
            return None
        return str(response.raw), _header(response, "etag")

    def put(self, href: str, data: str, *, create: bool = False,
            etag: str | None = None) -> bool:
        """Store an object. ``create``: only if nothing is there (False if something was).

        :raises DavError: the server refused it, or (with ``etag``) it changed meanwhile (412).
        """
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        if create:
            headers["If-None-Match"] = "*"
        elif etag:
            headers["If-Match"] = etag
        response = self.request("PUT", href, data, headers, ok=(200, 201, 204, 412))
        if int(response.status) == 412:
            if create:
                return False
            raise DavError(f"{href} changed while Bridgework was moving it; left as it is", 412)
        return True

    def delete(self, href: str, etag: str | None = None) -> None:
        headers = {"If-Match": etag} if etag else {}
        response = self.request("DELETE", href, headers=headers, ok=(200, 204, 404, 410, 412))
        if int(response.status) == 412:
            raise DavError(f"{href} changed while Bridgework was deleting it; left as it is", 412)


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def _header(response: Any, name: str) -> str | None:
    headers = getattr(response, "headers", None) or {}
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    return None
