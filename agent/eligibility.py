"""Who may take part in suggestions, and if not, the rule that says so.

Pure: a person, the rules and the opt-outs in, a reason (or None) out, so
the matcher and ``rules explain`` give the same answer.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from connectors.base import Person
from rules.model import Participants


def managers_of(people: Iterable[Person]) -> set[str]:
    return {p.manager for p in people if p.manager}


def exclusion_reason(
    person: Person,
    rules: Participants,
    opted_out: Collection[str],
    managers: Collection[str],
) -> str | None:
    """Why ``person`` is left out of suggestions, or None when they take part."""
    email = person.email
    if email in opted_out or email in {e.lower() for e in rules.opt_out}:
        return "opted out"
    if email in {e.lower() for e in rules.exclude_people}:
        return "listed in participants.exclude_people"
    if email in {e.lower() for e in rules.include_people}:
        return None
    if rules.include_departments and person.department not in rules.include_departments:
        return f"department {person.department} is not in participants.include_departments"
    if person.department in rules.exclude_departments:
        return f"department {person.department} is in participants.exclude_departments"
    if rules.include_levels and person.level not in rules.include_levels:
        return f"level {person.level} is not in participants.include_levels"
    if person.level is not None and person.level in rules.exclude_levels:
        return f"level {person.level} is in participants.exclude_levels"
    for pattern in rules.exclude_titles:
        if person.title and re.search(pattern, person.title, re.IGNORECASE):
            return f"title {person.title!r} matches participants.exclude_titles {pattern!r}"
    if rules.managers_only and email not in managers:
        return "participants.managers_only is set and they manage nobody"
    return None
