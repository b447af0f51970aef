"""Fill a fake tenant from a data directory (e.g. one ``connectors.demo`` wrote).

The files connector reads the directory (recurring series expanded), and
every meeting becomes an Exchange-style meeting with a copy per invited
mailbox, every message a Sent Items entry of its sender. Levels travel in
``employeeType``, as some tenants keep them.
"""

from __future__ import annotations

from pathlib import Path

from connectors.base import Interaction
from connectors.files import build
from connectors.registry import FilesSettings
from tests.fakes.graph.tenant import Tenant

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def load_directory(tenant: Tenant, path: Path) -> tuple[int, int]:
    """Users, meetings and mail from ``path``; returns (meetings, messages) loaded."""
    source = build(FilesSettings(type="files", path=path))
    people = list(source.directory.people())
    for p in people:
        hours = p.working_hours
        tenant.add_user(p.email, p.name, p.department, p.title, timezone=p.timezone,
                        working_days=tuple(WEEKDAYS[d] for d in sorted(hours.weekdays)),
                        working_start=f"{hours.start:%H:%M:%S}.0000000",
                        working_end=f"{hours.end:%H:%M:%S}.0000000",
                        extra={"employeeType": f"L{p.level}" if p.level is not None else None})
    for p in people:
        tenant.set_manager(p.email, p.manager if p.manager in tenant.by_mail else None)
    meetings = messages = 0
    assert source.calendar is not None and source.mail is not None
    for chunk in source.calendar.read(people, {}):
        for m in chunk.interactions:
            if m.participants[0] in tenant.by_mail:
                _meeting(tenant, m)
                meetings += 1
    for chunk in source.mail.read(people, {}):
        for msg in chunk.interactions:
            if msg.participants[0] in tenant.by_mail:
                tenant.add_message(msg.participants[0], list(msg.participants[1:]), msg.start,
                                   message_id=msg.id if msg.id.startswith("<") else None)
                messages += 1
    return meetings, messages


def _meeting(tenant: Tenant, m: Interaction) -> None:
    tenant.add_meeting(m.participants[0], list(m.participants[1:]), m.start, m.start + m.duration,
                       cancelled=m.cancelled)
