"""People from Entra ID: ``/users`` with department, job title and manager.

Disabled accounts and accounts without a mailbox address are skipped. When
``working_hours`` is on, each mailbox's time zone and working hours come from
``mailboxSettings`` (batched); without that permission people keep defaults.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, MutableMapping
from typing import Any
from urllib.parse import quote

from connectors.base import DEFAULT_WORKING_HOURS, Directory, Person
from connectors.common.errors import PermissionMissing
from connectors.microsoft import parse
from connectors.microsoft.client import Call, GraphClient
from connectors.people_fields import address, department_or_placeholder

log = logging.getLogger(__name__)

USERS = "User.Read.All"
MAILBOX_SETTINGS = "MailboxSettings.Read"
_FIELDS = ("id", "mail", "userPrincipalName", "displayName", "department", "jobTitle",
           "accountEnabled")


def _email(user: dict[str, Any]) -> str | None:
    return address(user.get("mail") or user.get("userPrincipalName"))


def _level(user: dict[str, Any], attribute: str | None) -> int | None:
    if not attribute:
        return None
    value: Any = user
    for part in attribute.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    found = re.search(r"-?\d+", str(value)) if value is not None else None
    return int(found.group()) if found else None


class MicrosoftDirectory(Directory):
    def __init__(self, client: GraphClient, ids: MutableMapping[str, str]) -> None:
        self._client = client
        self._ids = ids

    def _users(self) -> Iterator[dict[str, Any]]:
        settings = self._client.settings
        fields = list(_FIELDS)
        if settings.level_attribute:
            fields.append(settings.level_attribute.split(".")[0])
        url = (f"users?$select={','.join(fields)}"
               f"&$expand={quote('manager($select=id,mail,userPrincipalName)', safe='')}&$top=999")
        yield from self._client.pages(Call("GET", url, None, USERS))

    def people(self) -> Iterator[Person]:
        settings = self._client.settings
        wanted = {u.lower() for u in settings.users}
        found: list[Person] = []
        for user in self._users():
            email = _email(user)
            if email is None or user.get("accountEnabled") is False:
                continue
            if wanted and email not in wanted:
                continue
            self._ids[email] = str(user.get("id") or email)
            manager = user.get("manager")
            found.append(Person(
                email=email,
                department=department_or_placeholder(user.get("department")),
                name=str(user.get("displayName") or ""),
                title=str(user.get("jobTitle") or ""),
                level=_level(user, settings.level_attribute),
                manager=_email(manager) if isinstance(manager, dict) else None,
            ))
        if settings.working_hours:
            found = self._with_working_hours(found)
        yield from found

    def _with_working_hours(self, people: list[Person]) -> list[Person]:
        calls = [Call("GET", f"users/{quote(self._ids[p.email], safe='')}/mailboxSettings",
                      p.email, MAILBOX_SETTINGS, allow=frozenset({404}))
                 for p in people]
        try:
            replies = self._client.batch(calls)
        except PermissionMissing as exc:
            log.warning("working hours not read, defaults used: %s", exc.message)
            return people
        out = []
        for person, reply in zip(people, replies, strict=True):
            if not reply.ok:
                out.append(person)
                continue
            zone, hours = parse.working_hours(reply.body)
            out.append(Person(person.email, person.department, person.name, person.title,
                              person.level, person.manager, zone or person.timezone,
                              hours if reply.body.get("workingHours") else DEFAULT_WORKING_HOURS))
        return out
