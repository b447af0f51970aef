"""Directory: active users with department, title, manager and calendar time zone."""

from __future__ import annotations

import collections
import logging
from collections.abc import Iterator
from typing import Any

from googleapiclient.errors import HttpError

from connectors.base import Directory, Person
from connectors.google.answers import RATE_REASONS, SCOPE_REASONS, error_reason, status_of
from connectors.google.scopes import CALENDAR_READ, DIRECTORY, read_scopes
from connectors.google.transport import Call, GoogleClient
from connectors.people_fields import address, department_or_placeholder

log = logging.getLogger(__name__)

PAGE = 500
USER_FIELDS = ("users(primaryEmail,name/fullName,suspended,archived,organizations,relations),"
               "nextPageToken")

def _primary_org(user: dict[str, Any]) -> dict[str, Any]:
    orgs = [o for o in user.get("organizations") or [] if isinstance(o, dict)]
    for org in orgs:
        if org.get("primary"):
            return org
    return orgs[0] if orgs else {}


def _manager(user: dict[str, Any]) -> str | None:
    for rel in user.get("relations") or []:
        if isinstance(rel, dict) and rel.get("type") == "manager" and rel.get("value"):
            return address(rel["value"])
    return None


def to_person(user: dict[str, Any], timezone: str = "UTC") -> Person | None:
    """A directory entry as a Person; None for suspended, archived or unnamed users."""
    email = address(user.get("primaryEmail"))
    if user.get("suspended") or user.get("archived") or email is None:
        return None
    org = _primary_org(user)
    name = user.get("name") or {}
    return Person(
        email=email,
        department=department_or_placeholder(org.get("department")),
        name=str(name.get("fullName") or ""),
        title=str(org.get("title") or ""),
        manager=_manager(user),
        timezone=timezone,
    )


class GoogleDirectory(Directory):
    def __init__(self, client: GoogleClient) -> None:
        self._client = client
        settings = client.settings
        self._subject = settings.admin_subject or "me"

    def _users(self) -> Iterator[dict[str, Any]]:
        svc = self._client.service("directory")
        settings = self._client.settings
        page: str | None = None
        view = "domain_public" if settings.trial else "admin_view"
        while True:
            def make(page: str | None = page) -> Any:
                return svc.users().list(customer=settings.customer, maxResults=PAGE,
                                        projection="full", viewType=view, orderBy="email",
                                        pageToken=page, fields=USER_FIELDS)

            answer = self._client.execute(
                make, user=self._subject, scopes=(DIRECTORY,),
                what="reading the user directory", scope=DIRECTORY)
            yield from answer.get("users") or []
            page = answer.get("nextPageToken")
            if not page:
                return

    def people(self) -> Iterator[Person]:
        found = [p for p in (to_person(u) for u in self._users()) if p is not None]
        zones = self._timezones([p.email for p in found]) if self._client.settings.read_timezones \
            else {}
        for person in found:
            zone = zones.get(person.email)
            yield Person(person.email, person.department, person.name, person.title,
                         person.level, person.manager, zone or person.timezone)

    def _timezones(self, emails: list[str]) -> dict[str, str]:
        """Each user's calendar time zone, read in batches (the directory has none)."""
        client = self._client
        if client.settings.trial:
            return {}
        calendar_settings = client.service("calendar").settings()
        scopes = read_scopes(client.settings)
        zones: dict[str, str] = {}
        queue: collections.deque[Call] = collections.deque()

        def missing(exc: HttpError) -> bool:
            # A user without Calendar (404, or 403 "not enabled"): keep the default zone.
            reason = error_reason(exc)
            return status_of(exc) == 404 or (
                status_of(exc) == 403 and reason not in RATE_REASONS | SCOPE_REASONS)

        for email in emails:
            def make() -> Any:
                return calendar_settings.get(setting="timezone")

            def done(answer: Any, email: str = email) -> None:
                if isinstance(answer, dict) and answer.get("value"):
                    zones[email] = str(answer["value"])

            queue.append(Call(email, "calendar", 1, make, done, f"reading {email}'s time zone",
                              CALENDAR_READ, scopes, failed=missing))
        for _ in client.run_batches(queue):
            pass
        return zones
