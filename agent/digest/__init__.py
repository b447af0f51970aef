"""Weekly digests for people, managers and admins: a plain-text and an HTML part each.

Composition is pure: analysis, records and rules in, messages out. Each
audience has a view builder (``person``, ``manager``, ``admin``) that picks
the facts, and one pair of templates that words them; both parts render the
same view, so the plain text carries every figure the HTML shows. Figures
shown to a manager or an admin always stand for at least ``min_group_size``
people; below that they are withheld, never rounded or approximated. Each
message carries a key (audience, ISO week, recipient) so it is sent at most
once a week however often the job runs.
"""

from __future__ import annotations

import datetime as dt

from agent.digest.admin import admin_view
from agent.digest.contact import CHART_WEEKS, ContactSeries, contact_series
from agent.digest.inputs import DigestInput, SourceHealth
from agent.digest.manager import manager_view, team_of
from agent.digest.names import Names, zone_label
from agent.digest.person import person_view
from agent.digest.render import render
from connectors.base import OutgoingMessage, Person

__all__ = ["CHART_WEEKS", "ContactSeries", "DigestInput", "SourceHealth",
           "admin_digest", "compose", "contact_series", "manager_digest", "person_digest",
           "team_of", "week_label"]

def week_label(today: dt.date) -> str:
    year, week, _ = today.isocalendar()
    return f"{year}-W{week:02d}"


def _common(data: DigestInput) -> dict[str, object]:
    return {"week": week_label(data.today), "k": data.rules.privacy.min_group_size,
            "pause_weeks": data.rules.pairing.pause_weeks}


def _message(audience: str, to: str, subject: str, view: object, data: DigestInput) -> OutgoingMessage:
    label = week_label(data.today)
    subject = f"{subject} ({label})"
    text, html = render(audience, v=view, subject=subject, **_common(data))
    return OutgoingMessage(f"{audience}/{label}/{to}", to, subject, text, html, data.sender)


def person_digest(person: Person, data: DigestInput, names: Names | None = None) -> OutgoingMessage | None:
    """Only people with something to act on get one."""
    view = person_view(person, data, names or Names(data.people.values()), week_label(data.today))
    if view is None:
        return None
    return _message("person", person.email, "Your week across departments", view, data)


def manager_digest(manager: Person, data: DigestInput) -> OutgoingMessage | None:
    view = manager_view(manager, data, week_label(data.today))
    if view is None:
        return None
    return _message("manager", manager.email, "Your team across departments", view, data)


def admin_digest(admin: str, data: DigestInput) -> OutgoingMessage:
    label = week_label(data.today)
    known = data.people.get(admin)
    zone = known.timezone if known else data.rules.digests.timezone
    view = admin_view(data, label, zone)
    subject = f"Bridgework admin digest ({label})"
    weeks = len(data.contact.weeks) if data.contact is not None else CHART_WEEKS
    recent = data.contact.recent_weeks if data.contact is not None else 0
    text, html = render("admin", v=view, subject=subject, weeks=weeks, recent=recent,
                        zone=zone_label(data.moment, zone), **_common(data))
    return OutgoingMessage(f"admin/{label}/{admin}", admin, subject, text, html, data.sender)


def compose(data: DigestInput) -> list[OutgoingMessage]:
    """Every digest of the week, in a stable order (people by e-mail, then admins)."""
    audiences = set(data.rules.digests.audiences)
    names = Names(data.people.values())
    out: list[OutgoingMessage] = []
    managers = {p.manager for p in data.people.values() if p.manager}
    for email, person in sorted(data.people.items()):
        if data.excluded.get(email) == "opted out":
            continue
        if "person" in audiences:
            message = person_digest(person, data, names)
            if message:
                out.append(message)
        if "manager" in audiences and email in managers:
            message = manager_digest(person, data)
            if message:
                out.append(message)
    if "admin" in audiences:
        out.extend(admin_digest(a.lower(), data) for a in data.rules.digests.admins)
    return out
